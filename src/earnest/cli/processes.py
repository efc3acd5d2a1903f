"""``earnest serve``, ``earnest worker`` and ``earnest signal``."""

from __future__ import annotations

import functools
import json
import os
from datetime import datetime
from decimal import Decimal
from typing import Any

import click
from litestar import Router

from earnest.api.server import bind, serve_http
from earnest.app import Earnest
from earnest.cli.base import describe, fail, log_to_stderr, with_app
from earnest.contract.condition import Value
from earnest.contract.money import format_amount
from earnest.engine import Outcome
from earnest.errors import EarnestError
from earnest.jsonio import MalformedJson, parse_json
from earnest.service.process import run_process, tune_gc
from earnest.timefmt import format_time
from earnest.web import WebConfig, dashboard


@click.command("signal")
@click.option("--contract", required=True, help="The contract key.")
@click.option("--outcome", required=True, help="The vendor's reference for the unit of work.")
@click.option("--signal", "name", required=True, help="The signal name.")
@click.option("--value", help="JSON (true, false, null, a number) or else a string. Default true.")
@click.option("--customer", help="Required when the signal opens the outcome.")
@click.option("--at", help="When it happened, RFC 3339 (default: now).")
@click.option("--id", "ident", help="Idempotency key.")
@click.option("--data", help="A JSON object kept for the audit trail.")
@with_app()
def signal_command(  # click passes every option by name
    *,
    app: Earnest,
    contract: str,
    outcome: str,
    name: str,
    value: str | None,
    customer: str | None,
    at: str | None,
    ident: str | None,
    data: str | None,
) -> None:
    """Send one signal, received now, and print the outcome's state afterwards."""
    raw: dict[str, Any] = {"contract": contract, "outcome": outcome, "signal": name}
    if value is not None:
        raw["value"] = _value_option(value)
    optional = {"customer": customer, "at": at, "id": ident}
    raw.update({field: given for field, given in optional.items() if given is not None})
    if data is not None:
        try:
            raw["data"] = parse_json(data)
        except MalformedJson as error:
            fail(f"invalid_signal: --data is not JSON: {error} (field: data)")
    result = app.signals.send(raw).result  # through the writer, like every signal
    if result.error is not None:
        fail(describe(result.error))
    click.echo(f"{result.status}: {contract} / {outcome}")
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    if result.outcome is not None:
        _print_outcome(result.outcome)


def _value_option(text: str) -> Any:
    """``--value``: JSON when it parses (numbers as Decimal), else the text as a string."""
    try:
        return parse_json(text)
    except MalformedJson:
        return text


def _print_outcome(outcome: Outcome) -> None:
    state = outcome.state.value
    if outcome.scheduled is not None:
        state += f" (scheduled {outcome.scheduled.value}"
        reason = outcome.review_reason.value if outcome.review_reason else "none"
        state += f", reason {reason})"
    lines = {
        "customer": outcome.customer,
        "state": state,
        "contract_version": str(outcome.contract_version),
        "opened_at": format_time(outcome.opened_at),
        "active_until": format_time(outcome.active_until),
        "review_ends_at": _time_or_none(outcome.review_ends_at),
        "settled_at": _time_or_none(outcome.settled_at),
        "values": ", ".join(f"{k}={_show_value(v)}" for k, v in outcome.values.items()) or "-",
        "last_check": outcome.last_verdict.value if outcome.last_verdict else "-",
    }
    if outcome.charged is not None:
        currency = outcome.contract.price.currency
        lines["charge"] = f"{format_amount(outcome.charged, currency)} {currency}"
    if outcome.contested:
        lines["contested"] = "true"
    for label, text in lines.items():
        click.echo(f"  {label}: {text}")


def _time_or_none(moment: datetime | None) -> str:
    return "-" if moment is None else format_time(moment)


def _show_value(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


@click.command()
@with_app()
def worker(app: Earnest) -> None:
    """Run the scheduler (no HTTP) until SIGTERM or Ctrl-C: for extra processes on PostgreSQL."""
    log_to_stderr()
    click.echo(
        f"earnest worker: scheduler running on {app.database_name}; SIGTERM or Ctrl-C stops it"
    )
    tune_gc()
    run_process(app.scheduler())
    click.echo("earnest worker: stopped")


SECURE_COOKIES_ENV = "EARNEST_SECURE_COOKIES"
_SECURE = {"auto": None, "true": True, "1": True, "false": False, "0": False}


def dashboard_router() -> Router:
    """The dashboard, its cookies ``Secure`` as ``EARNEST_SECURE_COOKIES`` says: ``true``,
    ``false``, or ``auto`` (the default: when the request came over https)."""
    raw = os.environ.get(SECURE_COOKIES_ENV, "auto").strip().lower() or "auto"
    if raw not in _SECURE:
        fail(f"{SECURE_COOKIES_ENV} is auto, true or false, not {raw!r}")
    return dashboard(WebConfig(secure_cookies=_SECURE[raw]))


@click.command()
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Interface for the API and dashboard."
)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@with_app()
def serve(app: Earnest, host: str, port: int) -> None:
    """Run the HTTP API, the dashboard and the scheduler in one process until SIGTERM or
    Ctrl-C."""
    log_to_stderr()
    router = dashboard_router()
    try:
        sock = bind(host, port)
    except EarnestError as error:
        fail(error.message)
    click.echo(
        f"earnest serve: API on http://{host}:{port}/v1, dashboard on http://{host}:{port}/,"
        f" scheduler on {app.database_name}; SIGTERM or Ctrl-C stops it"
    )
    tune_gc()
    http = functools.partial(serve_http, app, host, port, sock=sock, mount=[router])
    run_process(app.scheduler(), http=http)
    click.echo("earnest serve: stopped")
