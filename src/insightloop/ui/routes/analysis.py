"""Personas and value: the persona cards, the value tiers side by side, and the breakdown
explorer (any measure by up to three dimensions, through :mod:`insightloop.analytics.cube`).

Every page needs ``profiles:read``. Figures computed from fewer than
:data:`~insightloop.analytics.cube.DEFAULT_MIN_GROUP_SIZE` customers are hidden for roles without
``pii:read``, exactly as ``POST /api/v1/query`` hides them.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any, get_args
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi import Query as Param
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from insightloop.analytics.config import analytics_config
from insightloop.analytics.cube import (
    DEFAULT_MIN_GROUP_SIZE,
    MEASURES,
    OPS,
    CubeSources,
    Filter,
    Query,
    QueryError,
    QueryResult,
    run_query,
)
from insightloop.analytics.cube.query import Grain
from insightloop.analytics.cube_options import cube_options
from insightloop.analytics.overview_snapshot import load_value_snapshot
from insightloop.analytics.persona_report import persona_overview
from insightloop.analytics.value_report import TierReport, tier_report
from insightloop.auth import Principal
from insightloop.identity.config import identity_config
from insightloop.ui.charts import Figure, bar_chart, line_chart
from insightloop.ui.render import render, render_fragment
from insightloop.ui.security import page_user
from insightloop.ui.workspace import open_workspace

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

Reader = Annotated[Principal, Depends(page_user("profiles:read"))]

#: The explorer shows at most this many measures (one chart each) and filter rows.
MAX_MEASURES = 3
FILTER_ROWS = 3
#: What a filter's value may be (as the cube's query model takes it).
MAX_FILTER_VALUES = 100
MAX_VALUE_LENGTH = 200
#: A chart draws at most this many series and categories (the table shows every row).
MAX_SERIES = 12
MAX_CATEGORIES = 60
GRAINS: tuple[str, ...] = get_args(Grain)
OP_LABELS = {"eq": "=", "ne": "≠", "in": "in", "not_in": "not in", "gt": ">", "ge": "≥",
             "lt": "<", "le": "≤", "between": "between"}  # fmt: skip
#: Ready-made questions on the explorer's start page.
EXAMPLES = (
    ("Revenue by channel and month", {"measure": ["revenue"], "by": ["channel", "period"]}),
    ("Customers and 12-month profit by value tier",
     {"measure": ["customers", "profit_12m"], "by": ["value_tier"]}),
    ("Customers by value tier and lifecycle stage",
     {"measure": ["customers"], "by": ["value_tier", "lifecycle_stage"]}),
    ("Sales by product category", {"measure": ["sales", "units"], "by": ["category"]}),
    ("Contacts by reason and channel", {"measure": ["contacts"], "by": ["reason", "channel"]}),
    ("NPS by quarter", {"measure": ["nps", "responses"], "by": ["period"], "period": "quarter"}),
)  # fmt: skip


def _min_group_size(user: Principal) -> int:
    return 0 if user.can("pii:read") else DEFAULT_MIN_GROUP_SIZE


# -- personas -----------------------------------------------------------------------------------


@router.get("/personas", response_class=HTMLResponse)
def personas_page(request: Request, user: Reader) -> Response:
    with open_workspace(request) as ws:
        overview = persona_overview(ws.engine, min_group_size=_min_group_size(user))
    figure = None
    if overview is not None:
        shown = [p for p in overview.personas if not p.hidden]
        figure = bar_chart(
            [p.label for p in shown],
            {
                "Share of customers": [p.share for p in shown],
                "Share of 12-month profit": [p.value_share for p in shown],
            },
            title="Size and value of each persona",
            horizontal=True,
            percent=True,
        )
    return render(request, "analysis/personas.html", user, overview=overview, figure=figure)


# -- value tiers --------------------------------------------------------------------------------


def _value_figures(report: TierReport) -> dict[str, Figure]:
    names = [t.tier or "" for t in report.tiers]
    shares = {
        "Customers": [t.customers_share for t in report.tiers],
        "Revenue": [t.revenue_share for t in report.tiers],
        "Gross margin": [t.gross_margin_share for t in report.tiers],
        "12-month profit": [t.profit_share for t in report.tiers],
    }
    if report.has_clv:
        shares["Lifetime value"] = [t.clv_share for t in report.tiers]
    figures = {"shares": bar_chart(names, shares, title="Each tier's share of the whole",
                                   percent=True)}  # fmt: skip
    if report.has_clv:
        figures["clv"] = bar_chart(
            names, {"Average lifetime value": [t.avg_clv for t in report.tiers]},
            title=f"Average lifetime value per customer ({report.currency})",
            y_title=report.currency,
        )  # fmt: skip
    if report.stages:
        mix = {
            stage.replace("_", " "): [
                (c.share if (c := report.cell(n, stage)) else 0.0) for n in names
            ]
            for stage in report.stages
        }
        figure = bar_chart(names, mix, title="Lifecycle stages within each tier", percent=True)
        figure["layout"]["barmode"] = "stack"
        figures["mix"] = figure
    return figures


@router.get("/value", response_class=HTMLResponse)
def value_page(request: Request, user: Reader) -> Response:
    with open_workspace(request) as ws:
        config = analytics_config(ws.settings.analytics)
        small = _min_group_size(user)
        # The last pipeline run computed the tiers ahead (step dashboard); else compute them.
        last = ws.runs(1)
        report = load_value_snapshot(
            ws.layout.dashboard_dir, config, small, last[0].run_id if last else None
        ) or tier_report(ws.engine, config, min_group_size=small)
    figures = _value_figures(report) if report is not None else {}
    tier_shares = ", ".join(
        f"{t.name} {t.share:.0%}" if t.share is not None else f"{t.name} the rest"
        for t in config.tiers
    )
    return render(
        request, "analysis/value.html", user, report=report, figures=figures,
        tier_shares=tier_shares, explore=_explore_url,
    )  # fmt: skip


# -- the breakdown explorer ---------------------------------------------------------------------


@dataclass
class ExploreForm:
    """The explorer's fields as sent (kept as text, to show them again as they were typed)."""

    measures: list[str] = field(default_factory=list)
    by: list[str] = field(default_factory=list)
    period: str = "month"
    since: str = ""
    until: str = ""
    filters: list[tuple[str, str, str]] = field(default_factory=list)
    limit: str = "1000"
    bars: str = "grouped"

    def query_string(self) -> str:
        """The form as the address of a shareable link: only what differs from the defaults."""
        params: list[tuple[str, str]] = [("measure", m) for m in self.measures]
        params += [("by", b) for b in self.by]
        if self.period != "month":
            params.append(("period", self.period))
        params += [(k, v) for k, v in (("since", self.since), ("until", self.until)) if v]
        for dimension, op, value in self.filters:
            if dimension:
                params += [("f_dim", dimension), ("f_op", op), ("f_val", value)]
        if self.limit != "1000":
            params.append(("limit", self.limit))
        if self.bars != "grouped":
            params.append(("bars", self.bars))
        return urlencode(params)

    def rows(self) -> list[tuple[str, str, str]]:
        """The filter rows of the form: those sent, then empty ones up to FILTER_ROWS."""
        rows = [f for f in self.filters if f[0]]
        return rows + [("", "eq", "")] * max(0, FILTER_ROWS - len(rows))


