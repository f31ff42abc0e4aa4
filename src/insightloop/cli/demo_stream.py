"""``insightloop demo stream``: live shop events of existing demo customers, sent through the
real Segment SDK (``segment-analytics-python``) to a running ``insightloop serve``.

It shows the collection path end to end: the SDK batches the calls and posts them to
``/v1/batch`` with a write key; the server makes each request durable; its loader moves the
events into the workspace every ``collect.load_interval_seconds`` and rewrites the profiles of
the customers they belong to, so the events show in ``GET /api/v1/profiles/by/user_id/{id}``
within seconds.

The customers are those the workspace's profile store knows by web-shop ``user_id``, read before
sending starts (the database is not opened: the server's loader writes it). The products are the
workspace's declared products file (the demo company's catalogue). Sessions look like the demo's
history: returning customers browse, search, view and add products and sometimes order, on the
web or in the app; new visitors browse anonymously and then log in, which attaches their device
to the customer, so the anonymous events show in the profile too.
"""

from __future__ import annotations

import base64
import csv
import glob
import logging
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from insightloop.auth import AuthStore
from insightloop.cli.app import JsonOption, console, fail, print_json
from insightloop.cli.demo_sessions import Call, Product, SessionPlanner, ShopperSource
from insightloop.config import load_settings
from insightloop.errors import InsightloopError
from insightloop.profile.backends import ProfileDocuments, open_profile_store
from insightloop.store import WorkspaceLayout

__all__ = ["SOURCE", "StreamReport", "stream_events"]

#: The source of the write key created when none is given.
SOURCE = "demo_stream"
# Enough queued messages for a few uploads; beyond it the sender waits instead of letting the
# SDK drop messages from its full queue.
_MAX_QUEUED = 2_000
# A server reloads its active write keys about once a second: one made a moment ago (now, or by
# `insightloop keys create` just before) may be refused for that long.
_KEY_RELOAD_SECONDS = 2.0


# -- where from -----------------------------------------------------------------------------


def workspace_layout(directory: Path, workspace: Path | None) -> WorkspaceLayout:
    """The workspace of ``--workspace``, else the one ``demo up --dir DIR`` made in DIR."""
    root = workspace if workspace is not None else directory / "workspace"
    layout = WorkspaceLayout(root.expanduser().resolve())
    if not layout.is_workspace():
        fail(
            f"{layout.root} is not an insightloop workspace.",
            hint="Set up the demo first (`make demo`, or `insightloop demo up --dir DIR`) and "
            "pass the same --dir, or pass the workspace with --workspace.",
        )
    return layout


def _profile_store(layout: WorkspaceLayout) -> ProfileDocuments:
    return open_profile_store(layout.root, load_settings(layout.config_file))


def customers_of(layout: WorkspaceLayout) -> list[tuple[str, str]]:
    """Every ``(user_id, customer_id)`` the workspace's profile store knows, by user id."""
    hint = "Run the pipeline first: `insightloop demo up` (or `insightloop run`) builds it."
    try:
        # Read from the profile store, not the database: the server's loader writes that.
        rows = _profile_store(layout).identifiers("user_id")
    except InsightloopError as error:
        fail(f"The profile store of {layout.root} cannot be read: {error.message}", hint=hint)
    customers = sorted({str(u): str(c) for u, c in rows}.items())
    if not customers:
        fail(
            f"No customer of {layout.root} has a web-shop user id to send events as.",
            hint="Use a demo workspace (`insightloop demo up`), whose web shop accounts have them.",
        )
    return customers


def products_of(layout: WorkspaceLayout) -> list[Product]:
    """The active products of the workspace's declared products file: the demo company's
    catalogue, with list prices in every currency of the demo."""
    products: list[Product] = []
    for declaration in load_settings(layout.config_file).sources.values():
        if declaration.get("entity") == "products" and declaration.get("path"):
            for name in sorted(glob.glob(str(layout.root / str(declaration["path"])))):
                products = products or _read_catalogue(Path(name))
    if not products:
        fail(
            f"The workspace {layout.root} has no readable demo catalogue to take products from.",
            hint="Use the workspace of `insightloop demo up`; its products source reads the "
            "demo company's products/catalogue.csv, which must still be there.",
        )
    return products


