"""``insightloop load`` and ``insightloop sources``: declare sources, suggest mappings, load."""

from __future__ import annotations

import glob
import re
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from insightloop.cli.app import JsonOption, WorkspaceOption, app, console, fail, print_json
from insightloop.cli.render import render_load
from insightloop.ingest.sources import ENTITIES, suggest_mapping
from insightloop.quality import scorecard
from insightloop.workspace import Workspace

sources_app = typer.Typer(
    help="Declare data sources, suggest mappings from files, and see their loads.",
    no_args_is_help=True,
)
app.add_typer(sources_app, name="sources")

_SECRET_OPTION = re.compile(r"([?&](?:password|passwd|pwd|pass)=)[^&]*", re.IGNORECASE)


def redact(url: str) -> str:
    """A connection URL without its password (also one holding ``@`` or ``/``, and a
    ``password=`` option).

    Examples
    --------
    >>> redact("postgresql://reader:s3cret@db/sales")
    'postgresql://reader:***@db/sales'
    >>> redact("postgresql://reader:p@ss/w@db/sales?sslmode=require&password=x")
    'postgresql://reader:***@db/sales?sslmode=require&password=***'
    """
    url = _SECRET_OPTION.sub(r"\1***", url)
    scheme, sep, rest = url.partition("://")
    userinfo, at, host = rest.rpartition("@")
    user, colon, _ = userinfo.partition(":")
    if not (sep and at and colon):
        return url
    return f"{scheme}://{user}:***@{host}"


