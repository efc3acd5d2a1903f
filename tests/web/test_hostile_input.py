"""Hostile input on every dashboard page that reads a number, an id or a text (SPEC 12): a
4xx naming the field, nothing changed in the store, never a 5xx.

- Numbers in queries and paths: more digits than Python's ``int()`` reads (4,300), a
  number too big for the store behind many leading zeros, one past the largest integer a
  store holds, digits that are not ASCII.
- U+0000 in path ids and fields, on both stores (PostgreSQL's text columns cannot hold it).
- Text whose bytes were not UTF-8 (the form decoder turns them into U+FFFD): never stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from litestar.testing import TestClient

from earnest.api import create_app
from earnest.app import Earnest
from earnest.contract import load_contract
from earnest.errors import Invalid
from earnest.service.activity import CLI
from earnest.store import connect
from earnest.web import dashboard
from earnest.web.common import MAX_INT, whole_number
from tests.api.conftest import Clock
from tests.contracts import LANDING
from tests.web.conftest import ADMIN, PASSWORD, Web, csrf_of
from tests.web.test_portal import evidence, fill, link

#: Columns a read moves on (outside the audit chains): usage stamps.
STAMPS = {"sessions": ("last_seen_at", "expires_at"), "api_keys": ("last_used_at",)}


def state(web: Web) -> dict[str, list[Any]]:
    """Every row of every table of either store (but the stamps a read moves on)."""
    found: dict[str, list[Any]] = {}
    sqlite = web.app.db.dialect == "sqlite"
    with web.app.db.read() as tx:
        if sqlite:
            tables = tx.query("SELECT name FROM sqlite_master WHERE type = 'table'")
        else:
            tables = tx.query("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        for (table,) in sorted(tables):
            if sqlite:
                columns = [row[1] for row in tx.query(f'PRAGMA table_info("{table}")')]
            else:
                columns = [
                    row[0]
                    for row in tx.query(
                        "SELECT column_name FROM information_schema.columns"
                        f" WHERE table_schema = current_schema() AND table_name = '{table}'"
                    )
                ]
            kept = [c for c in columns if c not in STAMPS.get(table, ())]
            listed = ", ".join(f'"{c}"' for c in sorted(kept))
            found[table] = sorted(tx.query(f'SELECT {listed} FROM "{table}"'), key=repr)
    return found


def refused(response: httpx.Response, field: str, *, status: int | None = None) -> None:
    """A 4xx (``status`` if given) whose page names ``field``."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text[-2000:])
    if status is not None:
        assert response.status_code == status, response.text[-2000:]
    assert field in response.text, response.text[-2000:]


# Numbers -----------------------------------------------------------------------------------


def test_whole_number_reads_ascii_digits_within_its_range() -> None:
    assert whole_number("120", "after") == 120
    assert whole_number("0" * 40 + "7", "after") == 7
    assert whole_number(str(MAX_INT), "after") == MAX_INT
    assert whole_number("0", "after", low=0) == 0
    assert whole_number("000", "after", low=0) == 0
    assert whole_number("2", "version", low=1, high=2) == 2


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "0",
        "3",
        "-1",
        "+1",
        " 1",
        "1 ",
        "1.5",
        "1e3",
        "\u0661",  # ARABIC-INDIC DIGIT ONE: a digit, not an ASCII one
        "\xb2",  # SUPERSCRIPT TWO
        "9" * 5_000,  # more than int() reads
        "0" * 30 + "1" + "0" * 30,  # too big, behind zeros
        str(MAX_INT + 1),
        "9" * 20,
    ],
)
def test_whole_number_refuses_anything_else_naming_the_field(raw: str) -> None:
    with pytest.raises(Invalid) as caught:
        whole_number(raw, "after", low=1, high=2)
    assert caught.value.field == "after"
    assert "after" in caught.value.message
    assert len(caught.value.message) < 200


@dataclass(frozen=True)
class Held:
    base: str  # a portal link's path
    invoice: str
    ref: str
    endpoint: str