def explore_form(
    measure: Annotated[list[str] | None, Param()] = None,
    by: Annotated[list[str] | None, Param()] = None,
    period: str = "month",
    since: str = "",
    until: str = "",
    f_dim: Annotated[list[str] | None, Param()] = None,
    f_op: Annotated[list[str] | None, Param()] = None,
    f_val: Annotated[list[str] | None, Param()] = None,
    limit: str = "1000",
    bars: str = "grouped",
) -> ExploreForm:
    """The explorer's query parameters (a dependency shared by the page, the result and CSV).

    Everything is read as text and checked by :func:`build_query`, so that a wrong value is
    shown on the page with the others rather than answered with a bare 422.
    """
    dims, ops, values = (f_dim or [])[:20], f_op or [], f_val or []
    filters = [
        (d.strip(), ops[i] if i < len(ops) else "eq", values[i] if i < len(values) else "")
        for i, d in enumerate(dims)
    ]
    return ExploreForm(
        measures=[m.strip() for m in measure or [] if m.strip()],
        by=[b.strip() for b in by or [] if b.strip()],
        period=period.strip() or "month",
        since=since.strip(),
        until=until.strip(),
        filters=filters,
        limit=limit.strip() or "1000",
        bars="stacked" if bars == "stacked" else "grouped",
    )


Form = Annotated[ExploreForm, Depends(explore_form)]


def _pydantic_problems(exc: ValidationError, prefix: str = "") -> list[str]:
    out = []
    for e in exc.errors():
        where = ".".join(str(p) for p in e["loc"])
        message = str(e["msg"]).removeprefix("Value error, ")
        out.append(f"{prefix}{where}: {message}" if where else f"{prefix}{message}")
    return out


