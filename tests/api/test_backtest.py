"""``POST /v1/contracts/{key}/backtest``: a proposed contract (JSON or YAML) replayed over the
outcomes recorded through the API, in a process of its own; the report; refusals by code and
field; the read scope; nothing written."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api
from tests.contracts import LANDING

STRICTER = LANDING.replace("score > 3", "score > 4")


def send(api: Api, outcome: str, signal: str, value: Any = True) -> None:
    body = {"contract": "landing", "outcome": outcome, "customer": "acme", "signal": signal,
            "value": value}  # fmt: skip
    response = api.post("/v1/signals", body, scope="ingest")
    assert response.status_code == 200, response.text


def story(api: Api) -> None:
    """o1 scored 4 and o2 scored 5, both confirmed (48 h + 24 h later); o3 opened last."""
    api.landing()
    for ref, score in (("o1", 4), ("o2", 5)):
        send(api, ref, "completed")
        send(api, ref, "score", score)
        api.clock.advance(minutes=5)
    api.clock.advance(days=4)
    send(api, "o3", "completed")
    api.clock.advance(minutes=1)  # [since, until): an outcome opened at until is not in it


def backtest(api: Api, text: str, *, query: str = "", scope: str = "read") -> Any:
    return api.client.post(
        f"/v1/contracts/landing/backtest{query}",
        content=text,
        headers={**api.headers(scope), "Content-Type": "application/yaml"},
    )


def head(api: Api) -> tuple[Any, ...]:
    with api.db.read() as tx:
        row = tx.one(
            "SELECT (SELECT seq FROM chain_head), (SELECT COUNT(*) FROM contract_versions),"
            " (SELECT COUNT(*) FROM ledger), (SELECT COUNT(*) FROM activity)"
        )
    assert row is not None
    return row


def test_the_report_of_a_yaml_proposal(api: Api) -> None:
    story(api)
    before = head(api)
    response = backtest(api, STRICTER)
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["contract"], report["version"]) == ("landing", 2)
    assert (report["outcomes"], report["replayed"], report["changed"]) == (3, 3, 1)
    assert report["still_open"] == 1  # o3
    [o1] = report["differences"]
    assert (o1["outcome"], o1["change"]) == ("o1", "confirmed → cancelled")
    assert o1["before"]["charge"] == {"amount": "0.99", "currency": "USD"}
    assert "score > 4: score = 4 ✗" in o1["after"]["explanation"]
    assert report["revenue"] == {"USD": {"before": "1.98", "after": "0.99", "difference": "-0.99"}}
    assert report["as_of"] == "2026-11-27T10:11:00Z"  # the server's clock
    assert report["until"] == report["as_of"]
    assert report["since"] == "2026-10-28T10:11:00Z"  # 30 days before
    assert head(api) == before  # nothing written


def test_a_json_proposal_and_a_range(api: Api) -> None:
    story(api)
    body = {"key": "landing", "conditions": "completed", "price": "$2", "active_for": "48h",
            "review_window": "24h"}  # fmt: skip
    response = api.client.post(
        "/v1/contracts/landing/backtest",
        params={"since": "2026-11-23T10:00:00Z", "until": "2026-11-23T10:05:00Z"},
        json=body,
        headers=api.headers("read"),
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["outcomes"] == 1  # o1 only: o2 opened at 10:05
    assert report["changes"] == {"price changed": 1}
    assert report["revenue"]["USD"]["after"] == "2.00"


def test_the_version_in_force_changes_nothing(api_any: Api) -> None:
    story(api_any)
    report = backtest(api_any, LANDING).json()
    assert (report["version"], report["changed"], report["differences"]) == (1, 0, [])


def test_refusals_by_code_and_field(api: Api) -> None:
    story(api)
    cases = [
        (backtest(api, "key: other\n" + STRICTER), 422, "invalid_contract", "key"),
        (backtest(api, STRICTER.replace("48h", "48 hours")), 422, "invalid_contract", "active_for"),
        (backtest(api, STRICTER, query="?since=2026-11-24T00:00:00Z&until=2026-11-23T00:00:00Z"),
         422, "invalid_range", "since"),
        (backtest(api, STRICTER, query="?until=tomorrow"), 422, "invalid_time", "until"),
        (backtest(api, STRICTER, query="?since=2026-11-23"), 422, "invalid_time", "since"),
    ]  # fmt: skip
    for response, status, code, field in cases:
        assert response.status_code == status, response.text
        error = response.json()["error"]
        assert (error["code"], error["field"]) == (code, field)
    malformed = api.client.post(
        "/v1/contracts/landing/backtest", content=b'{"price": ', headers=api.headers("read")
    )
    assert malformed.status_code == 400


@pytest.mark.usefixtures("db")
def test_an_unknown_contract_is_404(api_any: Api) -> None:
    response = api_any.client.post(
        "/v1/contracts/nothing/backtest",
        content=STRICTER,
        headers={**api_any.headers("read"), "Content-Type": "application/yaml"},
    )
    assert response.status_code == 404
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("unknown_contract", "key")
    assert error["message"] == "no contract with key 'nothing'"


def test_a_read_key_is_needed(api: Api) -> None:
    story(api)
    assert backtest(api, STRICTER, scope="ingest").status_code == 403
    assert backtest(api, STRICTER, scope="admin").status_code == 200
    anonymous = api.client.post("/v1/contracts/landing/backtest", content=STRICTER)
    assert anonymous.status_code == 401


def test_backtests_beyond_the_few_at_once_are_refused(api: Api) -> None:
    story(api)
    app = api.client.app.state["earnest"]
    slots = app.contracts._apart  # filled by hand: as if two backtests were running
    slots.take()
    slots.take()
    try:
        busy = backtest(api, STRICTER)
    finally:
        slots.give()
        slots.give()
    assert busy.status_code == 503
    assert busy.json()["error"]["code"] == "backtests_busy"
    assert backtest(api, STRICTER).status_code == 200
