"""The files and folders of a workspace directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from insightloop.config import CONFIG_FILE_NAME
from insightloop.errors import WorkspaceError

__all__ = ["WorkspaceLayout"]


@dataclass(frozen=True)
class WorkspaceLayout:
    """Where a workspace keeps its configuration, database, landing log, models and exports.

    Examples
    --------
    >>> WorkspaceLayout(Path("/data/acme")).database_file
    PosixPath('/data/acme/insightloop.duckdb')
    """

    root: Path

    @property
    def config_file(self) -> Path:
        return self.root / CONFIG_FILE_NAME

    @property
    def database_file(self) -> Path:
        return self.root / "insightloop.duckdb"

    @property
    def auth_file(self) -> Path:
        """Users, API tokens, write keys and the audit log (SQLite, see insightloop.auth)."""
        return self.root / "auth.sqlite"

    @property
    def profiles_dir(self) -> Path:
        """The profile documents the API serves (SQLite files, see insightloop.profile.store)."""
        return self.root / "profiles"

    @property
    def landing_dir(self) -> Path:
        """Append-only log of received events, written before they are acknowledged."""
        return self.root / "landing"

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @property
    def dashboard_dir(self) -> Path:
        """Figures of the dashboard that each pipeline run computes ahead (JSON files)."""
        return self.root / "dashboard"

    @property
    def exports_dir(self) -> Path:
        return self.root / "exports"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    @property
    def spark_dir(self) -> Path:
        """Spark's warehouse (Parquet tables) and its Derby metastore, when Spark is the engine."""
        return self.root / "spark"

    def folders(self) -> tuple[Path, ...]:
        return (self.landing_dir, self.models_dir, self.exports_dir, self.logs_dir)

    def is_workspace(self) -> bool:
        return self.config_file.is_file()

    def require(self) -> None:
        """Raise a :class:`WorkspaceError` that says what to do when this is no workspace."""
        if not self.root.exists():
            raise WorkspaceError(
                f"Workspace directory {self.root} does not exist.",
                hint=f"Create it with `insightloop init {self.root}`.",
            )
        if not self.is_workspace():
            raise WorkspaceError(
                f"{self.root} is not an insightloop workspace (it has no {CONFIG_FILE_NAME}).",
                hint=f"Create one with `insightloop init {self.root}`, or pass --workspace DIR "
                "(or set INSIGHTLOOP_WORKSPACE) to point at an existing one.",
            )

    def create(self) -> None:
        """Make the folders (the configuration file and database are written by their owners)."""
        self.root.mkdir(parents=True, exist_ok=True)
        for folder in self.folders():
            folder.mkdir(exist_ok=True)
