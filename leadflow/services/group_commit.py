"""Group commit for SQLite writes: one transaction, one disk flush, for requests that
arrive together.

SQLite has one writer at a time, and every durable commit waits for the disk (WAL,
`synchronous=FULL`). Under load, intake requests used to queue for the write lock and each
paid its own flush. Here the first request to find no batch running becomes the leader:
it runs every request queued so far, one after another, in one transaction — each in its
own savepoint, so a failing request rolls back alone — commits once, and only then does
every request of the batch get its answer. Nothing is answered before it is durable, and
rotations and caps stay exact because the work is still done one request at a time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session

from leadflow.store.db import Database

T = TypeVar("T")

MAX_BATCH = 64
"""A bound on how long the first request of a batch waits for the last one's work."""


@dataclass
class _Job(Generic[T]):
    work: Callable[[Session], T]
    value: Any = None
    error: BaseException | None = None
    done: bool = False


class GroupCommitter:
    def __init__(self, db: Database, max_batch: int = MAX_BATCH) -> None:
        self.db = db
        self.max_batch = max_batch
        self._cond = threading.Condition()
        self._queue: list[_Job[Any]] = []
        self._busy = False
        self.batches = 0  # observability: batches committed, and their total size
        self.jobs = 0

    def run(self, work: Callable[[Session], T]) -> T:
        """Run `work(session)` inside a shared write transaction; return after the commit."""
        job: _Job[T] = _Job(work)
        with self._cond:
            self._queue.append(job)
        while True:
            with self._cond:
                self._cond.wait_for(lambda: job.done or not self._busy)
                if job.done:
                    break
                self._busy = True
                batch = self._queue[: self.max_batch]
                del self._queue[: self.max_batch]
            try:
                self._execute(batch)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
        if job.error is not None:
            raise job.error
        return job.value  # type: ignore[no-any-return]

    def _execute(self, batch: list[_Job[Any]]) -> None:
        # Optimistic first: the whole batch in one transaction without a savepoint per
        # request (two statements and ORM bookkeeping each). Requests almost never fail;
        # when one does, the batch is rolled back and run again with one savepoint per
        # request, so only the failing one fails. Work must therefore be re-runnable
        # (`_intake` hands each run a fresh copy of the lead).
        if len(batch) == 1 or not self._run_together(batch):
            self._run_isolated(batch)
        self.batches += 1
        self.jobs += len(batch)
        for job in batch:
            job.done = True

    def _run_together(self, batch: list[_Job[Any]]) -> bool:
        """True when every job succeeded and the commit took place."""
        try:
            with self.db.write() as s:
                for job in batch:
                    job.value = job.work(s)
        except Exception:
            for job in batch:
                job.value = None
            return False
        return True

    def _run_isolated(self, batch: list[_Job[Any]]) -> None:
        try:
            with self.db.write() as s:
                for job in batch:
                    try:
                        if len(batch) == 1:
                            job.value = job.work(s)
                            continue
                        with s.begin_nested():
                            job.value = job.work(s)
                    except Exception as exc:  # this request fails alone
                        job.error = exc
                        if len(batch) == 1:
                            raise
        except BaseException as exc:  # the commit itself failed: nothing of the batch is kept
            for job in batch:
                if job.error is None:
                    job.error = exc


_lock = threading.Lock()


def committer(extras: dict[str, Any], db: Database) -> GroupCommitter:
    """The process's committer for this database (kept in `Services.extras`)."""
    with _lock:
        found = extras.get("group_commit")
        if found is None or found.db is not db:
            found = extras["group_commit"] = GroupCommitter(db)
        return found  # type: ignore[no-any-return]
