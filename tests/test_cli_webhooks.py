"""`earnest webhooks` on a SQLite file: an endpoint added, its secret printed once as the last
line and verifying real deliveries on a loopback receiver; listed, disabled, enabled,
rotated and removed; deliveries with their tries, a hand retry. Bad input is
`error: <code>: ...`, exit 1, and stores nothing; every change is logged as `cli`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from earnest.bootstrap import build
from earnest.cli import main
from earnest.clock import utc_now
from earnest.contract import load_contract
from earnest.service.delivery import Sender, WebhookDelivery
from earnest.service.ingest import ingest
from tests.service.receiver import Receiver
from tests.service.test_webhooks import QUICK, Clock, deliver_all

NEVER = "http://127.0.0.1:9/never"  # the discard port: nothing answers


@dataclass
class Cli:
    url: str

    def run(self, *args: str) -> Result:
        return CliRunner().invoke(main, ["--database", self.url, *args])

    def ok(self, *args: str) -> Result:
        result = self.run(*args)
        assert result.exit_code == 0, (args, result.output)
        return result

    def error(self, *args: str) -> str:
        """The one ``error:`` line of a refused command (exit 1, nothing on stdout)."""
        result = self.run(*args)
        assert result.exit_code == 1, (args, result.output)
        assert result.stdout == ""
        [line] = result.stderr.splitlines()
        assert line.startswith("error: ")
        return line

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json").stdout)

    def added(self, url: str, *options: str) -> tuple[str, str]:
        """``webhooks add``: the new endpoint's id (the newest listed) and its secret."""
        result = self.ok("webhooks", "add", url, *options)
        secret = result.stdout.strip().splitlines()[-1]
        ident = self.json("webhooks", "list")[-1]["id"]
        assert ident in result.stderr
        return ident, secret


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(str(tmp_path / "hooks.db"))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


def events_and_deliveries(url: str, ref: str) -> None:
    """An outcome of acme goes into review (outcome.in_review), then what `earnest serve`
    does in the background: send every due delivery."""
    clock = Clock(utc_now())  # the receiver checks timestamps against the real clock
    app = build(url, clock=clock)
    sender = Sender(app.db, clock=clock)
    try:
        app.contracts.save(load_contract(QUICK, key="quick"), actor="test")  # once: unchanged
        item = {"contract": "quick", "outcome": ref, "customer": "acme", "signal": "done"}
        [result] = ingest(app.db, [item], clock() - timedelta(seconds=1))
        assert result.status == "accepted", result
        deliver_all(WebhookDelivery(app.db, sender, clock=clock), clock)
    finally:
        sender.close()
        app.close()


def test_add_deliver_list_and_retry(cli: Cli, receiver: Receiver) -> None:
    ident, secret = cli.added(receiver.url, "--events", "outcome.in_review", "--description",
                              "CRM")  # fmt: skip
    assert secret.startswith("whsec_")
    never, _ = cli.added(NEVER, "--events", "outcome.in_review,charge.booked")
    [first, second] = cli.json("webhooks", "list")
    assert (first["id"], first["url"], first["events"], first["description"]) == (
        ident, receiver.url, ["outcome.in_review"], "CRM",
    )  # fmt: skip
    assert second["events"] == ["outcome.in_review", "charge.booked"]
    table = cli.ok("webhooks", "list").stdout
    for text in (ident, never, receiver.url, "outcome.in_review,charge.booked", "enabled", "CRM"):
        assert text in table
    assert secret not in table
    assert "whsec_" not in cli.ok("webhooks", "list", "--json").stdout

    receiver.secrets = [secret]
    events_and_deliveries(cli.url, "o1")
    [received] = receiver.wait_for(1)
    assert received.verified  # the secret printed as the last line signs real deliveries
    assert received.event["type"] == "outcome.in_review"

    [delivered] = cli.json("webhooks", "deliveries", ident)
    assert (delivered["event_id"], delivered["state"]) == (
        received.headers["webhook-id"], "delivered",
    )  # fmt: skip
    assert [t["status"] for t in delivered["tries"]] == [200]
    table = cli.ok("webhooks", "deliveries", ident).stdout
    for text in (str(delivered["id"]), delivered["event_id"], "outcome.in_review", "delivered",
                 "200"):  # fmt: skip
        assert text in table

    [waiting] = cli.json("webhooks", "deliveries", never)
    assert (waiting["state"], waiting["attempts"]) == ("pending", 1)
    [tried] = waiting["tries"]
    assert tried["status"] is None
    assert tried["error"]
    assert tried["error"][:20] in cli.ok("webhooks", "deliveries", never).stdout

    retried = cli.ok("webhooks", "retry", never, str(waiting["id"]))
    assert retried.stdout == f"delivery {waiting['id']} of {never} is due now\n"
    [again] = cli.json("webhooks", "deliveries", never)
    assert again["next_at"] <= utc_now().isoformat().replace("+00:00", "Z")
    assert cli.error("webhooks", "retry", ident, str(delivered["id"])).startswith(
        f"error: not_retryable: delivery {delivered['id']} was delivered"
    )
    assert cli.error("webhooks", "retry", never, str(delivered["id"])).startswith(
        "error: unknown_delivery:"
    )
    assert cli.error("webhooks", "retry", never, "9" * 30).startswith("error: unknown_delivery:")
    assert cli.error("webhooks", "retry", never, "first").endswith("(field: delivery)")

    events_and_deliveries(cli.url, "o2")
    newest = cli.json("webhooks", "deliveries", ident, "--limit", "1")
    assert [d["state"] for d in newest] == ["delivered"]
    assert len(cli.json("webhooks", "deliveries", ident)) == 2
    assert cli.error("webhooks", "deliveries", ident, "--limit", "0").startswith(
        "error: invalid_limit:"
    )


