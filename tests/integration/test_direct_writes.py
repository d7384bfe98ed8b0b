"""Rows written with plain statements (`leadflow.store.direct`) behave like ORM rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import bindparam, insert, inspect, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from leadflow.services import txcache
from leadflow.services.context import Services
from leadflow.store import direct
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

    def test_the_object_holds_every_stored_column_with_no_pending_change(
        self, svc: Services
    ) -> None:
        """The object is filled in as if loaded (no constructor): each column reads what
        the row holds, none is pending, and a later change still counts as one."""
        with svc.db.write() as s:
            lead = _lead(s, svc, external_id="filled", score=42.0)
            state = inspect(lead)
            assert not state.unloaded and not s.dirty
            columns = [c.key for c in LeadRow.__table__.columns]
            held = {c: getattr(lead, c) for c in columns}
            assert all(not state.attrs[c].history.has_changes() for c in columns)
            lead.score = 43.0
            assert state.attrs["score"].history.deleted == [42.0]
        with svc.db.read() as s:
            stored = s.get(LeadRow, lead.id)
            assert stored is not None
            assert {c: getattr(stored, c) for c in columns} == held | {"score": 43.0}

    def test_a_rolled_back_transaction_keeps_nothing(self, svc: Services) -> None:
        try:
            with svc.db.write() as s:
                _lead(s, svc, external_id="gone")
                raise RuntimeError("abort")
        except RuntimeError:
            pass
        with svc.db.read() as s:
            assert s.scalar(select(LeadRow.id).where(LeadRow.external_id == "gone")) is None


    def test_stored_exactly_as_sqlalchemy_stores_it(self, svc: Services) -> None:
        """On SQLite the row goes straight to the driver: every column, dates and JSON
        included, must be stored as SQLAlchemy's own INSERT stores it."""
        now = svc.clock.now()
        values = {"status": "assigned", "owner_rep_id": None, "queue": "q", "score": 7,
                  "data": {"email": "a@x.example", "n": [1, 2.5, None], "é": True},
                  "created_at": now, "updated_at": now, "assigned_at": now}  # fmt: skip
        with svc.db.write() as s:
            ours = _lead(s, svc, external_id="ours", **values).id
            theirs = s.execute(
                insert(LeadRow).values(external_id="theirs", **values).returning(LeadRow.id)
            ).scalar_one()
        table = LeadRow.__table__
        columns = [c for c in table.columns if c.key not in ("id", "external_id")]
        with svc.db.read() as s:
            rows = {
                r.id: tuple(r)[1:]
                for r in s.connection().execute(
                    select(table.c.id, *columns).where(table.c.id.in_([ours, theirs]))
                )
            }
        assert rows[ours] == rows[theirs]
        assert rows[ours][[c.key for c in columns].index("data")]["é"] is True

    def test_a_duplicate_is_sqlalchemys_integrity_error_and_the_batch_goes_on(
        self, svc: Services
    ) -> None:
        with svc.db.write() as s:
            _lead(s, svc, external_id="twice")
            with pytest.raises(IntegrityError), s.begin_nested():
                _lead(s, svc, external_id="twice")
            kept = _lead(s, svc, external_id="after")
        with svc.db.read() as s:
            found = s.scalars(select(LeadRow.external_id).order_by(LeadRow.id)).all()
            assert found == ["twice", "after"] and kept.id is not None

    def test_a_rolled_back_savepoint_undoes_its_rows(self, svc: Services) -> None:
        with svc.db.write() as s:
            try:
                with s.begin_nested():
                    _lead(s, svc, external_id="undone")
                    raise RuntimeError("undo")
            except RuntimeError:
                pass
        with svc.db.read() as s:
            assert s.scalar(select(LeadRow.id).where(LeadRow.external_id == "undone")) is None

    def test_a_savepoint_after_earlier_writes_undoes_only_its_own(self, svc: Services) -> None:
        # The transaction's connection is kept for direct writes once it has begun; a
        # savepoint opened after that must still be emitted, and rolled back alone.
        with svc.db.write() as s:
            _lead(s, svc, external_id="before")
            try:
                with s.begin_nested():
                    _lead(s, svc, external_id="undone")
                    raise RuntimeError("undo")
            except RuntimeError:
                pass
            _lead(s, svc, external_id="after")
        with svc.db.read() as s:
            found = s.scalars(select(LeadRow.external_id).order_by(LeadRow.id)).all()
            assert found == ["before", "after"]

    def test_each_datetime_is_stored_as_itself_when_they_alternate(self, svc: Services) -> None:
        # Datetime parameters remember the last value they formatted: a different one
        # must never get the previous one's text.
        now = svc.clock.now()
        later = now + timedelta(hours=1)
        with svc.db.write() as s:
            for created, updated in [(now, now), (later, now), (now, later), (later, later)]:
                _lead(s, svc, created_at=created, updated_at=updated)
        with svc.db.read() as s:
            rows = s.execute(select(LeadRow.created_at, LeadRow.updated_at).order_by(LeadRow.id))
            assert [tuple(r) for r in rows] == [
                (now, now), (later, now), (now, later), (later, later)
            ]

    def test_an_unknown_column_is_refused(self, svc: Services) -> None:
        with svc.db.write() as s, pytest.raises(TypeError, match="no_such"):
            _lead(s, svc, no_such=1)


