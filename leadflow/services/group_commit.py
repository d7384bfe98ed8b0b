"""Group commit for SQLite writes: one transaction, one disk flush, for requests that
arrive together.

SQLite has one writer at a time, and every durable commit waits for the disk (WAL,
`synchronous=FULL`). Under load, intake requests used to queue for the write lock and each
paid its own flush. Here requests hand their work to the process's writer thread, which
runs every request queued so far, one after another, in one transaction, commits once,
and only then answers each of them. Nothing is answered before it is durable, and
rotations and caps stay exact because the work is still done one request at a time.

The batch first runs without a savepoint per request (two statements and ORM bookkeeping
each). Requests almost never fail; when one does, the batch is rolled back and run again
with one savepoint per request, so only the failing one fails. Work must therefore be
re-runnable: `routing._intake` hands each run a fresh copy of the lead.

Callers wait on a future: a thread blocks on it (`run`), an event loop awaits it
(`submit` + `asyncio.wrap_future`) without tying up a thread per request. The writer
thread starts on demand and ends after a second without work.
"""

from __future__ import annotations

import contextvars
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from leadflow.services import txcache
from leadflow.store.db import Database

T = TypeVar("T")

MAX_BATCH = 64
"""A bound on how long the first request of a batch waits for the last one's work."""

IDLE_SECONDS = 1.0

WRITER_CACHE_KIB = 65536

WRITER_CHECKPOINT_PAGES = 4000  # SQLite's default is 1000 (4 MB of WAL at 4 KiB pages)


@dataclass
class _Job(Generic[T]):
    work: Callable[[Session], T]
    # None for `run_batch`'s jobs: their caller is the thread that runs them.
    future: Future[T] | None = field(default_factory=Future)
    # The submitter's context (request id for log lines) travels with its work.
    context: contextvars.Context | None = field(default_factory=contextvars.copy_context)
    value: Any = None
    error: BaseException | None = None

    def run(self, s: Session) -> Any:
        return self.work(s) if self.context is None else self.context.run(self.work, s)

    def wanted(self) -> bool:
        """Not cancelled, and from now on not cancellable."""
        return self.future is None or self.future.set_running_or_notify_cancel()


