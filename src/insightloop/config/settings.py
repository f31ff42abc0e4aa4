"""The settings model and its loader.

Values come from three places, the first that sets a value wins:

1. environment variables ``INSIGHTLOOP_<SECTION>__<KEY>`` (e.g. ``INSIGHTLOOP_ENGINE__BACKEND``),
2. the workspace's ``insightloop.toml``,
3. the defaults below.

Unknown keys are errors, not silently ignored: a typo in a setting name must not quietly leave the
default in force.
"""

from __future__ import annotations

import copy
import os
import tomllib
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from insightloop.errors import ConfigError

__all__ = [
    "CONFIG_FILE_NAME",
    "ENV_PREFIX",
    "CollectSettings",
    "EngineSettings",
    "PipelineSettings",
    "ProfilesSettings",
    "ServerSettings",
    "Settings",
    "load_settings",
    "render_config_file",
]

CONFIG_FILE_NAME = "insightloop.toml"
ENV_PREFIX = "INSIGHTLOOP_"
ENV_NESTED_DELIMITER = "__"

# The values read from the workspace's TOML file while a Settings object is being built; a context
# variable keeps concurrent loads of different workspaces (threads, tasks) apart.
_FILE_VALUES: ContextVar[dict[str, Any] | None] = ContextVar("_FILE_VALUES", default=None)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class EngineSettings(_Section):
    """Which database engine runs the relational work, and how."""

    backend: Literal["duckdb", "spark"] = Field(
        "duckdb",
        description="Engine for all relational work: 'duckdb' (embedded, default) or 'spark' "
        "(PySpark; install with `pip install 'insightloop[spark]'`).",
    )
    threads: int | None = Field(
        None, ge=1, le=1024, description="DuckDB worker threads. Empty: one per core."
    )
    memory_limit: str | None = Field(
        None,
        pattern=r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$",
        description="DuckDB memory limit, e.g. '4GB'; beyond it DuckDB spills to disk. "
        "Empty: DuckDB's default (80% of RAM), lowered to 3 GiB while sources load and while "
        "identity matching runs (1.5 KiB per record, at least 1536 MB).",
    )
    spark_master: str = Field(
        "local[*]", description="Spark master URL; 'local[*]' runs Spark inside this process."
    )
    spark_database: str = Field(
        "insightloop",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="Spark catalog database that holds this workspace's tables.",
    )
    spark_driver_memory: str = Field(
        "4g", pattern=r"^\d+[kmgt]$", description="Memory of the Spark driver JVM, e.g. '4g'."
    )
    spark_shuffle_partitions: int = Field(
        8, ge=1, le=100_000, description="spark.sql.shuffle.partitions for this workspace."
    )


class ServerSettings(_Section):
    """Where `insightloop serve` listens."""

    host: str = Field("127.0.0.1", description="Interface to bind; 127.0.0.1 serves this machine.")
    port: int = Field(8000, ge=1, le=65535, description="TCP port of the HTTP server.")
    workers: int = Field(1, ge=1, le=64, description="Number of server worker processes.")
    token_requests_per_second: float = Field(
        100.0,
        ge=0,
        description="Requests per second one API token may make to one server worker (bursts "
        "of twice that); beyond it the answer is 429 with Retry-After. 0: no limit.",
    )

    @field_validator("host")
    @classmethod
    def _host_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must name an interface, e.g. 127.0.0.1")
        return value.strip()


