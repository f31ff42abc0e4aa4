"""Source declarations: the ``[sources.<name>]`` tables of ``insightloop.toml``.

A source says where its data is (``kind``: a ``file`` path or glob, a ``folder`` whose new
files are picked up on every run, or a ``database`` table or query read incrementally), which
canonical ``entity`` it feeds, how to read it (``[sources.<name>.read]``), how its values are
written (``[sources.<name>.options]``), how raw columns become canonical ones
(``[sources.<name>.mapping]``) and, optionally, how its data contract differs from the entity's
(``[sources.<name>.contract]``). :func:`parse_sources` checks all sources at once and raises
one :class:`~insightloop.errors.ConfigError` listing every problem.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from insightloop.errors import ConfigError
from insightloop.ingest.normalise import SourceOptions
from insightloop.ingest.readers import ReadOptions
from insightloop.ingest.readers.model import Format
from insightloop.ingest.sources.transforms import Transform, default_step
from insightloop.quality.contracts import (
    Contract,
    ContractError,
    contract_from_config,
    parse_rule,
)
from insightloop.store.schema import ENTITIES, ENTITY_TABLES, Entity, table_spec

__all__ = [
    "ENTITIES",
    "ContractSettings",
    "Entity",
    "NormaliseSettings",
    "ReadSettings",
    "SourceDeclaration",
    "canonical_columns",
    "entity_table",
    "parse_sources",
]

_LINEAGE = ("_source", "_batch_id", "_loaded_at")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def entity_table(entity: str) -> str:
    """The canonical table an entity is loaded into.

    Examples
    --------
    >>> entity_table("customers"), entity_table("orders")
    ('src_customers', 'orders')
    """
    return ENTITY_TABLES[entity]


def canonical_columns(entity: str) -> list[str]:
    """The columns a mapping may fill for ``entity`` (the table's columns without lineage).

    Examples
    --------
    >>> canonical_columns("order_items")[:3]
    ['order_id', 'line_number', 'sku']
    """
    return [c.name for c in table_spec(entity_table(entity)).columns if c.name not in _LINEAGE]


class ReadSettings(BaseModel):
    """How the files of a source are read; unset fields are detected (see ``ReadOptions``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Format | None = Field(default=None, description="csv, jsonl, json, parquet or xlsx.")
    encoding: str | None = Field(
        default=None, description="Python codec name, e.g. cp1252, gb18030."
    )
    delimiter: str | None = Field(
        default=None, min_length=1, max_length=1, description="CSV delimiter."
    )
    quote: str | None = Field(default=None, min_length=1, max_length=1, description="CSV quote.")
    header: bool | None = Field(
        default=None, description="Whether the first CSV record is a header."
    )
    sheet: str | None = Field(default=None, description="Worksheet of an .xlsx file.")

    def to_read_options(self) -> ReadOptions:
        """The settings as the readers' :class:`~insightloop.ingest.readers.ReadOptions`.

        Examples
        --------
        >>> ReadSettings(delimiter=";").to_read_options().delimiter
        ';'
        """
        return ReadOptions(**self.model_dump())


class NormaliseSettings(BaseModel):
    """How a source writes phones, dates and amounts (see ``SourceOptions``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    region: str | None = Field(
        default=None, description="Default phone region (ISO 3166-1 alpha-2)."
    )
    day_first: bool | None = Field(default=None, description="Whether 05/04/2023 is 5 April.")
    date_formats: list[str] = Field(default_factory=list, description="strptime formats.")
    time_zone: str = Field(default="UTC", description="IANA zone of timestamps without an offset.")
    decimal_comma: bool | None = Field(
        default=None, description="Whether 1,5 means one and a half."
    )
    currency: str | None = Field(default=None, description="ISO 4217 currency of bare amounts.")

    @model_validator(mode="after")
    def _check(self) -> NormaliseSettings:
        try:
            self.to_source_options()
        except ConfigError as error:
            raise ValueError(error.message.removeprefix("Unusable source options: ")) from None
        return self

    def to_source_options(self) -> SourceOptions:
        """The settings as the normalisers' :class:`~insightloop.ingest.normalise.SourceOptions`.

        Examples
        --------
        >>> NormaliseSettings(region="se").to_source_options().region
        'SE'
        """
        data = self.model_dump()
        data["date_formats"] = tuple(data["date_formats"])
        return SourceOptions(**data)


class ContractSettings(BaseModel):
    """How one source's data contract differs from its entity's (``[sources.<name>.contract]``).

    The same settings as ``[contracts.<entity>]`` (see ``docs/data-contracts.md``), applied on
    top of them: ``rules`` add rules or replace those with the same id, ``disable`` drops default
    rules by id, ``replace_defaults`` starts from no rules at all.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: list[dict[str, Any]] = Field(
        default_factory=list, description="Rules to add, or to replace by their id."
    )
    disable: list[str] = Field(default_factory=list, description="Ids of default rules to drop.")
    replace_defaults: bool = Field(
        default=False, description="Start from no rules: neither defaults nor [contracts]."
    )


class SourceDeclaration(BaseModel):
    """One ``[sources.<name>]`` table.

    Examples
    --------
    >>> src = SourceDeclaration(
    ...     name="crm", kind="file", path="crm/*.csv", entity="customers",
    ...     mapping={"email": "E-post"})
    >>> src.mapping["email"].column, src.read_options().delimiter
    ('E-post', None)
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(description="The source's name (the key under [sources]).")
    kind: Literal["file", "folder", "database"] = Field(description="Where the data is.")
    entity: Entity = Field(description="Canonical entity the source feeds.")
    path: str | None = Field(
        default=None, description="File path or glob (file), directory (folder)."
    )
    pattern: str = Field(default="*", description="Glob of the files a folder picks up.")
    url: str | None = Field(default=None, description="Database connection URL (database).")
    table: str | None = Field(default=None, description="Table to read (database).")
    query: str | None = Field(default=None, description="SQL query to read instead of a table.")
    watermark: str | None = Field(
        default=None, description="Column that only grows, for increments."
    )
    incremental: bool = Field(default=True, description="Read only rows past the last watermark.")
    explode: str | None = Field(
        default=None,
        description="JSON array column to explode into one row per element (order items).",
    )
    read: ReadSettings = Field(default_factory=ReadSettings, description="Reading files.")
    options: NormaliseSettings = Field(
        default_factory=NormaliseSettings, description="How values are written."
    )
    mapping: dict[str, Transform] = Field(
        default_factory=dict, description="Canonical column -> transform."
    )
    contract_settings: ContractSettings = Field(
        default_factory=ContractSettings,
        alias="contract",
        description="How this source's data contract differs from its entity's.",
    )

    @model_validator(mode="after")
    def _check(self) -> SourceDeclaration:
        problems = _location_problems(self)
        problems += _mapping_problems(self)
        settings = self.contract_settings
        if settings != ContractSettings():
            try:
                contract_from_config(self.entity, settings.model_dump())
            except ContractError as error:
                problems += [f"contract: {problem}" for problem in error.problems]
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def read_options(self) -> ReadOptions:
        """The reader options of this source."""
        return self.read.to_read_options()

    def source_options(self) -> SourceOptions:
        """The normaliser options of this source."""
        return self.options.to_source_options()

    def contract(self, global_config: Mapping[str, Any] | None = None) -> Contract:
        """The data contract of this source's batches.

        The entity's default contract, changed by the workspace's ``[contracts.<entity>]``
        settings (``global_config``), then by the source's own ``contract`` table.

        Parameters
        ----------
        global_config
            The workspace's settings for this source's entity (the ``[contracts.<entity>]``
            table: ``rules``, ``disable``, ``replace_defaults``), not the whole ``[contracts]``.

        Raises
        ------
        ContractError
            When ``global_config`` is invalid.

        Examples
        --------
        >>> src = SourceDeclaration(name="tills", kind="file", path="pos.csv",
        ...     entity="order_items", contract={"disable": ["reference:order_id"]})
        >>> "reference:order_id" in [r.id for r in src.contract().rules]
        False
        >>> src.contract({"rules": [{"kind": "range", "column": "quantity", "max": 99}]}).rule(
        ...     "range:quantity").max
        99
        """
        base = contract_from_config(self.entity, global_config)
        settings = self.contract_settings
        rules = {} if settings.replace_defaults else {rule.id: rule for rule in base.rules}
        for rule_id in settings.disable:
            # Checked against the defaults when the source was parsed; the workspace may have
            # dropped the rule already.
            rules.pop(rule_id, None)
        for i, data in enumerate(settings.rules):
            rule = parse_rule(data, entity=self.entity, where=f"rule {i}")
            rules[rule.id] = rule
        return Contract(entity=self.entity, rules=tuple(rules.values()))


def _mapping_problems(src: SourceDeclaration) -> list[str]:
    problems: list[str] = []
    valid = canonical_columns(src.entity)
    dtypes = {c.name: c.dtype for c in table_spec(entity_table(src.entity)).columns}
    for column, transform in src.mapping.items():
        if column not in valid:
            problems.append(
                f"mapping.{column}: not a column of entity {src.entity!r}; "
                f"use one of {', '.join(valid)}"
            )
            continue
        step = default_step(column, dtypes[column], transform)
        if transform.formats and not transform.parses_dates(step):
            problems.append(
                f"mapping.{column}.formats: {column!r} is {dtypes[column]}, not read as a date; "
                "remove formats, or add parse = 'date' or 'timestamp'"
            )
        if transform.time_zone is not None and step != ("parse", "timestamp"):
            problems.append(
                f"mapping.{column}.time_zone: only timestamps take a time zone, and "
                f"{column!r} is {dtypes[column]}; remove it, or add parse = 'timestamp'"
            )
        if transform.region is not None and step != ("normalise", "phone"):
            problems.append(
                f"mapping.{column}.region: only phone numbers take a region, and {column!r} "
                "is not read as one; remove it, or add normalise = 'phone'"
            )
    return problems


def _location_problems(src: SourceDeclaration) -> list[str]:
    problems: list[str] = []
    if src.kind in ("file", "folder"):
        for key in ("url", "table", "query", "watermark"):
            if getattr(src, key) is not None:
                problems.append(f"{key}: only database sources take it; remove it")
        if not src.path or not src.path.strip():
            problems.append(f"path: a {src.kind} source needs path = '...'")
        elif _SCHEME.match(src.path):
            problems.append(
                f"path: {src.path!r} is a URL, not a path or glob; use a local path such as "
                "'exports/*.csv', or kind = 'database' with url = '...'"
            )
        elif src.kind == "folder" and any(ch in src.path for ch in "*?["):
            problems.append(
                f"path: {src.path!r} is a glob; a folder source takes a directory, with the "
                "glob in pattern = '*.csv' (or use kind = 'file')"
            )
        elif src.kind == "file" and src.path.endswith(("/", "\\")):
            problems.append(
                f"path: {src.path!r} is a directory; give a file or glob such as "
                f"'{src.path}*.csv', or use kind = 'folder'"
            )
        if "/" in src.pattern or "\\" in src.pattern:
            problems.append(f"pattern: {src.pattern!r} must be a file-name glob such as '*.csv'")
        return problems
    if src.path is not None:
        problems.append("path: database sources take url and table or query, not path")
    if not src.url or not _SCHEME.match(src.url):
        problems.append(
            f"url: {src.url!r} has no scheme; write it as "
            "'postgresql://user@host/db', 'duckdb:///path/file.duckdb' or similar"
        )
    if (src.table is None) == (src.query is None):
        problems.append("table/query: give exactly one of table = '...' or query = '...'")
    if src.incremental and not src.watermark:
        problems.append(
            "watermark: an incremental database source needs watermark = '<column that only "
            "grows, e.g. updated_at>', or set incremental = false to read everything each run"
        )
    return problems


def parse_sources(table: Mapping[str, Any]) -> dict[str, SourceDeclaration]:
    """Validate the ``[sources]`` table of ``insightloop.toml``; all problems raise at once.

    Parameters
    ----------
    table
        The parsed ``[sources]`` table: source name -> settings.

    Returns
    -------
    dict
        Source name -> :class:`SourceDeclaration`.

    Raises
    ------
    ConfigError
        Naming every source, key and value that is wrong, and how to fix it.

    Examples
    --------
    >>> parse_sources({"web": {"kind": "file", "path": "o.jsonl", "entity": "orders"}})["web"].kind
    'file'
    >>> parse_sources({"db": {"kind": "database", "url": "localhost", "entity": "orders",
    ...                "table": "t"}})  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    insightloop.errors.ConfigError: 2 problems in [sources]: ...
    """
    sources: dict[str, SourceDeclaration] = {}
    problems: list[str] = []
    for name, settings in table.items():
        if not isinstance(settings, Mapping):
            problems.append(f"sources.{name}: must be a table [sources.{name}] with kind = ...")
            continue
        try:
            sources[name] = SourceDeclaration(name=name, **settings)
        except ValidationError as error:
            problems.extend(_describe(name, error))
    if problems:
        raise ConfigError(
            f"{len(problems)} problem{'s' if len(problems) > 1 else ''} in [sources]:\n  "
            + "\n  ".join(problems),
            hint="Fix each key named above in insightloop.toml (see docs/sources.md).",
        )
    return sources


def _describe(name: str, error: ValidationError) -> list[str]:
    lines: list[str] = []
    for item in error.errors(include_url=False):
        where = ".".join(str(part) for part in item["loc"] if not str(part).startswith("function"))
        prefix = f"sources.{name}" + (f".{where}" if where else "")
        message = str(item["msg"]).removeprefix("Value error, ")
        if item["type"] == "value_error" and not where:
            lines.extend(f"sources.{name}.{line}" for line in message.split("\n"))
            continue
        shown = item.get("input")
        if item["type"] in ("missing", "extra_forbidden") or isinstance(shown, Mapping):
            lines.append(f"{prefix}: {message}")
        else:
            lines.append(f"{prefix}: {message} (got {shown!r})")
    return lines
