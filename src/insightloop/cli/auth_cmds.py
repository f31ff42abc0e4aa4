"""``insightloop users``, ``tokens``, ``keys`` and ``audit``: access control on the command line.

These commands work on ``<workspace>/auth.sqlite`` only, never on the DuckDB database, so they
run while the server serves or ``insightloop run`` holds the database. Secrets (passwords, API
tokens, write keys) are printed once, when made, and never again. Every change is audited with
the actor ``cli:<operating-system user>``.
"""

from __future__ import annotations

import getpass
import re
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from insightloop.auth import PERMISSIONS, ROLES, AuthStore, Permission, Role
from insightloop.cli.app import JsonOption, WorkspaceOption, app, console, fail, print_json
from insightloop.config import load_settings
from insightloop.store import WorkspaceLayout

__all__ = ["PermissionChoice", "RoleChoice", "cli_actor", "keys_app", "tokens_app", "users_app"]

users_app = typer.Typer(
    help="Users of the server and their roles (admin, analyst, marketer, agent, viewer).",
    no_args_is_help=True,
)
tokens_app = typer.Typer(
    help="Bearer tokens for the insight API: scoped, expiring, revocable.", no_args_is_help=True
)
keys_app = typer.Typer(
    help="Write keys for the collection API, one source each (the SDKs' write_key).",
    no_args_is_help=True,
)
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.add_typer(keys_app, name="keys")


class RoleChoice(StrEnum):
    """The roles, as Typer choices (the same as :data:`insightloop.auth.ROLES`)."""

    admin = "admin"
    analyst = "analyst"
    marketer = "marketer"
    agent = "agent"
    viewer = "viewer"


class PermissionChoice(StrEnum):
    """The permissions, as Typer choices (the same as :data:`insightloop.auth.PERMISSIONS`)."""

    profiles_read = "profiles:read"
    pii_read = "pii:read"
    status_read = "status:read"
    identity_decide = "identity:decide"
    segments_write = "segments:write"
    pipeline_run = "pipeline:run"
    users_manage = "users:manage"
    keys_manage = "keys:manage"
    audit_read = "audit:read"


assert tuple(RoleChoice) == ROLES
assert tuple(PermissionChoice) == PERMISSIONS

UsernameArgument = Annotated[str, typer.Argument(help="The user's name.", show_default=False)]
PasswordStdinOption = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read the password from the first line of stdin instead of generating one.",
    ),
]
_SHOWN_ONCE = "It is shown only now and cannot be shown again"


