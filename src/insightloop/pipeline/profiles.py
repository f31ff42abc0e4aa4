"""Keeping the profile store in step with the database.

The pipeline's ``profiles`` step rebuilds every document after the golden records; the loader of
received events rewrites the documents of the customers whose events it just loaded (see
:mod:`insightloop.pipeline.collect`), so the API shows a new event within seconds; a manual merge
or unmerge rewrites the customers it changed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from insightloop.analytics.attributes import current_segments, customer_attributes
from insightloop.config import Settings
from insightloop.identity.config import identity_config
from insightloop.profile.backends import open_profile_store
from insightloop.profile.documents import Extra, build_documents
from insightloop.store import Engine, WorkspaceLayout

__all__ = ["ProfileStoreReport", "build_profile_store", "refresh_profiles", "rewrite_profiles"]


@dataclass(frozen=True)
class ProfileStoreReport:
    """What a rebuild of the profile store wrote."""

    customers: int
    bytes: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {"customers": self.customers, "bytes": self.bytes, "seconds": self.seconds}


def analysis_extras(engine: Engine) -> dict[str, Extra]:
    """The analyses' parts of a profile document: ``attributes`` (measures, scores, tier,
    lifetime value, lifecycle, persona) and ``segments`` (current memberships)."""
    extras: dict[str, Extra] = {}
    attributes = customer_attributes(engine)
    if attributes is not None:
        extras["attributes"] = Extra(attributes)
    segments = current_segments(engine)
    if segments is not None:
        extras["segments"] = Extra(segments, many=True, order_by=("kind", "segment"))
    return extras


def build_profile_store(
    engine: Engine,
    settings: Settings,
    layout: WorkspaceLayout,
    *,
    run_id: str,
    progress: Callable[[float], None] | None = None,
) -> ProfileStoreReport:
    """Write every customer's profile document into a new store and swap it in."""
    started = time.perf_counter()
    store = open_profile_store(layout.root, settings)
    written = store.replace_all(
        build_documents(
            engine,
            identity_config(settings.identity),
            timeline_entries=settings.profiles.timeline_entries,
            extras=analysis_extras(engine),
            progress=progress,
        ),
        run_id=run_id,
    )
    return ProfileStoreReport(
        written, store.info()["bytes"], round(time.perf_counter() - started, 3)
    )


def refresh_profiles(
    engine: Engine,
    settings: Settings,
    layout: WorkspaceLayout,
    customer_ids: Sequence[str],
    *,
    run_id: str,
) -> int:
    """Rewrite the documents of ``customer_ids``; returns how many were written.

    Does nothing before the first full build (a store of a few customers would hide the rest),
    or when ``profiles.refresh_on_load`` is off.
    """
    if not customer_ids or not settings.profiles.refresh_on_load:
        return 0
    return rewrite_profiles(engine, settings, layout, customer_ids, run_id=run_id)


def rewrite_profiles(
    engine: Engine,
    settings: Settings,
    layout: WorkspaceLayout,
    customer_ids: Sequence[str],
    *,
    removed: Sequence[str] = (),
    run_id: str,
) -> int:
    """After a manual merge or unmerge: rewrite the documents of ``customer_ids`` and remove
    those of ``removed`` (customers merged away). Nothing before the first full build."""
    store = open_profile_store(layout.root, settings)
    if not store.exists():
        return 0
    docs = build_documents(
        engine,
        identity_config(settings.identity),
        customer_ids=customer_ids,
        timeline_entries=settings.profiles.timeline_entries,
        extras=analysis_extras(engine),
    )
    written = store.upsert((d for chunk in docs for d in chunk), run_id=run_id)
    gone = sorted(set(removed) - set(customer_ids))
    if gone:
        store.delete(gone, run_id=run_id)
    return written
