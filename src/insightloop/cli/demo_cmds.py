"""``insightloop demo``: generate the demo company, and set up and serve a demo workspace."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from insightloop.analytics.segments import list_segments, parse_condition, save_segment
from insightloop.auth import AuthStore
from insightloop.cli.app import JsonOption, WorkspaceOption, app, console, fail, print_json
from insightloop.cli.demo_stream import stream_events
from insightloop.cli.render import render_run, render_status, run_with_progress
from insightloop.cli.serve_cmd import serve_workspace
from insightloop.cli.workspace_cmds import show_admin_credentials
from insightloop.demo import (
    GenerationReport,
    analytics_declaration,
    generate_company,
    identity_declaration,
    segment_declarations,
    source_declarations,
)
from insightloop.demo.params import GENERATOR_VERSION
from insightloop.store import WorkspaceLayout
from insightloop.workspace import Workspace

demo_app = typer.Typer(
    help="The demo company: an omnichannel retailer with ground truth.", no_args_is_help=True
)
app.add_typer(demo_app, name="demo")

# Who resets the admin password of a reused demo workspace, in the audit log.
_DEMO_ACTOR = "cli:demo"

CustomersOption = Annotated[
    int, typer.Option("--customers", "-n", help="Number of customers (100 to 5,000,000).")
]
SeedOption = Annotated[int, typer.Option("--seed", help="Random seed; same seed, same files.")]


def _generate(out: Path, customers: int, seed: int, overwrite: bool) -> GenerationReport:
    progress = Progress(
        TextColumn("generating customers"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
    with progress:
        task = progress.add_task("generate", total=customers)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        return generate_company(out, customers, seed, overwrite=overwrite, progress=advance)


def _render_report(report: GenerationReport) -> None:
    table = Table("file", "system", "entity", "format", "encoding", "rows", title="Source files")
    for f in report.files:
        table.add_row(f.path, f.system, f.entity, f.format, f.encoding, f"{f.rows:,}")
    console.print(table)
    console.print(
        f"Generated {report.customers:,} customers (seed {report.seed}) in "
        f"{report.seconds:.1f} s into {report.out}. Ground truth: {report.out / 'truth'}"
    )


@demo_app.command("generate")
def generate(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory.")],
    customers: CustomersOption = 10_000,
    seed: SeedOption = 42,
    overwrite: Annotated[
        bool, typer.Option(help="Replace the contents of a non-empty output directory.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Write the demo company's source files, with the ground truth in truth/."""
    if as_json:
        report = generate_company(out, customers, seed, overwrite=overwrite)
        print_json(
            {
                "out": str(report.out),
                "customers": report.customers,
                "seed": report.seed,
                "seconds": report.seconds,
                "files": [f.__dict__ for f in report.files],
            }
        )
        return
    _render_report(_generate(out, customers, seed, overwrite))


def _same_company(company: Path, customers: int, seed: int) -> bool:
    manifest = company / "manifest.json"
    if not manifest.is_file():
        return False
    data = json.loads(manifest.read_text(encoding="utf-8"))
    # Files of another generator version may lack fields the demo's source mappings read.
    return bool(
        data.get("customers") == customers
        and data.get("seed") == seed
        and data.get("generator_version") == GENERATOR_VERSION
    )