def test_disable_enable_rotate_remove(cli: Cli) -> None:
    ident, secret = cli.added("https://crm.example/hook")
    assert cli.json("webhooks", "list")[0]["events"] is None
    assert cli.ok("webhooks", "disable", ident).stdout == f"disabled {ident}\n"
    assert cli.json("webhooks", "list")[0]["enabled"] is False
    assert "disabled" in cli.ok("webhooks", "list").stdout
    assert cli.ok("webhooks", "enable", ident).stdout == f"enabled {ident}\n"
    assert cli.json("webhooks", "list")[0]["enabled"] is True
    rotated = cli.ok("webhooks", "rotate-secret", ident)
    new_secret = rotated.stdout.strip().splitlines()[-1]
    assert new_secret.startswith("whsec_")
    assert new_secret != secret
    assert "the previous one signs too until" in rotated.stderr
    assert cli.json("webhooks", "list")[0]["previous_secret_until"] is not None
    assert cli.ok("webhooks", "deliveries", ident).stdout == "no deliveries\n"
    assert cli.ok("webhooks", "remove", ident).stdout == f"removed {ident}\n"
    assert cli.json("webhooks", "list") == []
    assert cli.ok("webhooks", "list").stdout == "no webhook endpoints\n"
    for command in ("remove", "enable", "disable", "rotate-secret", "deliveries"):
        assert cli.error("webhooks", command, ident).startswith(
            f"error: unknown_webhook: no webhook endpoint '{ident}'"
        )
    app = build(cli.url)
    try:
        logged = [(e.actor, e.action) for e in app.activity.list(limit=50).items]
    finally:
        app.close()
    assert logged == [
        ("cli", "webhook.deleted"), ("cli", "webhook.secret_rotated"),
        ("cli", "webhook.updated"), ("cli", "webhook.updated"), ("cli", "webhook.created"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["ftp://crm.example/hook"], "error: invalid_field: url must be an http or https"),
        (["crm.example/hook"], "error: invalid_field: url must be an http or https"),
        (["http://[::1"], "error: invalid_field: url is not a valid address"),
        (["https://u:p@crm.example/"], "error: invalid_field: url must not carry credentials"),
        (["https://crm.example/", "--events", "outcome.exploded"],
         "error: invalid_field: unknown event type 'outcome.exploded'"),
        (["https://crm.example/", "--events", ","],
         "error: invalid_field: events is a non-empty list"),
        (["https://crm.example/", "--description", "d" * 1001],
         "error: invalid_field: description is a text of at most 1000"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_and_stores_nothing(cli: Cli, args: list[str], expected: str) -> None:
    cli.added("https://crm.example/first")
    before = cli.json("webhooks", "list")
    assert cli.error("webhooks", "add", *args).startswith(expected)
    assert cli.json("webhooks", "list") == before


def test_commands_on_endpoints_never_create_a_database(tmp_path: Path) -> None:
    missing = Cli(str(tmp_path / "missing.db"))
    for args in (["list"], ["deliveries", "we_x"], ["remove", "we_x"], ["enable", "we_x"],
                 ["rotate-secret", "we_x"], ["retry", "we_x", "1"]):  # fmt: skip
        result = missing.run("webhooks", *args)
        assert result.exit_code == 1, (args, result.output)
        assert "error: no Earnest database at" in result.stderr
    assert not (tmp_path / "missing.db").exists()
