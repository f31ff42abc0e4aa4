"""Commands that manage a workspace: init, migrate, run, runs, status."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from insightloop.cli.app import JsonOption, WorkspaceOption, app, console, fail, print_json
from insightloop.cli.render import STATUS_STYLE, render_run, render_status, run_with_progress
from insightloop.pipeline import STEPS
from insightloop.workspace import Workspace


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Directory to create the workspace in.")],
    backend: Annotated[
        str, typer.Option(help="Engine: duckdb (embedded) or spark.", show_default=True)
    ] = "duckdb",
) -> None:
    """Create a workspace: configuration, database, folders and the first admin user (its
    password is printed once)."""
    if backend not in ("duckdb", "spark"):
        fail(f"Unknown backend '{backend}'.", hint="Use --backend duckdb or --backend spark.")
    with Workspace.init(directory, backend=backend) as ws:
        console.print(f"Created workspace [bold]{ws.path}[/] on {ws.engine.backend}.")
        console.print(f"  configuration: {ws.layout.config_file}")
        if ws.initial_admin_password:
            show_admin_credentials("admin", ws.initial_admin_password)
        console.print(f"Next: [bold]insightloop run --workspace {ws.path}[/]")


def show_admin_credentials(username: str, password: str, *, note: str | None = None) -> None:
    """Print an admin's sign-in once, with what to do with it (``init``, ``demo up``)."""
    console.print()
    console.print(note or "The first admin user was created:", highlight=False)
    console.print(f"  username: [bold]{username}[/]", highlight=False)
    # Printed as plain text: a password may hold characters Rich would read as markup.
    console.print(Text.assemble("  password: ", (password, "bold")), highlight=False)
    console.print(
        "This password is shown only now; store it in a password manager. "
        f"`insightloop users reset-password {username}` makes a new one.",
        highlight=False,
    )
    console.print()


@app.command()
def migrate(workspace: WorkspaceOption = Path(".")) -> None:
    """Bring the workspace schema to this release's version."""
    with Workspace.open(workspace) as ws:
        applied = ws.migrate()
        if not applied:
            console.print("The schema is up to date.")
        for m in applied:
            console.print(f"Applied migration {m.version}: {m.name}")


@app.command()
def run(
    steps: Annotated[
        list[str] | None, typer.Argument(help="Steps to run (default: all), in pipeline order.")
    ] = None,
    workspace: WorkspaceOption = Path("."),
    list_steps: Annotated[bool, typer.Option("--list", help="List the steps and exit.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Run the pipeline on the workspace: all steps, or the named ones."""
    if list_steps:
        table = Table("step", "what it does", title="Pipeline steps, in order")
        for s in STEPS:
            table.add_row(s.name, s.description)
        console.print(table)
        return
    with Workspace.open(workspace) as ws:
        if as_json:
            record = ws.run(steps)
            print_json(record.to_dict())
        else:
            record = run_with_progress(ws, steps)
            render_run(record)
    if record.status != "succeeded":
        raise typer.Exit(1)


@app.command()
def runs(
    workspace: WorkspaceOption = Path("."),
    limit: Annotated[int, typer.Option(min=1, help="How many runs to show.")] = 10,
    as_json: JsonOption = False,
) -> None:
    """Show the latest pipeline runs and their outcomes."""
    with Workspace.open(workspace, read_only=True) as ws:
        records = ws.runs(limit)
    if as_json:
        print_json([r.to_dict() for r in records])
        return
    table = Table("run", "started (UTC)", "status", "seconds", "steps", "error")
    for r in records:
        style = STATUS_STYLE.get(r.status, "")
        table.add_row(
            r.run_id,
            f"{r.started_at:%Y-%m-%d %H:%M:%S}",
            f"[{style}]{r.status}[/]",
            f"{r.seconds:.1f}" if r.seconds is not None else "",
            ", ".join(r.steps),
            r.error or "",
        )
    console.print(table if records else "No pipeline runs yet: `insightloop run`.")


@app.command()
def status(workspace: WorkspaceOption = Path("."), as_json: JsonOption = False) -> None:
    """Show the schema version, tables with row counts and the last pipeline run."""
    with Workspace.open(workspace, read_only=True) as ws:
        st = ws.status()
    if as_json:
        print_json(st.to_dict())
    else:
        render_status(st)