def _read_catalogue(path: Path) -> list[Product]:
    try:
        with path.open(encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
        products = []
        for row in rows:
            prices = {
                column.removeprefix("list_price_").upper(): float(value)
                for column, value in row.items()
                if column and column.startswith("list_price_") and value
            }
            if prices and row.get("sku") and row.get("active", "true") != "false":
                products.append(
                    Product(
                        row["sku"],
                        row.get("product_name") or row["sku"],
                        row.get("category") or "other",
                        row.get("brand") or None,
                        prices,
                    )
                )
        return products
    except (OSError, UnicodeDecodeError, ValueError, csv.Error):
        return []


# -- the server -----------------------------------------------------------------------------


def check_server(url: str) -> None:
    """Fail with what to do when no insightloop server answers at ``url``."""
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=5) as response:
            if response.status == 200:
                return
    except urllib.error.HTTPError:
        pass
    except (urllib.error.URLError, OSError, ValueError):
        fail(
            f"No insightloop server answers at {url}.",
            hint="Start it first, in another terminal: `make demo` (or `insightloop serve "
            "--workspace DIR`), or pass the server's address with --url.",
        )
    fail(
        f"The server at {url} is not an insightloop server (no /healthz).",
        hint="Pass the address of `insightloop serve` with --url.",
    )


def check_write_key(url: str, secret: str, *, patience: float = 0.0) -> None:
    """Fail when the server refuses ``secret``, after ``patience`` seconds of asking again (for a
    key made a moment ago)."""
    # Deliberately invalid (a track without event or ids): the server checks the key first and
    # keeps nothing of a request whose messages it refuses.
    probe = urllib.request.Request(
        f"{url}/v1/batch",
        data=b'{"batch":[{"type":"track"}]}',
        headers={
            "Content-Type": "application/json",
            "Authorization": "Basic " + base64.b64encode(f"{secret}:".encode()).decode(),
        },
        method="POST",
    )
    deadline = time.monotonic() + patience
    while True:
        try:
            with urllib.request.urlopen(probe, timeout=5):
                return
        except urllib.error.HTTPError as error:
            if error.code != 401:
                return
        except (urllib.error.URLError, OSError):
            check_server(url)
            return
        if time.monotonic() >= deadline:
            break
        time.sleep(0.25)
    fail(
        f"The server at {url} refused the write key (unknown or revoked).",
        hint="Leave out --write-key to create one, or pass an active key (`insightloop keys "
        "list`); the server must serve the same workspace as --dir/--workspace.",
    )


# -- sending --------------------------------------------------------------------------------


@dataclass
class StreamReport:
    """What a stream sent: counts, the customers reached and a sample to look for."""

    url: str
    write_key_id: str
    enqueued: int = 0
    failed: int = 0
    customers: int = 0
    seconds: float = 0.0
    stopped: str = "completed"  # completed, interrupted or error
    error: str | None = None
    sample: Call | None = None

    @property
    def sent(self) -> int:
        return self.enqueued - self.failed

    def to_dict(self) -> dict[str, Any]:
        sample = self.sample
        return {
            "url": self.url,
            "write_key_id": self.write_key_id,
            "sent": self.sent,
            "failed": self.failed,
            "customers": self.customers,
            "seconds": round(self.seconds, 3),
            "stopped": self.stopped,
            "error": self.error,
            "sample": None
            if sample is None
            else {
                "user_id": sample.user_id,
                "customer_id": sample.customer_id,
                "message_id": sample.message_id,
                "event": sample.label,
            },
        }


