"""``earnest keys``: create, list and revoke API keys."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from earnest.app import Earnest
from earnest.cli.base import fail, with_app
from earnest.errors import EarnestError
from earnest.service.activity import CLI
from earnest.service.keys import Scope
from earnest.service.pages import MAX_LIMIT, every
from earnest.timefmt import format_time


@click.group()
def keys() -> None:
    """Manage API keys (shown once, stored only as hashes)."""


@keys.command("create")
@click.option(
    "--scope",
    required=True,
    type=click.Choice([s.value for s in Scope]),
    help="ingest: send signals and open outcomes; read: every GET; admin: everything.",
)
@click.option("--name", help="A label to recognise the key by.")
@with_app()
def keys_create(app: Earnest, scope: str, name: str | None) -> None:
    """Create a key. The key itself is printed once, as the last line."""
    record, key = app.keys.create(Scope(scope), name, actor=CLI)
    click.echo(f"created {record.scope} key {record.id}; it is shown only now:", err=True)
    click.echo(key)


@keys.command("list")
@with_app(creates=False)
def keys_list(app: Earnest) -> None:
    """List keys: id, scope, name, created, last used, revoked (never the key itself)."""
    found = every(lambda after: app.keys.list(limit=MAX_LIMIT, after=after))
    table = Table()
    for column in ("id", "scope", "name", "created", "last used", "revoked"):
        table.add_column(column)
    for k in found:
        table.add_row(
            k.id,
            k.scope.value,
            k.name or "-",
            format_time(k.created_at),
            format_time(k.last_used_at) if k.last_used_at else "-",
            format_time(k.revoked_at) if k.revoked_at else "-",
        )
    Console(highlight=False).print(table)


@keys.command("revoke")
@click.argument("key_id")
@with_app()
def keys_revoke(app: Earnest, key_id: str) -> None:
    """Revoke KEY_ID: it stops working at once."""
    try:
        app.keys.revoke(key_id, actor=CLI)
    except EarnestError:
        fail(f"no key with id {key_id!r}")
    click.echo(f"revoked {key_id}")
