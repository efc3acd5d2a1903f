"""Disputes over HTTP: open one on a confirmed outcome, resolve it by reject or credit, list
them; every refusal with its code and field, storing nothing; the actor is the API key."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.billing import confirm, key_id, outcome_path, snapshot
from tests.api.conftest import Api


@pytest.fixture
def confirmed(api_any: Api) -> Api:
    """``c1`` and ``c2`` confirmed for acme, ``g1`` for globex, ``open1`` still open."""
    api = api_any
    api.landing()
    for ref, customer in (("c1", "acme"), ("c2", "acme"), ("g1", "globex")):
        confirm(api, ref, customer)
        api.clock.advance(seconds=1)
    body = {"contract": "landing", "outcome": "open1", "customer": "acme"}
    assert api.post("/v1/outcomes", body, scope="ingest").status_code == 201
    return api


def dispute(api: Api, ref: str, reason: str = "the ticket was reopened") -> dict[str, Any]:
    response = api.post(outcome_path(ref, "disputes"), {"reason": reason})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def resolve(api: Api, ref: str, **body: Any) -> Any:
    return api.post(outcome_path(ref, "disputes/resolve"), body)


def test_open_then_credit_part_then_the_rest(confirmed: Api) -> None:
    api = confirmed
    who = key_id(api)
    opened = dispute(api, "c1")
    assert opened == {
        "id": opened["id"],
        "contract": "landing",
        "outcome": "c1",
        "customer": "acme",
        "state": "open",
        "reason": "the ticket was reopened",
        "opened_by": who,
        "opened_at": "2026-11-23T10:00:03Z",
        "resolution": None,
        "note": None,
        "resolved_by": None,
        "resolved_at": None,
        "credit": None,
    }
    assert api.get(outcome_path("c1"), scope="read").json()["contested"] is True
    api.clock.advance(minutes=1)
    partial = resolve(api, "c1", resolution="credit", amount="0.40", note="partly broken")
    assert partial.status_code == 200, partial.text
    assert partial.json() == {
        **opened,
        "state": "resolved",
        "resolution": "credit",
        "note": "partly broken",
        "resolved_by": who,
        "resolved_at": "2026-11-23T10:01:03Z",
        "credit": {"amount": "0.40", "currency": "USD"},
    }
    outcome = api.get(outcome_path("c1"), scope="read").json()
    assert (outcome["contested"], outcome["net"]) == (False, "0.59")
    dispute(api, "c1", "the rest too")
    rest = resolve(api, "c1", resolution="credit", note="all of it")
    assert rest.json()["credit"] == {"amount": "0.59", "currency": "USD"}
    credits = api.get("/v1/ledger?kind=credit", scope="read").json()["items"]
    assert [(c["amount"], c["reason"]) for c in credits] == [
        ("0.59", "dispute: all of it"), ("0.40", "dispute: partly broken"),
    ]  # fmt: skip
    entries = api.get(outcome_path("c1", "history"), scope="read").json()["entries"]
    disputes = [e["data"] for e in entries if e["kind"] == "dispute"]
    assert [(d["action"], d["by"]) for d in disputes] == [
        ("opened", who), ("resolved", who), ("opened", who), ("resolved", who),
    ]  # fmt: skip
    # Nothing left to credit.
    dispute(api, "c1", "and again")
    before = snapshot(api)
    empty = resolve(api, "c1", resolution="credit", note="more")
    assert empty.status_code == 422
    assert (empty.json()["error"]["code"], empty.json()["error"]["field"]) == (
        "credit_exceeds_charge", "amount",
    )  # fmt: skip
    assert snapshot(api) == before
    assert resolve(api, "c1", resolution="reject", note="no").status_code == 200


def test_reject_keeps_the_charge(confirmed: Api) -> None:
    api = confirmed
    dispute(api, "c2")
    rejected = resolve(api, "c2", resolution="reject", note="works as specified")
    assert rejected.status_code == 200
    body = rejected.json()
    assert (body["state"], body["resolution"], body["credit"]) == ("resolved", "reject", None)
    assert api.get("/v1/ledger?kind=credit", scope="read").json()["items"] == []
    assert api.get(outcome_path("c2"), scope="read").json()["contested"] is False


def test_list_newest_first_by_state_and_customer(confirmed: Api) -> None:
    api = confirmed
    for ref in ("c1", "c2", "g1"):
        dispute(api, ref)
        api.clock.advance(seconds=1)
    resolve(api, "c2", resolution="reject", note="fine")

    def refs(query: str = "", limit: int = 50) -> list[str]:
        found: list[str] = []
        cursor = None
        while True:
            page_query = f"?limit={limit}{'&' + query if query else ''}"
            if cursor:
                page_query += f"&cursor={cursor}"
            page = api.get("/v1/disputes" + page_query, scope="read").json()
            found += [d["outcome"] for d in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                return found

    assert refs(limit=1) == ["g1", "c2", "c1"]
    assert refs("state=open") == ["g1", "c1"]
    assert refs("state=resolved") == ["c2"]
    assert refs("customer=acme") == ["c2", "c1"]
    assert refs("customer=acme&state=open") == ["c1"]
    assert refs("customer=nobody") == []
    for query, field in (("state=closed", "state"), ("customer=" + "x" * 256, "customer"),
                         ("cursor=nope", "cursor"), ("limit=-1", "limit")):  # fmt: skip
        response = api.get(f"/v1/disputes?{query}", scope="read")
        assert response.status_code == 422, query
        assert response.json()["error"]["field"] == field


@pytest.mark.parametrize(
    ("ref", "action", "body", "expected"),
    [
        # the outcome's state
        ("open1", "disputes", {"reason": "r"}, (409, "not_confirmed", None)),
        ("c1", "disputes/resolve", {"resolution": "reject", "note": "n"},
         (409, "no_open_dispute", None)),
        ("nope", "disputes", {"reason": "r"}, (404, "unknown_outcome", "outcome")),
        ("nope", "disputes/resolve", {"resolution": "reject", "note": "n"},
         (404, "unknown_outcome", "outcome")),
        # opening
        ("c1", "disputes", {}, (422, "invalid_field", "reason")),
        ("c1", "disputes", {"reason": ""}, (422, "invalid_field", "reason")),
        ("c1", "disputes", {"reason": "  "}, (422, "invalid_field", "reason")),
        ("c1", "disputes", {"reason": 5}, (422, "invalid_field", "reason")),
        ("c1", "disputes", {"reason": "x" * 1001}, (422, "invalid_field", "reason")),
        ("c1", "disputes", {"reason": "a\x00b"}, (422, "invalid_field", "reason")),
        ("c1", "disputes", {"reason": "r", "amount": "1"}, (422, "unknown_field", "amount")),
        ("c1", "disputes", ["r"], (422, "invalid_body", None)),
    ],
)  # fmt: skip
def test_refusals_name_their_cause_and_store_nothing(
    confirmed: Api, ref: str, action: str, body: Any, expected: tuple[int, str, str | None]
) -> None:
    api = confirmed
    before = snapshot(api)
    response = api.post(outcome_path(ref, action), body)
    error = response.json()["error"]
    assert (response.status_code, error["code"], error["field"]) == expected, response.text
    assert snapshot(api) == before


def test_a_second_open_dispute_is_refused(confirmed: Api) -> None:
    api = confirmed
    dispute(api, "c1")
    before = snapshot(api)
    again = api.post(outcome_path("c1", "disputes"), {"reason": "again"})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "dispute_open"
    assert snapshot(api) == before


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"resolution": "credit", "amount": "0", "note": "n"}, "invalid_field", "amount"),
        ({"resolution": "credit", "amount": "0.000000", "note": "n"}, "invalid_field", "amount"),
        ({"resolution": "credit", "amount": "-0.10", "note": "n"}, "invalid_field", "amount"),
        ({"resolution": "credit", "amount": "0.1234567", "note": "n"}, "invalid_field", "amount"),
        ({"resolution": "credit", "amount": "1e-2", "note": "n"}, "invalid_field", "amount"),
        ({"resolution": "credit", "amount": "abc", "note": "n"}, "invalid_field", "amount"),
        ({"resolution": "credit", "amount": "", "note": "n"}, "invalid_field", "amount"),
        ({"resolution": "credit", "amount": "NaN", "note": "n"}, "invalid_field", "amount"),
        ({"resolution": "credit", "amount": 0.5, "note": "n"}, "invalid_field", "amount"),
        ({"resolution": "credit", "amount": True, "note": "n"}, "invalid_field", "amount"),
        ({"resolution": "credit", "amount": "1.00", "note": "n"}, "credit_exceeds_charge",
         "amount"),
        ({"resolution": "credit", "amount": "0.990001", "note": "n"}, "credit_exceeds_charge",
         "amount"),
        ({"resolution": "reject", "amount": "0.10", "note": "n"}, "invalid_field", "amount"),
        ({"resolution": "refund", "note": "n"}, "invalid_field", "resolution"),
        ({"resolution": None, "note": "n"}, "invalid_field", "resolution"),
        ({"note": "n"}, "invalid_field", "resolution"),
        ({"resolution": "reject"}, "invalid_field", "note"),
        ({"resolution": "reject", "note": ""}, "invalid_field", "note"),
        ({"resolution": "reject", "note": "x" * 1001}, "invalid_field", "note"),
        ({"resolution": "reject", "note": "n", "by": "me"}, "unknown_field", "by"),
    ],
)  # fmt: skip
def test_bad_resolutions_are_refused_by_name_and_store_nothing(
    confirmed: Api, body: dict[str, Any], code: str, field: str
) -> None:
    api = confirmed
    dispute(api, "c1")
    before = snapshot(api)
    response = resolve(api, "c1", **body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == (code, field)
    assert snapshot(api) == before
    assert api.get("/v1/disputes?state=open", scope="read").json()["items"][0]["outcome"] == "c1"


def test_paths_beyond_the_actions_are_not_routes(confirmed: Api) -> None:
    api = confirmed
    for path in (outcome_path("c1", "disputes/other"), outcome_path("c1", "disputes/resolve/x"),
                 outcome_path("c1", "dispute")):  # fmt: skip
        response = api.post(path, {"reason": "r"})
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"
    assert api.get(outcome_path("c1", "disputes"), scope="read").status_code == 404


def test_a_reference_with_slashes_and_hashes(api: Api) -> None:
    api.landing()
    confirm(api, "acme/api#12 34")
    opened = dispute(api, "acme/api#12 34")
    assert opened["outcome"] == "acme/api#12 34"
    resolved = resolve(api, "acme/api#12 34", resolution="credit", amount="0.99", note="all")
    assert resolved.json()["credit"] == {"amount": "0.99", "currency": "USD"}


def test_scopes(confirmed: Api) -> None:
    api = confirmed
    for scope in ("read", "ingest"):
        refused = api.post(outcome_path("c1", "disputes"), {"reason": "r"}, scope=scope)
        assert refused.status_code == 403
    assert api.get("/v1/disputes", scope="ingest").status_code == 403
    assert api.get("/v1/disputes", scope="read").status_code == 200
