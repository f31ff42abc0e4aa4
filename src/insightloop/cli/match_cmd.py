"""``insightloop match``: deduplicate or link person files, no workspace needed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from insightloop.cli.app import JsonOption, app, console, fail, print_json
from insightloop.identity.match import MatchResult, match_files
from insightloop.identity.splink_prepare import ROLES
from insightloop.identity.splink_settings import MatchSettings

__all__ = ["match", "parse_columns"]


def parse_columns(values: list[str] | None) -> dict[str, list[str]]:
    """``role=column`` options as a role map; a role given twice takes both columns.

    Examples
    --------
    >>> parse_columns(["first_name=fname", "identifier=ssn", "identifier=card"])
    {'first_name': ['fname'], 'identifier': ['ssn', 'card']}
    """
    roles: dict[str, list[str]] = {}
    problems = []
    for value in values or []:
        role, sep, column = value.partition("=")
        role, column = role.strip(), column.strip()
        if not sep or not role or not column:
            problems.append(f"{value!r} is not role=column")
        elif role not in ROLES:
            problems.append(f"{role!r} is not a role")
        else:
            roles.setdefault(role, []).append(column)
    if problems:
        fail(
            "Invalid --column option(s): " + "; ".join(problems) + ".",
            hint=f"Write --column role=column; roles are {', '.join(ROLES)}.",
        )
    return roles


@app.command()
def match(
    files: Annotated[
        list[Path],
        typer.Argument(help="CSV or Parquet files: one to deduplicate, two or more to link."),
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for clusters, pairs and model.json.")
    ],
    id_column: Annotated[
        str | None,
        typer.Option(
            "--id-column",
            help="Column with a unique record id (default: recognised "
            "from the header, else the row number).",
        ),
    ] = None,
    column: Annotated[
        list[str] | None,
        typer.Option(
            "--column",
            "-c",
            help="The role of a column, as role=column (repeat it). "
            f"Roles: {', '.join(ROLES)}. Columns not named are recognised by header.",
        ),
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            "--threshold",
            help="Match probability at or above which a pair is linked "
            f"(default {MatchSettings().link_threshold}).",
        ),
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="Output format of clusters and pairs: csv or parquet.")
    ] = "csv",
    as_json: JsonOption = False,
) -> None:
    """Find the records of one person in person files: deduplicate one file, or link several.

    Columns get their roles (names, birth date, e-mail, phone, address, identifiers) from their
    headers; the model is configured and trained automatically. Writes clusters, scored pairs
    with the evidence of each, and the model to --out.
    """  # fmt: skip
    if fmt not in ("csv", "parquet"):
        fail(f"Unknown format {fmt!r}.", hint="Use --format csv or --format parquet.")
    settings = MatchSettings()
    if threshold is not None:
        if not 0.0 < threshold <= 1.0:
            fail(f"--threshold must be in (0, 1]; it is {threshold}.", hint="For example 0.99.")
        settings = replace(
            settings,
            link_threshold=threshold,
            review_threshold=min(settings.review_threshold, threshold),
        )
    roles = parse_columns(column)
    kwargs: dict[str, Any] = {
        "roles": roles or None,
        "id_column": id_column,
        "settings": settings,
        "out_dir": out,
        "fmt": fmt,
    }
    if as_json:
        result = match_files(files, **kwargs)
        print_json(_summary(result))
        return
    progress = Progress(
        TextColumn("{task.description:<32}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(), console=console,
    )  # fmt: skip
    with progress:
        task = progress.add_task("matching", total=1.0)

        def update(fraction: float, stage: str) -> None:
            progress.update(task, completed=min(max(fraction, 0.0), 1.0), description=stage)

        result = match_files(files, progress=update, **kwargs)
    _render(result)


def _summary(result: MatchResult) -> dict[str, Any]:
    report = result.report
    return {
        "mode": result.mode,
        "records": result.records,
        "inputs": result.inputs,
        "roles": result.roles,
        "id_columns": result.id_columns,
        "pairs": result.decisions,
        "clusters": report["clusters"],
        "blocking": report["blocking"],
        "comparisons": report["comparisons"],
        "junk_values": {
            k: {"values": v["values"], "records": v["records"]}
            for k, v in report["junk_values"].items()
        },
        "left_out_columns": report["left_out"],
        "seconds": result.seconds,
        "files": [str(p) for p in result.files],
    }


def _render(result: MatchResult) -> None:
    report = result.report
    verb = "Linked" if result.mode == "link" else "Deduplicated"
    inputs = Table("input", "records", "roles", title=f"{verb} {result.records:,} records")
    for name, rows in result.inputs.items():
        roles = ", ".join(f"{r}={'+'.join(c)}" for r, c in result.roles[name].items())
        inputs.add_row(name, f"{rows:,}", roles)
    console.print(inputs)
    blocking = Table("blocking rule", "new pairs", title="Candidate pairs")
    for rule in report["blocking"]["rules"]:
        pairs = rule["new_pairs"] if rule["new_pairs"] is not None else rule["pairs"]
        blocking.add_row(rule["rule"], f"{pairs:,}")
    console.print(blocking)
    for rule, reason in report["blocking"]["dropped"].items():
        console.print(f"  dropped blocking rule [bold]{rule}[/]: {reason}")
    for name, junk in report["junk_values"].items():
        console.print(
            f"  {junk['values']} {name} value(s) shared by many records ({junk['records']:,} "
            "records) treated as missing"
        )
    for name, fill in report["left_out"].items():
        console.print(f"  column {name} left out: filled on {fill:.1%} of records")
    decisions = result.decisions
    clusters = report["clusters"]
    summary = Table("", "", title="Result", show_header=False)
    summary.add_row("linked pairs", f"{decisions['link']:,}")
    summary.add_row("pairs to review", f"{decisions['review']:,}")
    summary.add_row("pairs kept apart by a guard", f"{decisions['guarded']:,}")
    summary.add_row("clusters (persons)", f"{clusters['clusters']:,}")
    summary.add_row("records with duplicates", f"{clusters['records_in_clusters']:,}")
    summary.add_row("largest cluster", f"{clusters['largest_cluster']:,}")
    summary.add_row("seconds", f"{result.seconds:.1f}")
    console.print(summary)
    for path in result.files:
        console.print(f"Wrote [bold]{path}[/]")