@demo_app.command("up")
def up(
    directory: Annotated[
        Path, typer.Option("--dir", help="Folder for the demo company and its workspace.")
    ] = Path("demo"),
    customers: CustomersOption = 10_000,
    seed: SeedOption = 42,
    host: Annotated[str, typer.Option(help="Interface to serve on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to serve on.")] = 8000,
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Start the server at the end.")
    ] = True,
) -> None:
    """Generate the demo company, create its workspace, run the pipeline and serve it.

    Idempotent: an existing company with the same size and seed, and an existing workspace, are
    reused.
    """
    directory = directory.expanduser().resolve()
    company, workspace = directory / "company", directory / "workspace"
    if _same_company(company, customers, seed):
        console.print(f"Reusing the demo company in {company}.")
    else:
        _render_report(_generate(company, customers, seed, overwrite=True))
        if WorkspaceLayout(workspace).is_workspace():
            # The old workspace holds the previous company's data: start it afresh.
            shutil.rmtree(workspace)
    with Workspace.init(workspace, exist_ok=True) as ws:
        initial_password = ws.initial_admin_password
        added = declare_demo_sources(ws, company)
        if added:
            console.print(f"Declared {len(added)} demo sources in {ws.layout.config_file}.")
        record = run_with_progress(ws, None)
        render_run(record)
        render_status(ws.status())
    if record.status != "succeeded":
        raise typer.Exit(1)
    _show_demo_admin(workspace, initial_password)
    if serve:
        serve_workspace(workspace, host, port)


def _show_demo_admin(workspace: Path, initial_password: str | None) -> None:
    """Print usable admin credentials: the new workspace's, or, for a reused workspace whose
    password was shown before, a fresh one (so `make demo` always ends with a way in)."""
    if initial_password:
        show_admin_credentials("admin", initial_password, note="Sign in to the demo as:")
        return
    store = AuthStore.for_workspace(workspace)
    password = store.bootstrap_admin()
    username = "admin"
    if password is None:
        admins = [u for u in store.users.list() if u.role == "admin"]
        enabled = [u for u in admins if not u.disabled]
        chosen = next((u for u in enabled if u.username == "admin"), None) or (
            enabled[0] if enabled else admins[0]
        )
        username = chosen.username
        if chosen.disabled:
            store.users.enable(username, actor=_DEMO_ACTOR)
        password = store.users.reset_password(username, actor=_DEMO_ACTOR)
        note = (
            f"The demo workspace existed already, so the password of its admin {username!r} "
            "was reset (its API tokens were revoked). Sign in to the demo as:"
        )
    else:
        note = "The demo workspace had no admin user; one was created. Sign in to the demo as:"
    show_admin_credentials(username, password, note=note)


def declare_demo_sources(ws: Workspace, company: Path) -> list[str]:
    """Declare every file of the demo company as a source of ``ws`` (those not yet declared),
    with paths relative to the workspace, and the demo's identity and analytics settings and
    starter segments when the workspace has none; returns the names of the sources added."""
    company = company.expanduser().resolve()
    try:
        prefix = Path(os.path.relpath(company, ws.path)).as_posix()
    except ValueError:  # another drive on Windows
        prefix = company.as_posix()
    added = []
    for name, declaration in source_declarations(prefix).items():
        if name not in ws.settings.sources:
            ws.add_source(name, declaration)
            added.append(name)
    if not ws.settings.identity:
        ws.add_config_section("identity", identity_declaration())
    if not ws.settings.analytics:
        ws.add_config_section("analytics", analytics_declaration())
    saved = {s.name for s in list_segments(ws.engine)}
    for name, definition in segment_declarations().items():
        if name not in saved:
            save_segment(ws.engine, name, parse_condition(definition), created_by="demo")
    return added


@demo_app.command("declare")
def declare(
    company: Annotated[
        Path, typer.Option("--company", help="The generated demo company's folder.")
    ] = Path("demo/company"),
    workspace: WorkspaceOption = Path("."),
) -> None:
    """Declare the demo company's files as sources of a workspace (what `demo up` does), so that
    `insightloop run` loads them."""
    if not (company / "manifest.json").is_file():
        fail(
            f"{company} holds no generated demo company (no manifest.json).",
            hint="Generate one with `insightloop demo generate --out DIR`, or pass --company.",
        )
    with Workspace.open(workspace) as ws:
        added = declare_demo_sources(ws, company)
        for name in added:
            decl = ws.settings.sources[name]
            console.print(f"  {name}: {decl['entity']} from {decl.get('path')}")
        console.print(
            f"Declared {len(added)} sources in {ws.layout.config_file}."
            if added
            else "Every demo source is declared already."
        )


demo_app.command("stream")(stream_events)
