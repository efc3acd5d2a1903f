"""``earnest webhooks`` (SPEC sections 9 and 10): add, list, enable, disable and remove
endpoints, rotate a secret, list an endpoint's deliveries and retry one by hand.

Each command calls one use case of :class:`~earnest.service.webhooks.Webhooks` as ``cli``
(the activity log's actor). A secret is printed once, as the last line of ``add`` and
``rotate-secret`` (``SECRET=$(earnest webhooks add URL)``), notes going to stderr. Bad input
(a bad URL or event type, an unknown id) is the service's refusal, printed by the group as
``error: <code>: <message>`` with exit status 1, and stores nothing. Commands that act on an
endpoint never create a database.
"""

from __future__ import annotations

from collections.abc import Sequence

import click
from rich import box
from rich.console import Console
from rich.table import Table

from earnest.app import Earnest
from earnest.cli.base import with_app
from earnest.cli.billing import print_json
from earnest.service.activity import CLI
from earnest.service.pages import DEFAULT_LIMIT
from earnest.service.views import delivery_json, webhook_json
from earnest.service.webhooks import EVENT_TYPES, DeliveryRow, Endpoint, UnknownDelivery
from earnest.timefmt import format_time

__all__ = ["webhooks"]

MAX_DELIVERY_DIGITS = 18  # every delivery id fits a signed 64-bit integer
ANSWER_CHARS = 40  # of a try's error in the deliveries table


def _print_table(table: Table) -> None:
    """Print ``table`` whole, as wide as its widest row (a URL or an id cut short cannot be
    copied)."""
    console = Console(highlight=False, soft_wrap=False)
    needed = console.measure(table, options=console.options.update_width(10_000)).maximum
    if needed > console.width:
        console = Console(highlight=False, width=needed)
    console.print(table)


def _table(*columns: str) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for column in columns:
        table.add_column(column, no_wrap=True)
    return table


def _event_types(given: Sequence[str]) -> list[str] | None:
    """``--events`` as given, repeated or comma-separated; none given: every type (None)."""
    if not given:
        return None
    return [kind.strip() for value in given for kind in value.split(",") if kind.strip()]


def _delivery_id(text: str) -> int | str:
    """A number, or the text as it is for the use case to refuse, naming the field."""
    if not text.isascii() or not text.isdigit():
        return text
    if len(text) > MAX_DELIVERY_DIGITS:
        raise UnknownDelivery(text)
    return int(text)


@click.group()
def webhooks() -> None:
    """Webhook endpoints: signed POSTs of what happened (outcomes, charges, credits,
    disputes, finalized invoices), sent by `earnest serve` and `earnest worker`."""


@webhooks.command("add")
@click.argument("url")
@click.option(
    "--events",
    "events",
    multiple=True,
    metavar="TYPE",
    help="An event type it wants (repeat it, or separate with commas); default: every type. "
    f"The types: {', '.join(EVENT_TYPES)}.",
)
@click.option("--description", help="What the endpoint is for.")
@with_app()
def webhooks_add(app: Earnest, url: str, events: tuple[str, ...], description: str | None) -> None:
    """Add an endpoint at URL. Its signing secret is printed once, as the last line."""
    endpoint, secret = app.webhooks.create(
        url, events=_event_types(events), description=description, actor=CLI
    )
    wants = "every event type" if endpoint.events is None else ", ".join(endpoint.events)
    click.echo(f"added webhook endpoint {endpoint.id} for {wants}", err=True)
    click.echo("its signing secret is shown only now:", err=True)
    click.echo(secret)


def _state(endpoint: Endpoint) -> str:
    if endpoint.enabled:
        return "enabled"
    return f"disabled: {endpoint.disabled_reason}" if endpoint.disabled_reason else "disabled"


