"""The HTTP API: one FastAPI application serving the insight API and the web pages."""

from __future__ import annotations

from insightloop.api.app import create_app

__all__ = ["create_app"]
