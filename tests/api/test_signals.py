"""``/v1/signals`` and ``/v1/signals/batch``: answers, idempotency, every refusal."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api


def signal(outcome: str = "o1", name: str = "completed", **extra: Any) -> dict[str, Any]:
    return {"contract": "landing", "outcome": outcome, "customer": "acme", "signal": name, **extra}


def test_signal_answer_and_duplicate(api_any: Api) -> None:
    api = api_any
    api.landing()
    body = signal(id="s-1", value=True, data={"sha": "9f1c"})
    first = api.post("/v1/signals", body, scope="ingest")
    assert first.status_code == 200
    answer = first.json()
    assert answer["duplicate"] is False
    assert answer["signal"]["id"] == "s-1"
    assert answer["signal"]["at"] == "2026-11-23T10:00:00Z"
    assert answer["outcome"]["state"] == "open"
    assert answer["outcome"]["values"] == {"completed": True}
    assert answer["outcome"]["last_check"]["verdict"] == "undecided"
    again = api.post("/v1/signals", body, scope="ingest")
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    conflict = api.post("/v1/signals", {**body, "value": False}, scope="ingest")
    assert conflict.status_code == 409
    assert conflict.json()["error"] == {
        "code": "idempotency_conflict",
        "message": "signal id 's-1' was already used for a different signal",
        "field": "id",
    }


def test_decimal_values_stay_exact_json_numbers(api: Api) -> None:
    api.landing()
    response = api.client.post(
        "/v1/signals",
        content=b'{"contract":"landing","outcome":"o1","customer":"acme","signal":"score",'
        b'"value":4.10000000000000000001}',
        headers=api.headers("ingest"),
    )
    assert response.status_code == 200
    assert b'"score":4.10000000000000000001' in response.content
    outcome = api.get("/v1/outcomes/landing/o1").content
    assert b'"values":{"score":4.10000000000000000001}' in outcome


def test_met_conditions_open_review(api: Api) -> None:
    api.landing()
    api.post("/v1/signals", signal(), scope="ingest")
    response = api.post("/v1/signals", signal(name="score", value=5), scope="ingest")
    outcome = response.json()["outcome"]
    assert outcome["state"] == "in_review"
    assert outcome["scheduled"] == "confirm"
    assert outcome["review_reason"] == "conditions_met"
    assert outcome["review_ends_at"] == "2026-11-24T10:00:00Z"
    assert outcome["last_check"]["verdict"] == "met"


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({**signal(), "contract": "nope"}, 404, "unknown_contract", "contract"),
        ({k: v for k, v in signal().items() if k != "customer"}, 422, "customer_required",
         "customer"),
        (signal(at="2026-11-23T10:06:00Z"), 422, "invalid_signal", "at"),
        (signal(at="yesterday"), 422, "invalid_signal", "at"),
        (signal(value=[1]), 422, "invalid_signal", "value"),
        (signal(outcome="x" * 256), 422, "invalid_signal", "outcome"),
        (signal(name="9lives"), 422, "invalid_signal", "signal"),
        (signal(colour="red"), 422, "invalid_signal", "colour"),
        (signal(data=[1]), 422, "invalid_signal", "data"),
        (signal(data={"x": "y" * 17000}), 422, "invalid_signal", "data"),
        ([signal()], 422, "invalid_signal", None),
    ],
)  # fmt: skip
def test_refusals(api: Api, body: Any, status: int, code: str, field: str | None) -> None:
    api.landing()
    response = api.post("/v1/signals", body, scope="ingest")
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == (code, field)
    assert error["message"]
    assert api.get("/v1/outcomes").json()["items"] == []  # nothing stored


def test_archived_contract_refuses_new_outcomes_but_not_open_ones(api: Api) -> None:
    api.landing()
    assert api.post("/v1/signals", signal("open"), scope="ingest").status_code == 200
    api.post("/v1/contracts/landing/archive")
    refused = api.post("/v1/signals", signal("new"), scope="ingest")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "contract_archived"
    assert api.post("/v1/signals", signal("open", "score", value=2), scope="ingest").is_success


def test_customer_mismatch(api: Api) -> None:
    api.landing()
    api.post("/v1/signals", signal(), scope="ingest")
    response = api.post("/v1/signals", {**signal(), "customer": "globex"}, scope="ingest")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "customer_mismatch"


def test_batch_counts_and_results(api_any: Api) -> None:
    api = api_any
    api.landing()
    items = [
        signal("b1", id="a"),
        signal("b1", id="a"),
        {**signal("b2"), "contract": "missing"},
        signal("b3", value="x" * 2000),
        signal("b4", name="score", value=4),
    ]
    response = api.post("/v1/signals/batch", {"signals": items}, scope="ingest")
    assert response.status_code == 200
    body = response.json()
    # the same id again in one batch is the same signal again: a duplicate
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (2, 1, 2)
    statuses = [r["status"] for r in body["results"]]
    assert statuses == ["accepted", "duplicate", "rejected", "rejected", "accepted"]
    assert [r["index"] for r in body["results"]] == [0, 1, 2, 3, 4]
    assert body["results"][2]["error"]["code"] == "unknown_contract"
    assert body["results"][3]["error"]["field"] == "value"
    assert "error" not in body["results"][0]
    listed = api.get("/v1/outcomes", scope="read").json()["items"]
    assert sorted(o["outcome"] for o in listed) == ["b1", "b4"]


@pytest.mark.parametrize(
    ("body", "field"),
    [({"signals": "no"}, "signals"), ({"signals": [], "extra": 1}, "extra"), ([], None)],
)
def test_batch_shape_errors(api: Api, body: Any, field: str | None) -> None:
    response = api.post("/v1/signals/batch", body, scope="ingest")
    assert response.status_code == 422
    assert response.json()["error"]["field"] == field


def test_batch_over_ten_thousand_is_422(api: Api) -> None:
    items = [{"contract": "landing", "outcome": "o", "signal": "s"}] * 10_001
    response = api.post("/v1/signals/batch", {"signals": items}, scope="ingest")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "batch_too_large"
    assert response.json()["error"]["field"] == "signals"


def test_a_misspelled_signal_name_is_accepted_with_a_warning(api_any: Api) -> None:
    api = api_any
    api.landing()
    known = api.post("/v1/signals", signal("w1", id="w-0"), scope="ingest")
    assert known.json()["warnings"] == []
    typo = api.post("/v1/signals", signal("w1", name="complted", id="w-1"), scope="ingest")
    assert typo.status_code == 200, typo.text
    answer = typo.json()
    assert answer["duplicate"] is False
    assert answer["outcome"]["values"] == {"completed": True, "complted": True}
    [warning] = answer["warnings"]
    assert "'complted'" in warning
    assert "'landing'" in warning
    assert "completed" in warning.partition("its names")[2]  # the names it could have meant
    history = api.get("/v1/outcomes/landing/w1/history").json()["entries"]
    assert [e["kind"] for e in history].count("signal") == 2  # recorded all the same
    items = [signal("w2", name="scor", value=5), signal("w2", name="score", value=5)]
    batch = api.post("/v1/signals/batch", {"signals": items}, scope="ingest").json()
    assert [r["status"] for r in batch["results"]] == ["accepted", "accepted"]
    first, second = batch["results"]
    assert len(first["warnings"]) == 1
    assert "'scor'" in first["warnings"][0]
    assert "warnings" not in second
