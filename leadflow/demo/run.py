"""`leadflow demo`: seed the demo organisation once, then serve with a live lead stream."""

from __future__ import annotations

import threading
import time
from importlib import resources

from leadflow.schemas import LeadIn
from leadflow.services import loader, routing
from leadflow.services.context import Services
from leadflow.store.models import RepRow


def seed(svc: Services) -> bool:
    """Load the demo org and rulebook into an empty database; False if already seeded."""
    with svc.db.read() as s:
        if s.query(RepRow.id).first() is not None:
            return False
    org_text = resources.files("leadflow.demo").joinpath("org.yaml").read_text("utf-8")
    loader.load(svc, loader.parse(org_text))
    book = resources.files("leadflow.demo").joinpath("rulebook.yaml").read_text("utf-8")
    from leadflow.services import rulebooks

    rulebooks.save(svc, book, actor="demo")
    return True


def stream(svc: Services, stop: threading.Event, *, per_second: float = 1.0) -> threading.Thread:
    """Post demo leads at a steady pace until `stop` is set."""
    from leadflow.demo.generator import leads

    def run() -> None:
        prefix = f"demo-{int(time.time())}"
        for raw in leads(seed=int(time.time()), prefix=prefix):
            if stop.wait(1.0 / per_second):
                return
            try:
                routing.intake(svc, LeadIn.model_validate(raw), actor="demo stream")
            except Exception:
                time.sleep(1)

    thread = threading.Thread(target=run, name="demo-stream", daemon=True)
    thread.start()
    return thread
