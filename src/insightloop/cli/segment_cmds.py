"""``insightloop segments``: save, inspect, preview, refresh and export rule segments.

Definitions are YAML or JSON (docs/segments.md). They are checked against the workspace's data,
the measures and behaviour tables of the last ``insightloop run``, before anything is saved, and
every problem is shown with the path of the node it is in. Saving and deleting are written to the
audit log as ``cli:<operating-system user>``. Members are listed by customer id; names and
e-mail addresses are personal data, shown only with ``--with-contacts`` and audited before they
are shown.
"""

from __future__ import annotations

import csv
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from insightloop.analytics.attributes import segment_sources
from insightloop.analytics.config import analytics_config
from insightloop.analytics.segments import (
    Condition,
    Problem,
    SavedSegment,
    SegmentDefinitionError,
    SegmentSources,
    compile_segment,
    condition_to_dict,
    current_members,
    delete_segment,
    dumps_condition,
    get_segment,
    list_segments,
    loads_condition,
    preview_count,
    save_segment,
    segment_history,
    segment_overlaps,
    segment_sizes,
)
from insightloop.auth import AuthStore
from insightloop.cli.app import (
    JsonOption,
    WorkspaceOption,
    app,
    console,
    err_console,
    fail,
    print_json,
)
from insightloop.cli.auth_cmds import cli_actor
from insightloop.errors import InsightloopError
from insightloop.identity.config import identity_config
from insightloop.workspace import Workspace

if TYPE_CHECKING:
    from insightloop.store import Engine

__all__ = ["segments_app", "show_problems"]

segments_app = typer.Typer(
    help="Rule segments: definitions in YAML or JSON, checked against the data; members with "
    "their history, sizes and overlaps.",
    no_args_is_help=True,
)
app.add_typer(segments_app, name="segments")

NameArgument = Annotated[
    str,
    typer.Argument(help="The segment's name, e.g. lapsed-vip.", show_default=False),
]
FileOption = Annotated[
    Path | None,
    typer.Option(
        "--file",
        "-f",
        help="A file holding the definition in YAML or JSON; '-' reads standard input.",
        show_default=False,
        allow_dash=True,
    ),
]
RuleOption = Annotated[
    str | None,
    typer.Option(
        "--rule",
        "-r",
        help="The definition as YAML or JSON text, e.g. "
        "'{attribute: value_tier, op: eq, value: top}'.",
        show_default=False,
    ),
]

#: How many members are shown on screen unless --limit says otherwise.
SCREEN_LIMIT = 100
#: The golden-record fields --with-contacts adds (personal data).
CONTACT_FIELDS = ("first_name", "last_name", "email")
#: The audit action of a read of members' contact details.
CONTACTS_ACTION = "segment.read_contacts"
#: What the language's checks let through but no query can hold (see _definition_errors).
_OUT_OF_RANGE = Problem(
    "",
    "a number in the definition is out of range (a window or value too large)",
    "Use a within_days of at most a few thousand days.",
)


# -- helpers -----------------------------------------------------------------------------------


def show_problems(error: SegmentDefinitionError) -> None:
    """Print every problem of a definition with its path and hint, to stderr."""
    count = len(error.problems)
    err_console.print(
        f"[bold red]Error:[/] Invalid segment definition "
        f"({count} problem{'' if count == 1 else 's'}):",
        highlight=False,
    )
    for p in error.problems:
        err_console.print(Text.assemble("  ", (p.where(), "bold"), ": ", p.message))
        if p.hint:
            err_console.print(Text.assemble("    ", ("Hint:", "yellow"), " ", p.hint))


@contextmanager
def _definition_errors() -> Iterator[None]:
    """Show a definition's problems one by one (the root group shows other errors)."""
    try:
        yield
    except SegmentDefinitionError as exc:
        show_problems(exc)
        raise typer.Exit(1) from None
    except OverflowError:
        # The language's checks let a window beyond the range of dates through (within_days of
        # a billion), which fails when the query is built: a problem of the definition.
        show_problems(SegmentDefinitionError([_OUT_OF_RANGE]))
        raise typer.Exit(1) from None


def _definition_text(file: Path | None, rule: str | None) -> str:
    if (file is None) == (rule is None):
        fail(
            "Give the definition either with --file or with --rule."
            if file is None
            else "Give the definition with --file or with --rule, not both.",
            hint="E.g. --rule '{attribute: value_tier, op: eq, value: top}', or --file "
            "lapsed-vip.yaml (docs/segments.md shows the language).",
        )
    if rule is not None:
        return rule
    assert file is not None
    if str(file) == "-":
        return sys.stdin.read()
    try:
        return file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(
            f"The definition file {file} cannot be read ({type(exc).__name__}).",
            hint="Check the path, and that the file is UTF-8 text.",
        )


