"""``insightloop identity``: merge and unmerge customers by hand, work the review queue, and read
the audit of decisions and the merge log."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from insightloop.cli.app import JsonOption, WorkspaceOption, app, console, print_json
from insightloop.identity.manual import DecisionResult, ReviewRecord
from insightloop.workspace import Workspace

__all__ = ["identity_app"]

identity_app = typer.Typer(
    help="Manual identity decisions: merge and unmerge customers, accept or reject the pairs "
    "awaiting review, and the audit of every decision and merge. Decisions apply at once and "
    "hold in every later run.",
    no_args_is_help=True,
)
app.add_typer(identity_app, name="identity")


class ReviewStatus(StrEnum):
    open = "open"
    accepted = "accepted"
    rejected = "rejected"
    all = "all"


ReasonOption = Annotated[
    str, typer.Option("--reason", "-r", help="Why (required; kept in the audit).")
]
ActorOption = Annotated[
    str | None,
    typer.Option("--actor", help="Who decides (default: the operating-system user)."),
]
LimitOption = Annotated[
    int, typer.Option("--limit", "-n", min=0, help="At most this many; 0 shows all.")
]


def _text(value: Any) -> Text:
    """A cell that shows data literally (``[`` in a value is not Rich markup)."""
    if value is None:
        return Text("")
    if isinstance(value, datetime):
        return Text(f"{value:%Y-%m-%d %H:%M}")
    if isinstance(value, list | tuple):
        return Text(", ".join(str(v) for v in value))
    return Text(str(value))


def _done(result: DecisionResult, what: str, as_json: bool) -> None:
    if as_json:
        print_json(result.to_dict())
        return
    before, after = ", ".join(result.before_ids), ", ".join(result.after_ids)
    if result.before_ids == result.after_ids:
        console.print(f"{what}: no customer changed ({before}).", highlight=False)
    else:
        console.print(f"{what}: {before} -> {after}.", highlight=False)
    console.print(f"Decision {result.decision_id}; golden records rebuilt.", highlight=False)
    if result.revoked:
        console.print(
            f"Revoked earlier decision(s) it contradicts: {', '.join(result.revoked)}.",
            highlight=False,
        )


@identity_app.command("merge")
def merge(
    customer_ids: Annotated[
        list[str], typer.Argument(help="Two or more customer ids to merge into one.")
    ],
    reason: ReasonOption,
    actor: ActorOption = None,
    workspace: WorkspaceOption = Path("."),
    as_json: JsonOption = False,
) -> None:
    """Merge customers into one, for good.

    Every later run keeps their records together. The customer with most records keeps its id
    (ties: the one assigned first, then the smaller id); golden records are rebuilt.
    """
    with Workspace.open(workspace) as ws:
        result = ws.merge_customers(customer_ids, reason=reason, actor=actor)
    _done(result, "Merged", as_json)


@identity_app.command("unmerge")
def unmerge(
    customer_id: Annotated[str, typer.Argument(help="The customer to take records out of.")],
    records: Annotated[
        list[str],
        typer.Option(
            "--record",
            help="A record to take out, as SOURCE:KEY (repeatable), e.g. crm:C1 or id:user_id:u1.",
        ),
    ],
    reason: ReasonOption,
    actor: ActorOption = None,
    workspace: WorkspaceOption = Path("."),
    as_json: JsonOption = False,
) -> None:
    """Take records out of a customer, for good.

    The records become a new customer and never join the rest again, not even through other
    records. The rest keeps the id; golden records are rebuilt.
    """
    with Workspace.open(workspace) as ws:
        result = ws.unmerge_records(customer_id, records, reason=reason, actor=actor)
    _done(result, "Unmerged", as_json)


def _side(record: ReviewRecord) -> Text:
    details = " ".join(p for p in (record.name, f"<{record.email}>" if record.email else "") if p)
    return Text(f"{record.source} {record.key}" + (f"\n{details}" if details else ""))


@identity_app.command("review")
def review(
    status: Annotated[
        ReviewStatus, typer.Option("--status", "-s", help="Which pairs to list.")
    ] = ReviewStatus.open,
    limit: LimitOption = 50,
    workspace: WorkspaceOption = Path("."),
    as_json: JsonOption = False,
) -> None:
    """List the pairs awaiting review, highest match probability first.

    Matching found these pairs borderline (between the review and link thresholds); accept or
    reject them by their review id.
    """
    with Workspace.open(workspace, read_only=True) as ws:
        pairs = ws.review_queue(status.value, limit or None)
    if as_json:
        print_json([p.to_dict() for p in pairs])
        return
    if not pairs:
        console.print(f"No {'' if status is ReviewStatus.all else status.value + ' '}pairs.")
        return
    table = Table(title=f"Review queue ({status.value}, {len(pairs)} shown)")
    table.add_column("review id", no_wrap=True)
    table.add_column("score", justify="right")
    table.add_column("record", ratio=1)
    table.add_column("other record", ratio=1)
    table.add_column("evidence", ratio=1)
    if status is not ReviewStatus.open:
        table.add_column("decided")
    for p in pairs:
        cells = [
            Text(p.review_id),
            Text(f"{p.score:.3f}"),
            _side(p.left),
            _side(p.right),
            Text(p.evidence_summary()),
        ]
        if status is not ReviewStatus.open:
            cells.append(_text(f"{p.status} by {p.decided_by}" if p.decided_by else p.status))
        table.add_row(*cells)
    console.print(table)
    if status is ReviewStatus.open:
        console.print(
            "Decide with `insightloop identity accept REVIEW_ID` or `... reject REVIEW_ID`.",
            highlight=False,
        )


def _decide(review_id: str, accept: bool, reason: str | None, actor: str | None,
            workspace: Path, as_json: bool) -> None:  # fmt: skip
    with Workspace.open(workspace) as ws:
        result = ws.decide_review(review_id, accept, actor=actor, reason=reason)
    _done(result, "Accepted" if accept else "Rejected", as_json)


@identity_app.command("accept")
def accept(
    review_id: Annotated[str, typer.Argument(help="The pair, as `identity review` lists it.")],
    reason: Annotated[str | None, typer.Option("--reason", "-r", help="Why.")] = None,
    actor: ActorOption = None,
    workspace: WorkspaceOption = Path("."),
    as_json: JsonOption = False,
) -> None:
    """Accept a review pair: the two records are one person.

    They stay one customer now and in every later run. A rejected pair may be accepted: that
    revokes the rejection.
    """
    _decide(review_id, True, reason, actor, workspace, as_json)


@identity_app.command("reject")
def reject(
    review_id: Annotated[str, typer.Argument(help="The pair, as `identity review` lists it.")],
    reason: Annotated[str | None, typer.Option("--reason", "-r", help="Why.")] = None,
    actor: ActorOption = None,
    workspace: WorkspaceOption = Path("."),
    as_json: JsonOption = False,
) -> None:
    """Reject a review pair: the two records are never one customer.

    Not even through other records, in any later run. An accepted pair may be rejected: that
    revokes the acceptance.
    """
    _decide(review_id, False, reason, actor, workspace, as_json)


@identity_app.command("decisions")
def decisions(workspace: WorkspaceOption = Path("."), as_json: JsonOption = False) -> None:
    """List every manual identity decision, oldest first, also the revoked ones."""
    with Workspace.open(workspace, read_only=True) as ws:
        found = ws.identity_decisions()
    if as_json:
        print_json([d.to_dict() for d in found])
        return
    if not found:
        console.print("No manual identity decisions yet.")
        return
    table = Table(title=f"Identity decisions ({len(found)})")
    for name in ("decision", "kind", "at", "actor"):
        table.add_column(name, no_wrap=True)
    table.add_column("records", ratio=1)
    table.add_column("reason", ratio=1)
    table.add_column("revoked by", no_wrap=True)
    for d in found:
        records = ", ".join(d.left_records)
        if d.right_records:
            records += (" / " if d.kind in ("merge", "accept") else " apart from ") + ", ".join(
                d.right_records
            )
        revoked = f"{d.revoked_by}\n{d.revoked_at:%Y-%m-%d %H:%M}" if d.revoked_at else ""
        table.add_row(
            Text(d.decision_id),
            Text(d.kind),
            _text(d.at),
            _text(d.actor),
            Text(records),
            _text(d.reason),
            Text(revoked, style="dim"),
        )
    console.print(table)


@identity_app.command("log")
def log(
    limit: LimitOption = 50,
    workspace: WorkspaceOption = Path("."),
    as_json: JsonOption = False,
) -> None:
    """List merges and splits of customers, by pipeline runs and by hand, newest first."""
    with Workspace.open(workspace, read_only=True) as ws:
        rows = ws.merge_log(limit or None)
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("No merges or splits yet.")
        return
    table = Table("at", "kind", "before", "after", "actor", "reason", title="Merge log")
    for r in rows:
        table.add_row(
            _text(r["at"]),
            Text(r["kind"] or ""),
            _text(r["before_ids"]),
            _text(r["after_ids"]),
            _text(r["actor"]),
            _text(r["reason"]),
        )
    console.print(table)


@identity_app.command("rebuild")
def rebuild(
    retrain: Annotated[
        bool,
        typer.Option(
            "--retrain",
            help="Train a new matching model on every record instead of scoring every pair "
            "with the saved one.",
        ),
    ] = False,
    workspace: WorkspaceOption = Path("."),
    as_json: JsonOption = False,
) -> None:
    """Resolve every record again from scratch (runs match only new and changed records):
    every pair scored with the saved model, or with --retrain a new model. Manual decisions
    hold; the golden records are rebuilt."""
    with Workspace.open(workspace) as ws:
        report = ws.rebuild_identities(retrain=retrain)
    if as_json:
        print_json(report.to_dict())
        return
    console.print(
        f"Resolved {report.records:,} records into {report.customers:,} customers "
        f"({report.merges} merges, {report.splits} splits) in {report.seconds} s.",
        highlight=False,
    )