def cli_actor() -> str:
    """Who acts, in the audit log: ``cli:<operating-system user>``, or ``cli``."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in the environment or the password database
        return "cli"


def _layout(workspace: Path) -> WorkspaceLayout:
    layout = WorkspaceLayout(workspace.expanduser().resolve())
    layout.require()
    return layout


def _store(workspace: Path) -> AuthStore:
    return AuthStore.for_workspace(_layout(workspace).root)


def _read_password() -> str:
    line = typer.get_text_stream("stdin").readline().rstrip("\r\n")
    if not line:
        fail(
            "--password-stdin found no password on stdin.",
            hint="Pipe it in, e.g. `pass show insightloop/ann | insightloop users add ann ...`, "
            "or leave out --password-stdin to have one generated.",
        )
    return line


def _when(value: datetime | None, empty: str = "") -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value else empty


def _day(value: datetime | None, empty: str = "") -> str:
    return f"{value:%Y-%m-%d}" if value else empty


# Columns shown whole at any terminal width, with their width.
_FIXED_WIDTH = dict.fromkeys(("created", "expires", "last used", "revoked"), 10) | {
    "token id": 12, "key id": 15, "at (UTC)": 19, "action": 16, "target": 15,
}  # fmt: skip
_TOKEN_COLUMNS = ("token id", "user", "status", "scopes", "label", "created", "expires",
                  "last used")  # fmt: skip
_KEY_COLUMNS = ("key id", "source", "starts with", "label", "created", "revoked")
_AUDIT_COLUMNS = ("at (UTC)", "actor", "action", "target", "outcome", "details")


def _table(title: str | None, *columns: str) -> Table:
    """A table whose id and date columns never shrink (ids are copied from it)."""
    table = Table(title=title)
    for name in columns:
        if name in _FIXED_WIDTH:
            table.add_column(name, no_wrap=True, min_width=_FIXED_WIDTH[name])
        else:
            table.add_column(name, overflow="fold" if name in ("scopes", "details") else "ellipsis")
    return table


def _show_secret(label: str, secret: str) -> None:
    # Plain text, not Rich: no markup, no highlighting, and no line break inside the secret.
    typer.echo(f"  {label}: {secret}")


# -- users ------------------------------------------------------------------------------------


@users_app.command("add")
def users_add(
    username: UsernameArgument,
    role: Annotated[RoleChoice, typer.Option("--role", "-r", help="What the user may do.")],
    password_stdin: PasswordStdinOption = False,
    workspace: WorkspaceOption = Path("."),
    as_json: JsonOption = False,
) -> None:
    """Add a user. Prints a generated password once (or reads one with --password-stdin)."""
    store = _store(workspace)
    given = _read_password() if password_stdin else None
    user, password = store.users.add(username, _role(role), password=given, actor=cli_actor())
    if as_json:
        print_json({"user": user.to_dict(), "password": None if given else password})
        return
    console.print(f"Added user [bold]{user.username}[/] with role {user.role}.", highlight=False)
    if given is None:
        _show_secret("password", password)
        console.print(f"{_SHOWN_ONCE}: store it in a password manager.", highlight=False)


@users_app.command("list")
def users_list(workspace: WorkspaceOption = Path("."), as_json: JsonOption = False) -> None:
    """List the users with their roles."""
    users = _store(workspace).users.list()
    if as_json:
        print_json([u.to_dict() for u in users])
        return
    table = _table(None, "username", "role", "status", "created (UTC)", "password changed (UTC)")
    for u in users:
        status = Text("disabled", style="red") if u.disabled else Text("active")
        table.add_row(
            Text(u.username), u.role, status, _when(u.created_at), _when(u.password_changed_at)
        )
    console.print(table)


@users_app.command("disable")
def users_disable(username: UsernameArgument, workspace: WorkspaceOption = Path(".")) -> None:
    """Disable a user: it cannot sign in and its API tokens stop working."""
    user = _store(workspace).users.disable(username, actor=cli_actor())
    console.print(
        f"Disabled user {user.username}: it cannot sign in and its API tokens stop working "
        "(within 2 s on a running server).",
        highlight=False,
    )


@users_app.command("enable")
def users_enable(username: UsernameArgument, workspace: WorkspaceOption = Path(".")) -> None:
    """Enable a disabled user again."""
    user = _store(workspace).users.enable(username, actor=cli_actor())
    console.print(f"Enabled user {user.username} ({user.role}).", highlight=False)


@users_app.command("reset-password")
def users_reset_password(
    username: UsernameArgument,
    password_stdin: PasswordStdinOption = False,
    workspace: WorkspaceOption = Path("."),
) -> None:
    """Give a user a new password (printed once unless read from stdin); revokes its API
    tokens."""
    store = _store(workspace)
    given = _read_password() if password_stdin else None
    password = store.users.reset_password(username, password=given, actor=cli_actor())
    console.print(f"New password for {username}; its API tokens were revoked.", highlight=False)
    if given is None:
        _show_secret("password", password)
        console.print(f"{_SHOWN_ONCE}: store it in a password manager.", highlight=False)


@users_app.command("set-role")
def users_set_role(
    username: UsernameArgument,
    role: Annotated[RoleChoice, typer.Argument(help="The new role.", show_default=False)],
    workspace: WorkspaceOption = Path("."),
) -> None:
    """Give a user another role (its tokens keep only the scopes the new role grants)."""
    store = _store(workspace)
    before = store.users.get(username)
    user = store.users.set_role(username, _role(role), actor=cli_actor())
    was = f" (was {before.role})" if before else ""
    console.print(f"{user.username} is now {user.role}{was}.", highlight=False)


def _role(choice: RoleChoice) -> Role:
    role: Role = choice.value  # the choices are exactly the roles (asserted above)
    return role


# -- tokens -----------------------------------------------------------------------------------


@tokens_app.command("create")
def tokens_create(
    username: Annotated[str, typer.Argument(help="Whose token.", show_default=False)],
    scopes: Annotated[
        list[PermissionChoice] | None,
        typer.Option(
            "--scope",
            "-s",
            help="A permission the token carries (repeatable; default: all of the user's role).",
        ),
    ] = None,
    expires_days: Annotated[
        int | None,
        typer.Option("--expires-days", min=1, help="Lifetime in days (default: 90)."),
    ] = None,
    no_expiry: Annotated[
        bool, typer.Option("--no-expiry", help="A token that never expires.")
    ] = False,
    label: Annotated[
        str | None, typer.Option("--label", "-l", help="What the token is for.")
    ] = None,
    workspace: WorkspaceOption = Path("."),
    as_json: JsonOption = False,
) -> None:
    """Create an API token for a user; prints its secret once."""
    if no_expiry and expires_days is not None:
        fail("--expires-days and --no-expiry contradict each other.", hint="Give one of them.")
    layout = _layout(workspace)
    store = AuthStore.for_workspace(layout.root)
    wanted: list[Permission] | None = None
    if scopes:
        wanted = [p for p in PERMISSIONS if p in {s.value for s in scopes}]
    expires_in = None if no_expiry else timedelta(days=expires_days or 90)
    token, secret = store.tokens.create(
        username, scopes=wanted, expires_in=expires_in, label=label, actor=cli_actor()
    )
    if as_json:
        print_json({"token": token.to_dict(), "secret": secret})
        return
    expiry = f"expires {_when(token.expires_at)} UTC" if token.expires_at else "never expires"
    console.print(
        f"Created API token {token.token_id} for {token.username} ({expiry}); scopes: "
        f"{', '.join(token.scopes)}.",
        highlight=False,
    )
    _show_secret("token", secret)
    console.print(f"{_SHOWN_ONCE}. Call the API with it:", highlight=False)
    typer.echo(
        f'  curl -H "Authorization: Bearer $INSIGHTLOOP_TOKEN" {_base_url(layout)}/api/v1/status'
    )


@tokens_app.command("list")
def tokens_list(
    user: Annotated[str | None, typer.Option("--user", "-u", help="Only this user's.")] = None,
    workspace: WorkspaceOption = Path("."),
    as_json: JsonOption = False,
) -> None:
    """List API tokens (never their secrets), newest first, also expired and revoked ones."""
    tokens = _store(workspace).tokens.list(user)
    if as_json:
        print_json([t.to_dict() for t in tokens])
        return
    if not tokens:
        console.print("No API tokens." if user is None else f"No API tokens of {user}.")
        return
    now = datetime.now(UTC)
    table = _table("API tokens (times in UTC)", *_TOKEN_COLUMNS)
    for t in tokens:
        status = t.status(now)
        table.add_row(
            t.token_id,
            Text(t.username),
            Text(status, style="" if status == "active" else "dim"),
            Text("\n".join(t.scopes)),
            Text(t.label or ""),
            _day(t.created_at),
            _day(t.expires_at, "never"),
            _day(t.last_used_at),
        )
    console.print(table)


@tokens_app.command("revoke")
def tokens_revoke(
    token_id: Annotated[str, typer.Argument(help="As `tokens list` shows it.", show_default=False)],
    workspace: WorkspaceOption = Path("."),
) -> None:
    """Revoke an API token (a running server refuses it within 2 s)."""
    token = _store(workspace).tokens.revoke(token_id, actor=cli_actor())
    console.print(f"Revoked API token {token.token_id} of {token.username}.", highlight=False)


# -- write keys -------------------------------------------------------------------------------


@keys_app.command("create")
def keys_create(
    source: Annotated[
        str, typer.Argument(help="The source whose events the key admits.", show_default=False)
    ],
    label: Annotated[str | None, typer.Option("--label", "-l", help="Where it is used.")] = None,
    workspace: WorkspaceOption = Path("."),
    as_json: JsonOption = False,
) -> None:
    """Create a write key for a source's SDK; prints it once, with an example."""
    layout = _layout(workspace)
    key, secret = AuthStore.for_workspace(layout.root).write_keys.create(
        source, label=label, actor=cli_actor()
    )
    if as_json:
        print_json({"key": key.to_dict(), "secret": secret})
        return
    console.print(f"Created write key {key.key_id} for source {key.source}.", highlight=False)
    _show_secret("write key", secret)
    console.print(
        f"{_SHOWN_ONCE}. Configure the SDK with it (Segment and RudderStack SDKs change only "
        "their host), e.g. in Python (segment-analytics-python):",
        highlight=False,
    )
    typer.echo('  analytics.write_key = "<the write key above>"')
    typer.echo(f'  analytics.host = "{_base_url(layout)}"')