def _parse(file: Path | None, rule: str | None) -> Condition:
    text = _definition_text(file, rule)
    with _definition_errors():
        return loads_condition(text)


def _workspace_sources(ws: Workspace) -> SegmentSources:
    """What the workspace's segments are computed from; fails before the measures exist."""
    sources = segment_sources(
        ws.engine, identity_config(ws.settings.identity), analytics_config(ws.settings.analytics)
    )
    if sources is None:
        fail(
            "The measures have not been computed in this workspace yet, so a definition cannot "
            "be checked against the data or counted.",
            hint="Run `insightloop run` (or `insightloop run measures`) first.",
        )
    return sources


def _history(engine: Engine, segment_id: str) -> list[dict[str, Any]]:
    return [
        {"day": _day(r["day"]), "entered": int(r["entered"]), "exited": int(r["exited"])}
        for r in engine.records(segment_history(engine, segment_id))
    ]


def _day(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def _when(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value else ""


def _iso(value: datetime | None) -> str | None:
    """A stored (naive UTC) time as RFC 3339 text."""
    return value.replace(tzinfo=UTC).isoformat() if value else None


def _saved_dict(seg: SavedSegment, size: int) -> dict[str, Any]:
    return {
        "name": seg.name,
        "version": seg.version,
        "size": size,
        "created_by": seg.created_by,
        "created_at": _iso(seg.created_at),
        "updated_at": _iso(seg.updated_at),
        "definition": condition_to_dict(seg.definition),
    }


def _audit(ws: Workspace, action: str, target: str, details: Mapping[str, object]) -> None:
    AuthStore.for_workspace(ws.path).audit.record(
        cli_actor(), action, target=target, details=details
    )


def _count(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _refresh_hint() -> str:
    return "Members are computed by `insightloop segments refresh` (or `insightloop run`)."


# -- commands ----------------------------------------------------------------------------------


@segments_app.command("add")
def add(
    name: NameArgument,
    file: FileOption = None,
    rule: RuleOption = None,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace", help="Change an existing segment: the definition becomes its next version."
        ),
    ] = False,
    workspace: WorkspaceOption = Path("."),
    as_json: JsonOption = False,
) -> None:
    """Save a rule segment, checked against the workspace's data, and show how many customers
    it selects now.

    Without --replace the name must be new; with it, the segment must exist and a changed
    definition becomes its next version (an unchanged one changes nothing).
    """
    condition = _parse(file, rule)
    with Workspace.open(workspace) as ws:
        sources = _workspace_sources(ws)
        existing = {s.name: s for s in list_segments(ws.engine)}
        before = existing.get(name)
        if replace and before is None:
            get_segment(ws.engine, name)  # fails naming the closest saved segment
        if not replace and before is not None:
            fail(
                f"A segment named '{name}' exists (version {before.version}).",
                hint="Add --replace to save this definition as its next version, or choose "
                "another name.",
            )
        with _definition_errors():
            # Build the query before saving: what the checks let through but no query can run
            # must not be saved, or it would fail every later refresh.
            resolve = {n: s.definition for n, s in existing.items()} | {name: condition}
            compile_segment(condition, sources, resolve=resolve, name=name)
            saved = save_segment(
                ws.engine, name, condition, created_by=cli_actor(), sources=sources
            )
        changed = before is None or saved.version != before.version
        if changed:
            _audit(
                ws,
                "segment.create" if before is None else "segment.update",
                name,
                {"segment_id": saved.segment_id, "version": saved.version},
            )
        count = preview_count(ws.engine, saved.definition, sources)
        size = segment_sizes(ws.engine).get(name, 0)
    if as_json:
        print_json({**_saved_dict(saved, size), "changed": changed, "preview_count": count})
        return
    if not changed:
        console.print(f"Segment '{name}' is unchanged (version {saved.version}).", highlight=False)
    else:
        verb = "Saved" if before is None else "Changed"
        console.print(f"{verb} segment '{name}' (version {saved.version}).", highlight=False)
    console.print(
        f"It selects {_count(count, 'customer')} as of {sources.as_of:%Y-%m-%d}. {_refresh_hint()}",
        highlight=False,
    )


@segments_app.command("preview")
def preview(
    file: FileOption = None,
    rule: RuleOption = None,
    workspace: WorkspaceOption = Path("."),
    as_json: JsonOption = False,
) -> None:
    """Count the customers a definition selects now, without saving it."""
    condition = _parse(file, rule)
    with Workspace.open(workspace, read_only=True) as ws:
        sources = _workspace_sources(ws)
        with _definition_errors():
            count = preview_count(ws.engine, condition, sources)
    if as_json:
        print_json({"count": count, "as_of": _iso(sources.as_of)})
        return
    console.print(
        f"{_count(count, 'customer')} as of {sources.as_of:%Y-%m-%d} (nothing saved).",
        highlight=False,
    )


@segments_app.command("list")
def list_(workspace: WorkspaceOption = Path("."), as_json: JsonOption = False) -> None:
    """List the saved rule segments with their version and current size."""
    with Workspace.open(workspace, read_only=True) as ws:
        saved = list_segments(ws.engine)
        sizes = segment_sizes(ws.engine)
    if as_json:
        print_json([_saved_dict(s, sizes.get(s.name, 0)) for s in saved])
        return
    if not saved:
        console.print(
            "No saved segments yet: `insightloop segments add NAME --rule '...'` saves one.",
            highlight=False,
        )
        return
    table = Table(title=f"Segments ({len(saved)})")
    table.add_column("name", no_wrap=True)
    table.add_column("version", justify="right")
    table.add_column("members", justify="right")
    table.add_column("updated (UTC)", no_wrap=True)
    table.add_column("by")
    for s in saved:
        table.add_row(
            Text(s.name),
            str(s.version),
            f"{sizes.get(s.name, 0):,}",
            _when(s.updated_at),
            Text(s.created_by or ""),
        )
    console.print(table)


@segments_app.command("show")
def show(
    name: NameArgument, workspace: WorkspaceOption = Path("."), as_json: JsonOption = False
) -> None:
    """Show a segment: its definition as YAML, its size, and how many customers entered and
    exited it on each day of its history."""
    with Workspace.open(workspace, read_only=True) as ws:
        seg = get_segment(ws.engine, name)
        size = int(ws.engine.execute(current_members(ws.engine, name).count()))
        history = _history(ws.engine, seg.segment_id)
    if as_json:
        print_json({**_saved_dict(seg, size), "history": history})
        return
    console.print(
        Text.assemble(("Segment ", "bold"), (seg.name, "bold cyan"), f"  version {seg.version}")
    )
    console.print(
        f"{_count(size, 'member')} now. Created {_when(seg.created_at)} by "
        f"{seg.created_by or '-'}, changed {_when(seg.updated_at)} (UTC).",
        highlight=False,
    )
    console.print(Text(dumps_condition(seg.definition).rstrip()))
    if not history:
        console.print(f"No membership history yet. {_refresh_hint()}", highlight=False)
        return
    table = Table("day", "entered", "exited", title="Membership history (UTC days)")
    for h in history:
        table.add_row(h["day"], f"{h['entered']:,}", f"{h['exited']:,}")
    console.print(table)


@segments_app.command("delete")
def delete(name: NameArgument, workspace: WorkspaceOption = Path(".")) -> None:
    """Delete a segment and its membership history (refused while other segments use it)."""
    with Workspace.open(workspace) as ws:
        seg = get_segment(ws.engine, name)
        delete_segment(ws.engine, name)
        _audit(ws, "segment.delete", name, {"segment_id": seg.segment_id, "version": seg.version})
    console.print(f"Deleted segment '{name}' and its membership history.", highlight=False)


@segments_app.command("members")
def members(
    name: NameArgument,
    csv_file: Annotated[
        Path | None,
        typer.Option(
            "--csv",
            help="Write the members to this CSV file (all of them unless --limit is given).",
            show_default=False,
            dir_okay=False,
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            "-n",
            min=0,
            help=f"At most this many members, longest-standing first; 0 means all. Default: "
            f"{SCREEN_LIMIT} on screen, all in a CSV file.",
            show_default=False,
        ),
    ] = None,
    with_contacts: Annotated[
        bool,
        typer.Option(
            "--with-contacts",
            help="Add first name, last name and e-mail from the golden record. This is personal "
            "data: each customer's read is written to the audit log before it is shown.",
        ),
    ] = False,
    workspace: WorkspaceOption = Path("."),
    as_json: JsonOption = False,
) -> None:
    """List the current members of a segment: customer id and when they entered."""
    if limit is None:
        limit = 0 if csv_file is not None else SCREEN_LIMIT
    with Workspace.open(workspace, read_only=True) as ws:
        table = current_members(ws.engine, name)
        total = int(ws.engine.execute(table.count()))
        if with_contacts:
            golden = ws.engine.table("customers").select("customer_id", *CONTACT_FIELDS)
            table = table.left_join(golden, "customer_id").select(
                "customer_id", "entered_at", *CONTACT_FIELDS
            )
        ordered = table.order_by("entered_at", "customer_id")
        rows = ws.engine.records(ordered.limit(limit) if limit else ordered)
        if with_contacts and rows:
            # The read is on record before any personal data leaves: no audit, no data.
            where = "csv" if csv_file is not None else "json" if as_json else "screen"
            details = {"segment": name, "results": len(rows), "to": where}
            AuthStore.for_workspace(ws.path).audit.record_many(
                [
                    {"actor": cli_actor(), "action": CONTACTS_ACTION,
                     "target": r["customer_id"], "details": details}
                    for r in rows
                ]
            )  # fmt: skip
    for r in rows:
        r["entered_at"] = _iso(r["entered_at"])
    if csv_file is not None:
        _write_csv(csv_file, rows, personal=with_contacts)
        console.print(
            f"Wrote {len(rows):,} of {total:,} members of '{name}' to {csv_file}.",
            highlight=False,
        )
        return
    if as_json:
        print_json(rows)
        return
    out = Table(title=f"Members of {name} ({total:,})")
    out.add_column("customer id", no_wrap=True)
    out.add_column("entered (UTC)", no_wrap=True)
    for field in CONTACT_FIELDS if with_contacts else ():
        out.add_column(field.replace("_", " "))
    for r in rows:
        out.add_row(
            Text(r["customer_id"]),
            (r["entered_at"] or "")[:16].replace("T", " "),
            *(Text(r[f] or "") for f in (CONTACT_FIELDS if with_contacts else ())),
        )
    console.print(out)
    if len(rows) < total:
        console.print(
            f"The first {len(rows):,} of {total:,} are shown: --limit 0 shows all, --csv FILE "
            "writes them to a file.",
            highlight=False,
        )


def _write_csv(path: Path, rows: list[dict[str, Any]], *, personal: bool) -> None:
    columns = ["customer_id", "entered_at", *(CONTACT_FIELDS if personal else ())]
    # A file of names and e-mail addresses is readable by its owner only.
    mode = 0o600 if personal else 0o644
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    except OSError as exc:
        raise InsightloopError(
            f"The CSV file {path} cannot be written ({type(exc).__name__}).",
            hint="Check that its folder exists and is writable.",
        ) from None
    with open(fd, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


@segments_app.command("overlaps")
def overlaps(workspace: WorkspaceOption = Path("."), as_json: JsonOption = False) -> None:
    """For every pair of segments: their sizes, the members they share and the Jaccard index
    (shared / in either)."""
    with Workspace.open(workspace, read_only=True) as ws:
        pairs = segment_overlaps(ws.engine)
    if as_json:
        print_json(
            [
                {"a": p.a, "b": p.b, "size_a": p.size_a, "size_b": p.size_b, "both": p.both,
                 "jaccard": p.jaccard}
                for p in pairs
            ]
        )  # fmt: skip
        return
    if not pairs:
        console.print("Overlaps need at least two saved segments.")
        return
    table = Table(title="Segment overlaps (current members)")
    table.add_column("segment")
    table.add_column("other segment")
    for column in ("size", "other size", "shared", "Jaccard"):
        table.add_column(column, justify="right")
    for p in pairs:
        table.add_row(
            Text(p.a),
            Text(p.b),
            f"{p.size_a:,}",
            f"{p.size_b:,}",
            f"{p.both:,}",
            f"{p.jaccard:.3f}",
        )
    console.print(table)


@segments_app.command("refresh")
def refresh(workspace: WorkspaceOption = Path("."), as_json: JsonOption = False) -> None:
    """Recompute every segment's members now (the pipeline step `segments`) and record who
    entered and who exited."""
    with Workspace.open(workspace) as ws:
        record = ws.run(["segments"])
    if as_json:
        print_json(record.to_dict())
    if record.status != "succeeded":
        fail(
            f"The segment refresh failed: {record.error}",
            hint="Fix the segments named above (`insightloop segments show NAME`, `... add NAME "
            "--replace`), then refresh again.",
        )
    if as_json:
        return
    summary = record.step_records[0].summary if record.step_records else {}
    if summary.get("note"):
        console.print(f"Nothing refreshed: {summary['note']}.", highlight=False)
        return
    table = Table(
        "segment", "entered", "exited", title=f"Refreshed as of {str(summary.get('as_of'))[:10]}"
    )
    for c in summary.get("changes", []):
        table.add_row(Text(c["segment"]), f"{c['entered']:,}", f"{c['exited']:,}")
    console.print(table)