class GroupCommitter:
    def __init__(self, db: Database, max_batch: int = MAX_BATCH) -> None:
        self.db = db
        self.max_batch = max_batch
        self._cond = threading.Condition()
        self._queue: deque[_Job[Any]] = deque()
        self._writing = False
        # The writer thread's own connection and session (SQLite), and the last
        # `data_version` seen on it: see `_transaction`.
        self._connection: Connection | None = None
        self._session: Session | None = None
        self._data_version: Any = None
        self._stopping = False
        db.on_dispose(self.stop)
        self.batches = 0  # observability: batches committed, and their total size
        self.jobs = 0

    def submit(self, work: Callable[[Session], T]) -> Future[T]:
        """Queue `work(session)` for the next batch; the future resolves after the commit."""
        future: Future[T] = Future()
        job: _Job[T] = _Job(work, future)
        with self._cond:
            self._queue.append(job)
            self._stopping = False
            if self._writing:
                self._cond.notify()
            else:
                self._start_writer()
        return future

    def _start_writer(self) -> None:
        """Start the writer thread (caller holds `_cond`, nobody is writing)."""
        self._writing = True
        threading.Thread(target=self._write, name="group-commit", daemon=True).start()

    def run(self, work: Callable[[Session], T]) -> T:
        """Run `work(session)` inside a shared write transaction; return after the commit."""
        return self.submit(work).result()

    def run_batch(
        self, works: Sequence[Callable[[Session], Any]]
    ) -> list[tuple[Any, BaseException | None]]:
        """Run `works` as one batch in the calling thread, exactly as submitted work is run
        (one transaction, one commit, retried one savepoint each if any fails), and give
        each one's (value, error) after the commit. For a process whose own loop is the
        writer (the intake writer): no hand-off to the writer thread and back per request.
        """
        with self._cond:
            self._cond.wait_for(lambda: not self._writing)
            self._writing = True
        try:
            jobs: list[_Job[Any]] = [_Job(work, future=None, context=None) for work in works]
            self._execute(jobs)
            return [(job.value, job.error) for job in jobs]
        finally:
            with self._cond:
                self._writing = False
                if self._queue:  # submitted meanwhile: their writer thread starts now
                    self._start_writer()
                self._cond.notify_all()

    def _write(self) -> None:
        try:
            while True:
                with self._cond:
                    if not self._queue and not self._stopping:
                        self._cond.wait(IDLE_SECONDS)
                    if not self._queue:
                        self._close()
                        self._writing = False
                        self._cond.notify_all()
                        return
                    size = min(self.max_batch, len(self._queue))
                    batch = [self._queue.popleft() for _ in range(size)]
                # A request cancelled while it waited (its client went away) is not run: it
                # got no answer, so it stored nothing. The others can no longer be cancelled.
                batch = [job for job in batch if job.wanted()]
                if batch:
                    self._execute(batch)
        except BaseException:
            self._close()
            with self._cond:  # the next request starts a fresh writer
                self._writing = False
                self._cond.notify_all()
            raise

    def stop(self, timeout: float = 10.0) -> None:
        """Let the writer finish what is queued, give its connection back and end
        (called when the database is disposed). A later request starts it again."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            self._cond.wait_for(lambda: not self._writing, timeout)
            if not self._writing:  # `run_batch` keeps the connection: nobody else closes it
                self._close()

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        """A write transaction on the writer's own SQLite connection and session.

        Both outlive the transaction, and so does what the session has read (the `meta`
        counters, load and rotation rows: `txcache`), as long as no other connection has
        committed since: SQLite's `data_version` says so, checked once the writer lock is
        held, so nothing can change between the check and the commit. If anything did
        change, every kept value is dropped and read again. PostgreSQL (tests) gets a
        fresh session every time."""
        if not self.db.is_sqlite:
            with self.db.write() as s:
                yield s
            return
        if self._session is None:
            self._connection = self.db.engine.connect()
            # Every lead adds to half a dozen indexes at random places: a page cache that
            # holds them (64 MiB, on this connection only) keeps intake from slowing down
            # as the database grows past SQLite's default 2 MiB.
            self._connection.exec_driver_sql(f"PRAGMA cache_size=-{WRITER_CACHE_KIB}")
            # Fewer, larger checkpoints: the index pages every batch touches are copied
            # back into the database once per checkpoint, however many batches rewrote
            # them, so a longer interval copies fewer pages per lead (about 5 % more leads
            # per second flat out). The WAL then grows to about 16 MB between checkpoints.
            self._connection.exec_driver_sql(f"PRAGMA wal_autocheckpoint={WRITER_CHECKPOINT_PAGES}")
            self._connection.commit()
            self._session = Session(bind=self._connection, expire_on_commit=False)
        s = self._session
        with s.begin():
            # Straight on the driver: SQLAlchemy's execution set-up costs more than the pragma.
            driver = s.connection().connection.driver_connection
            assert driver is not None
            version = driver.execute("PRAGMA data_version").fetchone()[0]
            if version != self._data_version:
                s.expire_all()
                txcache.clear(s)
                self._data_version = version
            yield s

    def _close(self) -> None:
        if self._session is not None:
            self._session.close()
        if self._connection is not None:
            self._connection.close()
        self._session = self._connection = None
        self._data_version = None

    def _execute(self, batch: list[_Job[Any]]) -> None:
        try:
            if len(batch) == 1 or not self._run_together(batch):
                self._run_isolated(batch)
        except BaseException as exc:  # the writer itself is going down: nobody waits forever
            for job in batch:
                job.error = job.error or exc
            raise
        finally:
            self.batches += 1
            self.jobs += len(batch)
            for job in batch:
                if job.future is None:
                    continue
                if job.error is not None:
                    job.future.set_exception(job.error)
                else:
                    job.future.set_result(job.value)

    def _run_together(self, batch: list[_Job[Any]]) -> bool:
        """True when every job succeeded and the commit took place."""
        try:
            with self._transaction() as s:
                for job in batch:
                    job.value = job.run(s)
        except Exception:
            for job in batch:
                job.value = None
            return False
        return True

    def _run_isolated(self, batch: list[_Job[Any]]) -> None:
        try:
            with self._transaction() as s:
                for job in batch:
                    try:
                        if len(batch) == 1:
                            job.value = job.run(s)
                            continue
                        with s.begin_nested():
                            job.value = job.run(s)
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
