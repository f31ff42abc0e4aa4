"""What a workspace can be sliced by now: the catalogue of :mod:`insightloop.analytics.cube`
with, for each measure and dimension, whether the workspace has computed what it needs, and the
customer attributes a filter may name.

The breakdown explorer of the web UI offers these; a query naming something unavailable is
still refused by :func:`~insightloop.analytics.cube.plan_query` with the step to run.
"""

from __future__ import annotations

from dataclasses import dataclass

from insightloop.analytics.cube import DIMENSIONS, MEASURES, CubeSources

__all__ = ["CubeOption", "CubeOptions", "cube_options"]


@dataclass(frozen=True)
class CubeOption:
    """A measure or dimension: its name, kind (``customer`` or ``activity``), unit (measures;
    the reporting currency for money), meaning, and whether the workspace has what it needs
    (``needs`` says which step computes it)."""

    name: str
    kind: str
    description: str
    unit: str
    available: bool
    needs: str
    additive: bool = True


@dataclass(frozen=True)
class CubeOptions:
    """The measures and dimensions of the catalogue, and the customer attribute columns a
    filter may name besides the dimensions (sorted)."""

    measures: tuple[CubeOption, ...]
    dimensions: tuple[CubeOption, ...]
    attributes: tuple[str, ...]


def cube_options(sources: CubeSources) -> CubeOptions:
    """The catalogue as far as ``sources`` (a workspace's) can answer it.

    Only the schema of the customer attributes is read (and whether a segment exists): no
    customer row is scanned.

    Examples
    --------
    >>> from insightloop.analytics.config import analytics_config
    >>> from insightloop.identity.config import identity_config
    >>> from insightloop.store import Engine
    >>> options = cube_options(CubeSources(Engine.in_memory(), identity_config({}),
    ...                                    analytics_config({})))
    >>> [(m.name, m.available) for m in options.measures][:2]
    [('customers', False), ('active_customers', False)]
    >>> next(d for d in options.dimensions if d.name == "period").available
    True
    """
    schema = sources.customer_schema()
    currency = sources.config.currency
    measures = tuple(
        CubeOption(
            name=m.name,
            kind=m.kind,
            description=m.description,
            unit=currency if m.unit == "currency" else m.unit,
            available=m.kind == "activity"
            or (bool(schema) and all(c in schema for c in m.columns)),
            needs=m.needs,
            additive=m.additive,
        )
        for m in MEASURES.values()
    )
    dimensions = []
    for d in DIMENSIONS.values():
        if d.kind == "activity":
            available = True
        elif d.origin == "segments":
            available = sources.segments is not None
        else:
            available = d.column in schema
        dimensions.append(CubeOption(d.name, d.kind, d.description, "", available, d.needs))
    attributes = tuple(sorted(n for n in sources.filterable() if n not in DIMENSIONS))
    return CubeOptions(measures, tuple(dimensions), attributes)
