"""Fitting personas, assigning customers to them, and describing them.

:func:`fit_personas` runs the whole method (``docs/personas.md``): transform fitted on a sample,
k-means for each candidate k, k chosen by silhouette, every customer assigned to the nearest
centroid, cards built over all customers, and ids kept from a previous model by Hungarian
matching. :func:`assign_personas` applies a saved model to new customers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from insightloop.analytics.personas.cards import (
    CategoryValue,
    PersonaCard,
    Trait,
    category_values,
    feature_effects,
    top_traits,
    value_summary,
)
from insightloop.analytics.personas.clustering import choose_k, nearest
from insightloop.analytics.personas.labels import make_label
from insightloop.analytics.personas.matching import match_centroids
from insightloop.analytics.personas.model import Persona, PersonaModel, persona_id, utc_now
from insightloop.analytics.personas.settings import PersonaError, PersonaSettings, persona_settings
from insightloop.analytics.personas.table import (
    as_arrow,
    check_ids,
    is_numeric,
    numeric_columns,
    numeric_matrix,
    sample_rows,
)
from insightloop.analytics.personas.transform import fit_transform

__all__ = ["PersonaResult", "assign_personas", "fit_personas", "persona_cards"]


@dataclass(frozen=True)
class PersonaResult:
    """The outcome of :func:`fit_personas`.

    Attributes
    ----------
    model
        The fitted model; save it and pass it as ``previous`` to the next run.
    assignments
        One row per customer: the id column, ``persona_id``, ``label`` and ``distance`` (to the
        persona's centroid, standardised units), in the row order of the input.
    cards
        One card per persona, largest first.
    new_persona_ids
        Personas that matched no previous persona (all of them on a first run).
    retired_persona_ids
        Previous personas that no cluster of this run matched.
    """

    model: PersonaModel
    assignments: pa.Table
    cards: list[PersonaCard]
    new_persona_ids: tuple[str, ...]
    retired_persona_ids: tuple[str, ...] = ()

    @property
    def k(self) -> int:
        """Number of personas."""
        return self.model.k

    @property
    def scores(self) -> dict[int, float]:
        """Mean silhouette per candidate number of personas."""
        return self.model.scores


def fit_personas(
    features: Any,
    *,
    feature_columns: Sequence[str] | None = None,
    categorical_columns: Sequence[str] = (),
    value_column: str | None = None,
    id_column: str = "customer_id",
    k: int | None = None,
    k_max: int = 10,
    previous: PersonaModel | None = None,
    seed: int = 0,
    sample_size: int = 20_000,
    **options: Any,
) -> PersonaResult:
    """Segment customers into personas and describe them.

    Parameters
    ----------
    features
        pyarrow Table or pandas DataFrame, one row per customer.
    feature_columns
        Numeric (or boolean) columns to cluster on. ``None``: every numeric column except the
        id and the categorical columns. With ``previous``, the previous model's columns are used
        and this must be ``None`` or the same columns.
    categorical_columns
        Columns described on the cards (top values and lift); not clustered on.
    value_column
        Numeric column whose total the cards split by persona (revenue, 12-month profit...).
    id_column
        The customer id column (unique, no nulls).
    k
        Number of personas; ``None`` chooses it from ``2..k_max`` by silhouette.
    k_max
        Largest number of personas tried.
    previous
        The model of an earlier run: its transform is applied as is, and clusters matching its
        personas keep their ids and labels.
    seed
        Seed of the fitting sample and of k-means: the same data and seed give the same model.
    sample_size
        Customers the transform and k-means are fitted on (all customers are assigned).
    **options
        Finer settings of :class:`~insightloop.analytics.personas.settings.PersonaSettings`
        (``scaling``, ``clip``, ``skew_threshold``, ``weights``, ``top_traits``...).

    Returns
    -------
    PersonaResult

    Raises
    ------
    ConfigError
        A setting is out of range (all invalid settings are listed).
    PersonaError
        No usable feature column, fewer customers than personas, a bad id column, or columns
        that do not fit the previous model.

    Examples
    --------
    >>> import numpy as np, pyarrow as pa
    >>> rng = np.random.default_rng(1)
    >>> store = np.r_[rng.uniform(0.8, 1.0, 60), rng.uniform(0.0, 0.2, 40)]
    >>> table = pa.table({"customer_id": np.arange(100), "share_store": store,
    ...                   "orders_365d": rng.poisson(np.where(store > 0.5, 12, 3))})
    >>> result = fit_personas(table, seed=0)
    >>> result.k, [c.label for c in result.cards]
    (2, ['Store · frequent', 'Infrequent'])
    """
    settings = persona_settings(
        {"k": k, "k_max": k_max, "seed": seed, "sample_size": sample_size, **options}
    )
    table = as_arrow(features)
    ids = check_ids(table, id_column)
    categorical = tuple(categorical_columns)
    _check_descriptive(table, categorical, value_column, id_column)
    requested = _feature_columns(table, feature_columns, id_column, categorical, previous)
    need = settings.k or 2
    if table.num_rows <= need:
        raise PersonaError(
            f"{table.num_rows} customer(s) cannot form {need} personas: clustering needs more "
            f"customers than personas",
            hint="Segment a larger base, or ask for fewer personas with k=...",
        )
    sample = sample_rows(ids, settings.sample_size, settings.seed)
    if previous is not None:
        transform = previous.transform
    else:
        transform = fit_transform(
            numeric_matrix(table.take(sample), requested), requested, settings
        )
    if not transform.columns:
        reasons = "; ".join(f"{c}: {r}" for c, r in transform.dropped.items()) or "none given"
        raise PersonaError(
            f"no usable feature column ({reasons})",
            hint="Pass numeric columns that vary between customers as feature_columns=[...].",
        )
    matrix = numeric_matrix(table, transform.features)
    z_sample = transform.apply(matrix[sample])
    distinct = np.unique(z_sample, axis=0).shape[0]
    if distinct < need:
        raise PersonaError(
            f"only {distinct} distinct customer profile(s) in the features: too few for {need} "
            "personas",
            hint="Add features that tell customers apart, or ask for fewer personas with k=...",
        )
    choice = choose_k(z_sample, settings)
    z = transform.apply(matrix)
    cluster, _ = nearest(z, choice.centroids)
    sizes = np.bincount(cluster, minlength=choice.k)
    # Largest first; the centroid breaks ties, so the order never depends on k-means' numbering.
    order = sorted(range(choice.k), key=lambda c: (-int(sizes[c]), tuple(choice.centroids[c])))
    centroids = choice.centroids[order]
    # Assign again against the reordered centroids, exactly as assign_personas will (ties too).
    labels, distances = nearest(z, centroids)

    parts = _card_parts(
        table,
        matrix,
        transform.features,
        labels,
        distances,
        choice.k,
        categorical,
        value_column,
        settings,
    )
    ids_out, final, new, next_number = _identify(centroids, previous, parts, settings)
    model = PersonaModel(
        transform=transform,
        personas=tuple(
            Persona(ids_out[c], final[c], tuple(float(v) for v in centroids[c]))
            for c in range(choice.k)
        ),
        feature_columns=tuple(requested),
        id_column=id_column,
        categorical_columns=categorical,
        value_column=value_column,
        scores=choice.scores,
        settings=settings.model_dump(mode="json"),
        next_id=next_number,
        created_utc=utc_now(),
    )
    cards = _cards(parts, ids_out, final, new, labels, distances, table.num_rows)
    kept = set(ids_out)
    retired = (
        ()
        if previous is None
        else tuple(p.persona_id for p in previous.personas if p.persona_id not in kept)
    )
    return PersonaResult(
        model=model,
        assignments=_assignments(ids, id_column, model, labels, distances),
        cards=cards,
        new_persona_ids=new,
        retired_persona_ids=retired,
    )


def assign_personas(model: PersonaModel, features: Any) -> pa.Table:
    """Assign customers to the personas of a fitted model (nearest centroid).

    Returns a table with the model's id column, ``persona_id``, ``label`` and ``distance``, in
    the row order of ``features``. The model's feature columns must be present.
    """
    table = as_arrow(features)
    ids = check_ids(table, model.id_column)
    matrix = numeric_matrix(table, model.features)
    labels, distances = nearest(model.transform.apply(matrix), model.centroids)
    return _assignments(ids, model.id_column, model, labels, distances)


def persona_cards(
    model: PersonaModel,
    features: Any,
    *,
    categorical_columns: Sequence[str] | None = None,
    value_column: str | None = None,
) -> list[PersonaCard]:
    """Cards of a fitted model's personas over the customers in ``features``.

    The categorical and value columns default to those the model was fitted with.
    """
    table = as_arrow(features)
    check_ids(table, model.id_column)
    categorical = tuple(
        model.categorical_columns if categorical_columns is None else categorical_columns
    )
    value = model.value_column if value_column is None else value_column
    _check_descriptive(table, categorical, value, model.id_column)
    settings = PersonaSettings.model_validate(model.settings)
    matrix = numeric_matrix(table, model.features)
    labels, distances = nearest(model.transform.apply(matrix), model.centroids)
    parts = _card_parts(
        table, matrix, model.features, labels, distances, model.k, categorical, value, settings
    )
    return _cards(
        parts,
        list(model.persona_ids),
        [p.label for p in model.personas],
        (),
        labels,
        distances,
        table.num_rows,
    )


_Parts = tuple[tuple[Trait, ...], tuple[CategoryValue, ...], float | None, float | None]


def _identify(
    centroids: np.ndarray,
    previous: PersonaModel | None,
    parts: list[_Parts],
    settings: PersonaSettings,
) -> tuple[list[str], list[str], tuple[str, ...], int]:
    """Ids and labels per cluster, the ids that are new, and the next free id number.

    Clusters matched to a previous persona keep its id and label; the others get fresh ids (in
    cluster order, i.e. largest first) and labels made from their traits.
    """
    k = centroids.shape[0]
    matched: list[Persona | None] = [None] * k
    next_number = 1
    if previous is not None:
        match = match_centroids(centroids, previous.centroids)
        matched = [None if m is None else previous.personas[m] for m in match.previous]
        next_number = previous.next_id
    ids: list[str] = []
    new: list[str] = []
    for old in matched:
        if old is not None:
            ids.append(old.persona_id)
        else:
            ids.append(persona_id(next_number))
            new.append(ids[-1])
            next_number += 1
    taken = {old.label for old in matched if old is not None}
    names: list[str] = []
    for c, old in enumerate(matched):
        if old is not None:
            names.append(old.label)
            continue
        traits, values = parts[c][0], parts[c][1]
        label = make_label(
            traits, values, persona_id=ids[c], taken=taken, min_effect=settings.label_min_effect
        )
        taken.add(label)
        names.append(label)
    return ids, names, tuple(new), next_number


def _card_parts(
    table: pa.Table,
    matrix: np.ndarray,
    names: Sequence[str],
    labels: np.ndarray,
    distances: np.ndarray,
    k: int,
    categorical: Sequence[str],
    value_column: str | None,
    settings: PersonaSettings,
) -> list[_Parts]:
    means, base, effects = feature_effects(matrix, labels, k)
    per_column = [
        category_values(table.column(col), col, labels, k, settings.top_values)
        for col in categorical
    ]
    if value_column is not None:
        shares, per_customer = value_summary(numeric_matrix(table, [value_column])[:, 0], labels, k)
    parts: list[_Parts] = []
    for c in range(k):
        traits = top_traits(names, means[c], base, effects[c], settings.top_traits)
        values = tuple(v for column in per_column for v in column[c])
        if value_column is None:
            parts.append((traits, values, None, None))
        else:
            parts.append((traits, values, _finite(shares[c]), _finite(per_customer[c])))
    return parts


def _cards(
    parts: list[_Parts],
    ids: Sequence[str],
    names: Sequence[str],
    new: Sequence[str],
    labels: np.ndarray,
    distances: np.ndarray,
    total: int,
) -> list[PersonaCard]:
    k = len(ids)
    sizes = np.bincount(labels, minlength=k)
    spread = np.bincount(labels, weights=distances, minlength=k)
    cards = []
    for c in range(k):
        traits, values, value_share, per_customer = parts[c]
        share = float(sizes[c]) / total
        index = value_share / share if value_share is not None and share > 0 else None
        cards.append(
            PersonaCard(
                persona_id=ids[c],
                label=names[c],
                size=int(sizes[c]),
                share=share,
                value_share=value_share,
                value_per_customer=per_customer,
                value_index=index,
                mean_distance=float(spread[c] / sizes[c]) if sizes[c] else 0.0,
                traits=traits,
                categories=values,
                is_new=ids[c] in new,
            )
        )
    return cards


def _assignments(
    ids: pa.ChunkedArray,
    id_column: str,
    model: PersonaModel,
    labels: np.ndarray,
    distances: np.ndarray,
) -> pa.Table:
    index = pa.array(labels)
    return pa.table(
        {
            id_column: ids,
            "persona_id": pa.array(model.persona_ids, pa.string()).take(index),
            "label": pa.array([p.label for p in model.personas], pa.string()).take(index),
            "distance": pa.array(distances),
        }
    )


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _check_descriptive(
    table: pa.Table, categorical: Sequence[str], value_column: str | None, id_column: str
) -> None:
    problems = [
        f"categorical column {c!r} is missing" for c in categorical if c not in table.column_names
    ]
    if value_column is not None:
        if value_column not in table.column_names:
            problems.append(f"value column {value_column!r} is missing")
        elif not is_numeric(table.schema.field(value_column).type):
            problems.append(f"value column {value_column!r} is not numeric")
    if id_column in categorical:
        problems.append(f"the id column {id_column!r} cannot be categorical")
    if problems:
        raise PersonaError(
            "; ".join(problems),
            hint=f"The table has: {', '.join(table.column_names[:20])}.",
        )


def _feature_columns(
    table: pa.Table,
    feature_columns: Sequence[str] | None,
    id_column: str,
    categorical: Sequence[str],
    previous: PersonaModel | None,
) -> list[str]:
    if previous is not None:
        if feature_columns is not None and tuple(feature_columns) != previous.feature_columns:
            raise PersonaError(
                "feature_columns differ from the previous model's: "
                f"{list(feature_columns)} vs {list(previous.feature_columns)}",
                hint="Keep the previous model's features, or fit without previous= "
                "(which starts new persona ids).",
            )
        if previous.id_column != id_column:
            raise PersonaError(
                f"the previous model identifies customers by {previous.id_column!r}, "
                f"not {id_column!r}",
                hint=f"Pass id_column={previous.id_column!r}.",
            )
        return list(previous.feature_columns)
    if feature_columns is None:
        columns = numeric_columns(table, [id_column, *categorical])
    else:
        columns = list(dict.fromkeys(feature_columns))
        clash = [c for c in columns if c == id_column or c in categorical]
        if clash:
            raise PersonaError(
                f"column(s) {', '.join(clash)} cannot be both features and id or categorical",
                hint="List each column in one role only.",
            )
    if not columns:
        raise PersonaError(
            "no usable feature column: the table has no numeric column besides the id",
            hint="Pass numeric feature columns (orders_365d, revenue_365d, share_store...).",
        )
    return columns
