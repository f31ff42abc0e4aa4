"""``insightloop clv``: fit lifetime-value models on a transactions file and score customers."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import typer
from rich.table import Table

from insightloop.analytics.clv import ClvInputError, ClvResult, fit_clv, read_transactions
from insightloop.cli.app import JsonOption, console, print_json, show_error
from insightloop.errors import InsightloopError

__all__ = ["clv_app"]

clv_app = typer.Typer(
    help="Customer lifetime value: BG/NBD or Pareto/NBD purchases with Gamma-Gamma spend.",
    no_args_is_help=True,
)

F = TypeVar("F", bound=Callable[..., Any])


@clv_app.callback()
def _group() -> None:
    """Customer lifetime value: BG/NBD or Pareto/NBD purchases with Gamma-Gamma spend."""
    # A callback keeps `fit` a subcommand: Typer would otherwise run a lone command directly.


def _user_errors(command: F) -> F:
    """Show insightloop errors as message and hint (exit 1), also when the app is used alone."""

    @wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except InsightloopError as exc:
            show_error(exc)
            raise typer.Exit(1) from None

    return run  # type: ignore[return-value]


@clv_app.command("fit")
@_user_errors
def fit(
    transactions: Annotated[
        Path, typer.Argument(help="Transactions file (.csv or .parquet), one row per purchase.")
    ],
    customer: Annotated[
        str | None,
        typer.Option("--customer", help="Customer id column (default: found by name)."),
    ] = None,
    date: Annotated[
        str | None,
        typer.Option("--date", help="Purchase date or timestamp column (default: found by name)."),
    ] = None,
    amount: Annotated[
        str | None, typer.Option("--amount", help="Amount column (default: found by name).")
    ] = None,
    calibration_end: Annotated[
        str | None,
        typer.Option(
            "--calibration-end",
            help="Last day (YYYY-MM-DD) used for fitting; default the last purchase day.",
        ),
    ] = None,
    holdout_end: Annotated[
        str | None,
        typer.Option("--holdout-end", help="Last day of a holdout period, to check the forecasts."),
    ] = None,
    model: Annotated[
        str, typer.Option("--model", help="Purchase model: bgnbd or paretonbd.")
    ] = "bgnbd",
    horizon: Annotated[
        float, typer.Option("--horizon", help="Forecast horizon in time units (weeks).")
    ] = 52.0,
    discount_rate: Annotated[
        float, typer.Option("--discount-rate", help="Annual discount rate, e.g. 0.10.")
    ] = 0.10,
    unit: Annotated[str, typer.Option("--unit", help="Time unit: weeks or days.")] = "weeks",
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write per-customer predictions (.parquet or .csv)."),
    ] = None,
    model_file: Annotated[
        Path | None, typer.Option("--model-file", help="Save the fitted models (JSON).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Fit the models on TRANSACTIONS and forecast each customer's purchases and value."""
    if out is not None and out.suffix.lower() not in {".parquet", ".csv"}:
        raise ClvInputError(
            f"--out {out.name}: unknown file type.", hint="Name a .parquet or .csv file."
        )
    if model not in ("bgnbd", "paretonbd"):
        raise ClvInputError(f"Unknown model '{model}'.", hint="Use --model bgnbd or paretonbd.")
    if unit not in ("weeks", "days"):
        raise ClvInputError(f"Unknown unit '{unit}'.", hint="Use --unit weeks or days.")
    table = read_transactions(transactions)
    model_kind: Literal["bgnbd", "paretonbd"] = "bgnbd" if model == "bgnbd" else "paretonbd"
    unit_name: Literal["weeks", "days"] = "weeks" if unit == "weeks" else "days"
    result = fit_clv(
        table,
        customer=customer,
        at=date,
        amount=amount,
        calibration_end=calibration_end,
        holdout_end=holdout_end,
        model=model_kind,
        horizon=horizon,
        discount_rate=discount_rate,
        unit=unit_name,
    )
    if out is not None:
        _write(result, out)
    digest = result.save(model_file) if model_file is not None else None
    if as_json:
        print_json(_summary(result, out, model_file, digest))
        return
    _render(result)
    if out is not None:
        console.print(f"Predictions for {result.predictions.num_rows:,} customers: {out}")
    if model_file is not None:
        console.print(f"Model file: {model_file} (sha256 {digest})")


def _write(result: ClvResult, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".csv":
        import pyarrow.csv as pacsv

        pacsv.write_csv(result.predictions, out)
    else:
        import pyarrow.parquet as pq

        pq.write_table(result.predictions, out)


def _summary(
    result: ClvResult, out: Path | None, model_file: Path | None, digest: str | None
) -> dict[str, Any]:
    fits = {
        m.kind: m.fit_info.to_dict() if m.fit_info else None
        for m in (result.purchase_model, result.spend_model)
    }
    return {
        "params": result.params,
        "fit": fits,
        "config": result.config.model_dump(),
        "training_window": result.training_window,
        "totals": result.totals,
        "diagnostics": result.diagnostics.to_dict() if result.diagnostics else None,
        "predictions": str(out) if out else None,
        "model_file": str(model_file) if model_file else None,
        "sha256": digest,
    }


def _render(result: ClvResult) -> None:
    params = Table("model", "parameter", "estimate", "std. error", title="Parameters")
    for fitted in (result.purchase_model, result.spend_model):
        errors = fitted.fit_info.standard_errors if fitted.fit_info else {}
        for name, value in fitted.params.items():
            params.add_row(
                fitted.kind, name, f"{value:.4g}", f"{errors.get(name, float('nan')):.3g}"
            )
    console.print(params)
    info = result.purchase_model.fit_info
    window = result.training_window
    if info is not None:
        console.print(
            f"{info.n_customers:,.0f} customers, log-likelihood {info.log_likelihood:,.2f}; "
            f"calibration {window['first_transaction']} .. {window['calibration_end']}"
        )
    totals = Table(
        "total", "value", title=f"Forecast over {result.config.horizon:g} {result.config.unit}"
    )
    for key in (
        "customers",
        "expected_active_customers",
        "expected_purchases",
        "clv",
        "discounted_clv",
    ):
        value = result.totals[key]
        totals.add_row(key, f"{value:,.0f}" if key == "customers" else f"{value:,.2f}")
    console.print(totals)
    if result.diagnostics is None:
        return
    metrics = Table("holdout metric", "value", title=f"Holdout to {window['holdout_end']}")
    for key, value in result.diagnostics.metrics.items():
        metrics.add_row(key, f"{value:,.3f}" if isinstance(value, float) else str(value))
    console.print(metrics)
    conditional = Table(
        "frequency", "customers", "actual", "expected", title="Mean holdout purchases"
    )
    for row in result.diagnostics.conditional.to_pylist():
        conditional.add_row(
            row["frequency"],
            str(row["customers"]),
            f"{row['actual']:.3f}",
            f"{row['expected']:.3f}",
        )
    console.print(conditional)