@app.command()
def load(
    sources: Annotated[
        list[str] | None, typer.Argument(help="Sources to load (default: all declared).")
    ] = None,
    workspace: WorkspaceOption = Path("."),
    as_json: JsonOption = False,
) -> None:
    """Load the new files and database rows of the declared sources, and show the account:
    rows read = loaded + quarantined + duplicates skipped."""
    with Workspace.open(workspace) as ws:
        if as_json:
            report = ws.load(sources)
            print_json(report.to_dict())
        else:
            progress = Progress(
                TextColumn("loading"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                TimeElapsedColumn(), console=console,
            )  # fmt: skip
            with progress:
                task = progress.add_task("load", total=1.0)
                report = ws.load(sources, progress=lambda f: progress.update(task, completed=f))
            render_load(report.to_dict())
    if report.failed:
        raise typer.Exit(1)


@sources_app.command("list")
def list_sources(workspace: WorkspaceOption = Path("."), as_json: JsonOption = False) -> None:
    """The declared sources with their last load."""
    with Workspace.open(workspace) as ws:
        declared = ws.sources()
        engine = ws.engine
        t = engine.table("load_batches")
        done = t.filter(t.status != "started")
        stats = done.group_by("source").aggregate(
            batches=done.count(),
            last_load=done.finished_at.max(),
            rows_loaded=done.rows_loaded.sum(),
            rows_quarantined=done.rows_quarantined.sum(),
            failed=(done.status == "failed").sum(),
        )
        by_source = {r["source"]: r for r in engine.records(stats)}
    rows: list[dict[str, Any]] = []
    for name, src in declared.items():
        where = (src.path or "") if src.kind != "database" else redact(src.url or "")
        if src.kind == "database":
            where += f" ({src.table or 'query'})"
        s = by_source.get(name, {})
        rows.append(
            {"source": name, "kind": src.kind, "entity": src.entity, "where": where,
             "batches": s.get("batches", 0), "last_load": s.get("last_load"),
             "rows_loaded": s.get("rows_loaded") or 0,
             "rows_quarantined": s.get("rows_quarantined") or 0, "failed": s.get("failed") or 0}
        )  # fmt: skip
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("No sources are declared. Add one with `insightloop sources add NAME ...`.")
        return
    table = Table(*(k.replace("_", " ") for k in rows[0]), title="Sources")
    for r in rows:
        table.add_row(*(_cell(v) for v in r.values()))
    console.print(table)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


@sources_app.command("suggest")
def suggest(
    file: Annotated[Path, typer.Argument(help="A sample file of the source.")],
    entity: Annotated[
        str | None, typer.Option(help=f"Entity, if you know it: {', '.join(ENTITIES)}.")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Source name (default: from the file).")] = None,
) -> None:
    """Inspect a file and print a proposed [sources.<name>] declaration to edit and paste."""
    if entity is not None and entity not in ENTITIES:
        fail(f"Unknown entity {entity!r}.", hint=f"Use one of {', '.join(ENTITIES)}.")
    suggestion = suggest_mapping(file, entity, name=name)
    typer.echo(suggestion.to_toml(), nl=False)


@sources_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Name of the new source.")],
    path: Annotated[
        str | None, typer.Option(help="File, glob or folder, relative to the workspace.")
    ] = None,
    kind: Annotated[str, typer.Option(help="file, folder or database.")] = "file",
    entity: Annotated[
        str | None, typer.Option(help="Canonical entity (default: suggested from the data).")
    ] = None,
    pattern: Annotated[str | None, typer.Option(help="Folder: file-name glob.")] = None,
    url: Annotated[str | None, typer.Option(help="Database connection URL.")] = None,
    table: Annotated[str | None, typer.Option(help="Database table.")] = None,
    query: Annotated[str | None, typer.Option(help="Database query instead of a table.")] = None,
    watermark: Annotated[
        str | None, typer.Option(help="Database column that only grows (for increments).")
    ] = None,
    workspace: WorkspaceOption = Path("."),
) -> None:
    """Declare a source in insightloop.toml. For files and folders the mapping is suggested
    from the data (check it with `insightloop sources list` and edit the file); database
    sources get their mapping by editing [sources.<name>.mapping]."""
    if kind not in ("file", "folder", "database"):
        fail(f"Unknown kind {kind!r}.", hint="Use --kind file, folder or database.")
    with Workspace.open(workspace) as ws:
        declaration: dict[str, Any] = {"kind": kind}
        if kind == "database":
            if entity is None:
                fail("A database source needs --entity.", hint=f"One of {', '.join(ENTITIES)}.")
            declaration |= {"entity": entity, "url": url, "table": table, "query": query}
            declaration |= {"watermark": watermark} if watermark else {"incremental": False}
        else:
            if path is None:
                fail(f"A {kind} source needs --path.", hint="Give a file, glob or directory.")
            declaration |= {"path": path} | ({"pattern": pattern} if pattern else {})
            declaration |= _suggested(ws.path, kind, path, pattern or "*", entity, name)
        declaration = {k: v for k, v in declaration.items() if v is not None}
        ws.add_source(name, declaration)
        console.print(f"Added source [bold]{name}[/] ({declaration['entity']}) to "
                      f"{ws.layout.config_file}.")  # fmt: skip
        if declaration.get("mapping"):
            console.print("Mapping (check it; edit the file to change it):")
            for column, transform in declaration["mapping"].items():
                console.print(f"  {column} = {transform}")
        console.print(f"Next: [bold]insightloop load {name} --workspace {ws.path}[/]")


def _suggested(
    root: Path, kind: str, path: str, pattern: str, entity: str | None, name: str
) -> dict[str, Any]:
    base = Path(path) if Path(path).is_absolute() else root / path
    found = sorted(base.glob(pattern)) if kind == "folder" else sorted(
        Path(p) for p in glob.glob(str(base))
    )  # fmt: skip
    files = [f for f in found if f.is_file()]
    if not files:
        if entity is None:
            fail(
                f"No file matches {path!r} yet, so the entity cannot be suggested.",
                hint="Give --entity, and add the mapping to insightloop.toml by hand.",
            )
        return {"entity": entity}
    suggestion = suggest_mapping(files[0], entity, name=name)
    out: dict[str, Any] = {"entity": suggestion.entity}
    for section, settings in (("read", suggestion.read), ("options", suggestion.options)):
        values = settings.model_dump(exclude_defaults=True)
        if values:
            out[section] = values
    out["mapping"] = {c: t.to_toml_value() for c, t in suggestion.mapping().items()}
    return out


@app.command()
def quality(
    source: Annotated[str | None, typer.Option("--source", "-s", help="Only this source.")] = None,
    flagged: Annotated[bool, typer.Option("--flagged", help="Only flagged measures.")] = False,
    workspace: WorkspaceOption = Path("."),
    as_json: JsonOption = False,
) -> None:
    """The data-quality scorecard: completeness, validity, uniqueness, volume and freshness per
    source, with the previous value and the trend."""
    with Workspace.open(workspace, read_only=True) as ws:
        card = scorecard(ws.engine, source=source)
    if as_json:
        print_json(card.to_dict())
        return
    rows = card.rows(flagged_only=flagged)
    if not rows:
        console.print("No measures yet: load a source first (`insightloop load`).")
        return
    table = Table(*card.HEADERS, title="Data-quality scorecard")
    for row in rows:
        table.add_row(*row, style="red" if row[7] else "")
    console.print(table)
    console.print(f"{card.flagged} flagged measure(s); thresholds: docs/data-quality.md.")
