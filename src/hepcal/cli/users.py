"""``hepcal users``: the named accounts of the web app (add, remove, list, revoke sessions).

Passwords are read from a hidden prompt (or one line of standard input with
``--password-stdin``), never from the command line, and only their scrypt hash is stored.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from collections.abc import Callable
from typing import Annotated, Any, Optional, TypeVar

import typer
from rich.table import Table

from hepcal.cli.common import err, fail, handle_errors, out

T = TypeVar("T")
users_app = typer.Typer(help="Named users of the web app: add, remove, list, revoke their sessions.", no_args_is_help=True)

DatabaseUrl = Annotated[Optional[str], typer.Option("--database-url", help="SQLAlchemy URL of the store (default: as hepcal serve).", show_default=False)]
DataDir = Annotated[Optional[Path], typer.Option("--data-dir", help="Data folder (default: as hepcal serve).", show_default=False)]


def _store(database_url: Optional[str], data_dir: Optional[Path]):  # type: ignore[no-untyped-def]
    from hepcal.web.settings import from_env
    from hepcal.web.store import open_store

    settings = from_env()
    if data_dir is not None and database_url is None:
        settings = dataclasses.replace(settings, database_url=f"sqlite:///{data_dir / 'cases.sqlite3'}")
    return open_store(database_url or settings.database_url)


def _on_store(database_url: Optional[str], data_dir: Optional[Path], action: Callable[[Any], T]) -> T:
    """Run ``action(store)`` and close the store's connections."""
    store = _store(database_url, data_dir)
    try:
        return action(store)
    finally:
        store.engine.dispose()


@users_app.command("add")
@handle_errors
def add(
    name: Annotated[str, typer.Argument(help="User name (letters, digits, . _ @ -).")],
    team: Annotated[str, typer.Option("--team", help="The team whose cases the user sees.")] = "default",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from one line of standard input.")] = False,
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
) -> None:
    """Add a user (asks for the password)."""
    from hepcal.web.accounts import check_name, hash_password

    check_name(name)
    check_name(team, "team name")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    digest = hash_password(password)
    _on_store(database_url, data_dir, lambda store: store.add_user(name, team, digest))
    err.print(f"user {name} added to team {team}", markup=False)


@users_app.command("remove")
@handle_errors
def remove(name: Annotated[str, typer.Argument(help="User name.")], database_url: DatabaseUrl = None, data_dir: DataDir = None) -> None:
    """Remove a user and end their sessions (their stored cases stay, with their name)."""
    if not _on_store(database_url, data_dir, lambda store: store.remove_user(name)):
        fail(f"no user named {name[:100]!r}")
    err.print(f"user {name} removed; their sessions are ended", markup=False)


@users_app.command("revoke")
@handle_errors
def revoke(name: Annotated[str, typer.Argument(help="User name.")], database_url: DatabaseUrl = None, data_dir: DataDir = None) -> None:
    """End every session of a user (they must sign in again)."""
    n = _on_store(database_url, data_dir, lambda store: store.revoke_sessions(name))
    err.print(f"{n} session(s) of {name} ended", markup=False)


@users_app.command("list")
@handle_errors
def list_users(database_url: DatabaseUrl = None, data_dir: DataDir = None) -> None:
    """List the users and their teams."""
    rows = _on_store(database_url, data_dir, lambda store: store.list_users())
    t = Table("user", "team", "added", title=f"{len(rows)} user(s)", title_justify="left")
    for u in rows:
        t.add_row(u.name, u.team, u.created_at.strftime("%Y-%m-%d %H:%M"))
    out.print(t)


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