def _value_trouble(values: list[str]) -> str | None:
    """What is wrong with a filter's values, in words (the model's own message lists every
    type of its union)."""
    if len(values) > MAX_FILTER_VALUES:
        return f"at most {MAX_FILTER_VALUES} values"
    if any(len(v) > MAX_VALUE_LENGTH for v in values):
        return f"a value is longer than {MAX_VALUE_LENGTH} characters"
    if any(not v.isprintable() for v in values):
        return "a value holds a control character"
    return None


def build_query(form: ExploreForm) -> Query:
    """The cube :class:`Query` the form asks for.

    Raises
    ------
    QueryError
        Every problem of the form at once (no measure, too many, a filter or a day that does
        not read, ...); names are checked against the workspace later, by ``run_query``.
    """
    problems: list[str] = []
    if not form.measures:
        problems.append("pick at least one measure")
    elif len(form.measures) > MAX_MEASURES:
        problems.append(f"pick at most {MAX_MEASURES} measures (the API takes more)")
    filters = []
    for number, (dimension, op, text) in enumerate(form.filters, start=1):
        if not dimension:
            continue
        parts = [v.strip() for v in text.split(",") if v.strip()]
        value: Any = parts if op in ("in", "not_in", "between") else text.strip()
        if value in ("", []):
            problems.append(f"filter {number} ({dimension}): give a value")
            continue
        trouble = _value_trouble(parts if isinstance(value, list) else [value])
        if trouble:
            problems.append(f"filter {number} ({dimension}): {trouble}")
            continue
        try:
            filters.append(
                Filter.model_validate({"dimension": dimension, "op": op, "value": value})
            )
        except ValidationError as exc:
            problems += _pydantic_problems(exc, f"filter {number} ({dimension}) ")
    if not (form.limit.isdigit() and len(form.limit) <= 6):
        problems.append(f"rows: {form.limit[:20]!r} is not a whole number from 1 to 10,000")
    if problems:
        raise QueryError(problems)
    try:
        return Query.model_validate(
            {
                "measures": form.measures,
                "by": form.by,
                "filters": filters,
                "period": form.period,
                "since": form.since or None,
                "until": form.until or None,
                "limit": int(form.limit),
            }
        )
    except ValidationError as exc:
        raise QueryError(_pydantic_problems(exc)) from None


def _explore_url(measures: list[str], by: list[str], **extra: str) -> str:
    return "/explore?" + urlencode({"measure": measures, "by": by, **extra}, doseq=True)


def _label(value: Any) -> str:
    if value is None or value == "":
        return "(none)"
    return value.isoformat() if isinstance(value, date) else str(value)


def _additive(measure: str) -> bool:
    known = MEASURES.get(measure)
    return known.additive if known is not None else measure.startswith("sum:")


def _pivot(
    result: QueryResult, measure: str, x_dim: str
) -> tuple[list[str], dict[str, list[Any]], bool]:
    """The rows of one measure as categories (``x_dim``) and series (the other dimensions),
    in the order the engine sorted them; and whether some were left out of the chart."""
    others = [d for d in result.dimensions if d != x_dim]
    cells: dict[tuple[str, str], Any] = {}
    # Dicts keep the order in which the categories and series first appear.
    seen_x: dict[str, None] = {}
    seen_series: dict[str, None] = {}
    for row in result.rows:
        x = _label(row[x_dim])
        s = " · ".join(_label(row[d]) for d in others) if others else measure
        cells[(x, s)] = row[measure]
        seen_x.setdefault(x)
        seen_series.setdefault(s)
    xs = sorted(seen_x) if x_dim == "period" else list(seen_x)
    series = list(seen_series)
    # A line takes every period; bars stay readable up to MAX_CATEGORIES.
    keep = len(xs) if x_dim == "period" else MAX_CATEGORIES
    cut = len(xs) > keep or len(series) > MAX_SERIES
    xs, series = xs[:keep], series[:MAX_SERIES]
    return xs, {s: [cells.get((x, s)) for x in xs] for s in series}, cut


