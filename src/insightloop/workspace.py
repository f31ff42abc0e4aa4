"""``Workspace``: the Python API over a workspace directory, used by the CLI, the server and
notebooks alike.

Examples
--------
>>> import tempfile
>>> from insightloop import Workspace
>>> ws = Workspace.init(tempfile.mkdtemp() + "/acme")
>>> ws.run().status
'succeeded'
>>> ws.status().schema_version == ws.status().latest_schema_version
True
>>> ws.close()
"""

from __future__ import annotations

import getpass
import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import tomli_w

from insightloop.auth import AuthStore
from insightloop.config import Settings, load_settings, render_config_file
from insightloop.errors import WorkspaceError
from insightloop.identity.config import IdentityConfig, identity_config
from insightloop.identity.decisions import Decision
from insightloop.identity.incremental import model_link_finder
from insightloop.identity.manual import (
    DecisionResult,
    RecordRef,
    ReviewPair,
    decide_review,
    decision_list,
    merge_customers,
    merge_history,
    review_queue,
    unmerge_records,
)
from insightloop.identity.resolve import ResolveReport, resolve_identities
from insightloop.ingest.load import LoadReport, load_sources, retry_quarantine
from insightloop.ingest.sources import SourceDeclaration, parse_sources
from insightloop.pipeline import (
    RunObserver,
    RunRecord,
    last_run,
    new_run_id,
    recent_runs,
    run_pipeline,
)
from insightloop.pipeline.profiles import rewrite_profiles
from insightloop.pipeline.records import now_utc
from insightloop.profile import ProfileReader, build_golden_records
from insightloop.quality import count_rows_expr
from insightloop.store import (
    CANONICAL_MODEL,
    Engine,
    Migration,
    WorkspaceLayout,
    current_version,
    latest_version,
    migrate,
)
from insightloop.store.schema import Layer

__all__ = ["TableStatus", "Workspace", "WorkspaceStatus"]


@dataclass(frozen=True)
class TableStatus:
    name: str
    layer: Layer
    owner: str
    rows: int


@dataclass(frozen=True)
class WorkspaceStatus:
    """What `insightloop status` shows."""

    path: str
    name: str
    backend: str
    schema_version: int
    latest_schema_version: int
    tables: tuple[TableStatus, ...]
    last_run: RunRecord | None

    @property
    def schema_current(self) -> bool:
        return self.schema_version == self.latest_schema_version

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "name": self.name,
            "backend": self.backend,
            "schema_version": self.schema_version,
            "latest_schema_version": self.latest_schema_version,
            "schema_current": self.schema_current,
            "tables": [asdict(t) for t in self.tables],
            "last_run": self.last_run.to_dict() if self.last_run else None,
        }


def _spark_database_name(root: Path) -> str:
    """A catalog database per workspace: readable, and unique per path on a shared metastore."""
    slug = re.sub(r"[^a-z0-9_]+", "_", root.name.lower()).strip("_")[:40] or "workspace"
    digest = hashlib.sha256(str(root).encode()).hexdigest()[:8]
    return f"ws_{slug}_{digest}"


