"""``/v1/webhooks`` on SQLite and PostgreSQL: endpoints created with their secret shown once,
listed, read, changed, rotated and removed; deliveries listed newest first with every try and
retried by hand; bad input refused naming the field, storing nothing."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import pytest
from standardwebhooks import Webhook

from earnest.service.signing import headers
from earnest.store.webhooks import record_attempt, update_endpoint
from tests.api.conftest import Api

URL = "https://crm.example.com/hooks/earnest"


def create(api: Api, **body: Any) -> dict[str, Any]:
    response = api.post("/v1/webhooks", {"url": URL, **body})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def confirmed(api: Api, ref: str) -> None:
    """An outcome of acme, confirmed by hand: outcome.confirmed and charge.booked."""
    opened = api.post("/v1/outcomes", {"contract": "landing", "outcome": ref, "customer": "acme"})
    assert opened.status_code == 201, opened.text
    settle = {"decision": "confirm", "reason": "by hand"}
    settled = api.post(f"/v1/outcomes/landing/{quote(ref, safe='')}/settle", settle)
    assert settled.status_code == 200, settled.text


def webhook_activity(api: Api) -> list[dict[str, Any]]:
    items = api.get("/v1/activity?limit=1000").json()["items"]
    return [e for e in items if e["action"].startswith("webhook.")]


def test_endpoints_are_created_read_changed_rotated_and_removed(api_any: Api) -> None:
    api = api_any
    created = create(api, events=["charge.booked", "outcome.confirmed"], description="CRM")
    secret = created.pop("secret")
    assert secret.startswith("whsec_")
    assert created == {
        "id": created["id"],
        "url": URL,
        "events": ["charge.booked", "outcome.confirmed"],
        "description": "CRM",
        "enabled": True,
        "disabled_reason": None,
        "previous_secret_until": None,
        "created_at": "2026-11-23T10:00:00Z",
    }
    ident = created["id"]
    # The secret works: a body signed with it verifies with the independent library.
    signed = headers("evt_1", int(time.time()), b"{}", [secret])
    Webhook(secret).verify(b"{}", signed)  # raises when it does not verify

    api.clock.advance(seconds=1)
    every = create(api)
    assert every["events"] is None
    assert every["description"] is None
    listed = api.get("/v1/webhooks")
    assert listed.status_code == 200
    del every["secret"]
    assert listed.json() == {"items": [created, every], "next_cursor": None}
    assert api.get(f"/v1/webhooks/{ident}").json() == created

    changed = api.client.patch(
        f"/v1/webhooks/{ident}",
        json={"events": None, "description": None, "url": "http://10.0.0.7:8080/in"},
        headers=api.headers(),
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["events"], changed.json()["description"]) == (None, None)
    assert changed.json()["url"] == "http://10.0.0.7:8080/in"
    paused = api.client.patch(f"/v1/webhooks/{ident}", json={"enabled": False},
                              headers=api.headers())  # fmt: skip
    assert paused.json()["enabled"] is False

    api.clock.advance(hours=1)
    rotated = api.post(f"/v1/webhooks/{ident}/rotate-secret")
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["secret"]
    assert new_secret.startswith("whsec_")
    assert new_secret != secret
    assert rotated.json()["previous_secret_until"] == "2026-11-24T11:00:01Z"

    # No answer but creation and rotation holds a secret; nor does the activity log.
    for path in ("/v1/webhooks", f"/v1/webhooks/{ident}", "/v1/activity?limit=1000"):
        text = api.get(path).text
        assert secret not in text
        assert new_secret not in text
        assert "whsec_" not in text
    assert [e["action"] for e in webhook_activity(api)] == [
        "webhook.secret_rotated", "webhook.updated", "webhook.updated", "webhook.created",
        "webhook.created",
    ]  # fmt: skip

    removed = api.delete(f"/v1/webhooks/{ident}")
    assert removed.status_code == 204
    assert removed.content == b""
    assert api.get(f"/v1/webhooks/{ident}").status_code == 404
    assert [i["id"] for i in api.get("/v1/webhooks").json()["items"]] == [every["id"]]
    again = api.delete(f"/v1/webhooks/{ident}")
    assert (again.status_code, again.json()["error"]["code"]) == (404, "unknown_webhook")


def test_the_list_is_oldest_first_and_never_holds_a_secret(api: Api) -> None:
    ids = []
    for n in range(3):
        api.clock.advance(seconds=1)
        ids.append(create(api, description=f"n{n}")["id"])
    body = api.get("/v1/webhooks").json()
    assert [i["id"] for i in body["items"]] == ids
    assert body["next_cursor"] is None
    assert all("secret" not in item for item in body["items"])


def test_enabling_clears_the_reason_a_410_disabled_it(api: Api) -> None:
    ident = create(api)["id"]
    with api.db.write() as tx:  # what a 410 answer does (tests/service/test_webhooks.py)
        update_endpoint(tx, ident, {"enabled": False, "disabled_reason": "410 Gone"})
    assert api.get(f"/v1/webhooks/{ident}").json()["disabled_reason"] == "410 Gone"
    enabled = api.client.patch(f"/v1/webhooks/{ident}", json={"enabled": True},
                               headers=api.headers())  # fmt: skip
    assert (enabled.json()["enabled"], enabled.json()["disabled_reason"]) == (True, None)


def test_deliveries_newest_first_with_every_try_and_a_hand_retry(api_any: Api) -> None:
    api = api_any
    api.landing()
    ident = create(api)["id"]
    other = create(api, events=["invoice.finalized"])["id"]
    confirmed(api, "acme/api#1")
    api.clock.advance(seconds=1)
    confirmed(api, "acme/api#2")
    page = api.get(f"/v1/webhooks/{ident}/deliveries").json()
    assert page["next_cursor"] is None
    items = page["items"]
    assert [(d["event_type"], d["state"], d["attempts"]) for d in items] == [
        ("charge.booked", "pending", 0), ("outcome.confirmed", "pending", 0),
        ("charge.booked", "pending", 0), ("outcome.confirmed", "pending", 0),
    ]  # fmt: skip
    assert [d["id"] for d in items] == sorted((d["id"] for d in items), reverse=True)
    newest = items[0]
    assert newest["event_id"].startswith("evt_")
    assert (newest["next_at"], newest["created_at"]) == ("2026-11-23T10:00:01Z",) * 2
    assert (newest["finished_at"], newest["tries"]) == (None, [])
    assert api.get(f"/v1/webhooks/{other}/deliveries").json()["items"] == []

    # Pages of one, following the cursor, give the same deliveries.
    seen, cursor = [], None
    while True:
        query = "?limit=1" + (f"&cursor={cursor}" if cursor else "")
        body = api.get(f"/v1/webhooks/{ident}/deliveries{query}").json()
        seen += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == items

    # One delivered, one failed for good (as the sender records them).
    delivered, failed = items[0]["id"], items[1]["id"]
    with api.db.write() as tx:
        record_attempt(tx, delivered, at=api.clock.now, status=200, duration_ms=12, error=None,
                       response="ok", state="delivered", next_at=None)  # fmt: skip
        record_attempt(tx, failed, at=api.clock.now, status=503, duration_ms=40,
                       error="answered 503", response="busy", state="failed",
                       next_at=None)  # fmt: skip
    items = api.get(f"/v1/webhooks/{ident}/deliveries").json()["items"]
    assert items[0]["tries"] == [{"at": "2026-11-23T10:00:01Z", "status": 200, "duration_ms": 12,
                                  "error": None, "response": "ok"}]  # fmt: skip
    assert (items[0]["state"], items[0]["next_at"]) == ("delivered", None)
    assert items[0]["finished_at"] == "2026-11-23T10:00:01Z"
    assert (items[1]["state"], items[1]["attempts"]) == ("failed", 1)

    api.clock.advance(minutes=5)
    retried = api.post(f"/v1/webhooks/{ident}/deliveries/{failed}/retry")
    assert retried.status_code == 200, retried.text
    body = retried.json()
    assert (body["id"], body["state"], body["attempts"]) == (failed, "pending", 1)
    assert (body["next_at"], body["finished_at"]) == ("2026-11-23T10:05:01Z", None)
    assert body["tries"][0]["status"] == 503  # the record of earlier tries stays

    refused = api.post(f"/v1/webhooks/{ident}/deliveries/{delivered}/retry")
    assert refused.status_code == 409
    assert refused.json()["error"] == {
        "code": "not_retryable",
        "message": f"delivery {delivered} was delivered; only a failed or pending one is retried",
        "field": "delivery",
    }
    latest = webhook_activity(api)[0]
    assert (latest["action"], latest["after"]) == (
        "webhook.delivery_retried", {"delivery": failed, "state": "pending"},
    )  # fmt: skip

    # Another endpoint's delivery is not this one's.
    wrong = api.post(f"/v1/webhooks/{other}/deliveries/{failed}/retry")
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (404, "unknown_delivery")


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({}, "url", "invalid_field"),
        ({"url": None}, "url", "invalid_field"),
        ({"url": 5}, "url", "invalid_field"),
        ({"url": ""}, "url", "invalid_field"),
        ({"url": "ftp://x.example/h"}, "url", "invalid_field"),
        ({"url": "crm.example.com/hook"}, "url", "invalid_field"),
        ({"url": "https://"}, "url", "invalid_field"),
        ({"url": "http://[::1"}, "url", "invalid_field"),
        ({"url": "http://a\uff03b/"}, "url", "invalid_field"),
        ({"url": "https://user:pw@x.example/"}, "url", "invalid_field"),
        ({"url": "https://x.example:99999/"}, "url", "invalid_field"),
        ({"url": "https://x.example/" + "a" * 2048}, "url", "invalid_field"),
        ({"url": URL, "events": ["outcome.exploded"]}, "events", "invalid_field"),
        ({"url": URL, "events": []}, "events", "invalid_field"),
        ({"url": URL, "events": "charge.booked"}, "events", "invalid_field"),
        ({"url": URL, "events": [1]}, "events", "invalid_field"),
        ({"url": URL, "events": [["charge.booked"]]}, "events", "invalid_field"),
        ({"url": URL, "description": 5}, "description", "invalid_field"),
        ({"url": URL, "description": "d" * 1001}, "description", "invalid_field"),
        ({"url": URL, "enabled": "yes"}, "enabled", "invalid_field"),
        ({"url": URL, "enabled": None}, "enabled", "invalid_field"),
        ({"url": URL, "enabled": 1}, "enabled", "invalid_field"),
        ({"url": URL, "secret": "whsec_mine"}, "secret", "unknown_field"),
        ({"url": "https://x.example/\x00"}, "url", "invalid_field"),
        ({"url": "https://x.example/a\nb"}, "url", "invalid_field"),
        ({"url": "https://x.example/a\x1bb"}, "url", "invalid_field"),
        ({"url": "https://x.example/a\x7fb"}, "url", "invalid_field"),
        ({"url": "https://x.example/a\x9bb"}, "url", "invalid_field"),
    ],
)
def test_bad_endpoints_are_refused_naming_the_field_and_store_nothing(
    api_any: Api, body: dict[str, Any], field: str, code: str
) -> None:
    api = api_any
    response = api.post("/v1/webhooks", body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == (code, field)
    assert api.get("/v1/webhooks").json()["items"] == []
    assert webhook_activity(api) == []


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"url": "gopher://x"}, "url", "invalid_field"),
        ({"url": None}, "url", "invalid_field"),
        ({"events": ["charge.booked", "nope"]}, "events", "invalid_field"),
        ({"enabled": "false"}, "enabled", "invalid_field"),
        ({"description": ["x"]}, "description", "invalid_field"),
        ({"id": "we_other"}, "id", "unknown_field"),
        ({"disabled_reason": None}, "disabled_reason", "unknown_field"),
    ],
)
def test_bad_changes_are_refused_naming_the_field_and_change_nothing(
    api: Api, body: dict[str, Any], field: str, code: str
) -> None:
    created = create(api)
    del created["secret"]
    ident = created["id"]
    response = api.client.patch(f"/v1/webhooks/{ident}", json=body, headers=api.headers())
    assert response.status_code == 422, response.text
    assert (response.json()["error"]["code"], response.json()["error"]["field"]) == (code, field)
    assert api.get(f"/v1/webhooks/{ident}").json() == created
    assert len(webhook_activity(api)) == 1


def test_bodies_that_are_not_json_objects_are_refused(api: Api) -> None:
    ident = create(api)["id"]
    for method, path in (("POST", "/v1/webhooks"), ("PATCH", f"/v1/webhooks/{ident}")):
        broken = api.client.request(method, path, content=b"{", headers=api.headers())
        assert (broken.status_code, broken.json()["error"]["code"]) == (400, "malformed_json")
        listed = api.client.request(method, path, json=[URL], headers=api.headers())
        assert (listed.status_code, listed.json()["error"]["code"]) == (422, "invalid_body")
    assert len(api.get("/v1/webhooks").json()["items"]) == 1


def test_unknown_ids_are_404_and_bad_delivery_ids_name_the_field(api_any: Api) -> None:
    api = api_any
    ident = create(api)["id"]
    for method, path in (
        ("GET", "/v1/webhooks/we_nope"),
        ("PATCH", "/v1/webhooks/we_nope"),
        ("DELETE", "/v1/webhooks/we_nope"),
        ("POST", "/v1/webhooks/we_nope/rotate-secret"),
        ("GET", "/v1/webhooks/we_nope/deliveries"),
        ("POST", "/v1/webhooks/we_nope/deliveries/1/retry"),
        ("GET", "/v1/webhooks/we%20%C3%A9%23x"),
    ):
        body = {"enabled": False} if method == "PATCH" else None
        response = api.client.request(method, path, json=body, headers=api.headers())
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"] == {
            "code": "unknown_webhook",
            "message": response.json()["error"]["message"],
            "field": "id",
        }
    for delivery, status, code in (
        ("1", 404, "unknown_delivery"),
        ("0", 404, "unknown_delivery"),
        ("9" * 30, 404, "unknown_delivery"),
        ("9223372036854775807", 404, "unknown_delivery"),
        ("abc", 422, "invalid_field"),
        ("-1", 422, "invalid_field"),
        ("1.5", 422, "invalid_field"),
    ):
        response = api.post(f"/v1/webhooks/{ident}/deliveries/{delivery}/retry")
        assert response.status_code == status, (delivery, response.text)
        assert (response.json()["error"]["code"], response.json()["error"]["field"]) == (
            code, "delivery",
        )  # fmt: skip
    for query, field in (("?limit=0", "limit"), ("?cursor=nope", "cursor")):
        response = api.get(f"/v1/webhooks/{ident}/deliveries{query}")
        assert (response.status_code, response.json()["error"]["field"]) == (422, field)
    assert [e["action"] for e in webhook_activity(api)] == ["webhook.created"]
