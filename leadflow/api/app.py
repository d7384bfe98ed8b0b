"""The FastAPI application factory. Nothing connects or reads settings at import time."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from leadflow import __version__
from leadflow.api import errors, fast_intake, observe, openapi
from leadflow.api.limits import BodySizeLimit, IntegerBounds
from leadflow.api.routes import discover_routers
from leadflow.config import Settings
from leadflow.observability.logs import add_secret, configure_logging
from leadflow.services.context import Services
from leadflow.services.intake_channel import IntakeChannel
from leadflow.services.timer_loop import TimerLoop
from leadflow.store.db import Database


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    settings = settings or Settings()
    owns_services = services is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loop = None
        channel = None
        if owns_services:
            configure_logging(settings.log_level, settings.log_json)
            for secret in (settings.admin_token, settings.metrics_token):
                add_secret(secret.get_secret_value() if secret else None)
            db = Database(settings.database_url)
            db.upgrade()
            app.state.services = Services(db)
            if settings.intake_socket and db.is_sqlite:
                channel = IntakeChannel(settings.intake_socket)
                app.state.services.extras["intake_channel"] = channel
            if settings.run_timers:
                loop = TimerLoop(app.state.services).start()
            # Everything loaded at start (modules, routes, mappers) lives as long as the
            # process: keep it out of the collector's full passes, which otherwise walk
            # it all and pause requests (seen as intake latency spikes).
            gc.freeze()
        yield
        if loop is not None:
            loop.stop()
        if channel is not None:
            await channel.close()
        if owns_services:
            app.state.services.db.dispose()

    app = FastAPI(
        title="leadflow",
        version=__version__,
        description="Lead distribution engine: routing, queues, decisions, fairness.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    if services is not None:
        app.state.services = services
    errors.install(app)
    openapi.install(app)
    api = APIRouter(prefix="/api/v1")
    for router in discover_routers():
        api.include_router(router)
    app.include_router(api)
    fast_intake.install(app)  # after the routes: it stands in front of POST /leads
    _mount_web(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(IntegerBounds)
    observe.install(app, settings)  # outermost: even a 413 gets a request id and a log line
    return app


def _mount_web(app: FastAPI) -> None:
    try:
        from leadflow.web import mount
    except ImportError:  # pragma: no cover - the web UI is optional in slim installs
        return
    mount(app)
