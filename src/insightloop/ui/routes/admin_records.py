"""Administration, the records: the sources with their last loads, and the audit log (browsed
with filters and exported as CSV). Included in the section's router by
:mod:`insightloop.ui.routes.admin`, with the helpers both modules share."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

import ibis.expr.types as ir
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from insightloop.auth import AuditEntry, AuthError, AuthStore, Principal
from insightloop.errors import ConfigError
from insightloop.ingest.databases import parse_url
from insightloop.ingest.readers import ReadError
from insightloop.ingest.sources import SourceDeclaration
from insightloop.quality.scorecard.loads import LOADS_TABLE, SUCCESSFUL_LOADS
from insightloop.store import Engine
from insightloop.ui.render import SECURITY_HEADERS, render
from insightloop.ui.security import page_user
from insightloop.ui.workspace import PageError, open_workspace

__all__ = [
    "AuditFilters",
    "audit_entries",
    "auth_store",
    "failure",
    "is_partial",
    "last_loads_expr",
    "mask_url",
    "router",
    "to_csv",
]

router = APIRouter(include_in_schema=False)

KeysAdmin = Annotated[Principal, Depends(page_user("keys:manage"))]
AuditReader = Annotated[Principal, Depends(page_user("audit:read"))]

#: HTTP status of each AuthError code when a page shows the error with its form.
_STATUS = {"not_found": 404, "conflict": 409, "invalid_request": 422}
_OUTCOMES = ("ok", "refused", "denied", "error")
_PAGE = 50
#: The most entries one audit page reads while it looks for entries of one outcome.
_SCAN = 20_000
#: The most entries of a CSV export (the audit log's own limit for one query).
_EXPORT_LIMIT = 100_000


def auth_store(request: Request) -> AuthStore:
    """The server's :class:`~insightloop.auth.AuthStore`."""
    store: AuthStore = request.app.state.auth
    return store


def failure(error: AuthError) -> dict[str, Any]:
    """The context that shows ``error`` on its page: message, hint and status (404/409/422)."""
    return {"error": error.message, "hint": error.hint, "status_code": _STATUS[error.code]}


def is_partial(request: Request) -> bool:
    """Whether an HTMX request swaps in part of the page (and is not a history restore)."""
    headers = request.headers
    return bool(headers.get("hx-request")) and not headers.get("hx-history-restore-request")


# -- sources -----------------------------------------------------------------------------------


class _AsWritten(Mapping[str, str]):
    """An environment in which every ``${NAME}`` stays as written (nothing is looked up)."""

    def __getitem__(self, name: str) -> str:
        return "${" + name + "}"

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def mask_url(url: str) -> str:
    """A database URL as it may be shown: without its password and its query string.

    The URL is split as the database reader splits it, ``${NAME}`` placeholders left as
    written; a URL that cannot be split, or whose password could show, keeps only its scheme.

    Examples
    --------
    >>> mask_url("postgresql://reader:s3cret@db.internal:5432/sales?sslmode=require")
    'postgresql://reader@db.internal:5432/sales'
    >>> mask_url("mysql://u:pa/ss@db/x")
    'mysql://***'
    """
    scheme = url.partition("://")[0] if "://" in url else "?"
    try:
        shown = parse_url(url, Path("."), _AsWritten()).redacted
    except ReadError:
        return f"{scheme}://***"
    userinfo, at, _ = url.partition("://")[2].rpartition("@")
    password = userinfo.partition(":")[2]
    server = not shown.startswith(("sqlite", "duckdb"))
    if (server and at and "@" not in shown) or (password and password in shown):
        return f"{scheme}://***"
    return shown


def _where(src: SourceDeclaration) -> str:
    if src.kind == "database":
        return f"{mask_url(src.url or '')} ({f'table {src.table}' if src.table else 'SQL query'})"
    if src.kind == "folder":
        return f"{src.path} ({src.pattern})"
    return src.path or ""


def last_loads_expr(engine: Engine) -> ir.Table:
    """Per source, its last load (the finished batches of the latest run that loaded it) and a
    summary of all its loads, in one query over ``load_batches``.

    Returns
    -------
    ibis.expr.types.Table
        ``source, entity, last_at, last_batches, rows_read, rows_loaded, rows_quarantined,
        duplicates_skipped, failed, loaded, error`` (the last load; ``failed`` and ``loaded``
        count its batches of that status) and ``batches, last_success_at`` (every load).
    """
    t = engine.table(LOADS_TABLE)
    t = t.filter(t.status != "started")
    t = t.select(
        "source", "entity", "run_id", "status", "rows_read", "rows_loaded", "rows_quarantined",
        "duplicates_skipped", "error", at=t.finished_at.coalesce(t.started_at),
    )  # fmt: skip
    history = t.group_by(history_source=t.source).aggregate(
        batches=t.count(),
        last_success_at=t.at.max(where=t.status.isin(SUCCESSFUL_LOADS)),
        last_run=t.run_id.argmax(t.at),
    )
    last = t.inner_join(history, [t.source == history.history_source, t.run_id == history.last_run])
    return last.group_by("source").aggregate(
        entity=last.entity.max(),
        last_at=last.at.max(),
        last_batches=last.count(),
        rows_read=last.rows_read.sum(),
        rows_loaded=last.rows_loaded.sum(),
        rows_quarantined=last.rows_quarantined.sum(),
        duplicates_skipped=last.duplicates_skipped.sum(),
        failed=(last.status == "failed").sum(),
        loaded=(last.status == "loaded").sum(),
        error=last.error.max(),
        batches=last.batches.max(),
        last_success_at=last.last_success_at.max(),
    )


