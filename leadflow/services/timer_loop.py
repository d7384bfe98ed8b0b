"""The timer worker loop as a background thread, so `leadflow serve` runs due timers
itself (no separate `leadflow worker` needed). Safe next to other workers: every runner
claims its rows with row locks."""

from __future__ import annotations

import logging
import threading

from leadflow.services.context import Services
from leadflow.services.timers import run_all_due

log = logging.getLogger("leadflow.timers")


class TimerLoop:
    def __init__(self, svc: Services, interval: float = 0.2) -> None:
        self.svc = svc
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="leadflow-timers", daemon=True)

    def start(self) -> TimerLoop:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                busy = any(run_all_due(self.svc).values())
            except Exception:  # the database may be briefly unreachable: try again
                log.exception("timer loop iteration failed")
                busy = False
            if not busy:
                self._stop.wait(self.interval)