@pytest.fixture
def held(web: Web) -> Held:
    def advance(delta: timedelta) -> None:
        web.clock.now += delta

    found = fill(web.app, advance)
    endpoint, _ = web.app.webhooks.create("https://example.com/in", actor=CLI)
    base = link(web.app, "acme")
    web.session(ADMIN)
    return Held(base, found["acme"].invoices[0], "acme/ticket#1", endpoint.id)


Where = Callable[[Held, str], str]
NUMBER_PAGES: dict[str, tuple[Where, str]] = {
    "portal home ?after=": (lambda h, v: f"{h.base}?after={v}.{h.invoice}", "after"),
    "portal invoice ?after=": (lambda h, v: f"{h.base}/invoices/{h.invoice}?after={v}", "after"),
    "portal evidence ?after=": (lambda h, v: f"{evidence(h.base, h.ref)}?after={v}", "after"),
    "portal links ?after=": (lambda h, v: f"/customers/acme/portal-links?after={v}.x", "after"),
    "outcomes ?after=": (lambda h, v: f"/outcomes?after={v}", "after"),
    "outcome ?after=": (
        lambda h, v: f"/outcomes/ticket_resolved/{quote(h.ref, safe='')}?after={v}",
        "after",
    ),
    "activity ?after=": (lambda h, v: f"/activity?after={v}", "after"),
    "invoices ?after=": (lambda h, v: f"/invoices?after={v}:{h.invoice}", "after"),
    "invoice line ?after=": (
        lambda h, v: f"/invoices/{h.invoice}/lines/ticket_resolved/1?after={v}",
        "after",
    ),
    "invoice line version": (
        lambda h, v: f"/invoices/{h.invoice}/lines/ticket_resolved/{v}",
        "version",
    ),
    "contract version": (lambda h, v: f"/contracts/ticket_resolved/versions/{v}", "version"),
    "contract ?before=": (lambda h, v: f"/contracts/ticket_resolved?before={v}", "before"),
    "diff ?from=": (lambda h, v: f"/contracts/ticket_resolved/diff?from={v}&to=1", "from"),
    "diff ?to=": (lambda h, v: f"/contracts/ticket_resolved/diff?from=1&to={v}", "to"),
    "contracts ?after=": (lambda h, v: f"/contracts?after={v}.ticket_resolved", "after"),
    "webhooks ?after=": (lambda h, v: f"/webhooks?after={v}", "after"),
    "endpoint ?after=": (lambda h, v: f"/webhooks/{h.endpoint}?after={v}", "after"),
}
HOSTILE_NUMBERS = {
    "5000 digits": "9" * 5_000,
    "too big behind zeros": "0" * 30 + "1" + "0" * 30,
    "1 in a 12-digit prefix": "0" * 11 + "1" + "0" * 30,  # what int(raw[:12]) read
    "1 in a 20-digit prefix": "0" * 19 + "1" + "0" * 30,  # what int(raw[:20]) read
    "one past the largest": str(MAX_INT + 1),
    "twenty nines": "9" * 20,
    "not ascii": quote("\u0661"),
    "negative": "-1",
}


@pytest.mark.parametrize("number", list(HOSTILE_NUMBERS.values()), ids=list(HOSTILE_NUMBERS))
@pytest.mark.parametrize("where", list(NUMBER_PAGES.values()), ids=list(NUMBER_PAGES))
def test_a_number_no_store_holds_is_refused_naming_its_field(
    web: Web, held: Held, where: tuple[Where, str], number: str
) -> None:
    path, field = where
    before = state(web)
    refused(web.get(path(held, number)), field)
    assert state(web) == before


@pytest.mark.parametrize(
    "path",
    [
        "/activity?after=" + "0" * 40 + "5",
        "/outcomes?after=" + "0" * 40 + "5",
        "/contracts/ticket_resolved/versions/" + "0" * 40 + "1",
        "/contracts/ticket_resolved/diff?from=" + "0" * 40 + "1&to=01",
        "/webhooks?after=" + "0" * 40 + "5",
    ],
)
def test_leading_zeros_read_as_the_number_they_write(web: Web, held: Held, path: str) -> None:
    assert web.get(path).status_code == 200


