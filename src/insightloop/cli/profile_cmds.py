"""``insightloop profile``: one customer's 360-degree view, found by any identifier."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from insightloop.analytics.attributes import customer_analysis
from insightloop.cli.app import JsonOption, WorkspaceOption, app, console, print_json
from insightloop.profile import KINDS, Profile
from insightloop.workspace import Workspace

__all__ = ["profile_app", "render_profile"]

profile_app = typer.Typer(
    help="The unified customer: golden record, identifiers, source records, consents and timeline.",
    no_args_is_help=True,
)
app.add_typer(profile_app, name="profile")

_STATUS_STYLE = {"granted": "green", "withdrawn": "red"}


def _text(value: Any) -> Text:
    """A cell that shows customer data literally (``[`` in a value is not Rich markup)."""
    if value is None:
        return Text("")
    if isinstance(value, datetime):
        return Text(f"{value:%Y-%m-%d %H:%M}")
    return Text(str(value))


def _day(value: datetime | None) -> Text:
    return Text(f"{value:%Y-%m-%d}") if value else Text("")


def _name(profile: Profile) -> str:
    return " ".join(p for p in (profile.first_name, profile.last_name) if p) or "(no name)"


@profile_app.command("show")
def show(
    identifier: Annotated[
        str,
        typer.Argument(
            help="A customer id, e-mail, phone number (+46...), customer number, loyalty "
            "card, web-shop user id or device id."
        ),
    ],
    id_type: Annotated[
        str | None,
        typer.Option(
            "--type",
            "-t",
            help="Look the identifier up as this type only: customer_id, customer_key, "
            "loyalty_number, user_id, anonymous_id, email or phone.",
        ),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=0, help="Timeline entries to show; 0 shows all.")
    ] = 200,
    kinds: Annotated[
        list[str] | None,
        typer.Option(
            "--kind", "-k", help=f"Only these timeline kinds (repeatable): {', '.join(KINDS)}."
        ),
    ] = None,
    workspace: WorkspaceOption = Path("."),
    as_json: JsonOption = False,
) -> None:
    """Show one customer: golden record with where each value came from, identifiers, source
    records, consents and the timeline of every touchpoint, newest first."""
    with Workspace.open(workspace, read_only=True) as ws:
        profile = ws.profiles.get(
            identifier, id_type=id_type, timeline_limit=limit or None, kinds=kinds
        )
        analysis = customer_analysis(ws.engine, profile.customer_id)
    if as_json:
        print_json({**profile.to_dict(), **analysis})
        return
    render_profile(profile, limit=limit)
    render_analysis(analysis)


#: The attributes ``profile show`` lists (all of them are in ``--json``).
_SHOWN = (
    ("value_tier", "value tier"),
    ("rfm_score", "RFM"),
    ("lifecycle_stage", "lifecycle stage"),
    ("persona", "persona"),
    ("orders", "orders"),
    ("revenue_365d", "revenue, 365 days"),
    ("profit_12m", "profit, 12 months"),
    ("recency_days", "days since last order"),
    ("p_alive", "probability alive"),
    ("expected_purchases", "expected purchases"),
    ("clv", "lifetime value"),
    ("contacts_365d", "contacts, 365 days"),
    ("last_nps", "last NPS"),
)


def render_analysis(analysis: dict[str, Any]) -> None:
    """Print the customer's analysis: key attributes and current segments."""
    attributes = analysis.get("attributes")
    if not attributes:
        console.print("No analysis yet: run `insightloop run` (step measures and after).")
        return
    table = Table("attribute", "value", title=f"Analysis as of {_day(attributes.get('as_of'))}")
    for key, label in _SHOWN:
        if key in attributes:
            value = attributes[key]
            table.add_row(label, _text(round(value, 2) if isinstance(value, float) else value))
    segments = ", ".join(s["segment"] for s in analysis.get("segments", []))
    table.add_row("segments", Text(segments or "none"))
    console.print(table)


def render_profile(profile: Profile, *, limit: int = 0) -> None:
    """Print a profile as Rich tables: golden record, identifiers, records, consents, timeline."""
    console.print(
        Text.assemble(
            ("Customer ", "bold"), (profile.customer_id, "bold cyan"), "  ", _name(profile)
        )
    )
    console.print(
        f"First seen {_text(profile.created_at)}, last changed {_text(profile.updated_at)}",
        highlight=False,
    )
    golden = Table("field", "value", "from", "at", "rule", title="Golden record")
    for name, value in profile.golden.items():
        src = profile.provenance.get(name)
        origin = f"{src.source} {src.key}" if src and src.key else (src.source if src else None)
        golden.add_row(
            name,
            _text(value),
            _text(origin),
            _text(src.at if src else None),
            _text(src.rule if src else None),
        )
    console.print(golden)

    ids = Table("type", "value", "records", title=f"Identifiers ({len(profile.identifiers)})")
    for i in profile.identifiers:
        ids.add_row(i.id_type, _text(i.value), _text(i.records))
    console.print(ids)

    records = Table(title=f"Source records ({len(profile.records)})")
    records.add_column("source", no_wrap=True, overflow="ellipsis", max_width=16)
    records.add_column("key", overflow="fold")
    records.add_column("name", min_width=8)
    records.add_column("e-mail", overflow="fold")
    records.add_column("phone", no_wrap=True)
    records.add_column("address", ratio=1, min_width=10)
    records.add_column("first seen", no_wrap=True)
    for r in profile.records:
        f = r.fields
        name = " ".join(str(f[k]) for k in ("first_name", "last_name") if f.get(k))
        address = ", ".join(
            str(f[k]) for k in ("street", "postcode", "city", "country") if f.get(k)
        )
        records.add_row(
            _text(r.source),
            _text(r.key),
            _text(name),
            _text(f.get("email")),
            _text(f.get("phone")),
            _text(address),
            _day(r.first_seen),
        )
    console.print(records)

    if profile.consents:
        consents = Table("channel", "purpose", "status", "since", "source", title="Consents")
        for c in profile.consents:
            style = _STATUS_STYLE.get(c.status or "", "")
            consents.add_row(
                _text(c.channel),
                _text(c.purpose),
                Text(c.status or "", style=style),
                _text(c.recorded_at),
                _text(c.source),
            )
        console.print(consents)
    else:
        console.print("Consents: none recorded.")

    timeline = Table(title=f"Timeline ({len(profile.timeline)}, newest first)")
    for name in ("when", "kind", "channel"):
        timeline.add_column(name, no_wrap=True)
    timeline.add_column("what", ratio=1)
    timeline.add_column("source", no_wrap=True, overflow="ellipsis", max_width=16)
    for e in profile.timeline:
        timeline.add_row(_text(e.at), e.kind, _text(e.channel), _text(e.summary), _text(e.source))
    console.print(timeline)
    if limit and len(profile.timeline) >= limit:
        console.print(
            f"The newest {limit} entries are shown: --limit 0 shows all, --kind one kind.",
            highlight=False,
        )
