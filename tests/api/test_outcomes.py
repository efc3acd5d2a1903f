"""``/v1/outcomes``: open, read, history, settle by hand, list with filters and cursors."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from tests.api.conftest import Api

REFS = ["acme/api#1234", "ticket 42", "café/Ω#1"]


def path(ref: str, action: str = "", contract: str = "landing") -> str:
    return f"/v1/outcomes/{contract}/{quote(ref, safe='')}" + (f"/{action}" if action else "")


def open_body(ref: str, customer: object = "acme", **extra: Any) -> dict[str, Any]:
    return {"contract": "landing", "outcome": ref, "customer": customer, **extra}


def test_open_then_already_open(api_any: Api) -> None:
    api = api_any
    api.landing()
    opened = api.post("/v1/outcomes", open_body("t-1"), scope="ingest")
    assert opened.status_code == 201
    outcome = opened.json()
    assert outcome == {
        "contract": "landing",
        "contract_version": 1,
        "outcome": "t-1",
        "customer": "acme",
        "state": "open",
        "scheduled": None,
        "review_reason": None,
        "opened_at": "2026-11-23T10:00:00Z",
        "active_until": "2026-11-25T10:00:00Z",
        "review_ends_at": None,
        "settled_at": None,
        "price": {"amount": "0.99", "currency": "USD"},
        "values": {},
        "last_check": None,
        "charge": None,
        "credits": [],
        "net": None,
        "contested": False,
    }
    api.clock.advance(minutes=1)
    again = api.post("/v1/outcomes", open_body("t-1", at="2026-11-23T10:00:00Z"), scope="ingest")
    assert again.status_code == 200
    assert again.json()["opened_at"] == "2026-11-23T10:00:00Z"
    assert api.get("/v1/customers/acme", scope="read").status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({**open_body("x"), "contract": "nope"}, 404, "unknown_contract", "contract"),
        ({"contract": "landing", "outcome": "x"}, 422, "customer_required", "customer"),
        ({**open_body("x"), "colour": 1}, 422, "unknown_field", "colour"),
        (open_body(""), 422, "invalid_signal", "outcome"),
        (open_body("x", at="2030-01-01T00:00:00Z"), 422, "invalid_signal", "at"),
        (open_body("x", customer=5), 422, "invalid_signal", "customer"),
    ],
)
def test_open_refusals(api: Api, body: Any, status: int, code: str, field: str) -> None:
    api.landing()
    response = api.post("/v1/outcomes", body, scope="ingest")
    assert response.status_code == status, response.text
    assert (response.json()["error"]["code"], response.json()["error"]["field"]) == (code, field)


def test_open_conflicts(api: Api) -> None:
    api.landing()
    api.post("/v1/outcomes", open_body("x"), scope="ingest")
    mismatch = api.post("/v1/outcomes", open_body("x", customer="globex"), scope="ingest")
    assert mismatch.status_code == 409
    assert mismatch.json()["error"]["code"] == "customer_mismatch"
    api.post("/v1/contracts/landing/archive")
    archived = api.post("/v1/outcomes", open_body("y"), scope="ingest")
    assert archived.status_code == 409
    assert archived.json()["error"]["code"] == "contract_archived"


@pytest.mark.parametrize("ref", REFS)
def test_percent_encoded_references(api_any: Api, ref: str) -> None:
    api = api_any
    api.landing()
    api.post(
        "/v1/signals",
        {"contract": "landing", "outcome": ref, "customer": "acme", "signal": "completed"},
        scope="ingest",
    )
    one = api.get(path(ref), scope="read")
    assert one.status_code == 200, one.text
    assert one.json()["outcome"] == ref
    history = api.get(path(ref, "history"), scope="read")
    assert [e["kind"] for e in history.json()["entries"]] == ["opened", "signal", "check"]
    assert history.json()["entries"][2]["data"]["explanation"].endswith("→ undecided")
    seqs = [e["seq"] for e in history.json()["entries"]]
    assert seqs == sorted(seqs)
    settled = api.post(path(ref, "settle"), {"decision": "cancel", "reason": "duplicate work"})
    assert settled.status_code == 200
    assert settled.json()["state"] == "cancelled"
    assert settled.json()["outcome"] == ref
    # A reference that only differs in its encoded slash is another outcome.
    other = ref.replace("/", "%2F") if "/" in ref else ref + "/x"
    assert api.get(path(other)).status_code == 404


def test_manual_confirm_books_a_charge_and_settles_once(api_any: Api) -> None:
    api = api_any
    api.landing()
    api.post("/v1/outcomes", open_body("p-1"), scope="ingest")
    api.clock.advance(hours=1)
    settled = api.post(path("p-1", "settle"), {"decision": "confirm", "reason": "checked by hand"})
    assert settled.status_code == 200
    body = settled.json()
    assert body["state"] == "confirmed"
    assert body["settled_at"] == "2026-11-23T11:00:00Z"
    assert body["charge"] == {
        "id": body["charge"]["id"],
        "amount": "0.99",
        "currency": "USD",
        "period": "2026-11-01",
        "period_end": "2026-12-01",
        "invoice": body["charge"]["invoice"],
        "booked_at": "2026-11-23T11:00:00Z",
    }
    assert isinstance(body["charge"]["id"], int)
    [invoice] = api.get("/v1/invoices?customer=acme", scope="read").json()["items"]
    assert body["charge"]["invoice"] == invoice["id"]
    assert (body["credits"], body["net"]) == ([], "0.99")
    assert api.get(path("p-1"), scope="read").json()["charge"] == body["charge"]
    again = api.post(path("p-1", "settle"), {"decision": "cancel", "reason": "oops"})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_settled"
    history = api.get(path("p-1", "history")).json()["entries"]
    transition = next(e for e in history if e["kind"] == "transition")
    assert transition["data"]["note"] == "checked by hand"
    assert transition["data"]["by"].startswith("k")
    assert [e["kind"] for e in history][-1] == "charge"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"decision": "maybe", "reason": "x"}, "decision"),
        ({"decision": "confirm"}, "reason"),
        ({"decision": "confirm", "reason": "  "}, "reason"),
        ({"decision": "confirm", "reason": "x", "by": "me"}, "by"),
    ],
)
def test_settle_validation(api: Api, body: dict[str, Any], field: str) -> None:
    api.landing()
    api.post("/v1/outcomes", open_body("s"), scope="ingest")
    response = api.post(path("s", "settle"), body)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == field


def test_unknown_outcome_and_actions(api: Api) -> None:
    api.landing()
    missing = api.get(path("nope"), scope="read")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "unknown_outcome"
    assert api.get(path("nope", "history")).json()["error"]["code"] == "unknown_outcome"
    settle = api.post(path("nope", "settle"), {"decision": "confirm", "reason": "x"})
    assert settle.json()["error"]["code"] == "unknown_outcome"
    api.post("/v1/outcomes", open_body("o"), scope="ingest")
    assert api.get(path("o", "bogus")).json()["error"]["code"] == "not_found"
    assert api.post(path("o", "bogus"), {}).json()["error"]["code"] == "not_found"
    assert api.get("/v1/outcomes/landing/o/history/more").status_code == 404
    assert api.get("/v1/outcomes/landing/%FF").status_code == 404


def test_list_filters(api: Api) -> None:
    api.landing()
    api.landing("other")
    api.post("/v1/outcomes", open_body("a"), scope="ingest")
    api.post("/v1/outcomes", {**open_body("b", customer="globex")}, scope="ingest")
    api.post("/v1/outcomes", {**open_body("c"), "contract": "other"}, scope="ingest")
    api.post(path("a", "settle"), {"decision": "confirm", "reason": "r"})

    def refs(query: str) -> list[str]:
        response = api.get(f"/v1/outcomes?{query}", scope="read")
        assert response.status_code == 200, response.text
        return [o["outcome"] for o in response.json()["items"]]

    assert refs("") == ["c", "b", "a"]
    assert refs("contract=landing") == ["b", "a"]
    assert refs("customer=acme") == ["c", "a"]
    assert refs("state=confirmed") == ["a"]
    assert refs("state=open&customer=acme") == ["c"]
    assert refs("contested=false") == ["c", "b", "a"]
    assert refs("contested=true") == []
    for query, field in [
        ("state=done", "state"),
        ("contested=yes", "contested"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=ten", "limit"),
        ("limit=-1", "limit"),
        ("cursor=garbage", "cursor"),
    ]:
        response = api.get(f"/v1/outcomes?{query}", scope="read")
        assert response.status_code == 422, query
        assert response.json()["error"]["field"] == field


def test_pagination_is_stable_under_inserts(api_any: Api) -> None:
    api = api_any
    api.landing()
    for n in range(5):
        api.post("/v1/outcomes", open_body(f"o{n}"), scope="ingest")
    first = api.get("/v1/outcomes?limit=2", scope="read").json()
    assert [o["outcome"] for o in first["items"]] == ["o4", "o3"]
    for n in range(5, 8):
        api.post("/v1/outcomes", open_body(f"o{n}"), scope="ingest")
    seen = [o["outcome"] for o in first["items"]]
    cursor = first["next_cursor"]
    while cursor is not None:
        page = api.get(f"/v1/outcomes?limit=2&cursor={cursor}", scope="read").json()
        seen += [o["outcome"] for o in page["items"]]
        cursor = page["next_cursor"]
    assert seen == ["o4", "o3", "o2", "o1", "o0"]
    newest = api.get("/v1/outcomes?limit=1000", scope="read").json()
    assert len(newest["items"]) == 8
    assert newest["next_cursor"] is None


def test_tampered_cursor_is_refused(api: Api) -> None:
    api.landing()
    for n in range(3):
        api.post("/v1/outcomes", open_body(f"o{n}"), scope="ingest")
    cursor = api.get("/v1/outcomes?limit=1", scope="read").json()["next_cursor"]
    assert isinstance(cursor, str)
    for index in range(len(cursor)):
        flipped = "A" if cursor[index] != "A" else "B"
        tampered = cursor[:index] + flipped + cursor[index + 1 :]
        response = api.get(f"/v1/outcomes?cursor={quote(tampered)}", scope="read")
        assert response.status_code == 422, (index, tampered)
        assert response.json()["error"]["field"] == "cursor"
    keys_cursor = api.get("/v1/keys?limit=1").json()["next_cursor"]
    assert api.get(f"/v1/outcomes?cursor={keys_cursor}").status_code == 422


CREDITED = """
active_for: 48h
review_window: 24h
price: $0.99
conditions: completed AND NOT disputed
after_settlement: credit
"""


def test_a_credited_outcome_shows_its_credit_and_net(api_any: Api) -> None:
    api = api_any
    saved = api.client.put(
        "/v1/contracts/refunded",
        content=CREDITED,
        headers={**api.headers(), "Content-Type": "application/yaml"},
    )
    assert saved.status_code == 201, saved.text
    sent = {"contract": "refunded", "outcome": "r-1", "customer": "acme", "signal": "completed"}
    assert api.post("/v1/signals", sent, scope="ingest").json()["outcome"]["state"] == "in_review"
    api.clock.advance(hours=1)
    settle = {"decision": "confirm", "reason": "checked"}
    confirmed = api.post(path("r-1", "settle", "refunded"), settle).json()
    charge = confirmed["charge"]
    assert (charge["amount"], confirmed["credits"], confirmed["net"]) == ("0.99", [], "0.99")
    api.clock.advance(hours=2)
    late = api.post("/v1/signals", {**sent, "signal": "disputed"}, scope="ingest")
    assert late.status_code == 200, late.text
    outcome = late.json()["outcome"]
    assert outcome["state"] == "confirmed"
    assert outcome["charge"] == charge
    [credit] = outcome["credits"]
    assert credit == {
        "id": credit["id"],
        "amount": "0.99",
        "currency": "USD",
        "period": "2026-11-01",
        "period_end": "2026-12-01",
        "invoice": charge["invoice"],  # booked in the same (open) period
        "booked_at": "2026-11-23T13:00:00Z",
    }
    assert credit["id"] != charge["id"]
    assert outcome["net"] == "0.00"
    assert api.get(path("r-1", contract="refunded"), scope="read").json() == outcome
    listed = api.get("/v1/outcomes?contract=refunded", scope="read").json()["items"]
    assert listed == [outcome]
    kinds = [e["kind"] for e in api.get(path("r-1", "history", "refunded")).json()["entries"]]
    assert kinds[-1] == "credit"
