"""The root Typer application, shared options and the error handling of every command."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from typer.core import TyperGroup

from insightloop.errors import InsightloopError

__all__ = [
    "JsonOption",
    "WorkspaceOption",
    "app",
    "console",
    "err_console",
    "fail",
    "print_json",
    "show_error",
]

console = Console()
err_console = Console(stderr=True)

log = logging.getLogger("insightloop")


def show_error(error: InsightloopError) -> None:
    """Print an error with its hint to stderr, without a traceback."""
    err_console.print(f"[bold red]Error:[/] {error.message}", highlight=False, markup=True)
    if error.hint:
        err_console.print(f"[yellow]Hint:[/] {error.hint}", highlight=False)


class _Group(TyperGroup):
    """The root command group: turns errors into a message, a hint and an exit code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except InsightloopError as exc:
            show_error(exc)
            raise typer.Exit(1) from None
        except (typer.Exit, typer.Abort, typer.BadParameter, SystemExit):
            raise
        except BrokenPipeError:
            # Whoever read our output has gone (``insightloop ... | head``): stop quietly, and
            # point stdout at /dev/null so the flush at exit does not fail a second time.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise typer.Exit(1) from None
        except Exception as exc:
            if os.environ.get("INSIGHTLOOP_DEBUG"):
                raise
            if type(exc).__module__.startswith("typer"):
                raise  # usage errors and the like: Typer shows them itself
            # The text of an unexpected exception may quote customer data: show its type only.
            err_console.print(
                f"[bold red]Internal error:[/] {type(exc).__name__} (details withheld).",
                highlight=False,
            )
            err_console.print(
                "[yellow]Hint:[/] set INSIGHTLOOP_DEBUG=1 to see the traceback, and please "
                "report it.",
                highlight=False,
            )
            raise typer.Exit(2) from None


app = typer.Typer(
    name="insightloop",
    cls=_Group,
    help="insightloop: open-source customer intelligence platform. "
    "Unify customer data, understand it, act on it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

WorkspaceOption = Annotated[
    Path,
    typer.Option(
        "--workspace",
        "-w",
        envvar="INSIGHTLOOP_WORKSPACE",
        help="Workspace directory (default: the current directory).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def print_json(data: Any) -> None:
    """Print JSON to stdout without Rich markup (for scripts)."""
    typer.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))


def fail(message: str, hint: str | None = None) -> NoReturn:
    """Stop a command with a user error (shown as message and hint, exit code 1)."""
    raise InsightloopError(message, hint=hint)


def _show_version(value: bool) -> None:
    if value:
        from insightloop.__about__ import __version__

        typer.echo(f"insightloop {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Show the version and exit.", is_eager=True, callback=_show_version
        ),
    ] = False,
) -> None:
    level = os.environ.get("INSIGHTLOOP_LOG_LEVEL", "WARNING").upper()
    logging.basicConfig(level=getattr(logging, level, logging.WARNING), format="%(message)s")