# U+0000, on both stores ------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def anyweb(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Web]:
    """The dashboard over a migrated store of each backend, an admin signed in, the
    ``landing`` contract and one webhook endpoint."""
    if request.param == "sqlite":
        url = str(tmp_path / "earnest.db")
    else:
        url = request.getfixturevalue("pg_url")
    database = connect(url)
    database.migrate()
    clock = Clock()
    app = Earnest(database, clock=clock)
    app.users.hasher = PasswordHasher.from_parameters(CHEAPEST)
    app.users.create(ADMIN, "admin", PASSWORD, actor=CLI)
    app.contracts.save(load_contract(LANDING, key="landing"), actor=CLI)
    app.webhooks.create("https://example.com/in", actor=CLI)
    try:
        with TestClient(app=create_app(app, mount=[dashboard()])) as client:
            web = Web(client, app, clock)
            web.session(ADMIN)
            yield web
    finally:
        database.close()


def endpoint_of(web: Web) -> str:
    return web.app.webhooks.list()[0].id


NUL_PAGES = [
    "/contracts/a%00b",
    "/contracts/a%00b/edit",
    "/contracts/a%00b/versions/1",
    "/contracts/a%00b/diff",
    "/contracts/a%00b/archive",
    "/webhooks/a%00b",
    "/webhooks/a%00b/delete",
]
NUL_POSTS: list[tuple[str, dict[str, str]]] = [
    ("/contracts/a%00b/archive", {}),
    ("/contracts/a%00b/edit", {"yaml": LANDING}),
    ("/contracts/a%00b/backtest", {"yaml": LANDING}),
    ("/webhooks/a%00b", {"url": "https://example.com/x", "every": "all"}),
    ("/webhooks/a%00b/enable", {}),
    ("/webhooks/a%00b/disable", {}),
    ("/webhooks/a%00b/rotate-secret", {"rotation": "none"}),
    ("/webhooks/a%00b/delete", {}),
    ("/webhooks/a%00b/deliveries/1/retry", {"back": "list"}),
    ("/webhooks/{endpoint}/deliveries/a%00b/retry", {"back": "list"}),
]


@pytest.mark.parametrize("path", NUL_PAGES)
def test_a_path_id_with_nul_is_not_found_on_either_store(anyweb: Web, path: str) -> None:
    before = state(anyweb)
    response = anyweb.get(path)
    assert response.status_code == 404, response.text[-2000:]
    assert state(anyweb) == before


@pytest.mark.parametrize(("path", "form"), NUL_POSTS, ids=[p for p, _ in NUL_POSTS])
def test_a_change_to_a_path_id_with_nul_is_refused_on_either_store(
    anyweb: Web, path: str, form: dict[str, str]
) -> None:
    csrf = csrf_of(anyweb.get("/webhooks"))
    before = state(anyweb)
    response = anyweb.post(path.format(endpoint=endpoint_of(anyweb)), {**form, "csrf_token": csrf})
    assert 400 <= response.status_code < 500, response.text[-2000:]
    assert state(anyweb) == before


NUL_FIELDS: list[tuple[str, dict[str, str], str]] = [
    ("/contracts/validate", {"yaml": LANDING, "editing": "a\x00b"}, "editing"),
    ("/contracts/validate", {"yaml": LANDING, "editing": "x" * 256}, "editing"),
    ("/webhooks", {"url": "https://example.com/\x00", "every": "all"}, "url"),
    ("/webhooks", {"url": "https://example.com/a\x01b", "every": "all"}, "url"),
    ("/webhooks", {"url": "https://example.com/a\x7fb", "every": "all"}, "url"),
    ("/webhooks", {"url": "https://example.com/a\x85b", "every": "all"}, "url"),
    ("/webhooks", {"url": "https://example.com/", "every": "all", "description": "a\x00b"},
     "description"),
    ("/webhooks/{endpoint}", {"url": "https://example.com/\x00", "every": "all"}, "url"),
    ("/webhooks/{endpoint}", {"url": "https://example.com/\x1b[0m", "every": "all"}, "url"),
]  # fmt: skip


