"""The SDK's webhook calls against the real server, sync and async: endpoints added (the
secret verifying real deliveries on a loopback receiver), read, changed, rotated, removed;
deliveries with their tries, a hand retry; the two calls that answer a secret once are not
resent once the server may have acted."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest

from earnest.client import (
    AsyncClient,
    Client,
    ConflictError,
    NewWebhook,
    NotFoundError,
    PermissionDeniedError,
    ServerError,
    TransportError,
    ValidationError,
)
from earnest.clock import utc_now
from earnest.service.delivery import Sender, WebhookDelivery
from tests.client.conftest import Server
from tests.client.test_billing import confirmed
from tests.service.receiver import Receiver
from tests.service.test_webhooks import Clock, deliver_all


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


def deliver(server: Server) -> None:
    """What ``earnest serve`` does in the background: send every due delivery."""
    clock = Clock(utc_now())  # the receiver checks timestamps against the real clock
    sender = Sender(server.db, clock=clock)
    try:
        deliver_all(WebhookDelivery(server.db, sender, clock=clock), clock)
    finally:
        sender.close()


def test_webhook_calls(server: Server, client: Client, landing: str, receiver: Receiver) -> None:
    added = client.add_webhook(
        receiver.url, events=["outcome.confirmed", "charge.booked"], description="CRM"
    )
    ident, secret = added["id"], added["secret"]
    assert secret.startswith("whsec_")
    assert (added["events"], added["description"], added["enabled"]) == (
        ["outcome.confirmed", "charge.booked"], "CRM", True,
    )  # fmt: skip
    assert "secret" not in client.webhook(ident)
    assert client.webhook(ident) == {k: v for k, v in added.items() if k != "secret"}
    assert ident in [w["id"] for w in client.webhooks()]

    receiver.secrets = [secret]
    ref = confirmed(server, client, landing, f"cust_{uuid.uuid4().hex[:8]}")
    deliver(server)
    received = receiver.wait_for(2)
    assert all(r.verified for r in received)  # the secret the SDK got signs them
    assert {r.event["type"] for r in received} == {"outcome.confirmed", "charge.booked"}
    assert {r.event["data"]["outcome"] for r in received} == {ref}

    deliveries = list(client.deliveries(ident, limit=1))  # every page followed
    assert [d["event_type"] for d in deliveries] == ["charge.booked", "outcome.confirmed"]
    assert {r.headers["webhook-id"] for r in received} == {d["event_id"] for d in deliveries}
    for d in deliveries:
        assert (d["state"], d["attempts"], d["next_at"]) == ("delivered", 1, None)
        [attempt] = d["tries"]
        assert (attempt["status"], attempt["error"]) == (200, None)
        assert attempt["duration_ms"] >= 0
    with pytest.raises(ConflictError) as delivered:
        client.retry_delivery(ident, deliveries[0]["id"])
    assert (delivered.value.code, delivered.value.field) == ("not_retryable", "delivery")
    with pytest.raises(NotFoundError) as unknown:
        client.retry_delivery(ident, 10**12)
    assert unknown.value.code == "unknown_delivery"
    with pytest.raises(TypeError):
        client.retry_delivery(ident, "1")  # type: ignore[arg-type]

    paused = client.update_webhook(ident, enabled=False, events=None)
    assert (paused["enabled"], paused["events"], paused["description"]) == (False, None, "CRM")
    assert client.update_webhook(ident, description=None)["description"] is None
    assert client.update_webhook(ident)["enabled"] is False  # nothing named, nothing changed
    with pytest.raises(ValidationError) as bad:
        client.update_webhook(ident, url="mailto:ops@example.com")
    assert (bad.value.code, bad.value.field) == ("invalid_field", "url")

    rotated = client.rotate_webhook_secret(ident)
    assert rotated["secret"].startswith("whsec_")
    assert rotated["secret"] != secret
    assert rotated["previous_secret_until"] is not None

    client.remove_webhook(ident)
    with pytest.raises(NotFoundError) as gone:
        client.webhook(ident)
    assert (gone.value.code, gone.value.field) == ("unknown_webhook", "id")
    with pytest.raises(NotFoundError):
        client.remove_webhook(ident)
    assert ident not in [w["id"] for w in client.webhooks()]


def test_refusals(server: Server, client: Client) -> None:
    with pytest.raises(ValidationError) as scheme:
        client.add_webhook("ftp://crm.example/hook")
    assert (scheme.value.code, scheme.value.field) == ("invalid_field", "url")
    with pytest.raises(ValidationError) as kind:
        client.add_webhook("https://crm.example/hook", events=["outcome.exploded"])  # type: ignore[list-item]
    assert kind.value.field == "events"
    with pytest.raises(TypeError):
        client.add_webhook("https://crm.example/hook", events="charge.booked")  # type: ignore[arg-type]
    with server.client("read") as reader, pytest.raises(PermissionDeniedError):
        reader.webhooks()
    with pytest.raises(NotFoundError):
        list(client.deliveries("we_nope"))


def test_async_webhook_calls(server: Server, client: Client, landing: str) -> None:
    async def run() -> None:
        async with AsyncClient(server.url, server.keys["admin"]) as sdk:
            added = await sdk.add_webhook("https://crm.example/hook")
            ident = added["id"]
            assert added["events"] is None
            assert (await sdk.webhook(ident))["url"] == "https://crm.example/hook"
            assert ident in [w["id"] for w in await sdk.webhooks()]
            changed = await sdk.update_webhook(ident, events=["invoice.finalized"])
            assert changed["events"] == ["invoice.finalized"]
            await sdk.update_webhook(ident, events=None)
            ref = confirmed(server, client, landing, f"cust_{uuid.uuid4().hex[:8]}")
            pending = [d async for d in sdk.deliveries(ident, limit=1)]
            assert [(d["event_type"], d["state"]) for d in pending] == [
                ("charge.booked", "pending"), ("outcome.confirmed", "pending"),
            ]  # fmt: skip
            retried = await sdk.retry_delivery(ident, pending[1]["id"])
            assert (retried["id"], retried["state"]) == (pending[1]["id"], "pending")
            rotated = await sdk.rotate_webhook_secret(ident)
            assert rotated["secret"] != added["secret"]
            await sdk.remove_webhook(ident)
            with pytest.raises(NotFoundError):
                await sdk.webhook(ident)
            assert ref

    asyncio.run(run())


# Retries ------------------------------------------------------------------------------------

NEW = {"id": "we_1", "url": "https://crm.example/hook", "events": None, "description": None,
       "enabled": True, "disabled_reason": None, "previous_secret_until": None,
       "created_at": "2026-11-23T10:00:00Z", "secret": "whsec_x"}  # fmt: skip


def scripted(*answers: httpx.Response | Exception) -> tuple[Client, list[httpx.Request]]:
    requests: list[httpx.Request] = []
    queue = list(answers)

    def handle(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    sdk = Client("http://earnest.test", "k", transport=httpx.MockTransport(handle))
    sdk._sleep = lambda _: None
    return sdk, requests


def unavailable() -> httpx.Response:
    return httpx.Response(503, json={"error": {"code": "x", "message": "x", "field": None}})


def test_adding_and_rotating_are_not_resent_once_the_server_may_have_acted() -> None:
    once: list[Callable[[Client], NewWebhook]] = [
        lambda sdk: sdk.add_webhook("https://crm.example/hook"),
        lambda sdk: sdk.rotate_webhook_secret("we_1"),
    ]
    for call in once:
        sdk, requests = scripted(unavailable())
        with pytest.raises(ServerError):
            call(sdk)
        assert len(requests) == 1
        sdk, requests = scripted(httpx.ReadTimeout("lost"))
        with pytest.raises(TransportError):
            call(sdk)
        assert len(requests) == 1
        # Never connected, or refused before anything was done: resent.
        sdk, requests = scripted(
            httpx.ConnectError("refused"),
            httpx.Response(429, json={"error": {"code": "x", "message": "x", "field": None}}),
            httpx.Response(201, json=NEW),
        )
        assert call(sdk)["secret"] == "whsec_x"
        assert len(requests) == 3
    # Every other webhook call is idempotent: resent after a 503 as the rest of the SDK is.
    sdk, requests = scripted(unavailable(), httpx.Response(200, json=NEW))
    assert sdk.update_webhook("we_1", enabled=True)["id"] == "we_1"
    assert [json.loads(r.content) for r in requests] == [{"enabled": True}] * 2
    assert requests[0].method == "PATCH"