@router.get("/admin/sources", response_class=HTMLResponse)
def sources_page(request: Request, user: KeysAdmin) -> Response:
    """The declared sources and those of the collection API, each with its last load."""
    # Sources say where data comes from (paths, database hosts) and own the write keys: the page
    # needs keys:manage, an admin's permission; Data quality shows the loads to every role.
    with open_workspace(request) as ws:
        try:
            declared = ws.sources()
        except ConfigError as exc:
            raise PageError(409, exc.message, exc.hint or "Fix insightloop.toml.") from None
        loads = {r["source"]: r for r in ws.engine.records(last_loads_expr(ws.engine))}
    keys: dict[str, int] = {}
    for key in auth_store(request).write_keys.list():
        keys[key.source] = keys.get(key.source, 0) + 1
    rows = [
        {"name": name, "kind": src.kind, "entity": src.entity, "where": _where(src),
         "declared": True, "load": loads.get(name), "write_keys": keys.get(name, 0)}
        for name, src in declared.items()
    ]  # fmt: skip
    # Sources of the collection API exist through their write keys and loads only.
    for name in sorted((set(loads) | set(keys)) - set(declared)):
        load = loads.get(name)
        rows.append(
            {"name": name, "kind": "events", "entity": load["entity"] if load else "events",
             "where": "collection API (write key)", "declared": False, "load": load,
             "write_keys": keys.get(name, 0)}
        )  # fmt: skip
    return render(request, "admin/sources.html", user, rows=rows)


# -- the audit log -----------------------------------------------------------------------------

_RELATIVE = re.compile(r"(\d{1,6})\s*([mhd])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def _parse_time(text: str, field: str, *, end_of_day: bool = False) -> datetime | None:
    """An ISO 8601 time or date (UTC unless it has an offset) or a time ago (``7d``, ``12h``,
    ``30m``); ``None`` for no text. With ``end_of_day``, a date means the end of that day.

    Raises
    ------
    AuthError
        When the text is none of these.
    """
    text = text.strip()
    if not text:
        return None
    relative = _RELATIVE.fullmatch(text)
    if relative:
        amount, unit = int(relative.group(1)), _UNITS[relative.group(2)]
        return datetime.now(UTC) - timedelta(**{unit: amount})
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise AuthError(
            f"{field.capitalize()} {text[:40]!r} is no time.",
            hint="Give a date (2025-06-01), a time in UTC (2025-06-01 08:00) or a time ago "
            "(7d, 12h, 30m).",
        ) from None
    if end_of_day and len(text) == 10:
        parsed += timedelta(days=1)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class AuditFilters:
    """The filters of the audit page as typed; ``query()`` turns them into the store's."""

    actor: str = ""
    action: str = ""
    target: str = ""
    since: str = ""
    until: str = ""
    outcome: str = ""

    def query(self) -> dict[str, Any]:
        """Keyword arguments of :meth:`AuditLog.query <insightloop.auth.AuditLog.query>`.

        Raises
        ------
        AuthError
            When ``since`` or ``until`` is no time.
        """
        return {
            "actor": self.actor.strip() or None,
            "action": self.action.strip() or None,
            "target": self.target.strip() or None,
            "since": _parse_time(self.since, "since"),
            "until": _parse_time(self.until, "until", end_of_day=True),
        }

    def params(self) -> dict[str, str]:
        """The filters given, for a link to the same selection."""
        return {k: v for k, v in asdict(self).items() if v}


def audit_entries(
    auth: AuthStore,
    filters: AuditFilters,
    *,
    cursor: tuple[int, datetime] | None = None,
    limit: int = _PAGE,
    scan: int = _SCAN,
) -> tuple[list[AuditEntry], AuditEntry | None]:
    """Up to ``limit + 1`` entries, newest first, older than the ``cursor`` entry (its id and
    time), and the last entry read when ``scan`` entries were read before the page was full.

    The store filters by actor, action, target and time; the cursor's id and the outcome are
    applied to what it returns, so a page reads from the cursor's time on, at most ``scan``
    entries.

    Raises
    ------
    AuthError
        When a time of the filters is no time.
    """
    arguments = filters.query()
    if cursor is not None:
        # Entries of the cursor's very microsecond are read again, and dropped by their id.
        bound = cursor[1] + timedelta(microseconds=1)
        arguments["until"] = bound if arguments["until"] is None else min(arguments["until"], bound)
    outcome = filters.outcome or None
    fetch = min(limit + 21, scan)
    while True:
        read = auth.audit.query(limit=fetch, **arguments)
        kept = [
            e
            for e in read
            if (cursor is None or e.entry_id < cursor[0]) and outcome in (None, e.outcome)
        ]
        if len(kept) > limit or len(read) < fetch or fetch >= scan:
            stopped = read[-1] if len(kept) <= limit and len(read) == fetch else None
            return kept[: limit + 1], stopped
        fetch = min(fetch * 4, scan)


Outcome = Literal["", "ok", "refused", "denied", "error"]


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    user: AuditReader,
    actor: Annotated[str, Query(max_length=200)] = "",
    action: Annotated[str, Query(max_length=100)] = "",
    target: Annotated[str, Query(max_length=200)] = "",
    since: Annotated[str, Query(max_length=40)] = "",
    until: Annotated[str, Query(max_length=40)] = "",
    outcome: Annotated[Outcome, Query()] = "",
    before: Annotated[int | None, Query(ge=1)] = None,
    before_at: Annotated[datetime | None, Query()] = None,
) -> Response:
    """The audit log, newest first, filtered, 50 entries a page (or, for HTMX, the results)."""
    filters = AuditFilters(actor, action, target, since, until, outcome)
    cursor = None
    if before is not None and before_at is not None:
        cursor = (before, before_at if before_at.tzinfo else before_at.replace(tzinfo=UTC))
    params = filters.params()
    context: dict[str, Any] = {
        "filters": filters, "outcomes": _OUTCOMES, "paged": cursor, "scan": _SCAN,
        "newest": "/admin/audit" + (f"?{urlencode(params)}" if params else ""),
    }  # fmt: skip
    try:
        entries, stopped = audit_entries(auth_store(request), filters, cursor=cursor)
    except AuthError as exc:
        entries, stopped = [], None
        context.update(failure(exc))
    last = entries[_PAGE - 1] if len(entries) > _PAGE else stopped
    if last is not None:
        older = {**params, "before": str(last.entry_id), "before_at": last.at.isoformat()}
        context["older"] = f"/admin/audit?{urlencode(older)}"
    context.update(
        entries=entries[:_PAGE], stopped=stopped if len(entries) <= _PAGE else None,
        csv_url="/admin/audit.csv" + (f"?{urlencode(params)}" if params else ""),
        headers={"Vary": "HX-Request"},
    )  # fmt: skip
    template = "admin/_audit_results.html" if is_partial(request) else "admin/audit.html"
    return render(request, template, user, **context)


