"""``earnest keys``: create, list and revoke API keys."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from rich.console import Console
from rich.table import Table

from earnest.cli.base import fail, main, with_database
from earnest.store.db import Database
from earnest.store.keys import Scope, create_key, list_keys, revoke_key
from earnest.timefmt import format_time


@main.group()
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
@with_database
def keys_create(db: Database, scope: str, name: str | None) -> None:
    """Create a key. The key itself is printed once, as the last line."""
    with db.write() as tx:
        record, key = create_key(tx, Scope(scope), datetime.now(UTC), name)
    click.echo(f"created {record.scope} key {record.id}; it is shown only now:", err=True)
    click.echo(key)


@keys.command("list")
@with_database
def keys_list(db: Database) -> None:
    """List keys: id, scope, name, created, last used, revoked (never the key itself)."""
    with db.read() as tx:
        found = list_keys(tx)
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
@with_database
def keys_revoke(db: Database, key_id: str) -> None:
    """Revoke KEY_ID: it stops working at once."""
    with db.write() as tx:
        revoked = revoke_key(tx, key_id, datetime.now(UTC))
    if revoked is None:
        fail(f"no key with id {key_id!r}")
    click.echo(f"revoked {key_id}")