class CollectSettings(_Section):
    """The collection API (Segment-spec events) and the loader of its landing log."""

    load_interval_seconds: float = Field(
        2.0,
        gt=0,
        le=3600,
        description="The shortest time between two passes of the server's loader, which moves "
        "landed events into the database; after a quiet spell a pass starts as soon as events "
        "land.",
    )
    max_body_bytes: int = Field(
        8 * 1024 * 1024,
        ge=1024,
        le=256 * 1024 * 1024,
        description="Largest request body accepted (after gunzip); larger ones get 413.",
    )
    segment_bytes: int = Field(
        64 * 1024 * 1024,
        ge=1024,
        description="Size at which a landing-log segment file is closed and a new one begun.",
    )
    keep_loaded_days: float = Field(
        7.0,
        ge=0,
        description="Days a fully loaded landing-log segment is kept (for replay) before removal.",
    )
    loader_niceness: int = Field(
        10,
        ge=0,
        le=19,
        description="How much lower than the server's the scheduling priority of its loader "
        "process is (Unix nice, 0-19): under load the answers come first and the events, "
        "durable already, are loaded a little later.",
    )
    loader_max_memory_mb: int = Field(
        1024,
        ge=0,
        description="Memory (resident, MiB) above which the loader process replaces itself by "
        "a fresh one after a pass, so that memory stays flat over days of serving. 0: never.",
    )
    write_key_requests_per_second: float = Field(
        2000.0,
        ge=0,
        description="Requests per second one write key may send to one server worker "
        "(bursts of twice that); beyond it the answer is 429 with Retry-After. 0: no limit.",
    )


class ProfilesSettings(_Section):
    """The profile store the API serves profiles from (materialised profile documents)."""

    timeline_entries: int = Field(
        25,
        ge=1,
        le=1000,
        description="Touchpoints each profile document keeps, newest first (the API's recent "
        "timeline; the CLI and Python API read the whole timeline from the database).",
    )
    refresh_on_load: bool = Field(
        True,
        description="Rewrite the documents of the customers whose received events were just "
        "loaded, so that a new event shows in the profile within seconds.",
    )
    store: Literal["sqlite", "redis"] = Field(
        "sqlite",
        description="Where the documents are kept: 'sqlite' (files in <workspace>/profiles, "
        "for one machine) or 'redis' (a Redis server that several server nodes share; needs "
        "redis_url).",
    )
    redis_url: str | None = Field(
        None,
        description="The Redis server of store = 'redis', e.g. 'redis://127.0.0.1:6379/0' "
        "('rediss://' for TLS). Put a password in INSIGHTLOOP_PROFILES__REDIS_URL rather "
        "than in this file; it is never shown in messages.",
    )
    redis_prefix: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="Prefix of this workspace's keys in Redis, so that workspaces can share "
        "one server. Empty: 'insightloop:<name>:', from the workspace's name.",
    )


class PipelineSettings(_Section):
    """How `insightloop run` behaves."""

    stop_on_error: bool = Field(
        True, description="Stop the run at the first failed step (later steps are skipped)."
    )


