"""``earnest users``: the dashboard's users (SPEC 9 and 11).

A password is never an option (it would stay in the shell's history and in ``ps``): it is
read from the terminal, twice, or from standard input when that is not a terminal (one line,
for scripts: ``printf '%s\\n' "$PASSWORD" | earnest users create …``).
"""

from __future__ import annotations

import sys

import click
from rich.console import Console
from rich.table import Table

from earnest.app import Earnest
from earnest.cli.base import fail, with_app
from earnest.errors import EarnestError
from earnest.service.activity import CLI
from earnest.service.pages import MAX_LIMIT, every
from earnest.service.users import MIN_PASSWORD, Role, check_password
from earnest.timefmt import format_time


@click.group()
def users() -> None:
    """Manage dashboard users (roles: admin, viewer)."""


def read_password() -> str:
    """The new password: typed twice on a terminal, else the first line of stdin."""
    if sys.stdin.isatty():
        typed = click.prompt(
            f"Password ({MIN_PASSWORD} characters or more)",
            hide_input=True,
            confirmation_prompt="Repeat it",
            err=True,
        )
        text = str(typed)
    else:
        line = sys.stdin.readline()
        text = line[:-1] if line.endswith("\n") else line
        text = text.removesuffix("\r")
    try:
        return check_password(text)
    except EarnestError as error:
        fail(error.message)


@users.command("create")
@click.option("--email", required=True, help="The address the user signs in with.")
@click.option(
    "--role",
    required=True,
    type=click.Choice([r.value for r in Role]),
    help="admin: everything; viewer: reads every page, changes nothing.",
)
@with_app()
def users_create(app: Earnest, email: str, role: str) -> None:
    """Create a user; the password is read from the terminal or stdin."""
    password = read_password()
    try:
        user = app.users.create(email, role, password, actor=CLI)
    except EarnestError as error:
        fail(error.message)
    click.echo(f"created {user.role} {user.email} ({user.id})")


@users.command("list")
@with_app(creates=False)
def users_list(app: Earnest) -> None:
    """List users: id, email, role, state, created."""
    found = every(lambda after: app.users.list(limit=MAX_LIMIT, after=after))
    table = Table()
    for column in ("id", "email", "role", "state", "created"):
        table.add_column(column)
    for user in found:
        state = "disabled" if user.disabled else "enabled"
        table.add_row(user.id, user.email, user.role, state, format_time(user.created_at))
    Console(highlight=False, soft_wrap=True).print(table)


@users.command("disable")
@click.argument("email")
@with_app()
def users_disable(app: Earnest, email: str) -> None:
    """Disable EMAIL's user: it is signed out at once and cannot sign in."""
    try:
        user = app.users.set_disabled(email, True, actor=CLI)
    except EarnestError as error:
        fail(error.message)
    click.echo(f"disabled {user.email}")


@users.command("enable")
@click.argument("email")
@with_app()
def users_enable(app: Earnest, email: str) -> None:
    """Enable EMAIL's user again."""
    try:
        user = app.users.set_disabled(email, False, actor=CLI)
    except EarnestError as error:
        fail(error.message)
    click.echo(f"enabled {user.email}")


@users.command("reset-password")
@click.argument("email")
@with_app()
def users_reset_password(app: Earnest, email: str) -> None:
    """Set a new password for EMAIL's user (read from the terminal or stdin); its sessions
    end."""
    try:
        app.users.get(email)  # before asking for a password it would throw away
    except EarnestError as error:
        fail(error.message)
    password = read_password()
    try:
        user = app.users.reset_password(email, password, actor=CLI)
    except EarnestError as error:
        fail(error.message)
    click.echo(f"password reset for {user.email}; their sessions have ended")