@webhooks.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list (the API's items).")
@with_app(creates=False)
def webhooks_list(app: Earnest, as_json: bool) -> None:
    """List endpoints, oldest first (never their secrets)."""
    found = app.webhooks.list()
    if as_json:
        print_json([webhook_json(endpoint) for endpoint in found])
        return
    if not found:
        click.echo("no webhook endpoints")
        return
    table = _table("id", "url", "events", "state", "description", "created")
    for e in found:
        table.add_row(
            e.id, e.url, "all" if e.events is None else ",".join(e.events), _state(e),
            e.description or "-", format_time(e.created_at),
        )  # fmt: skip
    _print_table(table)


@webhooks.command("enable")
@click.argument("ident", metavar="ID")
@with_app(creates=False)
def webhooks_enable(app: Earnest, ident: str) -> None:
    """Enable endpoint ID: it gets new events again, and its pending deliveries resume (also
    after a 410 disabled it)."""
    app.webhooks.update(ident, {"enabled": True}, actor=CLI)
    click.echo(f"enabled {ident}")


@webhooks.command("disable")
@click.argument("ident", metavar="ID")
@with_app(creates=False)
def webhooks_disable(app: Earnest, ident: str) -> None:
    """Disable endpoint ID: it gets no new event, and its pending deliveries wait."""
    app.webhooks.update(ident, {"enabled": False}, actor=CLI)
    click.echo(f"disabled {ident}")


@webhooks.command("remove")
@click.argument("ident", metavar="ID")
@with_app(creates=False)
def webhooks_remove(app: Earnest, ident: str) -> None:
    """Remove endpoint ID: it gets no new event, and its pending deliveries stop."""
    app.webhooks.delete(ident, actor=CLI)
    click.echo(f"removed {ident}")


@webhooks.command("rotate-secret")
@click.argument("ident", metavar="ID")
@with_app(creates=False)
def webhooks_rotate(app: Earnest, ident: str) -> None:
    """A new signing secret for endpoint ID, printed once as the last line; the previous
    one signs too for 24 hours, so receivers can switch without losing a delivery."""
    endpoint, secret = app.webhooks.rotate_secret(ident, actor=CLI)
    until = format_time(endpoint.previous_until) if endpoint.previous_until else "-"
    click.echo(f"rotated the secret of {ident}; the previous one signs too until {until}", err=True)
    click.echo("the new signing secret is shown only now:", err=True)
    click.echo(secret)


def _last_answer(row: DeliveryRow) -> str:
    if not row.tries:
        return "-"
    _, status, _, error, _ = row.tries[-1]
    text = error or str(status)
    return text if len(text) <= ANSWER_CHARS else text[: ANSWER_CHARS - 1] + "…"


@webhooks.command("deliveries")
@click.argument("ident", metavar="ID")
@click.option(
    "--limit",
    default=DEFAULT_LIMIT,
    show_default=True,
    metavar="N",
    type=int,
    help="The newest N deliveries (at most 1000).",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list (the API's items).")
@with_app(creates=False)
def webhooks_deliveries(app: Earnest, ident: str, limit: int, as_json: bool) -> None:
    """Endpoint ID's deliveries, newest first: each event's state, tries and last answer
    (--json: every try's time, status, duration, error and answer)."""
    found = app.webhooks.deliveries(ident, limit=limit).items
    if as_json:
        print_json([delivery_json(row) for row in found])
        return
    if not found:
        click.echo("no deliveries")
        return
    table = _table("id", "event", "type", "state", "tries", "last answer", "next try", "created")
    for d in found:
        table.add_row(
            str(d.id), d.event_id, d.event_type, d.state, str(d.attempts), _last_answer(d),
            format_time(d.next_at) if d.state == "pending" else "-", format_time(d.created_at),
        )  # fmt: skip
    _print_table(table)


@webhooks.command("retry")
@click.argument("ident", metavar="ID")
@click.argument("delivery", metavar="DELIVERY")
@with_app(creates=False)
def webhooks_retry(app: Earnest, ident: str, delivery: str) -> None:
    """Send delivery DELIVERY of endpoint ID again now (a failed one, or a pending one
    early); `earnest serve` or `earnest worker` sends it."""
    app.webhooks.retry(ident, _delivery_id(delivery), actor=CLI)
    click.echo(f"delivery {delivery} of {ident} is due now")
