"""Slicing: any measure by any dimensions (``POST /api/v1/query``), and what can be asked for
(``GET /api/v1/query/catalogue``).

Answers are aggregates, not personal data; but a figure about one or two customers is close to
a fact about a person, so for roles without ``pii:read`` a figure computed from fewer than
:data:`~insightloop.analytics.cube.DEFAULT_MIN_GROUP_SIZE` customers is returned empty with its
row flagged ``suppressed`` (small-cell suppression).

The handlers are plain functions: FastAPI runs them in a worker thread, so an aggregation over
many customers does not hold up the event loop.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from insightloop.analytics.config import analytics_config
from insightloop.analytics.cube import (
    DEFAULT_MIN_GROUP_SIZE,
    OPS,
    Query,
    catalogue,
    run_query,
)
from insightloop.api.deps import WorkspaceDep, documented_body, json_body, require
from insightloop.api.schemas import ErrorPublic
from insightloop.auth import Principal
from insightloop.identity.config import identity_config

__all__ = ["CataloguePublic", "QueryResultPublic", "router"]

router = APIRouter(prefix="/api/v1", tags=["query"])

#: Who asks: reading aggregates of customer data needs what reading (masked) profiles needs.
Reader = Annotated[Principal, Depends(require("profiles:read"))]
#: Read after the permission check (see json_body).
QueryBody = Annotated[Query, Depends(json_body(Query, "profiles:read"))]

_ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorPublic} for s in (400, 401, 403, 422, 429, 503)
}

#: A cell of a row: a dimension's value (text, or a day for ``period``), a measure's value
#: (empty when there is none or it is suppressed), or the ``suppressed`` flag.
Cell = str | int | float | bool | date | None


class QueryResultPublic(BaseModel):
    """The rows of a query, its totals, units and the SQL the engine ran."""

    query: Query
    columns: list[str] = Field(description="The dimensions, then the measures.")
    dimensions: list[str]
    measures: list[str]
    units: dict[str, str] = Field(description="Each measure's unit (money: the currency).")
    rows: list[dict[str, Cell]] = Field(
        description="One object per group: its dimensions, measures and `suppressed` (a "
        "figure was hidden because fewer than `min_group_size` customers are behind it)."
    )
    totals: dict[str, Cell] = Field(
        description="Every measure over everything the filters keep (a customer in two "
        "segments counts once), and `suppressed`."
    )
    count: int = Field(description="Rows returned.")
    truncated: bool = Field(description="More groups exist than `limit` rows show.")
    min_group_size: int = Field(description="Smallest group shown (0: no suppression).")
    suppressed_rows: int
    as_of: date | None = Field(description="Day the customer measures are computed as of.")
    sql: str = Field(description="The SQL the engine ran for the rows.")


class MeasurePublic(BaseModel):
    name: str
    kind: str = Field(description="customer (one row per customer) or activity.")
    source: str = Field(description="customers, or the behaviour table it counts.")
    unit: str
    description: str


class DimensionPublic(BaseModel):
    name: str
    kind: str = Field(description="customer or activity.")
    description: str
    applies_to: list[str] = Field(description="The behaviour tables it splits.")


class CataloguePublic(BaseModel):
    measures: list[MeasurePublic]
    dimensions: list[DimensionPublic]
    operators: list[str] = Field(description="Filter operators.")
    generic_measures: list[str] = Field(
        description="Aggregates of any numeric customer attribute, as `<aggregate>:<column>`."
    )
    min_group_size: int = Field(description="Smallest group shown to the caller.")


def _min_group_size(principal: Principal) -> int:
    return 0 if principal.can("pii:read") else DEFAULT_MIN_GROUP_SIZE


@router.post(
    "/query",
    response_model=QueryResultPublic,
    responses=_ERRORS,
    operation_id="run_query",
    openapi_extra=documented_body(Query, component="Query"),
)
def post_query(ws: WorkspaceDep, principal: Reader, query: QueryBody) -> QueryResultPublic:
    """Aggregate measures by up to three dimensions, with filters. 400 names every problem of
    the query and what is possible instead; `GET /api/v1/query/catalogue` lists the names."""
    result = run_query(
        ws.engine,
        query,
        identity=identity_config(ws.settings.identity),
        config=analytics_config(ws.settings.analytics),
        min_group_size=_min_group_size(principal),
    )
    return QueryResultPublic.model_validate(result.to_dict())


@router.get(
    "/query/catalogue",
    response_model=CataloguePublic,
    responses=_ERRORS,
    operation_id="get_query_catalogue",
)
def get_catalogue(request: Request, principal: Reader) -> CataloguePublic:
    """The measures and dimensions a query may name, with their meaning and units."""
    currency = analytics_config(request.app.state.settings.analytics).currency
    cat = catalogue(currency)
    return CataloguePublic.model_validate(
        {
            **cat,
            "operators": list(OPS),
            "generic_measures": ["sum:<column>", "avg:<column>"],
            "min_group_size": _min_group_size(principal),
        }
    )
