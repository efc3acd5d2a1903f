"""Errors always in one shape; 400/404/405/413/422; never a 5xx for any input."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from typing import Any

import pytest
from litestar import Litestar

from earnest.api import create_app
from earnest.app import Earnest
from tests.api.conftest import Api
from tests.api.test_auth import ENDPOINTS

MIB = 1024 * 1024
BODY_ENDPOINTS = [(m, p) for m, p, body, _ in ENDPOINTS if body is not None]


def assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert {"code", "message", "field"} <= set(body["error"])
    assert body["error"]["code"] == code


def test_unknown_route_and_wrong_method(api: Api) -> None:
    assert_error(api.client.get("/nope"), 404, "not_found")
    assert_error(api.get("/v1/nothing/here"), 404, "not_found")
    assert_error(api.client.delete("/v1/signals", headers=api.headers()), 405, "method_not_allowed")
    assert_error(api.client.get("/v1/signals", headers=api.headers()), 405, "method_not_allowed")
    assert_error(api.client.post("/healthz"), 405, "method_not_allowed")


@pytest.mark.parametrize(("method", "path"), BODY_ENDPOINTS)
@pytest.mark.parametrize(
    "raw",
    [b"", b"{", b'{"a": NaN}', b'{"a": 1, "a": 2}', b"\xff\xfe", b"[" * 100_000, b'"\\ud800"',
     b"{} {}", b"Infinity"],
)  # fmt: skip
def test_malformed_json_is_400(api: Api, method: str, path: str, raw: bytes) -> None:
    api.landing()
    response = api.client.request(method, path, content=raw, headers=api.headers())
    assert_error(response, 400, "malformed_json")


def test_malformed_json_message_names_line_and_column(api: Api) -> None:
    response = api.client.post(
        "/v1/signals", content=b'{\n  "contract": "x",\n  "signal": }', headers=api.headers()
    )
    assert_error(response, 400, "malformed_json")
    assert "line 3, column 13" in response.json()["error"]["message"]


async def asgi(app: Litestar, headers: list[tuple[bytes, bytes]], chunks: list[bytes]) -> Any:
    """Call the app directly, counting how much of the body it read."""
    sent: list[dict[str, Any]] = []
    reads = 0

    async def receive() -> dict[str, Any]:
        nonlocal reads
        reads += 1
        if reads <= len(chunks):
            return {"type": "http.request", "body": chunks[reads - 1],
                    "more_body": reads < len(chunks)}  # fmt: skip
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/v1/signals/batch", "raw_path": b"/v1/signals/batch",
        "query_string": b"", "root_path": "", "headers": headers, "client": ("1.2.3.4", 1),
        "server": ("test", 80), "state": {},
    }  # fmt: skip
    try:
        await app(scope, receive, send)  # type: ignore[arg-type]
    finally:
        app.state.earnest.close()  # its writer and store threads
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, json.loads(body), reads


def test_body_too_large_from_content_length_before_reading(api: Api) -> None:
    app = create_app(Earnest(api.db, clock=api.clock))
    auth = ("Bearer " + api.keys["ingest"]).encode()
    headers = [(b"authorization", auth), (b"content-length", str(16 * MIB + 1).encode())]
    status, body, reads = asyncio.run(asgi(app, headers, [b"{}"]))
    assert status == 413
    assert body["error"]["code"] == "body_too_large"
    assert reads == 0


def test_chunked_body_over_the_limit_is_413_while_reading(api: Api) -> None:
    app = create_app(Earnest(api.db, clock=api.clock))
    auth = ("Bearer " + api.keys["ingest"]).encode()
    chunks = [b" " * MIB] * 20
    status, body, reads = asyncio.run(asgi(app, [(b"authorization", auth)], chunks))
    assert status == 413
    assert body["error"]["code"] == "body_too_large"
    assert reads <= 17


def test_a_body_of_exactly_the_limit_is_read(api: Api) -> None:
    padding = b" " * (16 * MIB - 20)
    body = b'{"signals": []}' + padding
    response = api.client.post("/v1/signals/batch", content=body, headers=api.headers("ingest"))
    assert response.status_code == 200
    assert response.json()["accepted"] == 0


def test_an_unexpected_error_is_a_logged_500_in_the_error_shape(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("earnest.service.signals.ingest", broken)
    with caplog.at_level(logging.ERROR, logger="earnest.api"):
        response = api.post("/v1/signals/batch", {"signals": []}, scope="ingest")
    assert_error(response, 500, "internal_error")
    assert "disk on fire" not in response.text
    assert any("unhandled error" in r.message for r in caplog.records)


def _junk(rng: random.Random) -> bytes:
    choices: list[Any] = [
        rng.randbytes(rng.randint(0, 64)),
        json.dumps(rng.choice([None, 1, "x", [], {}, [{}], {"signals": [None, 1, "x"]}])),
        json.dumps({"contract": "landing", "outcome": "o", "customer": "c", "signal": "s",
                    "value": rng.choice([1e308, -0.0, "x" * 2000, True, None, [], {}])}),
        b'{"value": 1e999999999, "contract": "landing", "outcome": "o", "signal": "s"}',
        b'{"signals": [{"contract": "landing", "outcome": "big", "customer": "c", "signal": "s",'
        b' "value": 1e99999999999999999999}]}',
        b'{"scope": "read", "name": "\\u0000"}',
        b'{"contract": "landing", "outcome": "o\\u0000", "customer": "c", "signal": "s"}',
        b'{"signals": [{"contract": "landing", "outcome": "\\u0000", "signal": "s"}]}',
        b'{"contract": "landing", "outcome": "n", "customer": "\\u0000"}',
        b'{"name": "\\u0000", "email": "a@b\\u0000"}',
        b'{"billing_day": 1e999999999}',
        b'{"decision": "confirm", "reason": "\\ud83d\\ude00"}',
        b"conditions: [\n  - a\nprice: {amount: 1e400, currency: USD}\nactive_for: 9e99",
        b"!!python/object:os.system {}",
        b"&a [*a]",
    ]  # fmt: skip
    pick = rng.choice(choices)
    return pick if isinstance(pick, bytes) else pick.encode()


def test_no_input_ever_gets_a_5xx(api_any: Api) -> None:
    """Random bodies, content types, paths and queries on every endpoint, on both stores."""
    api = api_any
    api.landing()
    api.post("/v1/signals", {"contract": "landing", "outcome": "o", "customer": "acme",
                             "signal": "s"}, scope="ingest")  # fmt: skip
    rng = random.Random(8)
    paths = [p for _, p, _, _ in ENDPOINTS] + [
        "/v1/outcomes/landing/%00", "/v1/outcomes/%ZZ/x", "/v1/outcomes/landing/o/%2e%2e",
        "/v1/contracts/" + "k" * 5000, "/v1/keys/%FF", "/v1/customers/%C3%28",
        "/v1/outcomes?limit=99999999999999999999", "/v1/outcomes?cursor=%00%01",
        "/v1/outcomes?contested=&state=", "/v1/contracts/x/versions/99999999999999999999",
        "/v1/customers?cursor=" + "A" * 3000, "/v1/outcomes/landing/" + "%41" * 3000,
        "/v1/outcomes?contract=%00", "/v1/contracts/%00", "/v1/keys/%00", "/v1/customers/%00",
        "/v1/contracts/landing/versions/%00", "/v1/outcomes/landing/o/%00",
    ]  # fmt: skip
    types = ["application/json", "application/yaml", "text/plain", "", "multipart/form-data"]
    for _ in range(600):
        method = rng.choice(["GET", "POST", "PUT", "DELETE", "PATCH"])
        path = rng.choice(paths)
        headers = {**api.headers(), "Content-Type": rng.choice(types)}
        response = api.client.request(method, path, content=_junk(rng), headers=headers)
        assert response.status_code < 500, (method, path, response.text)
        assert "error" in response.json() or response.status_code < 300


def test_nul_in_a_stored_field_is_refused_by_name(api_any: Api) -> None:
    api = api_any
    api.landing()
    single = api.post("/v1/signals", {"contract": "landing", "outcome": "a\x00", "customer": "c",
                                      "signal": "s"}, scope="ingest")  # fmt: skip
    assert_error(single, 422, "invalid_signal")
    assert single.json()["error"]["field"] == "outcome"
    batch = api.post(
        "/v1/signals/batch",
        {"signals": [
            {"contract": "landing", "outcome": "ok", "customer": "c", "signal": "s"},
            {"contract": "landing", "outcome": "bad", "customer": "c\x00", "signal": "s"},
            {"contract": "landing", "outcome": "ok2", "customer": "c", "signal": "s"},
        ]},
        scope="ingest",
    )  # fmt: skip
    body = batch.json()
    assert [r["status"] for r in body["results"]] == ["accepted", "rejected", "accepted"]
    assert [r["index"] for r in body["results"]] == [0, 1, 2]
    assert body["results"][1]["error"]["field"] == "customer"
    assert api.put("/v1/customers/c", {"name": "x\x00"}).json()["error"]["field"] == "name"
    assert api.get("/v1/outcomes/landing/%00").status_code == 404
    assert api.get("/v1/outcomes?customer=%00").json()["error"]["field"] == "customer"
