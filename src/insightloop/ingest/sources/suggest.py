"""``suggest_mapping``: draft a source declaration from a sample of a file.

The file is opened with the readers (format, encoding and dialect detected), a sample of each
column is profiled (:mod:`~insightloop.ingest.sources.profile`) and its header compared with the
names sources use for each canonical column (:mod:`~insightloop.ingest.sources.vocabulary`).
Each entity gets a score (the confidences of the columns it would map, lowered when its row key
repeats); the best one is proposed unless ``entity`` is given. :meth:`SuggestedSource.to_toml`
renders the proposal for ``insightloop.toml``, with the confidence of every line as a comment.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from insightloop.ingest.normalise import normalise_country
from insightloop.ingest.readers import ReadOptions, open_file
from insightloop.ingest.sources.declaration import (
    ENTITIES,
    NormaliseSettings,
    ReadSettings,
    SourceDeclaration,
    canonical_columns,
    entity_table,
)
from insightloop.ingest.sources.profile import ColumnProfile, profile_values
from insightloop.ingest.sources.transforms import Transform
from insightloop.ingest.sources.vocabulary import ALIASES, ENTITY_KEYS, header_key
from insightloop.store.schema import table_spec

__all__ = ["SuggestedColumn", "SuggestedSource", "suggest_mapping"]

_Pair = tuple[str, str, float]
_ANY = frozenset({"id", "integer", "text", "country", "phone", "boolean", "amount", "empty"})
_BY_NAME: dict[str, frozenset[str]] = {
    "email": frozenset({"email"}),
    "phone": frozenset({"phone", "id", "integer"}),
    "country": frozenset({"country", "text"}),
    "postcode": frozenset({"integer", "id", "text", "phone"}),
}
_BY_TYPE: dict[str, frozenset[str]] = {
    "date": frozenset({"date", "timestamp"}),
    "timestamp": frozenset({"date", "timestamp"}),
    "int64": frozenset({"integer"}),
    "float64": frozenset({"integer", "amount"}),
    "boolean": frozenset({"boolean", "integer"}),
}


@dataclass(frozen=True)
class SuggestedColumn:
    """One raw column and the canonical column proposed for it (``None``: left unmapped)."""

    raw: str
    canonical: str | None
    confidence: float
    kind: str
    transform: Transform | None = None


@dataclass(frozen=True)
class SuggestedSource:
    """A proposed source declaration with a confidence per column."""

    name: str
    path: str
    entity: str
    entity_scores: dict[str, float]
    columns: tuple[SuggestedColumn, ...]
    read: ReadSettings
    options: NormaliseSettings

    def mapping(self) -> dict[str, Transform]:
        """Canonical column -> transform, in the order of the raw columns."""
        return {c.canonical: c.transform for c in self.columns if c.canonical and c.transform}

    def raw_for(self, canonical: str) -> str | None:
        """The raw column proposed for ``canonical``, if any."""
        found = self.mapping().get(canonical)
        return None if found is None else found.raw_columns()[0]

    def declaration(self) -> SourceDeclaration:
        """The proposal as a validated :class:`SourceDeclaration`."""
        return SourceDeclaration(
            name=self.name,
            kind="file",
            path=self.path,
            entity=self.entity,  # type: ignore[arg-type]
            read=self.read,
            options=self.options,
            mapping=self.mapping(),
        )

    def to_toml(self) -> str:
        """The proposal as a ``[sources.<name>]`` table to paste into ``insightloop.toml``."""
        head = f"sources.{self.name}"
        scores = ", ".join(f"{e} {s:.1f}" for e, s in self.entity_scores.items() if s > 0)
        lines = [
            f"# Suggested from {self.path}; check every line (entity scores: {scores}).",
            f"[{head}]",
            'kind = "file"',
            f"path = {_toml(self.path)}",
            f"entity = {_toml(self.entity)}",
        ]
        for section, settings in (("read", self.read), ("options", self.options)):
            values = settings.model_dump(exclude_defaults=True)
            if values:
                lines += ["", f"[{head}.{section}]"]
                lines += [f"{_key(k)} = {_toml(v)}" for k, v in values.items()]
        lines += ["", f"[{head}.mapping]"]
        for column in self.columns:
            if column.canonical and column.transform:
                value = _toml(column.transform.to_toml_value())
                note = f"confidence {column.confidence:.2f}, {column.kind} values"
                lines.append(f"{_key(column.canonical)} = {value}  # {note}")
        unmapped = [f"{c.raw!r} ({c.kind})" for c in self.columns if not c.canonical]
        if unmapped:
            lines.append(f"# Not mapped: {', '.join(unmapped)}")
        return "\n".join(lines) + "\n"


def suggest_mapping(
    path: str | Path,
    entity: str | None = None,
    *,
    name: str | None = None,
    read: ReadOptions | None = None,
    sample_rows: int = 500,
) -> SuggestedSource:
    """Propose an entity and a mapping for a file from its header and a sample of its values.

    Parameters
    ----------
    path
        The file.
    entity
        The canonical entity, if known; otherwise the best-scoring one is proposed.
    name
        The source's name; by default the file name without extension.
    read
        Reader options to force (otherwise everything is detected).
    sample_rows
        Records sampled from the start of the file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "crm.csv").write_text("Kundnr;E-post;Förnamn\\nK1001;a@x.se;Åsa\\n")
    >>> s = suggest_mapping(folder / "crm.csv")
    >>> s.entity, s.raw_for("email"), s.raw_for("first_name")
    ('customers', 'E-post', 'Förnamn')
    """
    with open_file(path, read) as reader:
        batch = next(iter(reader.batches(rows_per_batch=sample_rows)), None)
        settings: dict[str, Any] = {"format": reader.format, "encoding": reader.encoding}
        if reader.dialect is not None:
            settings["delimiter"] = reader.dialect.delimiter
            if not reader.dialect.header:
                settings["header"] = False
        raw_columns = list(reader.columns)
    if settings["encoding"] in ("utf-8", "utf8", "ascii"):
        settings.pop("encoding")
    if settings.get("delimiter") == ",":
        settings.pop("delimiter")
    samples = {c: batch.column(c).to_pylist() if batch else [] for c in raw_columns}
    profiles = {c: profile_values(values) for c, values in samples.items()}
    candidates = [entity] if entity else list(ENTITIES)
    results = {e: _match(e, profiles) for e in candidates}
    scores = {e: round(r[0], 2) for e, r in results.items()}
    chosen = max(candidates, key=lambda e: scores[e])
    assigned = results[chosen][1]
    columns = tuple(
        item
        for raw in raw_columns
        for item in _column(
            chosen, raw, profiles[raw], [(c, f) for r, c, f in assigned if r == raw]
        )
    )
    return SuggestedSource(
        name=name or re.sub(r"\W+", "_", Path(path).stem).strip("_").lower() or "source",
        path=Path(path).as_posix(),
        entity=chosen,
        entity_scores=dict(sorted(scores.items(), key=lambda item: -item[1])),
        columns=columns,
        read=ReadSettings(**settings),
        options=NormaliseSettings(**_options(assigned, samples, profiles)),
    )


def _header_confidence(entity: str, raw: str, canonical: str) -> float:
    key = header_key(raw)
    aliases = {header_key(canonical), *ALIASES.get(entity, {}).get(canonical, "").split()}
    if key in aliases:
        return 0.9
    if any(len(alias) >= 4 and alias in key for alias in aliases):
        return 0.55
    return 0.0


def _expected(entity: str, canonical: str) -> frozenset[str]:
    if canonical in _BY_NAME:
        return _BY_NAME[canonical]
    dtype = str(table_spec(entity_table(entity)).schema()[canonical])
    if dtype.startswith("decimal"):
        return frozenset({"amount", "integer"})
    return _BY_TYPE.get(dtype, _ANY)


def _match(entity: str, profiles: dict[str, ColumnProfile]) -> tuple[float, list[_Pair]]:
    """The entity's score and its ``(raw, canonical, confidence)`` assignments."""
    options: list[tuple[float, str, str]] = []
    for raw, profile in profiles.items():
        for canonical in canonical_columns(entity):
            confidence = _header_confidence(entity, raw, canonical)
            fits = profile.kind in _expected(entity, canonical) or profile.kind == "empty"
            if confidence == 0 and canonical in ("email", "phone") and profile.kind == canonical:
                confidence = 0.6 * profile.share
            if confidence == 0:
                continue
            confidence = min(1.0, confidence + 0.1) if fits else confidence * 0.4
            options.append((confidence, raw, canonical))
    assigned: dict[str, Any] = {}
    taken: set[str] = set()
    for confidence, raw, canonical in sorted(options, key=lambda o: -o[0]):
        if raw not in assigned and canonical not in taken and confidence >= 0.3:
            assigned[raw] = (canonical, confidence)
            taken.add(canonical)
    pairs = [(raw, canonical, confidence) for raw, (canonical, confidence) in assigned.items()]
    if entity == "customers" and "source_key" not in taken:
        pairs += [
            (raw, "source_key", confidence)
            for raw, canonical, confidence in pairs
            if canonical == "loyalty_number" and profiles[raw].distinct >= 0.95
        ]
    score = sum(confidence for _, _, confidence in pairs)
    key = ENTITY_KEYS.get(entity)
    for raw, canonical, _ in pairs:
        if canonical == key and profiles[raw].distinct < 0.95:
            score *= 0.6
    return score, pairs


