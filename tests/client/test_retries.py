"""Retries: the client's own policy (mock transport), and a lost answer through a real proxy."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime

import httpx
import pytest

from earnest.client import (
    AsyncClient,
    Client,
    RateLimitError,
    ServerError,
    TransportError,
    ValidationError,
    uuid7,
)
from earnest.client._calls import backoff_s, retry_after_s
from tests.client.conftest import Server
from tests.client.proxy import DroppingProxy

OK = {"duplicate": False, "signal": {}, "outcome": {}}


class Script:
    """A mock server answering from a list, recording every request body."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.bodies: list[dict[str, object]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(json.loads(request.content))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def error(status: int, code: str, headers: dict[str, str] | None = None) -> httpx.Response:
    body = {"error": {"code": code, "message": code, "field": None}}
    return httpx.Response(status, json=body, headers=headers)


def mocked(script: Script, max_retries: int = 4) -> tuple[Client, list[float]]:
    sdk = Client("http://earnest.test", "k", transport=httpx.MockTransport(script),
                 max_retries=max_retries, backoff_s=0.5)  # fmt: skip
    pauses: list[float] = []
    sdk._sleep = pauses.append
    return sdk, pauses


def test_503_then_success_retries_with_the_same_id() -> None:
    script = Script(
        error(503, "unavailable"), error(502, "bad_gateway"), httpx.Response(200, json=OK)
    )
    sdk, pauses = mocked(script)
    assert sdk.signal("c", "o", "s", customer="acme") == OK
    assert len(script.bodies) == 3
    assert len({b["id"] for b in script.bodies}) == 1
    assert len(pauses) == 2
    assert 0 <= pauses[0] <= 0.5
    assert 0 <= pauses[1] <= 1.0  # full jitter over base·2^attempt


def test_429_honours_retry_after() -> None:
    script = Script(error(429, "rate_limited", {"Retry-After": "3"}), httpx.Response(200, json=OK))
    sdk, pauses = mocked(script)
    sdk.signal("c", "o", "s")
    assert pauses == [3.0]


def test_429_gives_up_after_max_retries() -> None:
    script = Script(*[error(429, "rate_limited", {"Retry-After": "0"})] * 3)
    sdk, pauses = mocked(script, max_retries=2)
    with pytest.raises(RateLimitError) as caught:
        sdk.signal("c", "o", "s")
    assert caught.value.status == 429
    assert len(script.bodies) == 3
    assert pauses == [0.0, 0.0]


def test_500_gives_up_as_server_error() -> None:
    script = Script(*[httpx.Response(500, text="<html>oops</html>")] * 2)
    sdk, _ = mocked(script, max_retries=1)
    with pytest.raises(ServerError) as caught:
        sdk.signal("c", "o", "s")
    assert (caught.value.status, caught.value.code) == (500, "http_500")


def test_422_is_never_retried() -> None:
    script = Script(error(422, "invalid_field"), httpx.Response(200, json=OK))
    sdk, pauses = mocked(script)
    with pytest.raises(ValidationError):
        sdk.signal("c", "o", "s")
    assert (len(script.bodies), pauses) == (1, [])


def test_connection_errors_become_transport_error_after_retries() -> None:
    script = Script(*[httpx.ConnectError("refused")] * 3)
    sdk, pauses = mocked(script, max_retries=2)
    with pytest.raises(TransportError) as caught:
        sdk.signals([{"contract": "c", "outcome": "o", "signal": "s"}])
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert len(pauses) == 2
    ids = {b["signals"][0]["id"] for b in script.bodies}  # type: ignore[index]
    assert len(ids) == 1


def test_async_client_retries_the_same_way() -> None:
    script = Script(httpx.ReadTimeout("slow"), error(503, "x"), httpx.Response(200, json=OK))

    async def run() -> list[float]:
        sdk = AsyncClient("http://earnest.test", "k", transport=httpx.MockTransport(script))
        pauses: list[float] = []

        async def sleep(seconds: float) -> None:
            pauses.append(seconds)

        sdk._sleep = sleep
        async with sdk:
            assert await sdk.signal("c", "o", "s") == OK
        return pauses

    assert len(asyncio.run(run())) == 2
    assert len({b["id"] for b in script.bodies}) == 1


def test_backoff_and_retry_after() -> None:
    assert backoff_s(3, 0.2, rand=lambda: 1.0) == pytest.approx(1.6)
    assert backoff_s(3, 0.2, rand=lambda: 0.0) == 0.0
    assert backoff_s(30, 1.0, rand=lambda: 1.0) == 30.0  # capped
    assert backoff_s(0, 0.2, "7") == 7.0
    now = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    assert retry_after_s("Mon, 23 Nov 2026 10:00:05 GMT", now) == 5.0
    assert retry_after_s("soon") is None
    assert retry_after_s("99999") == 60.0


def test_uuid7_layout() -> None:
    made = uuid7(now_ms=0x0123456789AB, random_bytes=bytes(range(1, 11)))
    assert made.version == 7
    assert made.variant == uuid.RFC_4122
    assert made.int >> 80 == 0x0123456789AB
    ids = [uuid7() for _ in range(50)]
    assert len(set(ids)) == 50
    assert all(i.version == 7 for i in ids)
    assert abs((ids[0].int >> 80) - datetime.now(UTC).timestamp() * 1000) < 5000


# A lost answer through a real proxy and a real server -------------------------------------


def signal_entries(sdk: Client, contract: str, reference: str) -> int:
    return [e["kind"] for e in sdk.history(contract, reference)].count("signal")


def test_a_retry_after_a_lost_answer_applies_once(server: Server, landing: str) -> None:
    proxy = DroppingProxy(server.port)
    reference = f"lost/{uuid.uuid4().hex[:8]}"
    try:
        with server.client(url=f"http://127.0.0.1:{proxy.port}") as sdk:
            proxy.drop_next()
            result = sdk.signal(landing, reference, "completed", customer="acme")
            assert len(proxy.lost) == 1
            assert proxy.lost[0].startswith(b"HTTP/1.1 200")  # the first attempt committed
            assert result["duplicate"] is True  # the retry was recognised, not re-applied
            assert signal_entries(sdk, landing, reference) == 1
            assert sdk.outcome(landing, reference)["values"] == {"completed": True}
    finally:
        proxy.close()


def test_async_retry_after_a_lost_answer_applies_once(server: Server, landing: str) -> None:
    proxy = DroppingProxy(server.port)
    reference = f"lost async/{uuid.uuid4().hex[:8]}"

    async def run() -> bool:
        async with AsyncClient(f"http://127.0.0.1:{proxy.port}", server.keys["admin"],
                               backoff_s=0.01) as sdk:  # fmt: skip
            proxy.drop_next()
            sent = await sdk.signal(landing, reference, "score", 5, customer="acme")
            history = await sdk.history(landing, reference)
            assert [e["kind"] for e in history].count("signal") == 1
            return sent["duplicate"]

    try:
        assert asyncio.run(run()) is True
        assert len(proxy.lost) == 1
    finally:
        proxy.close()
