"""The pages of the web UI, one module per section (each with its ``router``)."""

from __future__ import annotations

from fastapi import APIRouter

from insightloop.ui.routes import (
    admin,
    analysis,
    auth,
    customers,
    identity,
    overview,
    quality,
    segments,
)

__all__ = ["ROUTERS"]

#: Every section's router, in the order of the navigation bar.
ROUTERS: tuple[APIRouter, ...] = (
    auth.router,
    overview.router,
    customers.router,
    segments.router,
    analysis.router,
    quality.router,
    identity.router,
    admin.router,
)
