"""``AsyncClient`` against the real server: the same calls, awaited."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import pytest

from earnest.client import AsyncClient, AuthenticationError, NotFoundError
from tests.client.conftest import LANDING, Server


def test_every_async_call(server: Server) -> None:
    key = f"async_{uuid.uuid4().hex[:8]}"
    reference = f"async/#ref {uuid.uuid4().hex[:8]} é"
    customer = f"cust_{uuid.uuid4().hex[:8]}"

    async def run() -> None:
        async with AsyncClient(server.url, server.keys["admin"]) as sdk:
            assert (await sdk.validate_contract(LANDING, key=key))["valid"] is True
            assert (await sdk.put_contract(key, LANDING))["version"] == 1
            assert (await sdk.contract(key, version=1))["key"] == key
            assert key in [c["key"] async for c in sdk.contracts(limit=2)]
            saved = [e async for e in sdk.activity(limit=2) if e["subject"] == key]
            assert [e["action"] for e in saved] == ["contract.saved"]
            assert (await sdk.open(key, reference, customer))["opened"] is True
            sent = await sdk.signal(key, reference, "score", Decimal("4.25"))
            assert sent["outcome"]["values"] == {"score": Decimal("4.25")}
            batch = await sdk.signals(
                [{"contract": key, "outcome": reference, "signal": "completed"}]
            )
            assert batch["accepted"] == 1
            assert (await sdk.outcome(key, reference))["values"]["completed"] is True
            listed = [o["outcome"] async for o in sdk.outcomes(customer=customer)]
            assert listed == [reference]
            kinds = [e["kind"] for e in await sdk.history(key, reference)]
            assert kinds.count("signal") == 2
            assert (await sdk.archive_contract(key))["archived"] is True
            with pytest.raises(NotFoundError):
                await sdk.contract(f"{key}_missing")
        async with AsyncClient(server.url, "nope") as stranger:
            with pytest.raises(AuthenticationError):
                await stranger.contract(key)

    asyncio.run(run())