@keys_app.command("list")
def keys_list(
    source: Annotated[str | None, typer.Option("--source", help="Only this source's.")] = None,
    include_revoked: Annotated[bool, typer.Option("--all", help="Also the revoked keys.")] = False,
    workspace: WorkspaceOption = Path("."),
    as_json: JsonOption = False,
) -> None:
    """List write keys (their first characters, never the whole key), newest first."""
    keys = _store(workspace).write_keys.list(source, include_revoked=include_revoked)
    if as_json:
        print_json([k.to_dict() for k in keys])
        return
    if not keys:
        console.print("No write keys." if include_revoked else "No active write keys.")
        return
    table = _table("Write keys (times in UTC)", *_KEY_COLUMNS)
    for k in keys:
        table.add_row(
            k.key_id,
            Text(k.source),
            k.prefix + "…",
            Text(k.label or ""),
            _day(k.created_at),
            _day(k.revoked_at),
        )
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="As `keys list` shows it.", show_default=False)],
    workspace: WorkspaceOption = Path("."),
) -> None:
    """Revoke a write key (a running server refuses it within about a second)."""
    key = _store(workspace).write_keys.revoke(key_id, actor=cli_actor())
    console.print(f"Revoked write key {key.key_id} of source {key.source}.", highlight=False)


