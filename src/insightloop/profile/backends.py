"""Which profile store a workspace uses: SQLite files beside it, or a Redis server.

``[profiles] store`` chooses: ``sqlite`` (the default, :class:`~insightloop.profile.store.
ProfileStore` in ``<workspace>/profiles``) for one machine; ``redis``
(:class:`~insightloop.profile.redis_store.RedisProfileStore` at ``[profiles] redis_url``) when
server nodes on several machines serve the same workspace. Both keep the same documents and
answer the same calls (:class:`ProfileDocuments`), so the pipeline, the loader, the API and the
web pages do not care which.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

from insightloop.config import Settings
from insightloop.profile.store import ProfileStore, ProfileStoreError, SearchPage
from insightloop.store import WorkspaceLayout

__all__ = ["ProfileDocuments", "open_profile_store", "redis_prefix"]


class ProfileDocuments(Protocol):
    """What a profile store offers (both kinds; see :class:`ProfileStore` for the semantics)."""

    def exists(self) -> bool: ...

    def info(self) -> dict[str, Any]: ...

    def get(self, customer_id: str) -> bytes | None: ...

    def find(
        self, identifier: str, id_type: str | None = None, *, personal: bool = True
    ) -> str | None: ...

    def identifiers(self, id_type: str) -> list[tuple[str, str]]: ...

    def id_types(self) -> list[str]: ...

    def search(
        self, query: str, *, limit: int = 20, offset: int = 0, personal: bool = True
    ) -> SearchPage: ...

    def replace_all(
        self, chunks: Iterable[list[dict[str, Any]]], *, run_id: str | None = None
    ) -> int: ...

    def upsert(self, docs: Iterable[dict[str, Any]], *, run_id: str | None = None) -> int: ...

    def delete(self, customer_ids: Iterable[str], *, run_id: str | None = None) -> int: ...

    def close(self) -> None: ...


def redis_prefix(settings: Settings) -> str:
    """The workspace's key prefix in Redis: ``[profiles] redis_prefix``, or
    ``insightloop:<name>:`` from the workspace's name."""
    if settings.profiles.redis_prefix:
        return settings.profiles.redis_prefix
    name = "".join(c if c.isalnum() or c in "_.-" else "_" for c in settings.name)
    return f"insightloop:{name}:"


def open_profile_store(root: str | Path, settings: Settings) -> ProfileDocuments:
    """The profile store the workspace at ``root`` is configured to use.

    Raises
    ------
    ProfileStoreError
        When ``store = "redis"`` and no ``redis_url`` is set.
    """
    if settings.profiles.store == "sqlite":
        return ProfileStore(WorkspaceLayout(Path(root)).profiles_dir)
    url = settings.profiles.redis_url
    if not url:
        raise ProfileStoreError(
            "[profiles] store is 'redis', but no redis_url says which Redis server.",
            hint="Set [profiles] redis_url = 'redis://HOST:6379/0' in insightloop.toml, or "
            "INSIGHTLOOP_PROFILES__REDIS_URL (better for a URL with a password).",
        )
    from insightloop.profile.redis_store import RedisProfileStore

    return RedisProfileStore(url, prefix=redis_prefix(settings))