@pytest.mark.parametrize(("path", "form", "field"), NUL_FIELDS)
def test_a_field_with_nul_or_a_control_character_is_refused_naming_it_on_either_store(
    anyweb: Web, path: str, form: dict[str, str], field: str
) -> None:
    csrf = csrf_of(anyweb.get("/webhooks"))
    before = state(anyweb)
    response = anyweb.post(path.format(endpoint=endpoint_of(anyweb)), {**form, "csrf_token": csrf})
    refused(response, field, status=422)
    assert state(anyweb) == before


# Bytes that are not UTF-8 ----------------------------------------------------------------


def post_bytes(web: Web, path: str, fields: dict[str, str], raw: str) -> httpx.Response:
    """A form whose ``raw`` part (already percent-encoded) carries bytes that are not
    UTF-8, as a browser posting another charset would send them."""
    body = urlencode(fields) + "&" + raw
    return web.client.post(
        path,
        content=body.encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )


NOT_UTF8: list[tuple[str, dict[str, str], str, str]] = [
    ("/customers/acme", {}, "name=Ac%FFme", "name"),
    ("/customers/acme", {"name": "Acme"}, "email=billing%FF%40acme.example", "email"),
    ("/customers/acme", {}, "address=1%20Main%20St%0A%C0%AF", "address"),
    ("/customers/acme", {}, "tax_id=DE%FE123", "tax_id"),
    ("/webhooks", {"every": "all"}, "url=https%3A%2F%2Fexample.com%2F%FF", "url"),
    ("/webhooks", {"url": "https://example.com/", "every": "all"}, "description=n%E9e",
     "description"),
    ("/webhooks/{endpoint}", {"every": "all"}, "url=https%3A%2F%2Fexample.com%2F%FF", "url"),
    ("/webhooks/{endpoint}", {"url": "https://example.com/", "every": "all"},
     "description=caf%E9", "description"),
    ("/settings", {}, "seller_name=Caf%E9%20SA", "seller_name"),
    ("/settings", {}, "seller_address=Rue%20%E9", "seller_address"),
    ("/outcomes/ticket_resolved/acme%2Fticket%236/settle", {"decision": "confirm"},
     "reason=ok%FF", "reason"),
    ("/outcomes/ticket_resolved/acme%2Fticket%232/disputes", {}, "reason=wrong%FF", "reason"),
    ("/outcomes/ticket_resolved/acme%2Fticket%235/disputes/resolve",
     {"resolution": "reject"}, "note=no%FF", "note"),
    ("/contracts/validate", {"yaml": LANDING}, "editing=landing%FF", "editing"),
]  # fmt: skip


@pytest.mark.parametrize("case", NOT_UTF8, ids=[f"{p} {f}" for p, _, _, f in NOT_UTF8])
def test_text_that_was_not_utf8_is_refused_naming_its_field(
    web: Web, held: Held, case: tuple[str, dict[str, str], str, str]
) -> None:
    path, fields, raw, field = case
    web.app.disputes.open("ticket_resolved", "acme/ticket#5", "wrong", actor=CLI)
    csrf = csrf_of(web.get("/webhooks"))
    before = state(web)
    response = post_bytes(
        web, path.format(endpoint=held.endpoint), {**fields, "csrf_token": csrf}, raw
    )
    refused(response, f"{field} is not valid UTF-8 text", status=422)
    assert state(web) == before


def test_the_same_forms_store_the_same_text_sent_as_utf8(web: Web, held: Held) -> None:
    """The refusal above is of the bytes, not of the letters: sent as UTF-8, they are kept."""
    csrf = csrf_of(web.get("/webhooks"))
    answer = post_bytes(web, "/customers/acme", {"csrf_token": csrf}, "name=Caf%C3%A9")
    assert answer.status_code == 303
    assert web.app.customers.get("acme").name == "Café"
    answer = post_bytes(
        web,
        f"/webhooks/{held.endpoint}",
        {"csrf_token": csrf, "every": "all", "url": "https://example.com/in"},
        "description=caf%C3%A9",
    )
    assert answer.status_code == 303
    assert web.app.webhooks.get(held.endpoint).description == "café"