def _base_url(layout: WorkspaceLayout) -> str:
    server = load_settings(layout.config_file).server
    host = "127.0.0.1" if server.host in ("0.0.0.0", "::") else server.host
    return f"http://{host}:{server.port}"


# -- audit ------------------------------------------------------------------------------------

_RELATIVE = re.compile(r"(\d+)([mhd])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def _parse_time(value: str | None, option: str) -> datetime | None:
    """An ISO 8601 time or date (UTC when no offset is given), or ``30m``, ``12h``, ``7d`` ago."""
    if value is None:
        return None
    relative = _RELATIVE.fullmatch(value.strip())
    if relative:
        amount, unit = int(relative.group(1)), _UNITS[relative.group(2)]
        return datetime.now(UTC) - timedelta(**{unit: amount})
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        fail(
            f"{option} {value!r} is no time.",
            hint=f"Give an ISO 8601 time or date ({option} 2025-06-01T08:00), or a time ago "
            f"({option} 7d, 12h, 30m).",
        )
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@app.command("audit")
def audit(
    actor: Annotated[
        str | None, typer.Option("--actor", help="Who acted (a username, cli:USER, system).")
    ] = None,
    action: Annotated[
        str | None,
        typer.Option("--action", help="What was done, e.g. user.add; user.* for all user actions."),
    ] = None,
    target: Annotated[
        str | None, typer.Option("--target", help="What it was done to (an id or username).")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="From this time (ISO 8601, UTC) or 7d, 12h ago.")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Before this time (ISO 8601, UTC) or 1h ago.")
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, max=100_000, help="At most this many entries.")
    ] = 100,
    workspace: WorkspaceOption = Path("."),
    as_json: JsonOption = False,
) -> None:
    """Query the audit log, newest first: admin actions and reads of personal data."""
    entries = _store(workspace).audit.query(
        actor=actor,
        action=action,
        target=target,
        since=_parse_time(since, "--since"),
        until=_parse_time(until, "--until"),
        limit=limit,
    )
    if as_json:
        print_json([e.to_dict() for e in entries])
        return
    if not entries:
        console.print("No audit entries match.")
        return
    table = _table(f"Audit log ({len(entries)} shown, newest first)", *_AUDIT_COLUMNS)
    for e in entries:
        table.add_row(
            f"{e.at:%Y-%m-%d %H:%M:%S}",
            Text(e.actor),
            Text(e.action),
            Text(e.target or ""),
            Text(e.outcome, style="" if e.outcome == "ok" else "yellow"),
            Text(_details(e.details)),
        )
    console.print(table)


def _details(details: dict[str, Any]) -> str:
    return "\n".join(
        f"{k}={','.join(map(str, v)) if isinstance(v, list) else v}" for k, v in details.items()
    )
