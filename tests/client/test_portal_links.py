"""The SDK's portal-link calls against the real server, sync and async: a link created (its
URL once, its token opening the customer's pages), listed (never the token), revoked (its
token then opens nothing); admin keys only; bad input named; creation is not resent once
the server may have acted."""

from __future__ import annotations

import asyncio
import concurrent.futures
import uuid

import httpx
import pytest

from earnest.app import Earnest
from earnest.client import (
    AsyncClient,
    Client,
    NotFoundError,
    PermissionDeniedError,
    ServerError,
    ValidationError,
)
from tests.client.conftest import Server


def _customer(server: Server) -> str:
    """A new customer (no SDK call creates one but a signal)."""
    ident = f"cust_{uuid.uuid4().hex[:8]}"
    response = httpx.put(
        f"{server.url}/v1/customers/{ident}",
        json={"name": "Acme"},
        headers={"Authorization": f"Bearer {server.keys['admin']}"},
    )
    assert response.status_code == 201, response.text
    return ident


def _opens(server: Server, url: str) -> bool:
    """Whether the link's token opens its customer's pages (this server has no dashboard)."""
    return Earnest(server.db).portal.open(url.rsplit("/portal/", 1)[1]) is not None


def test_portal_link_calls(server: Server, client: Client) -> None:
    customer = _customer(server)
    created = client.create_portal_link(customer, expires_in="7d")
    assert created["url"].startswith(f"{server.url}/portal/")
    assert (created["customer"], created["state"], created["revoked_at"]) == (
        customer, "live", None,
    )  # fmt: skip
    assert _opens(server, created["url"])
    [listed] = list(client.portal_links(customer, limit=1))
    assert listed == {k: v for k, v in created.items() if k != "url"}
    revoked = client.revoke_portal_link(customer, created["id"])
    assert revoked["state"] == "revoked"
    assert revoked["revoked_at"] is not None
    assert not _opens(server, created["url"])


def test_portal_link_refusals(server: Server, client: Client) -> None:
    customer = _customer(server)
    with pytest.raises(ValidationError) as bad:
        client.create_portal_link(customer, expires_in="forever")
    assert bad.value.field == "expires_in"
    with pytest.raises(NotFoundError) as unknown:
        client.create_portal_link(f"nobody_{uuid.uuid4().hex[:8]}")
    assert unknown.value.code == "unknown_customer"
    with pytest.raises(NotFoundError) as no_link:
        client.revoke_portal_link(customer, "pl_0000000000000000")
    assert no_link.value.code == "unknown_portal_link"
    with server.client("read") as reader, pytest.raises(PermissionDeniedError):
        list(reader.portal_links(customer))
    with pytest.raises(TypeError):
        client.create_portal_link(customer, expires_in=1.5)  # type: ignore[arg-type]
    assert list(client.portal_links(customer)) == []


def test_the_async_client(server: Server) -> None:
    async def run() -> None:
        async with AsyncClient(server.url, server.keys["admin"]) as sdk:
            customer = _customer(server)
            created = await sdk.create_portal_link(customer, expires_in=3600)
            assert created["url"].startswith(f"{server.url}/portal/")
            listed = [link async for link in sdk.portal_links(customer)]
            assert [link["id"] for link in listed] == [created["id"]]
            revoked = await sdk.revoke_portal_link(customer, created["id"])
            assert revoked["state"] == "revoked"

    # On a thread of its own: another module's Playwright may hold this thread's loop.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result(timeout=60)


def test_creation_is_not_resent_after_a_server_error(server: Server) -> None:
    sent = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(503, json={"error": {"code": "x", "message": "down", "field": None}})

    with (
        Client(server.url, "key", transport=httpx.MockTransport(answer), backoff_s=0) as sdk,
        pytest.raises(ServerError),
    ):
        sdk.create_portal_link("acme")
    assert len(sent) == 1
