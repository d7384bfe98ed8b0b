"""The web UI (server-rendered pages, assets served by leadflow itself)."""

from __future__ import annotations

from fastapi import FastAPI


def mount(app: FastAPI) -> None:
    from leadflow.web.pages import install

    install(app)
