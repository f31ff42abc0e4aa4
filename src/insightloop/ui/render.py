"""The Jinja2 environment and the page responses every route of the web UI renders through."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from insightloop.__about__ import __version__
from insightloop.auth import Permission
from insightloop.ui.assets import asset_url, plotly_url
from insightloop.ui.charts import table_of

if TYPE_CHECKING:
    from fastapi import Request

    from insightloop.auth import Principal

__all__ = ["NAV", "NavItem", "environment", "render", "render_fragment"]


@dataclass(frozen=True)
class NavItem:
    """A link of the navigation bar, shown to users holding ``permission``."""

    href: str
    label: str
    permission: Permission


#: The sections of the UI, in the order of the navigation bar.
NAV: tuple[NavItem, ...] = (
    NavItem("/", "Overview", "profiles:read"),
    NavItem("/customers", "Customers", "profiles:read"),
    NavItem("/segments", "Segments", "profiles:read"),
    NavItem("/personas", "Personas", "profiles:read"),
    NavItem("/value", "Value", "profiles:read"),
    NavItem("/explore", "Explore", "profiles:read"),
    NavItem("/quality", "Data quality", "status:read"),
    NavItem("/identity", "Identity", "identity:decide"),
    NavItem("/admin", "Administration", "users:manage"),
)


#: Sent with every page: scripts only from this server (no inline script runs), no framing.
#: Plotly sets styles of its own, hence inline styles.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' "
    "'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _number(value: Any, digits: int = 0) -> str:
    """``1,234.5``; a missing value (None, undefined) is ``-``."""
    return f"{value:,.{digits}f}" if _is_number(value) else "-"


def _percent(value: Any, digits: int = 1) -> str:
    return f"{100 * value:.{digits}f} %" if _is_number(value) else "-"


def _when(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


@cache
def environment() -> Environment:
    """The templates of ``insightloop/ui/templates`` with the UI's filters (autoescaped)."""
    env = Environment(
        loader=PackageLoader("insightloop.ui", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["version"] = __version__
    env.globals["asset_url"] = asset_url
    env.globals["plotly_url"] = plotly_url
    env.globals["table_of"] = table_of
    env.filters["thousands"] = lambda n: f"{n:,}" if _is_number(n) else "-"
    env.filters["number"] = _number
    env.filters["percent"] = _percent
    env.filters["when"] = _when
    return env


def _context(request: Request, user: Principal | None, extra: Mapping[str, Any]) -> dict[str, Any]:
    path = request.url.path
    nav = [
        {
            "href": item.href,
            "label": item.label,
            "current": path == item.href or (item.href != "/" and path.startswith(item.href)),
        }
        for item in NAV
        if user is not None and user.can(item.permission)
    ]
    return {
        "request": request,
        "user": user,
        "nav": nav,
        "csrf": getattr(request.state, "csrf", None),
        "path": path,
        **extra,
    }


def render(
    request: Request,
    template: str,
    user: Principal | None,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """A whole page: ``template`` (which extends ``base.html``) with the navigation of ``user``."""
    html = environment().get_template(template).render(_context(request, user, context))
    return HTMLResponse(
        html, status_code=status_code, headers={**SECURITY_HEADERS, **(headers or {})}
    )


def render_fragment(
    request: Request, template: str, user: Principal | None, **context: Any
) -> HTMLResponse:
    """Part of a page, for an HTMX request that swaps it in (no layout around it)."""
    return render(request, template, user, **context)