@router.get("/admin/audit.csv")
def audit_csv(
    request: Request,
    user: AuditReader,
    actor: Annotated[str, Query(max_length=200)] = "",
    action: Annotated[str, Query(max_length=100)] = "",
    target: Annotated[str, Query(max_length=200)] = "",
    since: Annotated[str, Query(max_length=40)] = "",
    until: Annotated[str, Query(max_length=40)] = "",
    outcome: Annotated[Outcome, Query()] = "",
) -> Response:
    """The filtered audit log as a CSV file (up to 100,000 entries); the export is audited."""
    filters = AuditFilters(actor, action, target, since, until, outcome)
    auth = auth_store(request)
    try:
        entries, _ = audit_entries(auth, filters, limit=_EXPORT_LIMIT - 1, scan=_EXPORT_LIMIT)
    except AuthError as exc:
        raise PageError(422, exc.message, exc.hint or "") from None
    # An export takes the log out of the server: an admin action of its own. Its details name
    # the filters used, not their values (a typed target may be anything).
    auth.audit.record(
        user.username, "audit.export",
        details={"entries": len(entries), "filters": sorted(filters.params())},
    )  # fmt: skip
    stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    return Response(
        to_csv(entries),
        media_type="text/csv; charset=utf-8",
        headers={
            **SECURITY_HEADERS,
            "Content-Disposition": f'attachment; filename="insightloop-audit-{stamp}.csv"',
        },
    )


def _cell(value: str) -> str:
    # Spreadsheets run a cell that starts with = + - @ as a formula: keep it text.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") and value != "-" else value


def to_csv(entries: Iterable[AuditEntry]) -> str:
    """The entries as CSV: ``entry_id, at_utc, actor, action, target, outcome, details``
    (details as JSON), with cells that a spreadsheet would run as formulas quoted as text."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["entry_id", "at_utc", "actor", "action", "target", "outcome", "details"])
    for e in entries:
        details = json.dumps(e.details, sort_keys=True, ensure_ascii=False, default=str)
        writer.writerow(
            [e.entry_id, e.at.isoformat(), _cell(e.actor), _cell(e.action),
             _cell(e.target or ""), _cell(e.outcome), _cell(details)]
        )  # fmt: skip
    return out.getvalue()
