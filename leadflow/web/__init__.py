"""The web UI: server-rendered pages; every script, style and chart is served by
leadflow itself (no CDN). Pages live in `leadflow/web/views/<feature>.py`, each with a
module-level `router` and optional `NAV` entries, discovered like the API routers."""

from __future__ import annotations

from fastapi import FastAPI


def mount(app: FastAPI) -> None:
    from leadflow.web.core import install

    install(app)
