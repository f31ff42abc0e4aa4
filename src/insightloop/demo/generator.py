"""Generate the demo company: validate arguments, run the chunks, write manifest and truth.

Chunks are independent (see :mod:`insightloop.demo.chunk`) and built one after the other; each
is appended to the files and dropped before the next starts, which bounds memory whatever the
number of customers.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from insightloop.demo.campaigns import CAMPAIGNS, DEAD_RESPONSE_FACTOR, campaigns_table
from insightloop.demo.catalogue import make_catalogue
from insightloop.demo.chunk import ChunkResult, build_chunk, chunk_plan, global_rng
from insightloop.demo.output import FILES, FileChunk
from insightloop.demo.params import (
    DATA_END,
    GENERATOR_VERSION,
    HOLDOUT_END,
    MAX_CUSTOMERS,
    MIN_CUSTOMERS,
    PERIOD_START,
    params_document,
)
from insightloop.demo.population import PRICE_SENSITIVITY_LOADING
from insightloop.demo.writer import GeneratedFile, Writer
from insightloop.errors import DemoError

__all__ = ["GeneratedFile", "GenerationReport", "generate_company"]

_OUTPUTS = ("sources", "truth", "manifest.json")


@dataclass(frozen=True)
class GenerationReport:
    """What :func:`generate_company` wrote, and how long it took."""

    out: Path
    customers: int
    seed: int
    seconds: float
    files: tuple[GeneratedFile, ...]


def _validate(out: Path, customers: int, seed: int, overwrite: bool) -> None:
    problems = []
    if isinstance(customers, bool) or not isinstance(customers, int | np.integer):
        problems.append(f"customers must be an integer (got {type(customers).__name__})")
    elif not MIN_CUSTOMERS <= customers <= MAX_CUSTOMERS:
        problems.append(
            f"customers must be between {MIN_CUSTOMERS:,} and {MAX_CUSTOMERS:,} (got {customers:,})"
        )
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        problems.append(f"seed must be a non-negative integer (got {seed!r})")
    if problems:
        raise DemoError(
            "Cannot generate the demo company: " + "; ".join(problems) + ".",
            hint=f"Choose customers from {MIN_CUSTOMERS:,} to {MAX_CUSTOMERS:,} and a seed >= 0, "
            "for example customers=10000, seed=42.",
        )
    if out.exists() and not out.is_dir():
        raise DemoError(
            f"The output path {out} is a file, not a directory.",
            hint="Pass a directory path (it is created if missing).",
        )
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise DemoError(
            f"The output directory {out} is not empty.",
            hint="Choose an empty or new directory, or pass overwrite=True (CLI: --overwrite) to "
            "replace a previous demo company there.",
        )


def _clear(out: Path) -> None:
    """Remove a previous demo company's outputs (and only those)."""
    for name in _OUTPUTS:
        target = out / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()


def _results(seed: int, customers: int) -> Iterator[ChunkResult]:
    # One chunk at a time, in this process. Building chunks in worker processes was measured
    # (100k customers: 38 s instead of 47 s) and dropped: shipping each chunk's ~300 MB back
    # eats most of the gain, "spawn" re-runs a caller's unguarded main script, and "fork"
    # with Arrow's thread pools running can deadlock.
    for index, _, _ in chunk_plan(customers):
        yield build_chunk(seed, customers, index)


def _static_files(seed: int) -> list[FileChunk]:
    catalogue = make_catalogue(global_rng(seed))
    products = catalogue.table()
    campaigns = campaigns_table()
    return [
        FileChunk(
            FILES["sources/products/catalogue.csv"],
            np.full(catalogue.n, -1),
            products,
            keys=[("product", products["sku"])],
        ),
        FileChunk(
            FILES["sources/campaigns/campaigns.csv"],
            np.full(len(CAMPAIGNS), -1),
            campaigns,
            keys=[("campaign", campaigns["campaign_id"])],
        ),
    ]


def _manifest(
    seed: int, customers: int, files: list[GeneratedFile], headers: dict[str, list[str]]
) -> dict[str, object]:
    listed = []
    for f in files:
        spec = FILES.get(f.path)
        keys = dict(spec.keys) if spec else {"anonymous_id": "anonymousId", "user_id": "userId"}
        listed.append({**asdict(f), "columns": headers.get(f.path) or None, "keys": keys})
    return {
        "generator": "insightloop.demo",
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "customers": customers,
        "period_start": PERIOD_START.isoformat(),
        "period_end": (DATA_END - dt.timedelta(days=1)).isoformat(),
        "data_end_exclusive": DATA_END.isoformat(),
        "holdout_end_exclusive": HOLDOUT_END.isoformat(),
        "files": listed,
        "truth": sorted(
            [
                "truth/params.json",
                *(
                    f"truth/{name}.parquet"
                    for name in (
                        "persons",
                        "record_map",
                        "transactions",
                        "interactions",
                        "responses",
                        "campaign_members",
                        "pos_lines",
                        "crm_values",
                        "defects",
                        "junk_identifiers",
                    )
                ),
            ]
        ),
    }


def generate_company(
    out: Path,
    customers: int,
    seed: int = 42,
    *,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> GenerationReport:
    """Generate the demo retailer's source exports and their ground truth under ``out``.

    Parameters
    ----------
    out
        Output directory; created if missing. Sources go to ``out/sources``, the truth to
        ``out/truth``, the file list to ``out/manifest.json``.
    customers
        Number of persons, 100 to 5,000,000.
    seed
        Random seed; the same seed and ``customers`` give byte-identical files.
    overwrite
        Replace a previous demo company in a non-empty ``out``.
    progress
        Called as ``progress(done_persons, total_persons)`` after each chunk.

    Returns
    -------
    GenerationReport
        The files written, with their system, format, encoding and row counts.

    Raises
    ------
    DemoError
        If an argument is out of range or ``out`` is not empty and ``overwrite`` is false.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     report = generate_company(Path(tmp) / "demo", customers=200, seed=1)
    >>> [f.path for f in report.files if f.system == "crm"]  # doctest: +NORMALIZE_WHITESPACE
    ['sources/crm/customers_hq.csv', 'sources/crm/customers_nordics.csv',
     'sources/crm/customers_china.csv']
    """
    out = Path(out)
    _validate(out, customers, seed, overwrite)
    customers, seed = int(customers), int(seed)
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    _clear(out)
    writer = Writer(out)
    for static in _static_files(seed):
        writer.write_static(static)
    done = 0
    for result in _results(seed, customers):
        writer.add(result)
        done += result.persons
        if progress is not None:
            progress(done, customers)
    files = writer.close()
    truth = out / "truth"
    pq.write_table(writer.junk_table(), truth / "junk_identifiers.parquet")
    params = params_document(seed, customers)
    params["price_sensitivity_logit_loading_on_dropout"] = PRICE_SENSITIVITY_LOADING
    params["campaigns"] = [{**asdict(c), "send_date": c.send_date.isoformat()} for c in CAMPAIGNS]
    params["dead_response_factor"] = DEAD_RESPONSE_FACTOR
    params["junk_identifiers"] = writer.junk_table().to_pylist()
    (truth / "params.json").write_text(
        json.dumps(params, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    manifest = _manifest(seed, customers, files, writer.headers())
    (out / "manifest.json").write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return GenerationReport(out, customers, seed, time.perf_counter() - started, tuple(files))