class _Failures:
    """What the SDK's ``on_error`` reported (called from its upload thread)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.message_ids: set[str] = set()
        self.first: BaseException | None = None

    def on_error(self, error: BaseException, batch: list[dict[str, Any]]) -> None:
        with self.lock:
            self.message_ids.update(str(m.get("messageId")) for m in batch)
            self.first = self.first or error

    def unsent(self, message_id: str) -> None:
        with self.lock:
            self.message_ids.add(message_id)


def _describe(error: BaseException | None, url: str) -> str:
    status = getattr(error, "status", None)
    if status == 401:
        return "the server refused the write key (revoked meanwhile?)"
    if isinstance(status, int):
        return f"the server answered {status} ({getattr(error, 'code', 'error')})"
    return f"the server at {url} stopped answering ({type(error).__name__})"


@contextmanager
def _quiet_sdk() -> Iterator[None]:
    """Keep the SDK's retry and error logs off the console: failures are counted instead."""
    logger = logging.getLogger("segment")
    handler, propagate = logging.NullHandler(), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def send(
    calls: Iterator[Call],
    *,
    url: str,
    write_key: str,
    write_key_id: str,
    rate: float,
    total: int | None,
    show_progress: bool,
) -> StreamReport:
    """Send ``calls`` through a Segment client, ``rate`` a second (0: at once), until they end,
    Ctrl-C or a failed upload; then flush. Returns the report."""
    from segment.analytics import Client  # type: ignore[import-untyped]  # the SDK has no types

    report = StreamReport(url, write_key_id)
    failures = _Failures()
    queued: dict[str, str] = {}  # message id: customer id (not the whole call: 0 = no end)
    recent: deque[Call] = deque(maxlen=100)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[failed]} failed"),
        TimeElapsedColumn(),
        console=console,
        disable=not show_progress,
    )
    started = time.monotonic()
    with _quiet_sdk(), progress:
        task = progress.add_task("streaming events", total=total, failed=0)
        # Small retry budget: a demo should report a stopped server within seconds, not hours.
        client = Client(
            write_key, host=url, gzip=True, max_retries=4, timeout=10, on_error=failures.on_error
        )
        try:
            for i, call in enumerate(calls):
                if failures.first is not None:
                    report.stopped = "error"
                    break
                if rate > 0:
                    time.sleep(max(0.0, started + i / rate - time.monotonic()))
                while client.queue.qsize() >= _MAX_QUEUED and failures.first is None:
                    time.sleep(0.05)
                ok, _ = getattr(client, call.method)(**call.kwargs)
                report.enqueued += 1
                queued[call.message_id] = call.customer_id
                recent.append(call)
                if not ok:  # the SDK's queue was full (it is kept short above: rare)
                    failures.unsent(call.message_id)
                progress.update(task, completed=i + 1, failed=len(failures.message_ids))
        except KeyboardInterrupt:
            report.stopped = "interrupted"
        progress.update(task, description="flushing")
        try:
            if failures.first is None:
                client.flush()
        except KeyboardInterrupt:  # a second Ctrl-C: stop waiting for the uploads
            report.stopped = "interrupted"
        # Stop the upload thread; what it still holds was not sent.
        client.join()
        while not client.queue.empty():
            failures.unsent(str(client.queue.get_nowait().get("messageId")))
        progress.update(task, failed=len(failures.message_ids))
    if failures.first is not None:
        report.error = _describe(failures.first, url)
        if report.stopped != "interrupted":
            report.stopped = "error"
    report.seconds = time.monotonic() - started
    report.failed = len(failures.message_ids & queued.keys())
    report.customers = len({c for mid, c in queued.items() if mid not in failures.message_ids})
    # The newest event delivered, preferably one that is more than a login.
    delivered = [c for c in recent if c.message_id not in failures.message_ids]
    shown = [c for c in delivered if c.method != "identify"] or delivered
    report.sample = shown[-1] if shown else None
    return report


# -- the command ----------------------------------------------------------------------------

DirOption = Annotated[
    Path, typer.Option("--dir", help="The folder of `demo up`; the workspace is DIR/workspace.")
]
StreamWorkspaceOption = Annotated[
    Path | None,
    typer.Option(
        "--workspace", "-w", help="The workspace, if not DIR/workspace.", show_default=False
    ),
]
UrlOption = Annotated[str, typer.Option("--url", help="The running insightloop server.")]
EventsOption = Annotated[
    int, typer.Option("--events", "-n", min=0, help="Events to send; 0 sends until Ctrl-C.")
]
RateOption = Annotated[
    float, typer.Option("--rate", min=0, help="Events a second; 0 sends as fast as possible.")
]
StreamSeedOption = Annotated[
    int | None,
    typer.Option(
        "--seed", help="Random seed of the customers and events chosen.", show_default=False
    ),
]
WriteKeyOption = Annotated[
    str | None,
    typer.Option(
        "--write-key",
        help=f"Write key to send with (default: a new key of source {SOURCE!r}, shown once).",
        show_default=False,
    ),
]