class Settings(BaseSettings):
    """All settings of a workspace.

    Examples
    --------
    >>> Settings().engine.backend
    'duckdb'
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_NESTED_DELIMITER,
        extra="forbid",
        validate_default=True,
    )

    name: str = Field("insightloop", min_length=1, description="Display name of the workspace.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Log level of the CLI and the server."
    )
    engine: EngineSettings = Field(default_factory=EngineSettings)  # type: ignore[arg-type]
    server: ServerSettings = Field(default_factory=ServerSettings)  # type: ignore[arg-type]
    pipeline: PipelineSettings = Field(default_factory=PipelineSettings)  # type: ignore[arg-type]
    collect: CollectSettings = Field(default_factory=CollectSettings)  # type: ignore[arg-type]
    profiles: ProfilesSettings = Field(default_factory=ProfilesSettings)  # type: ignore[arg-type]
    sources: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Data sources, one [sources.<name>] table each (see docs/sources.md).",
    )
    quality: dict[str, Any] = Field(
        default_factory=dict,
        description="Thresholds of the data-quality scorecard, in a [quality] table "
        "(see docs/data-quality.md).",
    )
    identity: dict[str, Any] = Field(
        default_factory=dict,
        description="Identity resolution: key types, thresholds, limits, survivorship, in an "
        "[identity] table (see docs/identity.md).",
    )
    analytics: dict[str, Any] = Field(
        default_factory=dict,
        description="Customer analysis: reporting currency and exchange rates, contact costs, "
        "value tiers, lifetime value, lifecycle stages and custom measures, in an [analytics] "
        "table (see docs/analytics.md).",
    )
    contracts: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Changes to the data contracts, one [contracts.<entity>] table each "
        "(see docs/data-contracts.md).",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        file_source = InitSettingsSource(settings_cls, init_kwargs=_FILE_VALUES.get() or {})
        return (init_settings, env_settings, file_source)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"Configuration file {path} does not exist.",
            hint="Create a workspace with `insightloop init DIR`, or pass the right --workspace.",
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(
            f"Configuration file {path} is not UTF-8 text.",
            hint="Save it as UTF-8 (TOML files must be UTF-8).",
        ) from None
    # A text parsed before is not parsed again: the server reads the file on every request,
    # and parsing a workspace's file with a dozen sources takes longer than some pages render.
    if text not in _PARSED:
        try:
            values = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(
                f"Configuration file {path} is not valid TOML: {exc}.",
                hint="Fix the syntax at the position shown; `insightloop config show` checks it.",
            ) from None
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        _PARSED[text] = values
    return copy.deepcopy(_PARSED[text])  # callers may change what they get


#: Parsed configuration files by their text.
_PARSED: dict[str, dict[str, Any]] = {}
_PARSED_MAX = 32


def _describe_validation_error(exc: ValidationError, origin: str) -> ConfigError:
    problems = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"])
        env = ENV_PREFIX + ENV_NESTED_DELIMITER.join(str(p) for p in err["loc"]).upper()
        if err["type"] == "extra_forbidden":
            problems.append(f"  - unknown setting '{key}' (check its spelling)")
        else:
            problems.append(
                f"  - {key} = {err.get('input')!r}: {err['msg']} (set in {origin} or ${env})"
            )
    return ConfigError(
        f"{len(problems)} invalid setting(s):\n" + "\n".join(problems),
        hint="Fix these values; docs/configuration.md lists every setting with its allowed values.",
    )


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings from a workspace's TOML file, the environment and defaults.

    Parameters
    ----------
    config_file
        The workspace's ``insightloop.toml``; ``None`` uses environment and defaults only.
    **overrides
        Values that win over every other source (used by tests and by CLI flags).

    Raises
    ------
    ConfigError
        With every invalid value listed at once, its current value and where to change it.
    """
    file_values = _read_toml(config_file) if config_file is not None else {}
    token = _FILE_VALUES.set(file_values)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        origin = str(config_file) if config_file is not None else "the environment"
        raise _describe_validation_error(exc, origin) from None
    finally:
        _FILE_VALUES.reset(token)


def _toml_value(value: Any) -> str:
    # tomli_w renders a value only inside a table; render a one-key table and keep the right side.
    return tomli_w.dumps({"v": value}).strip()[len("v = ") :]


def render_config_file(settings: Settings | None = None) -> str:
    """Render a commented ``insightloop.toml`` holding every setting (defaults unless given).

    Settings that are unset (``None``) are written as comments, so the file lists every option.
    """
    settings = settings or Settings.model_construct()
    lines = [
        "# insightloop workspace configuration.",
        "# Every value can be overridden by an environment variable named",
        f"# {ENV_PREFIX}<SECTION>{ENV_NESTED_DELIMITER}<KEY>, "
        f"e.g. {ENV_PREFIX}ENGINE{ENV_NESTED_DELIMITER}BACKEND=spark.",
        "# Reference: docs/configuration.md",
        "",
    ]

    def emit(model: BaseModel, cls: type[BaseModel]) -> None:
        for name, field in cls.model_fields.items():
            value = getattr(model, name)
            if isinstance(value, BaseModel):
                continue
            if isinstance(value, dict):
                # Tables of tables ([sources.<name>]) are appended by their own commands.
                lines.append(f"# [{name}.<name>]: {field.description}")
                lines.append("")
                continue
            if field.description:
                lines.append(f"# {field.description}")
            lines.append(f"# {name} =" if value is None else f"{name} = {_toml_value(value)}")
            lines.append("")

    emit(settings, Settings)
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if isinstance(value, BaseModel):
            lines.append(f"[{name}]")
            lines.append("")
            emit(value, type(value))
    return "\n".join(lines).rstrip() + "\n"


def environment_overrides() -> dict[str, str]:
    """The ``INSIGHTLOOP_*`` environment variables in force (names only matter for display)."""
    return {k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIX)}
