"""Rows written with plain statements (`leadflow.store.direct`) behave like ORM rows."""

from __future__ import annotations

from sqlalchemy import select

from leadflow.services import txcache
from leadflow.services.context import Services
from leadflow.store.direct import insert_row, update_row
from leadflow.store.models import DecisionRow, LeadRow


def _lead(s: object, svc: Services, **overrides: object) -> LeadRow:
    now = svc.clock.now()
    values = {"status": "new", "data": {"email": "a@x.example"}, "created_at": now,
              "updated_at": now} | overrides  # fmt: skip
    return insert_row(s, LeadRow, **values)  # type: ignore[arg-type]


class TestInsertRow:
    def test_the_row_is_stored_with_its_key_and_the_object_is_persistent(
        self, svc: Services
    ) -> None:
        with svc.db.write() as s:
            lead = _lead(s, svc, external_id="ext-1")
            assert lead.id is not None
            assert s.get(LeadRow, lead.id) is lead  # the identity map holds it
            assert lead not in s.dirty and lead not in s.new
        with svc.db.read() as s:
            stored = s.get(LeadRow, lead.id)
            assert stored is not None and stored.external_id == "ext-1"
            assert stored.data == {"email": "a@x.example"}

    def test_column_defaults_fill_what_the_caller_left_out(self, svc: Services) -> None:
        with svc.db.write() as s:
            lead = _lead(s, svc)
            decision = insert_row(
                s, DecisionRow, lead_id=lead.id, kind="route", outcome="queued",
                trace={}, created_at=svc.clock.now(),
            )  # fmt: skip
            assert (decision.reason, decision.duration_us, decision.actor) == ("", 0, "system")
        with svc.db.read() as s:
            row = s.get(DecisionRow, decision.id)
            assert row is not None and (row.reason, row.actor) == ("", "system")

    def test_a_later_change_to_the_object_is_saved_by_the_flush(self, svc: Services) -> None:
        with svc.db.write() as s:
            lead = _lead(s, svc)
            lead.queue = "later"
        with svc.db.read() as s:
            assert s.scalar(select(LeadRow.queue).where(LeadRow.id == lead.id)) == "later"

    def test_a_rolled_back_transaction_keeps_nothing(self, svc: Services) -> None:
        try:
            with svc.db.write() as s:
                _lead(s, svc, external_id="gone")
                raise RuntimeError("abort")
        except RuntimeError:
            pass
        with svc.db.read() as s:
            assert s.scalar(select(LeadRow.id).where(LeadRow.external_id == "gone")) is None


class TestUpdateRow:
    def test_the_row_changes_now_and_the_object_is_not_left_dirty(self, svc: Services) -> None:
        with svc.db.write() as s:
            lead = _lead(s, svc)
            update_row(s, lead, status="queued", queue="pool")
            assert (lead.status, lead.queue) == ("queued", "pool")
            assert lead not in s.dirty
            on_disk = s.connection().execute(
                select(LeadRow.status, LeadRow.queue).where(LeadRow.id == lead.id)
            ).one()
            assert tuple(on_disk) == ("queued", "pool")


class TestTransactionCache:
    def test_a_value_is_loaded_once_per_transaction_and_again_after_forget(
        self, svc: Services
    ) -> None:
        loads = []
        with svc.db.write() as s:
            for _ in range(3):
                txcache.cached(s, "thing", lambda: loads.append(1) or len(loads))
            txcache.forget(s, "thing")
            assert txcache.cached(s, "thing", lambda: loads.append(1) or len(loads)) == 2
        with svc.db.write() as s:
            assert txcache.cached(s, "thing", lambda: loads.append(1) or len(loads)) == 3

    def test_a_rolled_back_savepoint_drops_the_cache(self, svc: Services) -> None:
        with svc.db.write() as s:
            txcache.cached(s, "thing", lambda: "before")
            try:
                with s.begin_nested():
                    raise RuntimeError("undo")
            except RuntimeError:
                pass
            assert txcache.cached(s, "thing", lambda: "after") == "after"