def stream_events(
    directory: DirOption = Path("demo"),
    workspace: StreamWorkspaceOption = None,
    url: UrlOption = "http://127.0.0.1:8000",
    events: EventsOption = 200,
    rate: RateOption = 5.0,
    seed: StreamSeedOption = None,
    write_key: WriteKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Send live shop events of existing demo customers through the Segment SDK to a running
    server (`make demo` in another terminal), and watch them reach the profiles.

    Returning customers browse, search, view, add to cart and order on the web or in the app;
    new visitors browse anonymously and then log in, which attaches their device.
    """
    # Imported here: importing a command module registers its commands, in the order that
    # `insightloop --help` lists them (see cli/main.py).
    from insightloop.cli.auth_cmds import cli_actor

    layout = workspace_layout(directory, workspace)
    customers = customers_of(layout)
    products = products_of(layout)
    url = url.rstrip("/")
    check_server(url)
    keys = AuthStore.for_workspace(layout.root).write_keys
    created = write_key is None
    if write_key is None:
        key, write_key = keys.create(SOURCE, label="insightloop demo stream", actor=cli_actor())
        try:
            check_write_key(url, write_key, patience=_KEY_RELOAD_SECONDS)
        except InsightloopError:
            keys.revoke(key.key_id, actor=cli_actor())  # of no use: leave no stray key behind
            raise
    else:
        found = keys.verify(write_key)
        if found is None:
            fail(
                f"The write key is not an active key of the workspace {layout.root}.",
                hint="Leave out --write-key to create one, or see the keys with `insightloop "
                f"keys list --workspace {layout.root}`.",
            )
        key = found
        check_write_key(url, write_key, patience=_KEY_RELOAD_SECONDS)
    if not as_json:
        if created:
            console.print(
                f"Created write key {key.key_id} for source {SOURCE}: {write_key}\n"
                "It is shown only now; pass it with --write-key to send with it again.",
                highlight=False,
                markup=False,
            )
        else:
            console.print(f"Sending with write key {key.key_id} (source {key.source}).")
    shoppers = ShopperSource(_profile_store(layout))
    report = send(
        SessionPlanner(customers, products, shoppers, seed).calls(events or None),
        url=url,
        write_key=write_key,
        write_key_id=key.key_id,
        rate=rate,
        total=events or None,
        show_progress=not as_json,
    )
    if as_json:
        print_json(report.to_dict() | ({"write_key": write_key} if created else {}))
    else:
        _render(report, layout)
    if report.stopped == "error":
        raise typer.Exit(1)


def _render(report: StreamReport, layout: WorkspaceLayout) -> None:
    how = " (stopped by Ctrl-C)" if report.stopped == "interrupted" else ""
    console.print(
        f"Sent {report.sent:,} events of {report.customers:,} customers in "
        f"{report.seconds:.1f} s{how}; {report.failed:,} failed.",
        highlight=False,
    )
    if report.error:
        console.print(f"[bold red]Stopped:[/] {report.error}.", highlight=False)
    sample = report.sample
    if sample is None:
        return
    console.print(
        f"The server loads received events every few seconds. The last one sent, "
        f"{sample.label!r} of customer {sample.customer_id}, shows with\n"
        f"  insightloop profile show {sample.user_id} --type user_id --workspace {layout.root}\n"
        f"or, with an API token (`insightloop tokens create admin --workspace {layout.root}`):\n"
        f"  curl -H 'Authorization: Bearer <TOKEN>' "
        f"'{report.url}/api/v1/profiles/by/user_id/{sample.user_id}?timeline_limit=10'",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
