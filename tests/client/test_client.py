"""Every SDK call against the real server: paths, bodies, answers and the error tree."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest

from earnest.client import (
    APIError,
    AuthenticationError,
    Client,
    ConflictError,
    EarnestError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from tests.client.conftest import LANDING, Server


def ref(prefix: str = "acme/api#") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def test_contract_calls(client: Client) -> None:
    key = f"c_{uuid.uuid4().hex[:8]}"
    first = client.put_contract(key, LANDING)
    assert (first["key"], first["version"], first["archived"]) == (key, 1, False)
    assert client.put_contract(key, LANDING)["version"] == 1  # unchanged: no new version
    fields = {k: v for k, v in first.items() if k not in {"version", "fingerprint", "archived",
                                                         "created_at"}}  # fmt: skip
    fields["price"] = {"amount": "1.50", "currency": "USD"}
    second = client.put_contract(key, fields)  # a mapping goes as JSON
    assert second["version"] == 2
    assert client.contract(key)["version"] == 2
    assert client.contract(key, version=1)["fingerprint"] == first["fingerprint"]
    keys = [c["key"] for c in client.contracts(limit=1)]  # one per page: the cursor is followed
    assert key in keys
    assert len(keys) == len(set(keys))
    archived = client.archive_contract(key)
    assert archived["archived"] is True
    assert client.contract(key)["archived"] is True
    logged = [(e["action"], e["subject"]) for e in client.activity(limit=2) if e["subject"] == key]
    assert logged == [  # newest first, every page followed
        ("contract.archived", key),
        ("contract.saved", key),
        ("contract.saved", key),
    ]


def test_validate_contract(client: Client) -> None:
    checked = client.validate_contract(LANDING, key="anything")
    assert checked["valid"] is True
    assert checked["contract"]["fingerprint"]
    with pytest.raises(ValidationError) as caught:
        client.validate_contract("active_for: 48h\nprice: $0.99\nconditions: (\n")
    assert caught.value.status == 422
    assert caught.value.code == "invalid_contract"
    assert caught.value.details["errors"]


def test_signal_open_outcome_history_with_an_awkward_reference(
    client: Client, landing: str
) -> None:
    awkward = ref("acme/api#12 34 ünï/") + "?x=%2F"
    opened = client.open(landing, awkward, "acme")
    assert opened["opened"] is True
    assert opened["outcome"]["state"] == "open"
    assert client.open(landing, awkward, "acme")["opened"] is False
    sent = client.signal(landing, awkward, "completed", data={"by": "ci"})
    assert sent["duplicate"] is False
    assert sent["signal"]["outcome"] == awkward
    uuid_ = uuid.UUID(str(sent["signal"]["id"]))
    assert uuid_.version == 7
    outcome = client.outcome(landing, awkward)
    assert (outcome["outcome"], outcome["customer"]) == (awkward, "acme")
    assert outcome["values"] == {"completed": True}
    kinds = [e["kind"] for e in client.history(landing, awkward)]
    assert kinds[:2] == ["opened", "signal"]


def test_decimals_round_trip_exactly(client: Client, landing: str) -> None:
    exact = Decimal("3.14159265358979323846264338327950288")  # a float would keep 17 digits
    reference = ref()
    sent = client.signal(landing, reference, "score", exact, customer="acme")
    assert sent["signal"]["value"] == exact
    assert isinstance(sent["signal"]["value"], Decimal)
    assert client.outcome(landing, reference)["values"]["score"] == exact
    assert client.outcome(landing, reference)["price"] == {"amount": "0.99", "currency": "USD"}


def test_batch_gives_every_item_an_id(client: Client, landing: str) -> None:
    reference = ref()
    items: list[dict[str, Any]] = [
        {"contract": landing, "outcome": reference, "customer": "acme", "signal": "completed"},
        {"contract": landing, "outcome": reference, "signal": "score", "value": Decimal("4.5")},
        {"contract": "no_such_contract", "outcome": reference, "signal": "x"},
    ]
    first = client.signals(items)
    assert (first["accepted"], first["duplicates"], first["rejected"]) == (2, 0, 1)
    assert first["results"][2]["error"]["code"] == "unknown_contract"
    assert "id" not in items[0]  # the caller's dicts are left alone
    with_ids = [{**items[0], "id": str(uuid.uuid4())}, items[1]]
    again = client.signals(with_ids)
    assert [r["status"] for r in again["results"]] == ["accepted", "accepted"]
    assert [r["status"] for r in client.signals(with_ids[:1])["results"]] == ["duplicate"]
    assert client.outcome(landing, reference)["values"]["score"] == Decimal("4.5")


def test_outcomes_follows_every_page_with_filters(client: Client, landing: str) -> None:
    customer = f"cust_{uuid.uuid4().hex[:8]}"
    refs = [ref() for _ in range(5)]
    for reference in refs:
        client.open(landing, reference, customer)
    found = [o["outcome"] for o in client.outcomes(customer=customer, limit=2)]
    assert found == refs[::-1]  # newest first, across three pages
    assert list(client.outcomes(customer=customer, state="confirmed")) == []
    assert len(list(client.outcomes(contract=landing, customer=customer, contested=False))) == 5


def test_error_tree(server: Server, client: Client, landing: str) -> None:
    with (
        Client(server.url, "ek_knope_wrong") as stranger,
        pytest.raises(AuthenticationError) as caught,
    ):
        stranger.contract(landing)
    assert caught.value.status == 401
    with server.client("read") as reader, pytest.raises(PermissionDeniedError) as denied:
        reader.signal(landing, ref(), "completed", customer="acme")
    assert denied.value.status == 403
    with pytest.raises(NotFoundError) as missing:
        client.signal("no_such_contract", ref(), "completed", customer="acme")
    assert (missing.value.code, missing.value.field) == ("unknown_contract", "contract")
    with pytest.raises(NotFoundError) as missing_outcome:
        client.outcome(landing, "never-seen")
    assert missing_outcome.value.code == "unknown_outcome"
    reference, ident = ref(), str(uuid.uuid4())
    client.signal(landing, reference, "completed", customer="acme", id=ident)
    assert client.signal(landing, reference, "completed", customer="acme", id=ident)["duplicate"]
    with pytest.raises(ConflictError) as conflict:
        client.signal(landing, reference, "completed", False, customer="acme", id=ident)
    assert conflict.value.code == "idempotency_conflict"
    with pytest.raises(ConflictError) as mismatch:
        client.open(landing, reference, "someone_else")
    assert mismatch.value.code == "customer_mismatch"
    with pytest.raises(ValidationError) as invalid:
        client.signal(landing, ref(), "completed")  # opening without a customer
    assert invalid.value.status == 422
    assert isinstance(invalid.value, APIError)
    assert isinstance(invalid.value, EarnestError)


def test_archived_contract_opens_nothing(client: Client, landing: str) -> None:
    client.archive_contract(landing)
    with pytest.raises(ConflictError) as caught:
        client.signal(landing, ref(), "completed", customer="acme")
    assert caught.value.code == "contract_archived"