def _column(
    entity: str, raw: str, profile: ColumnProfile, matches: list[tuple[str, float]]
) -> list[SuggestedColumn]:
    if not matches:
        return [SuggestedColumn(raw, None, 0.0, profile.kind)]
    return [_one(entity, raw, profile, canonical, confidence) for canonical, confidence in matches]


def _one(
    entity: str, raw: str, profile: ColumnProfile, canonical: str, confidence: float
) -> SuggestedColumn:
    dtype = str(table_spec(entity_table(entity)).schema()[canonical])
    formats = [profile.date_format] if profile.date_format else []
    transform = Transform(column=raw)
    if canonical == "birth_date":
        transform = Transform(column=raw, normalise="birth_date", formats=formats)
    elif dtype in ("date", "timestamp") and formats:
        transform = Transform(column=raw, parse=dtype, formats=formats)  # type: ignore[arg-type]
    return SuggestedColumn(raw, canonical, round(confidence, 2), profile.kind, transform)


def _options(
    assigned: list[_Pair],
    samples: dict[str, list[Any]],
    profiles: dict[str, ColumnProfile],
) -> dict[str, Any]:
    options: dict[str, Any] = {}
    by_canonical = {canonical: raw for raw, canonical, _ in assigned}
    if "country" in by_canonical:
        codes = Counter(
            normalise_country(v).value for v in samples[by_canonical["country"]] if v
        ).most_common(1)
        if codes and codes[0][0] and codes[0][1] >= 0.6 * len(samples[by_canonical["country"]]):
            options["region"] = codes[0][0]
    if any(profiles[raw].decimal_comma for raw, _, _ in assigned):
        options["decimal_comma"] = True
    return options


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml(key)


def _toml(value: Any) -> str:
    """A TOML value on one line (inline tables for dicts).

    Examples
    --------
    >>> _toml({"column": "E-post", "formats": ["%Y年%m月%d日"]})
    '{ column = "E-post", formats = ["%Y年%m月%d日"] }'
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")
