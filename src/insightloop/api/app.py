"""The application factory."""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from insightloop.__about__ import __version__
from insightloop.api.background import LOADER_ENV, BackgroundLoader
from insightloop.api.errors import install_error_handlers
from insightloop.api.openapi import install_security_schemes
from insightloop.api.ratelimit import RateLimiter
from insightloop.api.routers import collect, profiles, query, segments, status
from insightloop.api.warm import warm_up
from insightloop.auth import AuditWriter, AuthStore
from insightloop.config import load_settings
from insightloop.errors import ConfigError
from insightloop.ingest.collect import LandingLog
from insightloop.profile.backends import open_profile_store
from insightloop.store import WorkspaceLayout
from insightloop.ui import install_ui

__all__ = ["create_app", "serving_app"]

#: Allocations (less deallocations) between collections of the youngest generation in a server.
SERVING_GC_THRESHOLD = 20_000


def create_app(workspace: str | Path | None = None, *, background: bool | None = None) -> FastAPI:
    """Build the application over ``workspace`` (default: ``$INSIGHTLOOP_WORKSPACE``).

    Parameters
    ----------
    background
        Run the loader that moves received events into the database (every
        ``collect.load_interval_seconds``) in a thread of this process. By default it runs
        unless ``$INSIGHTLOOP_LOADER`` is ``process``: `insightloop serve` runs the loader in a
        process of its own (:mod:`insightloop.api.loader_process`). Tests that drive the
        loader themselves turn it off.
    """
    if background is None:
        background = os.environ.get(LOADER_ENV) != "process"
    root = workspace if workspace is not None else os.environ.get("INSIGHTLOOP_WORKSPACE")
    if not root:
        raise ConfigError(
            "No workspace given to the server.",
            hint="Run `insightloop serve --workspace DIR` or set INSIGHTLOOP_WORKSPACE.",
        )
    layout = WorkspaceLayout(Path(root).expanduser().resolve())
    layout.require()
    # Fail at start-up, not on the first request, when the configuration is invalid.
    settings = load_settings(layout.config_file)
    logging.getLogger("insightloop").setLevel(settings.log_level)
    landing = LandingLog(layout.landing_dir, segment_bytes=settings.collect.segment_bytes)
    loader = BackgroundLoader(layout, settings) if background else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        warm_up(settings.engine.backend)  # before the first request, not during it
        if loader is not None:
            loader.start()
        try:
            yield
        finally:
            landing.close()  # what was acknowledged is on disk already; this stops the writer
            app.state.audit_writer.close()
            if loader is not None:
                loader.stop()
                loader.run_once()  # load what arrived since the last pass

    app = FastAPI(
        title="insightloop",
        version=__version__,
        description="Customer intelligence platform: insight API and web pages.",
        # FastAPI's Swagger and ReDoc pages load their scripts from a CDN; the product must work
        # on an offline network, so only the OpenAPI document itself is served.
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.workspace_root = layout.root
    app.state.settings = settings
    app.state.auth = AuthStore.for_workspace(layout.root)
    app.state.audit_writer = AuditWriter(app.state.auth.audit, synced=False)
    app.state.landing = landing
    app.state.profiles = open_profile_store(layout.root, settings)
    app.state.loader = loader
    app.state.write_key_limiter = RateLimiter(settings.collect.write_key_requests_per_second)
    app.state.token_limiter = RateLimiter(settings.server.token_requests_per_second)
    install_error_handlers(app)
    app.include_router(collect.router)
    app.include_router(status.router)
    app.include_router(profiles.router)
    app.include_router(segments.router)
    app.include_router(query.router)
    install_ui(app)

    @app.get("/healthz", tags=["service"], operation_id="health")
    def health() -> dict[str, str]:
        """Liveness probe: the process answers (does not touch the workspace)."""
        return {"status": "ok"}

    install_security_schemes(app)
    return app


def serving_app() -> FastAPI:
    """:func:`create_app` for a server process (`insightloop serve` runs one per worker).

    The garbage collector is tuned for serving: what start-up built (modules, the app) is
    frozen out of its scans, and its youngest generation is collected after
    :data:`SERVING_GC_THRESHOLD` net allocations instead of 700. A request of 100 collected
    events parses some 400 containers, so the default collected on about every fifth request
    (13% of the collection path's CPU, measured). Cycles are still collected, less often.
    """
    app = create_app()
    gc.collect()
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(SERVING_GC_THRESHOLD, middle, oldest)
    return app
