"""The SDK's backtest against the real server, both clients: the report, the range, refusals."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from earnest.client import AsyncClient, Client, NotFoundError, ValidationError
from tests.client.conftest import LANDING, Server

STRICTER = LANDING.replace("score > 3", "score > 4")


def recorded(client: Client) -> str:
    """A fresh contract whose o1 scored 4 and o2 scored 5: both in review, confirm scheduled."""
    key = f"backtest_{uuid.uuid4().hex[:8]}"
    client.put_contract(key, LANDING)
    for ref, score in (("o1", 4), ("o2", 5)):
        client.signal(key, ref, "completed", customer="acme")
        client.signal(key, ref, "score", score)
    return key


def test_backtest(client: Client) -> None:
    key = recorded(client)
    since = datetime.now(UTC) - timedelta(hours=1)
    report = client.backtest(key, STRICTER, since=since)
    assert (report["contract"], report["version"]) == (key, 2)
    assert (report["outcomes"], report["changed"], report["still_open"]) == (2, 1, 2)
    [o1] = report["differences"]
    assert o1["outcome"] == "o1"
    assert o1["change"] == "still open: in_review → open"  # score 4 no longer meets it
    assert (o1["before"]["scheduled"], o1["after"]["state"]) == ("confirm", "open")
    assert o1["after"]["explanation"] is not None
    assert "score = 4 ✗" in o1["after"]["explanation"]
    as_json = {"key": key, "conditions": "completed AND score > 3 AND NOT disputed",
               "price": "$0.99", "active_for": "48h", "review_window": "24h",
               "on_timeout": "confirm"}  # fmt: skip
    same = client.backtest(key, as_json)
    assert (same["version"], same["changed"]) == (1, 0)
    empty = client.backtest(key, STRICTER, since="2020-01-01T00:00:00Z", until=since.isoformat())
    assert empty["outcomes"] == 0


def test_backtest_refusals(client: Client) -> None:
    with pytest.raises(NotFoundError) as missing:
        client.backtest("nothing_here", STRICTER)
    assert missing.value.code == "unknown_contract"
    key = recorded(client)
    with pytest.raises(ValidationError) as backwards:
        client.backtest(key, STRICTER, since="2026-01-02T00:00:00Z", until="2026-01-01T00:00:00Z")
    assert (backwards.value.code, backwards.value.field) == ("invalid_range", "since")
    with pytest.raises(ValueError, match="timezone-aware"):
        client.backtest(key, STRICTER, since=datetime(2026, 1, 1))


def test_async_backtest(server: Server, client: Client) -> None:
    key = recorded(client)

    async def run() -> None:
        async with AsyncClient(server.url, server.keys["read"]) as sdk:
            report = await sdk.backtest(key, STRICTER, timeout=60)
            assert (report["changed"], report["differences"][0]["outcome"]) == (1, "o1")

    asyncio.run(run())
