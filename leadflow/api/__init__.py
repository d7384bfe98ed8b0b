"""HTTP API (FastAPI): thin adapters over `leadflow.services`."""

from leadflow.api.app import create_app

__all__ = ["create_app"]