def explore_charts(result: QueryResult, bars: str = "grouped") -> tuple[list[Figure], bool]:
    """One figure per measure: lines over the period when split by it, else bars by the first
    dimension (grouped, or stacked for a measure that adds up, by the others). None without
    dimensions. Also whether a chart leaves out series or categories that the table shows."""
    if not result.dimensions:
        return [], False
    x_dim = "period" if "period" in result.dimensions else result.dimensions[0]
    figures, cut_any = [], False
    for measure in result.measures:
        xs, series, cut = _pivot(result, measure, x_dim)
        cut_any = cut_any or cut
        unit = result.units.get(measure, "")
        title = f"{measure} by {', '.join(result.dimensions)}"
        y_title = unit if unit and unit != measure else ""
        if x_dim == "period":
            figure = line_chart(xs, series, title=title, x_title="period", y_title=y_title)
        else:
            figure = bar_chart(xs, series, title=title, x_title=x_dim, y_title=y_title)
            if bars == "stacked" and len(series) > 1 and _additive(measure):
                figure["layout"]["barmode"] = "stack"
        figures.append(figure)
    return figures, cut_any


def format_value(value: Any, unit: str = "") -> str:
    """A figure as the tables show it (money and averages with two decimals)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        places = 3 if unit in ("probability", "share") else 1 if unit == "points" else 2
        return f"{value:,.{places}f}"
    return _label(value)


def _run(request: Request, user: Principal, form: ExploreForm) -> QueryResult:
    query = build_query(form)
    with open_workspace(request) as ws:
        return run_query(
            ws.engine,
            query,
            identity=identity_config(ws.settings.identity),
            config=analytics_config(ws.settings.analytics),
            min_group_size=_min_group_size(user),
        )


def _result_context(request: Request, user: Principal, form: ExploreForm) -> dict[str, Any]:
    """What the result part shows: the result and its charts, or the query's problems."""
    try:
        result = _run(request, user, form)
    except QueryError as exc:
        return {"problems": list(exc.problems), "hint": exc.hint, "result": None}
    figures, cut = explore_charts(result, form.bars)
    return {
        "problems": [], "result": result, "figures": figures, "chart_cut": cut,
        "fmt": format_value, "label": _label, "query_string": form.query_string(),
        "max_series": MAX_SERIES, "max_categories": MAX_CATEGORIES,
    }  # fmt: skip


@router.get("/explore", response_class=HTMLResponse)
def explore_page(request: Request, user: Reader, form: Form) -> Response:
    with open_workspace(request) as ws:
        options = cube_options(
            CubeSources(
                ws.engine,
                identity_config(ws.settings.identity),
                analytics_config(ws.settings.analytics),
            )
        )
    asked = bool(request.url.query)
    context = _result_context(request, user, form) if asked else {"result": None, "problems": []}
    examples = [(title, "/explore?" + urlencode(q, doseq=True)) for title, q in EXAMPLES]
    return render(
        request, "analysis/explore.html", user,
        status_code=400 if context["problems"] else 200,
        form=form, options=options, asked=asked, grains=GRAINS, ops=OPS, op_labels=OP_LABELS,
        examples=examples, max_measures=MAX_MEASURES, min_group_size=_min_group_size(user),
        **context,
    )  # fmt: skip


@router.get("/explore/result", response_class=HTMLResponse)
def explore_result(request: Request, user: Reader, form: Form) -> Response:
    """The result part of the explorer (what its form swaps in through HTMX).

    A query the cube refuses is answered with its problems and status 400; to the page's own
    HTMX request with 200, since htmx leaves an error answer out of the page and the browser
    reports every 4xx answer to a script as an error in its console.
    """
    context = _result_context(request, user, form)
    response = render_fragment(request, "analysis/_explore_result.html", user, **context)
    if context["problems"] and not request.headers.get("hx-request"):
        response.status_code = 400
    # The address bar shows the page with this query: a link to share, or to reload.
    response.headers["HX-Push-Url"] = "/explore?" + form.query_string()
    return response


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        # A spreadsheet would read such text as a formula (CSV injection).
        return "'" + value
    return value


@router.get("/explore/result.csv")
def explore_csv(request: Request, user: Reader, form: Form) -> Response:
    """The explorer's rows as CSV (each with its ``suppressed`` flag), as ``insightloop query
    --csv`` writes them."""
    try:
        result = _run(request, user, form)
    except QueryError as exc:
        return Response(str(exc) + "\n", status_code=400, media_type="text/plain")
    out = io.StringIO()
    writer = csv.writer(out)
    columns = [*result.columns, "suppressed"]
    writer.writerow(columns)
    for row in result.rows:
        writer.writerow(_csv_cell(row[c]) for c in columns)
    name = "-".join(result.measures).replace(":", "_")
    if result.dimensions:
        name += "-by-" + "-".join(result.dimensions)
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"',
                 "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )  # fmt: skip
