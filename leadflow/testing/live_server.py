"""Run the real app under uvicorn in a background thread, on 127.0.0.1 and a free port."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from leadflow.config import Settings
from leadflow.services.context import Services


@contextmanager
def live_server(svc: Services, settings: Settings | None = None) -> Iterator[str]:
    """Yields the base URL; the server stops (within a second) when the block ends."""
    import uvicorn

    from leadflow.api.app import create_app
    from leadflow.testing.receivers import free_port

    port = free_port()
    app = create_app(settings or Settings(), services=svc)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
