"""Entry point of the ``insightloop`` command: imports every command module, then runs the app."""

from __future__ import annotations

# isort: off
# Commands register in import order, which is the order `insightloop --help` lists them.
from insightloop.cli import (
    workspace_cmds,
    load_cmds,
    quarantine_cmds,
    collect_cmds,
    serve_cmd,
    config_cmds,
    demo_cmds,
    match_cmd,
    profile_cmds,
    analytics_cmds,
    segment_cmds,
    query_cmd,
    clv_cmds,
    identity_cmds,
    auth_cmds,
)
from insightloop.cli.app import app

# isort: on

app.add_typer(clv_cmds.clv_app, name="clv")

__all__ = ["app", "main"]

# Importing the command modules registers their commands on the app.
_COMMAND_MODULES = (
    workspace_cmds,
    load_cmds,
    quarantine_cmds,
    collect_cmds,
    config_cmds,
    demo_cmds,
    match_cmd,
    profile_cmds,
    analytics_cmds,
    segment_cmds,
    query_cmd,
    clv_cmds,
    identity_cmds,
    auth_cmds,
    serve_cmd,
)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
