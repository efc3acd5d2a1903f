"""``earnest portal-link CUSTOMER [--expires 30d]``: a link to the customer's evidence
pages, printed once as the last line (SPEC 9). Revoke links from the dashboard or the API."""

from __future__ import annotations

import click

from earnest.app import Earnest
from earnest.cli.base import with_app
from earnest.service.activity import CLI
from earnest.service.portal import DEFAULT_EXPIRES, parse_expires
from earnest.timefmt import format_time

#: Where ``earnest serve`` listens by default: the link's base when no public base URL is set.
SERVE_ADDRESS = "http://127.0.0.1:8000"


@click.command("portal-link")
@click.argument("customer")
@click.option(
    "--expires",
    default=DEFAULT_EXPIRES,
    show_default=True,
    help="How long the link opens the pages: a duration such as 30d, 12h or 2w (1m to 366d).",
)
@with_app()
def portal_link(app: Earnest, customer: str, expires: str) -> None:
    """Create a link to CUSTOMER's evidence pages: their invoices and why each charge was
    billed, with a form to dispute one. The link is printed once, as the last line; only
    its hash is kept. It is in the activity log (actor cli)."""
    seconds = parse_expires(expires, field="--expires")
    created = app.portal.create(customer, seconds, base_url=SERVE_ADDRESS, actor=CLI)
    if app.settings.get().public_base_url is None:
        click.echo(
            f"public_base_url is not set: the link assumes earnest serve's default address"
            f" {SERVE_ADDRESS} (earnest settings set public_base_url https://...)",
            err=True,
        )
    link = created.link
    click.echo(
        f"created portal link {link.id} for {link.customer}, expiring"
        f" {format_time(link.expires_at)}; it is shown only now:",
        err=True,
    )
    click.echo(created.url)
