"""The probabilistic matching model: configured automatically, trained, scored, saved.

:class:`MatchModel` ties the parts together. Given records prepared by
:func:`~insightloop.identity.splink_prepare.prepare_records` (one table to deduplicate, several to
link), it

1. treats e-mails and phones shared by more than ``junk_value_max_records`` records as missing,
2. leaves out columns filled on fewer than ``min_fill_rate`` of the records,
3. generates the comparisons (:mod:`.splink_comparisons`) and the blocking rules within the pair
   budget (:mod:`.splink_blocking`),
4. trains (:mod:`.splink_training`), and
5. scores pairs with the household guards and evidence (:mod:`.splink_guards`).

Examples
--------
>>> import pyarrow as pa
>>> from insightloop.identity.splink_prepare import prepare_records
>>> people = pa.table({
...     "id": ["1", "2", "3", "4"],
...     "first": ["Bill", "William", "Anna", "Anna"],
...     "last": ["Smith", "Smith", "Berg", "Berg"],
...     "dob": ["1970-01-02", "1970-01-02", "1985-05-05", "1985-05-05"],
... })
>>> roles = {"first_name": "first", "last_name": "last", "birth_date": "dob"}
>>> records = prepare_records(people, roles, id_column="id")
>>> with MatchModel.train(records, settings=MatchSettings(u_max_pairs=100)) as model:
...     sorted(model.columns)[:3]
['birth_date', 'first_name', 'first_name_alt']
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from insightloop.__about__ import __version__
from insightloop.identity import splink_blocking as blocking
from insightloop.identity.splink_backend import SplinkBackend, memory_limit_for, quiet_splink
from insightloop.identity.splink_comparisons import ComparisonSpec, comparison_specs
from insightloop.identity.splink_guards import scored_pairs_sql
from insightloop.identity.splink_inputs import (
    conform,
    drop_junk,
    drop_known_junk,
    frequent_values,
    hash_tables,
    inputs_of,
    merged_roles,
    null_values,
    sample_records,
    usable_columns,
)
from insightloop.identity.splink_settings import MatchError, MatchSettings
from insightloop.identity.splink_training import parameters, train_linker

if TYPE_CHECKING:
    from insightloop.store.engine import Engine

__all__ = ["MODEL_FORMAT", "MatchModel", "Progress"]

MODEL_FORMAT = "insightloop.match_model"
FORMAT_VERSION = 1
Progress = Callable[[float, str], None]
_PAIR_COLUMNS_DEDUPE = ("left_id", "right_id")
_PAIR_COLUMNS_LINK = ("left_id", "right_id", "left_source", "right_source")


def _no_progress(fraction: float, stage: str) -> None:
    return None


class MatchModel:
    """A trained Splink model with the configuration that generated it.

    Use :meth:`train` or :meth:`load`; close the model (or use it as a context manager) to drop
    the intermediate tables Splink made.
    """

    def __init__(
        self,
        *,
        columns: list[str],
        link: bool,
        settings: MatchSettings,
        roles: dict[str, list[str]],
        rules: list[blocking.BlockingRule],
        splink_model: dict[str, Any],
        report: dict[str, Any],
        meta: dict[str, Any],
        backend: SplinkBackend,
    ) -> None:
        self.columns = columns
        self.link = link
        self.settings = settings
        self.roles = roles
        self.rules = rules
        self.report = report
        self.meta = meta
        self._backend = backend
        self.specs: list[ComparisonSpec] = comparison_specs(columns, backend.dialect)
        self._splink_model = splink_model
        self._linker: Any = None
        self._inputs: list[Any] = []
        self._input_names: list[str] = []
        self._frozen_tf: dict[str, pa.Table] = {}

    # -- training ------------------------------------------------------------------------

    @classmethod
    def train(
        cls,
        records: pa.Table | Mapping[str, pa.Table],
        *,
        settings: MatchSettings | None = None,
        engine: Engine | None = None,
        progress: Progress | None = None,
    ) -> MatchModel:
        """Configure and train a model on prepared records.

        Parameters
        ----------
        records
            One prepared table (deduplicate it) or a mapping of input name to prepared table
            (link them: pairs are only formed across inputs).
        settings
            :class:`MatchSettings`; the defaults are the automatic configuration.
        engine
            Run on this engine (DuckDB or Spark); default: a private in-memory DuckDB.
        progress
            Called with (fraction done, stage) as training proceeds.
        """
        settings = settings or MatchSettings()
        progress = progress or _no_progress
        started = time.perf_counter()
        inputs, link = inputs_of(records)
        total = sum(t.num_rows for t in inputs.values())
        inputs, junk = drop_junk(inputs, settings.junk_value_max_records)
        columns, fill = usable_columns(inputs, settings.min_fill_rate)
        backend = SplinkBackend.create(engine, memory_limit=memory_limit_for(total))
        try:
            with quiet_splink():
                specs = comparison_specs(columns, backend.dialect)
                if not specs:
                    raise MatchError(
                        "No column can be compared: the records need names, a birth date, an "
                        "e-mail, a phone, an address or an identifier filled on at least "
                        f"{settings.min_fill_rate:.0%} of them.",
                        hint="Check the column roles (--column role=name).",
                    )
                registered = [
                    backend.register(t, f"input_{i}") for i, t in enumerate(inputs.values())
                ]
                progress(0.02, "choosing blocking rules")
                # Above 100k records, rules are counted on a random sample of 100k records.
                sample = min(1.0, 100_000 / total)
                tables = [r.physical_name for r in registered]
                if sample < 1.0:
                    tables = [
                        backend.register(
                            sample_records(t, sample, settings.seed), f"sample_{i}"
                        ).physical_name
                        for i, t in enumerate(inputs.values())
                    ]

                def count(rule: blocking.BlockingRule) -> int:
                    sql = blocking.count_pairs_sql(rule, tables, link, sample=sample)
                    return int(backend.to_arrow(sql).column(0)[0].as_py() or 0)

                plan = blocking.choose_rules(
                    blocking.candidate_rules(columns),
                    settings.pair_budget(total),
                    count,
                    columns,
                    rule_share=settings.rule_share,
                )
                if not plan.rules:
                    raise MatchError(
                        "No blocking rule fits the pair budget, so no pair could be compared.",
                        hint="Raise MatchSettings.pairs_per_record, or add columns to match on.",
                    )
                model = cls(
                    columns=columns,
                    link=link,
                    settings=settings,
                    roles=merged_roles(inputs),
                    rules=plan.rules,
                    splink_model={},
                    report={},
                    meta={},
                    backend=backend,
                )
                model._attach(registered, list(inputs))
                blocking.cumulative_counts(model._linker, plan, total)

                def train_progress(fraction: float, stage: str) -> None:
                    progress(0.05 + 0.9 * fraction, stage)

                training = train_linker(model._linker, specs, columns, settings, train_progress)
                model._splink_model = model._linker.misc.save_model_to_json()
        except BaseException:
            backend.close()
            raise
        model.report = {
            "records": total,
            "inputs": {name: t.num_rows for name, t in inputs.items()},
            "link_type": "link_only" if link else "dedupe_only",
            "columns": {c: round(fill[c], 4) for c in columns},
            "left_out": {c: round(v, 4) for c, v in fill.items() if c not in columns},
            "junk_values": junk,
            "comparisons": {s.name: [lv.label for lv in s.levels] for s in specs},
            "blocking": plan.to_dict(),
            "training": training,
            "parameters": parameters(model._linker, specs),
        }
        model.meta = {
            "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "training_seconds": round(time.perf_counter() - started, 2),
            "records": total,
            "input_hash": hash_tables(inputs.values()),
        }
        progress(1.0, "trained")
        return model

    # -- scoring -------------------------------------------------------------------------

    def predict(self) -> pa.Table:
        """Score the pairs of the model's records (those trained on, or attached).

        Returns an Arrow table: ``left_id, right_id`` (plus ``left_source, right_source`` when
        linking), ``match_probability, match_weight, decision, evidence``, for every pair at or
        above the review threshold. ``decision`` is ``link`` (at or above the link threshold and
        no guard), ``review`` or ``guarded``.
        """
        self._require_records()
        with quiet_splink():
            predictions = self._linker.inference.predict(
                threshold_match_probability=self.settings.review_threshold, warning_mode="never"
            )
            try:
                return self._scored(predictions.physical_name)
            finally:
                # The scored pairs are out in Arrow: free the engine of Splink's wide table.
                predictions.drop_table_from_database_and_remove_from_cache()

    def attach(self, records: pa.Table) -> None:
        """Give a loaded model records to score with :meth:`predict` (a rescore without
        training); junk values are dropped as in training."""
        with quiet_splink():
            cleaned, _ = drop_junk({"existing": records}, self.settings.junk_value_max_records)
            table = conform(cleaned["existing"], ["unique_id", *self.columns])
            self._attach([self._backend.register(table, "existing")], ["existing"])

    def predict_new(
        self, new: pa.Table, existing: pa.Table | None = None, *, within_new: bool = True
    ) -> pa.Table:
        """Score new records against existing ones (and, by default, against each other).

        ``existing`` defaults to the records the model holds; giving it attaches them (their
        term frequencies are computed once and reused). Only deduplication models score new
        records; pairs never join two existing records.
        """
        if self.link:
            raise MatchError(
                "Incremental scoring needs a deduplication model; this one links inputs.",
                hint="Train on one table of all records, then score new ones against it.",
            )
        with quiet_splink():
            keep = ["unique_id", *self.columns]
            new = conform(drop_known_junk(new, self._inputs_junk()), keep)
            if existing is not None:
                # Junk values are those of all the existing records; the records no blocking
                # rule pairs with a new one are then left out (with frozen term frequencies
                # they change no score).
                junk = frequent_values({"existing": existing}, self.settings.junk_value_max_records)
                if set(self.tf_columns) <= set(self._frozen_tf):
                    # Paired on the model's columns (a column the records lack is null, as
                    # Splink will see it); the rows are then taken with all their columns,
                    # which junk values may need.
                    rows = blocking.paired_rows(conform(existing, keep), new, self.rules)
                    existing = existing.take(rows)
                table = conform(null_values(existing, junk), keep)
                self._attach([self._backend.register(table, "existing")], ["existing"])
            self._require_records()
            new_df = self._backend.register(new, "new_records")
            for spec in self.specs:
                for level in spec.levels:
                    if level.tf_column and level.tf_column not in self._frozen_tf:
                        self._linker.table_management.compute_tf_table(level.tf_column)
            between = self._linker.inference.predict_between(
                new_df,
                self._inputs,
                threshold_match_probability=self.settings.review_threshold,
                warning_mode="never",
            )
            parts = [self._scored(between.physical_name)]
            between.drop_table_from_database_and_remove_from_cache()
            if within_new and new.num_rows > 1:
                within = self._linker.inference.predict_within(
                    new_df,
                    threshold_match_probability=self.settings.review_threshold,
                    warning_mode="never",
                )
                parts.append(self._scored(within.physical_name))
                within.drop_table_from_database_and_remove_from_cache()
            return pa.concat_tables(parts)

    def _scored(self, predictions: str) -> pa.Table:
        sql = scored_pairs_sql(
            predictions,
            self.specs,
            self._backend.dialect,
            link=self.link,
            guards=self.settings.guards,
            min_probability=self.settings.review_threshold,
            strict=self.settings.strict_guards,
        )
        table = self._backend.to_arrow(sql)
        linked = pc.and_(
            pc.greater_equal(table["match_probability"], self.settings.link_threshold),
            pc.is_null(table["guard"]),
        )
        decision = pc.if_else(
            pc.is_valid(table["guard"]), "guarded", pc.if_else(linked, "link", "review")
        )
        keys = _PAIR_COLUMNS_LINK if self.link else _PAIR_COLUMNS_DEDUPE
        out = table.select([*keys, "match_probability", "match_weight"])
        out = out.append_column("decision", decision).append_column("evidence", table["evidence"])
        if self.link:
            names = pa.array(self._input_names)
            for column in ("left_source", "right_source"):
                index = pc.cast(pc.replace_substring(out[column], "input_", ""), pa.int64())
                out = out.set_column(out.schema.get_field_index(column), column, names.take(index))
        return out

    # -- records held by the model -------------------------------------------------------

    def _attach(self, registered: list[Any], names: list[str]) -> None:
        from splink import Linker

        self._inputs = registered
        self._input_names = names
        settings = _splink_settings(self)
        self._linker = Linker(registered if self.link else registered[0], settings, log_level=None)
        self._register_frozen_tf()

    # -- term frequencies ----------------------------------------------------------------

    @property
    def tf_columns(self) -> list[str]:
        """The columns whose exact agreement is weighted by how common the value is."""
        return sorted({lvl.tf_column for s in self.specs for lvl in s.levels if lvl.tf_column})

    @staticmethod
    def term_frequencies(records: pa.Table, columns: list[str]) -> dict[str, pa.Table]:
        """Each column's values with their share of the non-null values (Splink's
        ``tf_<column>``), from ``records``."""
        out: dict[str, pa.Table] = {}
        for column in columns:
            if column not in records.column_names:
                continue
            counts = pc.value_counts(records[column].drop_null())
            total = sum(c.as_py() for c in counts.field("counts")) or 1
            values = counts.field("values")
            shares = pc.divide(pc.cast(counts.field("counts"), pa.float64()), float(total))
            out[column] = pa.table({column: values, f"tf_{column}": shares})
        return out

    def freeze_term_frequencies(self, tables: dict[str, pa.Table]) -> None:
        """Score with these term frequencies from now on instead of the records' own: pairs
        scored at different times (an incremental run, a rebuild) then get the same weights."""
        self._frozen_tf = dict(tables)
        if self._linker is not None:
            self._register_frozen_tf()

    def _register_frozen_tf(self) -> None:
        for column, table in self._frozen_tf.items():
            frame = self._backend.register(table, f"tf_{column}_frozen")
            self._linker.table_management.register_term_frequency_lookup(frame, column)

    def _require_records(self) -> None:
        if self._linker is None:
            raise MatchError(
                "This model holds no records to score.",
                hint="Pass existing records to predict_new(), or train the model on records.",
            )

    def _inputs_junk(self) -> dict[str, set[str]]:
        return {k: set(v.get("hashes", [])) for k, v in self.report.get("junk_values", {}).items()}

    @property
    def linker(self) -> Any:
        """The Splink linker over the model's records (for clustering and charts)."""
        self._require_records()
        return self._linker

    @property
    def backend(self) -> SplinkBackend:
        return self._backend

    # -- persistence ---------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The model as a JSON-able dictionary that describes itself."""
        import splink

        return {
            "format": MODEL_FORMAT,
            "format_version": FORMAT_VERSION,
            "insightloop_version": __version__,
            "splink_version": splink.__version__,
            **self.meta,
            "link_type": "link_only" if self.link else "dedupe_only",
            "roles": self.roles,
            "columns": self.columns,
            "settings": self.settings.to_dict(),
            "blocking_rules": [list(r.keys) for r in self.rules],
            "report": self.report,
            "splink": self._splink_model,
        }

    def save(self, path: Path | str) -> Path:
        """Write the model as JSON (see :meth:`to_dict`)."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=2, default=str), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: Path | str, *, engine: Engine | None = None) -> MatchModel:
        """Read a model written by :meth:`save`; it holds no records until given some.

        Raises
        ------
        MatchError
            When the file is not an insightloop match model (or a newer format).
        """
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise MatchError(
                f"Cannot read the match model {path}: {type(exc).__name__}.",
                hint="Give the model JSON written by `insightloop match` or MatchModel.save().",
            ) from None
        if not isinstance(data, dict) or data.get("format") != MODEL_FORMAT:
            raise MatchError(
                f"{path} is not an insightloop match model (format is "
                f"{data.get('format') if isinstance(data, dict) else None!r}).",
                hint=f"Give a file whose 'format' is {MODEL_FORMAT!r}.",
            )
        if int(data.get("format_version", 0)) > FORMAT_VERSION:
            raise MatchError(
                f"{path} was written by a newer insightloop ({data.get('insightloop_version')}).",
                hint="Upgrade insightloop to read it.",
            )
        meta_keys = ("trained_at", "training_seconds", "records", "input_hash")
        return cls(
            columns=list(data["columns"]),
            link=data["link_type"] == "link_only",
            settings=MatchSettings.from_dict(data["settings"]),
            roles=data.get("roles", {}),
            rules=[blocking.BlockingRule(tuple(k)) for k in data["blocking_rules"]],
            splink_model=data["splink"],
            report=data.get("report", {}),
            meta={k: data.get(k) for k in meta_keys},
            backend=SplinkBackend.create(
                engine, memory_limit=memory_limit_for(int(data.get("records") or 0))
            ),
        )

    def close(self) -> None:
        self._backend.close()

    def __enter__(self) -> MatchModel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- helpers ---------------------------------------------------------------------------------


def _splink_settings(model: MatchModel) -> dict[str, Any]:
    """The Splink settings of ``model`` for its backend's dialect, trained values copied over."""
    saved = {c["output_column_name"]: c for c in model._splink_model.get("comparisons", [])}
    comparisons = []
    for spec in model.specs:
        comparison = spec.to_splink()
        trained = saved.get(spec.name)
        if trained is not None:
            for level, old in zip(
                comparison["comparison_levels"], trained["comparison_levels"], strict=True
            ):
                for key in ("m_probability", "u_probability"):
                    if key in old and not level.get("is_null_level"):
                        level[key] = old[key]
        comparisons.append(comparison)
    return {
        "link_type": "link_only" if model.link else "dedupe_only",
        "comparisons": comparisons,
        "blocking_rules_to_generate_predictions": [
            r.to_splink().create_blocking_rule_dict(model._backend.dialect) for r in model.rules
        ],
        "probability_two_random_records_match": model._splink_model.get(
            "probability_two_random_records_match", 0.0001
        ),
        "max_iterations": model.settings.em_max_iterations,
        "em_convergence": 0.001,
        "retain_matching_columns": True,
        "retain_intermediate_calculation_columns": False,
        # The guards read this one beside the compared columns.
        "additional_columns_to_retain": [c for c in ("first_name_known",) if c in model.columns],
        "unique_id_column_name": "unique_id",
        "source_dataset_column_name": "source_dataset",
    }
