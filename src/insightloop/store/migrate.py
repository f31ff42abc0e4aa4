"""Numbered schema migrations and the runner that applies them.

A migration brings a workspace from version ``n - 1`` to ``n``. Its default action creates the
tables and columns that :mod:`insightloop.store.schema` declares with ``added_in = n``; a
migration may add data changes of its own. Every step of that default action is idempotent, so a
migration interrupted before it was recorded is simply applied again. Each applied migration is
recorded with a checksum of what it created: a release whose migration history differs from the
workspace's is refused instead of silently diverging.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from insightloop.__about__ import __version__
from insightloop.errors import MigrationError
from insightloop.store.engine import Engine
from insightloop.store.schema import CANONICAL_MODEL, TableSpec

__all__ = [
    "MIGRATIONS",
    "AppliedMigration",
    "Migration",
    "applied_migrations",
    "current_version",
    "latest_version",
    "migrate",
]

MIGRATIONS_TABLE = "schema_migrations"


@dataclass(frozen=True)
class Migration:
    """One numbered change of the workspace schema.

    Parameters
    ----------
    version
        Its number; versions are consecutive from 1.
    name
        What it does, in a few words.
    data_change
        Optional function run after the tables and columns of this version exist.
    """

    version: int
    name: str
    data_change: Callable[[Engine], None] | None = None
    model: tuple[TableSpec, ...] = field(default=CANONICAL_MODEL, repr=False)

    def changes(self) -> list[tuple[str, str, str]]:
        """(table, column, dtype) introduced by this migration, in declaration order."""
        out = []
        for spec in self.model:
            for col in spec.columns:
                if spec.column_version(col) == self.version:
                    out.append((spec.name, col.name, col.dtype))
        return out

    def checksum(self) -> str:
        payload = json.dumps([self.version, self.changes()], separators=(",", ":"))
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def apply(self, engine: Engine) -> None:
        existing = set(engine.tables())
        for spec in self.model:
            if spec.added_in == self.version:
                engine.create_table(spec.name, spec.schema(self.version), existing=existing)
            elif spec.added_in < self.version:
                for col in spec.columns:
                    if spec.column_version(col) == self.version:
                        engine.add_column(spec.name, col.name, col.dtype)
        if self.data_change is not None:
            self.data_change(engine)


# The history of the schema. Append only: never renumber, edit or remove an entry.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "system tables: migrations, pipeline runs, table statistics"),
    Migration(2, "canonical model v1: source-level and unified tables"),
    Migration(3, "load batches and the data-quality scorecard"),
    Migration(4, "identity: order, contact and survey e-mails; identifier map; review queue"),
    Migration(5, "collection: progress of the landing-log loader"),
    Migration(6, "order lines: discount amount"),
    Migration(7, "identity: the person records as the last resolution compared them"),
)


@dataclass(frozen=True)
class AppliedMigration:
    version: int
    name: str
    checksum: str
    applied_at: datetime


def latest_version(migrations: Sequence[Migration] = MIGRATIONS) -> int:
    return max((m.version for m in migrations), default=0)


def applied_migrations(engine: Engine) -> list[AppliedMigration]:
    """The migrations recorded in the workspace, oldest first."""
    if not engine.has_table(MIGRATIONS_TABLE):
        return []
    t = engine.table(MIGRATIONS_TABLE)
    rows = engine.records(t.select("version", "name", "checksum", "applied_at").order_by("version"))
    return [AppliedMigration(**r) for r in rows]


def current_version(engine: Engine) -> int:
    """The workspace's schema version: 0 for an empty database."""
    applied = applied_migrations(engine)
    return applied[-1].version if applied else 0


def _check_history(applied: list[AppliedMigration], migrations: Sequence[Migration]) -> None:
    known = {m.version: m for m in migrations}
    newest = latest_version(migrations)
    for rec in applied:
        if rec.version > newest:
            raise MigrationError(
                f"The workspace schema is at version {applied[-1].version}, newer than this "
                f"release of insightloop ({__version__}) knows (version {newest}).",
                hint="Upgrade insightloop (pip install -U insightloop) to open this workspace.",
            )
        expected = known[rec.version].checksum()
        if rec.checksum != expected:
            raise MigrationError(
                f"Migration {rec.version} ('{rec.name}') was applied with checksum "
                f"{rec.checksum}, but this release defines it as {expected}.",
                hint="Migrations must never be edited after release; add a new migration "
                "instead. Restore the original definition of migration "
                f"{rec.version} in insightloop/store/migrate.py and store/schema/tables.py.",
            )


def _validate(migrations: Sequence[Migration]) -> None:
    versions = [m.version for m in migrations]
    if versions != list(range(1, len(versions) + 1)):
        raise MigrationError(
            f"Migration versions must be consecutive from 1; found {versions}.",
            hint="Number the new migration one above the latest.",
        )


def migrate(
    engine: Engine,
    migrations: Sequence[Migration] = MIGRATIONS,
    *,
    target: int | None = None,
    on_apply: Callable[[Migration], None] | None = None,
) -> list[Migration]:
    """Apply the pending migrations up to ``target`` (default: all); return those applied.

    Raises
    ------
    MigrationError
        When the workspace is newer than this release, or its recorded history differs.
    """
    _validate(migrations)
    applied = applied_migrations(engine)
    _check_history(applied, migrations)
    done = {a.version for a in applied}
    target = latest_version(migrations) if target is None else target
    if target < max(done, default=0):
        raise MigrationError(
            f"Cannot migrate down to version {target}: the workspace is at {max(done)}.",
            hint="Downgrades are not supported; restore a backup of the workspace instead.",
        )
    ran = []
    for migration in migrations:
        if migration.version in done or migration.version > target:
            continue
        migration.apply(engine)
        engine.insert(
            MIGRATIONS_TABLE,
            [
                {
                    "version": migration.version,
                    "name": migration.name,
                    "checksum": migration.checksum(),
                    "applied_at": datetime.now(UTC).replace(tzinfo=None),
                    "insightloop_version": __version__,
                }
            ],
        )
        ran.append(migration)
        if on_apply is not None:
            on_apply(migration)
    return ran
