"""Match person files without a workspace: the API behind ``insightloop match``.

One file is deduplicated; two or more are linked (pairs are only formed across files). Columns
are given roles automatically (:mod:`.match_roles`), records are prepared, a model is configured
and trained automatically, pairs are scored and the linked ones clustered. Written to ``out_dir``:

``clusters.csv`` (or ``.parquet``)
    ``record_id, input, cluster_id`` for every record; records of one cluster are one person.
``pairs.csv`` (or ``.parquet``)
    ``left_input, left_id, right_input, right_id, match_probability, match_weight, decision,
    evidence`` for every pair at or above the review threshold.
``model.json``
    The trained model, describing itself (settings, roles, version, training time, input hash).

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> folder = Path(tempfile.mkdtemp())
>>> _ = (folder / "people.csv").write_text(
...     "id,first_name,surname,dob,email\\n"
...     "1,Bill,Smith,1970-01-02,bill@x.example\\n"
...     "2,William,Smith,1970-01-02,bill@x.example\\n"
...     "3,Anna,Berg,1985-05-05,anna@y.example\\n"
... )
>>> result = match_files([folder / "people.csv"], out_dir=folder / "out")
>>> result.mode, result.records, sorted(p.name for p in result.files)
('dedupe', 3, ['clusters.csv', 'model.json', 'pairs.csv'])
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pyarrow as pa
import pyarrow.compute as pc

from insightloop.identity.match_roles import guess_roles, merge_roles, read_person_file
from insightloop.identity.splink_clusters import cluster_pairs
from insightloop.identity.splink_model import MatchModel
from insightloop.identity.splink_prepare import ROLES, RoleMap, prepare_records
from insightloop.identity.splink_settings import MatchError, MatchSettings

if TYPE_CHECKING:
    from insightloop.store.engine import Engine

__all__ = ["MatchResult", "match_files"]

Format = Literal["csv", "parquet"]
_ROW_ID = "__row__"


@dataclass
class MatchResult:
    """What :func:`match_files` did and wrote."""

    mode: Literal["dedupe", "link"]
    records: int
    inputs: dict[str, int]
    roles: dict[str, RoleMap]
    id_columns: dict[str, str | None]
    pairs: pa.Table
    clusters: pa.Table
    report: dict[str, Any]
    files: list[Path] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def decisions(self) -> dict[str, int]:
        """Pairs per decision (link, review, guarded)."""
        counts = pc.value_counts(self.pairs["decision"]) if self.pairs.num_rows else None
        out = {"link": 0, "review": 0, "guarded": 0}
        if counts is not None:
            for item in counts.to_pylist():
                out[item["values"]] = item["counts"]
        return out


def match_files(
    inputs: Sequence[Path],
    *,
    roles: Mapping[str, str | Sequence[str]] | None = None,
    id_column: str | None = None,
    settings: MatchSettings | None = None,
    out_dir: Path,
    fmt: Format = "csv",
    engine: Engine | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> MatchResult:
    """Deduplicate one person file, or link several; write clusters, pairs and the model.

    Parameters
    ----------
    inputs
        CSV or Parquet files. Every column is read as text.
    roles
        Role -> column(s), overriding the recognised ones (see :mod:`.match_roles`).
    id_column
        Column with a unique record id in every file; recognised from the header when not given
        (``id``, ``rec_id``, ...), else the row number (1-based) is the id.
    settings
        :class:`MatchSettings`; the defaults are the automatic configuration.
    out_dir
        Folder for the output files (created).
    fmt
        ``csv`` or ``parquet`` for clusters and pairs.
    engine
        Run on this engine; default: a private in-memory DuckDB.
    progress
        Called with (fraction done, stage).
    """
    started = time.perf_counter()
    report_progress = progress or (lambda fraction, stage: None)
    if not inputs:
        raise MatchError("No input file was given.", hint="Give one file to deduplicate, or more.")
    if fmt not in ("csv", "parquet"):
        raise MatchError(f"Unknown output format {fmt!r}.", hint="Use csv or parquet.")
    settings = settings or MatchSettings()
    unknown = sorted(set(roles or {}) - set(ROLES))
    if unknown:
        raise MatchError(
            f"Unknown role(s): {', '.join(unknown)}.", hint=f"Roles are {', '.join(ROLES)}."
        )
    report_progress(0.0, "reading files")
    names = _input_names(inputs)
    prepared: dict[str, pa.Table] = {}
    used_roles: dict[str, RoleMap] = {}
    used_ids: dict[str, str | None] = {}
    # A role given explicitly applies to every file that has the column; each must be in one.
    unused = {
        c for cols in (roles or {}).values() for c in ([cols] if isinstance(cols, str) else cols)
    }
    for name, path in zip(names, inputs, strict=True):
        table = read_person_file(Path(path))
        if table.num_rows == 0:
            raise MatchError(f"{path} has no records.", hint="Give files with at least one row.")
        guessed, guessed_id = guess_roles(table.column_names, table.slice(0, 1000))
        file_id = id_column or guessed_id
        if id_column is not None and id_column not in table.column_names:
            raise MatchError(
                f"{path} has no column {id_column!r}.",
                hint=f"Its columns are: {', '.join(table.column_names)}.",
            )
        present = _present(roles, table.column_names)
        unused -= {c for cols in present.values() for c in cols}
        file_roles = merge_roles(guessed, present)
        file_roles = {r: [c for c in cols if c != file_id] for r, cols in file_roles.items()}
        file_roles = {r: cols for r, cols in file_roles.items() if cols}
        if not file_roles:
            raise MatchError(
                f"No column of {path} was recognised as a name, date, e-mail, phone, address "
                "or identifier.",
                hint="Name the roles: --column first_name=COL --column birth_date=COL ...",
            )
        if file_id is None:
            row_ids = pa.array([str(i) for i in range(1, table.num_rows + 1)], pa.string())
            table = table.append_column(_ROW_ID, row_ids)
        prepared[name] = prepare_records(table, file_roles, file_id or _ROW_ID)
        used_roles[name], used_ids[name] = file_roles, file_id
    if unused:
        raise MatchError(
            f"No input has the column(s) {', '.join(sorted(unused))} named in the roles.",
            hint="Check the spelling of --column role=column against the files' headers.",
        )
    report_progress(0.05, "configuring and training")

    def train_progress(fraction: float, stage: str) -> None:
        report_progress(0.05 + 0.6 * fraction, stage)

    records: pa.Table | dict[str, pa.Table] = (
        prepared if len(prepared) > 1 else next(iter(prepared.values()))
    )
    with MatchModel.train(
        records, settings=settings, engine=engine, progress=train_progress
    ) as model:
        report_progress(0.7, "scoring pairs")
        pairs = model.predict()
        report_progress(0.85, "clustering")
        clusters, cluster_report = cluster_pairs(model, pairs)
        out_dir.mkdir(parents=True, exist_ok=True)
        model_path = model.save(out_dir / "model.json")
        report = {**model.report, "clusters": cluster_report}
    link = len(prepared) > 1
    only = names[0]
    pairs_out = _pairs_output(pairs, link, only)
    clusters_out = _clusters_output(clusters, link, only)
    report_progress(0.95, "writing results")
    files = [
        _write(clusters_out, out_dir / f"clusters.{fmt}", fmt),
        _write(pairs_out, out_dir / f"pairs.{fmt}", fmt),
        model_path,
    ]
    report_progress(1.0, "done")
    return MatchResult(
        mode="link" if link else "dedupe",
        records=sum(t.num_rows for t in prepared.values()),
        inputs={n: t.num_rows for n, t in prepared.items()},
        roles=used_roles,
        id_columns=used_ids,
        pairs=pairs_out,
        clusters=clusters_out,
        report=report,
        files=sorted(files),
        seconds=round(time.perf_counter() - started, 2),
    )


def _present(
    roles: Mapping[str, str | Sequence[str]] | None, columns: Sequence[str]
) -> dict[str, list[str]]:
    """The explicit roles restricted to ``columns``."""
    out: dict[str, list[str]] = {}
    for role, cols in (roles or {}).items():
        listed = [cols] if isinstance(cols, str) else list(cols)
        kept = [c for c in listed if c in columns]
        if kept:
            out[role] = kept
    return out


def _input_names(inputs: Sequence[Path]) -> list[str]:
    """File names without suffixes, made unique (``a``, ``a_2``)."""
    names: list[str] = []
    for path in inputs:
        base = Path(path).name.split(".")[0] or "input"
        name, n = base, 1
        while name in names:
            n += 1
            name = f"{base}_{n}"
        names.append(name)
    return names


def _pairs_output(pairs: pa.Table, link: bool, only: str) -> pa.Table:
    n = pairs.num_rows
    left_input = pairs["left_source"] if link else pa.array([only] * n, pa.string())
    right_input = pairs["right_source"] if link else pa.array([only] * n, pa.string())
    return pa.table(
        {
            "left_input": left_input,
            "left_id": pairs["left_id"],
            "right_input": right_input,
            "right_id": pairs["right_id"],
            "match_probability": pairs["match_probability"],
            "match_weight": pairs["match_weight"],
            "decision": pairs["decision"],
            "evidence": pairs["evidence"],
        }
    )


def _clusters_output(clusters: pa.Table, link: bool, only: str) -> pa.Table:
    inputs = clusters["input"] if link else pa.array([only] * clusters.num_rows, pa.string())
    # Compact, stable cluster ids: c1, c2, ... in order of first appearance.
    encoded = pc.dictionary_encode(clusters["cluster_id"]).combine_chunks()
    numbers = pc.add(encoded.indices.cast(pa.int64()), 1)
    ids = pc.binary_join_element_wise("c", pc.cast(numbers, pa.string()), "")
    return pa.table({"record_id": clusters["record_id"], "input": inputs, "cluster_id": ids})


def _write(table: pa.Table, path: Path, fmt: Format) -> Path:
    if fmt == "parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, path)
    else:
        import pyarrow.csv as pv

        pv.write_csv(table, path)
    return path