_BY_EXTERNAL_ID = select(LeadRow.id).where(LeadRow.external_id == bindparam("v")).limit(1)
_BY_IDS = (
    select(LeadRow.id, LeadRow.external_id, LeadRow.data, LeadRow.created_at, LeadRow.score)
    .where(LeadRow.id.in_(bindparam("ids", expanding=True)))
    .order_by(LeadRow.id)
)
_SET_QUEUE = update(LeadRow).where(LeadRow.id == bindparam("lead")).values(queue=bindparam("q"))


class TestPrebuiltStatements:
    def test_scalar_and_execute_see_and_change_the_transactions_rows(
        self, svc: Services
    ) -> None:
        with svc.db.write() as s:
            lead = _lead(s, svc, external_id="mine")
            assert direct.scalar(s, _BY_EXTERNAL_ID, {"v": "mine"}) == lead.id
            assert direct.scalar(s, _BY_EXTERNAL_ID, {"v": "nobody"}) is None
            direct.execute(s, _SET_QUEUE, {"lead": lead.id, "q": "set"})
        with svc.db.read() as s:
            assert s.scalar(select(LeadRow.queue).where(LeadRow.id == lead.id)) == "set"

    def test_rows_read_like_sqlalchemys_for_any_number_of_values(self, svc: Services) -> None:
        """Dates, JSON and `IN` lists of every length (empty included) come back as
        SQLAlchemy's own rows would bring them."""
        with svc.db.write() as s:
            ids = [_lead(s, svc, external_id=f"r{n}", queue=f"q{n}", score=n).id for n in range(3)]
            for some in ([], ids[:1], ids, [*ids, 10**6]):
                ours = direct.rows(s, _BY_IDS, {"ids": some})
                theirs = s.connection().execute(_BY_IDS, {"ids": some}).all()
                assert [tuple(r) for r in ours] == [tuple(r) for r in theirs]
                assert [r.external_id for r in ours] == [r.external_id for r in theirs]
            (first,) = direct.rows(s, _BY_IDS, {"ids": ids[:1]})
            assert first.created_at == svc.clock.now() and first.data == {"email": "a@x.example"}

    def test_a_missing_parameter_is_an_error_not_a_null(self, svc: Services) -> None:
        with svc.db.write() as s, pytest.raises(SQLAlchemyError, match="value is required"):
            direct.execute(s, _SET_QUEUE, {"lead": 1})


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