class Workspace:
    """An insightloop workspace: configuration, database, landing log, models and exports.

    Open one with :meth:`open` or create one with :meth:`init`; close it (or use ``with``) to
    release the database.
    """

    def __init__(self, layout: WorkspaceLayout, settings: Settings, engine: Engine) -> None:
        self.layout = layout
        self.settings = settings
        self.engine = engine
        #: The generated password of the first admin, set by :meth:`init` only (``None`` when
        #: the workspace was opened): show it once, it is stored only as a hash.
        self.initial_admin_password: str | None = None

    @property
    def path(self) -> Path:
        return self.layout.root

    @property
    def profiles(self) -> ProfileReader:
        """The unified customers: ``ws.profiles.get("anna@example.com")`` finds one by any
        identifier and returns its golden record, identifiers, records, consents and timeline.
        """
        return ProfileReader(self.engine, identity_config(self.settings.identity))

    # -- lifecycle --------------------------------------------------------------------------

    @classmethod
    def init(
        cls, path: str | Path, *, backend: str | None = None, exist_ok: bool = False
    ) -> Workspace:
        """Create a workspace at ``path`` (config, database, folders, the first admin user) and
        open it.

        The first admin is ``admin`` with a generated password, available once as
        :attr:`initial_admin_password`.

        Parameters
        ----------
        backend
            ``"duckdb"`` (default) or ``"spark"``; written into the new ``insightloop.toml``.
        exist_ok
            Open an existing workspace instead of failing.
        """
        layout = WorkspaceLayout(Path(path).expanduser().resolve())
        if layout.is_workspace():
            if exist_ok:
                return cls.open(layout.root)
            raise WorkspaceError(
                f"{layout.root} is already an insightloop workspace.",
                hint="Use it as it is (`insightloop status --workspace ...`), or choose another "
                "directory.",
            )
        if layout.root.exists() and any(layout.root.iterdir()):
            raise WorkspaceError(
                f"{layout.root} exists and is not empty.",
                hint="Choose a new or empty directory for the workspace.",
            )
        engine: dict[str, Any] = {"backend": backend} if backend else {}
        if backend == "spark":
            engine["spark_database"] = _spark_database_name(layout.root)
        settings = load_settings(None, engine=engine) if engine else load_settings(None)
        layout.create()
        layout.config_file.write_text(render_config_file(settings), encoding="utf-8")
        ws = cls.open(layout.root)
        ws.migrate()
        ws.initial_admin_password = AuthStore.for_workspace(layout.root).bootstrap_admin()
        return ws

    @classmethod
    def open(cls, path: str | Path, *, read_only: bool = False) -> Workspace:
        """Open an existing workspace; environment variables override its configuration."""
        layout = WorkspaceLayout(Path(path).expanduser().resolve())
        layout.require()
        settings = load_settings(layout.config_file)
        engine = Engine.connect(settings.engine, layout, read_only=read_only)
        return cls(layout, settings, engine)

    def close(self) -> None:
        self.engine.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- operations -------------------------------------------------------------------------

    def migrate(self) -> list[Migration]:
        """Apply pending schema migrations; returns those applied."""
        return migrate(self.engine)

    def run(
        self, steps: Sequence[str] | None = None, *, observer: RunObserver | None = None
    ) -> RunRecord:
        """Run the pipeline (all steps, or the named ones) and return its record."""
        return run_pipeline(self.engine, self.settings, self.layout, steps, observer=observer)

    def sources(self) -> dict[str, SourceDeclaration]:
        """The declared sources, checked (a ConfigError lists every problem)."""
        return parse_sources(self.settings.sources)

    def add_source(self, name: str, declaration: Mapping[str, Any]) -> SourceDeclaration:
        """Check a source declaration and append it to ``insightloop.toml`` as
        ``[sources.<name>]``; returns the parsed declaration.

        Raises
        ------
        WorkspaceError
            When a source of that name exists.
        ConfigError
            When the declaration is invalid (every problem listed); nothing is written.
        """
        if name in self.settings.sources:
            raise WorkspaceError(
                f"A source named {name!r} is already declared.",
                hint=f"Choose another name, or edit [sources.{name}] in {self.layout.config_file}.",
            )
        parsed = parse_sources({name: dict(declaration)})[name]
        text = tomli_w.dumps({"sources": {name: dict(declaration)}})
        with open(self.layout.config_file, "a", encoding="utf-8") as handle:
            handle.write("\n" + text)
        self.settings = load_settings(self.layout.config_file)
        return parsed

    def add_config_section(self, name: str, values: Mapping[str, Any]) -> None:
        """Append a ``[name]`` table to ``insightloop.toml`` (e.g. ``identity``).

        Raises
        ------
        WorkspaceError
            When the settings already have values in that table.
        """
        if getattr(self.settings, name, None):
            raise WorkspaceError(
                f"The workspace already has an [{name}] table.",
                hint=f"Edit [{name}] in {self.layout.config_file}.",
            )
        text = tomli_w.dumps({name: dict(values)})
        with open(self.layout.config_file, "a", encoding="utf-8") as handle:
            handle.write("\n" + text)
        self.settings = load_settings(self.layout.config_file)

    def load(
        self,
        sources: Sequence[str] | None = None,
        *,
        progress: Callable[[float], None] | None = None,
    ) -> LoadReport:
        """Load the new data of the declared sources (all, or the named ones) without the rest
        of the pipeline; ``insightloop run`` does the same as its ``load`` step."""
        return load_sources(
            self.engine,
            self.settings,
            self.path,
            run_id=new_run_id(),
            names=sources,
            progress=progress,
        )

    def retry_quarantine(
        self, sources: Sequence[str] | None = None, *, ids: Sequence[str] | None = None
    ) -> LoadReport:
        """Run unresolved quarantined rows again through the current mapping and contract."""
        return retry_quarantine(
            self.engine, self.settings, self.path, run_id=new_run_id(), sources=sources, ids=ids
        )

    def runs(self, limit: int = 10) -> list[RunRecord]:
        """The latest pipeline runs, newest first."""
        return recent_runs(self.engine, limit)

    def status(self) -> WorkspaceStatus:
        """Schema version, tables with row counts, and the last pipeline run."""
        present = set(self.engine.tables())
        specs = [s for s in CANONICAL_MODEL if s.name in present]
        counts: dict[str, int] = {}
        if specs:
            rows = self.engine.records(count_rows_expr(self.engine, [s.name for s in specs]))
            counts = {r["table_name"]: int(r["row_count"]) for r in rows}
        return WorkspaceStatus(
            path=str(self.path),
            name=self.settings.name,
            backend=self.engine.backend,
            schema_version=current_version(self.engine),
            latest_schema_version=latest_version(),
            tables=tuple(TableStatus(s.name, s.layer, s.owner, counts[s.name]) for s in specs),
            last_run=last_run(self.engine),
        )

    # -- identity decisions -----------------------------------------------------------------

    def merge_customers(
        self, customer_ids: Sequence[str], *, reason: str, actor: str | None = None
    ) -> DecisionResult:
        """Merge customers into one for good (every later run keeps them together); the
        golden records are rebuilt. See docs/identity.md, "Manual decisions"."""
        return self._decided(
            lambda config, run_id, who: merge_customers(
                self.engine, config, customer_ids, reason=reason, actor=who, run_id=run_id
            ),
            actor,
        )

    def unmerge_records(
        self,
        customer_id: str,
        records: Sequence[RecordRef],
        *,
        reason: str,
        actor: str | None = None,
    ) -> DecisionResult:
        """Take records (``"source:key"``, ``"source|key"`` or pairs) out of a customer for
        good: they become a customer of their own, with a new id; golden records are rebuilt."""
        return self._decided(
            lambda config, run_id, who: unmerge_records(
                self.engine, config, customer_id, records, reason=reason, actor=who, run_id=run_id
            ),
            actor,
        )

    def review_queue(self, status: str = "open", limit: int | None = 50) -> list[ReviewPair]:
        """Borderline pairs awaiting a decision (or ``accepted``, ``rejected``, ``all``),
        highest match probability first."""
        return review_queue(self.engine, status, limit)

    def decide_review(
        self,
        review_id: str,
        accept: bool,
        *,
        actor: str | None = None,
        reason: str | None = None,
    ) -> DecisionResult:
        """Accept (one person) or reject (never one person) a review pair; deciding it the other
        way later revokes the earlier decision. Golden records are rebuilt."""
        return self._decided(
            lambda config, run_id, who: decide_review(
                self.engine, config, review_id, accept, actor=who, reason=reason, run_id=run_id
            ),
            actor,
        )

    def identity_decisions(self) -> list[Decision]:
        """Every manual identity decision, also the revoked ones, oldest first."""
        return decision_list(self.engine)

    def merge_log(self, limit: int | None = 50) -> list[dict[str, Any]]:
        """Merges and splits of customers, by runs and by hand, newest first."""
        return merge_history(self.engine, limit)

    def rebuild_identities(self, *, retrain: bool = False) -> ResolveReport:
        """Resolve every record again from scratch: every pair scored with the saved model (the
        clusters incremental runs gave), or with ``retrain`` a new model trained on all records;
        golden records are rebuilt. Manual decisions hold as in every run."""
        config = identity_config(self.settings.identity)
        run_id = new_run_id()
        finder = model_link_finder(
            self.layout.models_dir / "identity", mode="retrain" if retrain else "rescore"
        )
        report = resolve_identities(
            self.engine, config, run_id=run_id, now=now_utc(), find_links=finder
        )
        build_golden_records(self.engine, config, run_id=run_id)
        return report

    def _decided(
        self,
        decide: Callable[[IdentityConfig, str, str], DecisionResult],
        actor: str | None,
    ) -> DecisionResult:
        config = identity_config(self.settings.identity)
        run_id = new_run_id()
        result = decide(config, run_id, actor or _os_user())
        build_golden_records(self.engine, config, run_id=run_id)
        rewrite_profiles(
            self.engine,
            self.settings,
            self.layout,
            result.after_ids,
            removed=result.before_ids,
            run_id=run_id,
        )
        return result


def _os_user() -> str:
    """The actor of a decision when none is given: the operating-system user."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in the environment or the password database
        return "unknown"
