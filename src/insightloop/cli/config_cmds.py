"""``insightloop config``: show and check the effective configuration."""

from __future__ import annotations

from pathlib import Path

import typer

from insightloop.cli.app import JsonOption, WorkspaceOption, app, console, print_json
from insightloop.config import load_settings, render_config_file
from insightloop.config.settings import environment_overrides
from insightloop.store import WorkspaceLayout

config_app = typer.Typer(help="Show and check the workspace configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")


@config_app.command("show")
def show(workspace: WorkspaceOption = Path("."), as_json: JsonOption = False) -> None:
    """Print the effective settings (file, then environment overrides), after validation."""
    layout = WorkspaceLayout(workspace.expanduser().resolve())
    layout.require()
    settings = load_settings(layout.config_file)
    if as_json:
        print_json(settings.model_dump(mode="json"))
        return
    overrides = sorted(environment_overrides())
    console.print(f"# effective configuration of {layout.root}", highlight=False, markup=False)
    if overrides:
        console.print(
            f"# overridden by the environment: {', '.join(overrides)}",
            highlight=False,
            markup=False,
        )
    console.print(render_config_file(settings), highlight=False, markup=False)
