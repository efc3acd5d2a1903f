"""The webhooks pages over HTTP (SPEC 10 and 11): endpoints listed with how their deliveries
go; adding one shows its secret once and never again; bad input is refused next to its
field with nothing stored; edit, disable, enable, rotate (a new secret shown once), delete
after a confirmation; an endpoint's deliveries paged and filtered, with every attempt; a
retry of a failed delivery, the refusal of a delivered one; the activity log names the user;
planted HTML is shown as text."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from earnest.service.activity import CLI
from tests.web.access_webhooks import add_delivery, add_endpoint
from tests.web.conftest import ADMIN, VIEWER, Web, plans

SECRET = re.compile(r"whsec_[A-Za-z0-9+/=]{40,}")
HOSTILE = '<script>alert(1)</script><b onmouseover="x()">bold</b>'


def post(web: Web, path: str, data: dict[str, Any]) -> httpx.Response:
    return web.client.post(path, data=data, follow_redirects=False)


@pytest.fixture
def admin(web: Web) -> str:
    return web.session(ADMIN).csrf


def add(web: Web, csrf: str, **fields: Any) -> httpx.Response:
    body = {"url": "https://hooks.example.com/in", "every": "all", "description": "CRM"}
    return web.client.post(
        "/webhooks", data={**body, **fields, "csrf_token": csrf}, follow_redirects=False
    )


def only_endpoint(web: Web) -> str:
    [endpoint] = web.app.webhooks.list()
    return endpoint.id


def numbers(page: str, rows: str) -> list[int]:
    """The delivery numbers of a table's body ``rows`` (its id), in order."""
    found = re.search(rf'<tbody id="{rows}">(.*?)</tbody>', page, re.S)
    if found is None:
        return []
    return [int(n) for n in re.findall(r'<tr[^>]*>\s*<td class="num">(\d+)</td>', found.group(1))]


def table_rows(web: Web) -> list[Any]:
    with web.app.db.read() as tx:
        return list(tx.query("SELECT id, url, events, description, enabled FROM webhook_endpoints"))


# Adding an endpoint: the secret once ----------------------------------------------------------


def test_adding_an_endpoint_shows_its_secret_once(web: Web, admin: str) -> None:
    response = add(web, admin, every="some", events=["outcome.confirmed", "credit.booked"])
    assert response.status_code == 201, response.text
    [secret] = SECRET.findall(response.text)
    assert "Copy the secret now" in response.text
    ident = only_endpoint(web)
    endpoint = web.app.webhooks.get(ident)
    assert endpoint.url == "https://hooks.example.com/in"
    assert endpoint.events == ("outcome.confirmed", "credit.booked")
    assert endpoint.description == "CRM"
    assert endpoint.enabled
    for path in ("/webhooks", f"/webhooks/{ident}", f"/webhooks/{ident}/delete", "/activity"):
        page = web.get(path)
        assert page.status_code == 200
        assert secret not in page.text
        assert "whsec_" not in page.text
    entry = web.app.activity.list(limit=1).items[0]
    assert (entry.actor, entry.action, entry.subject) == (ADMIN, "webhook.created", ident)
    assert "whsec_" not in repr(entry)
    listed = web.get("/webhooks").text
    assert "https://hooks.example.com/in" in listed
    assert "outcome.confirmed, credit.booked" in listed


def test_every_event_type_is_the_default(web: Web, admin: str) -> None:
    assert add(web, admin, description="").status_code == 201
    endpoint = web.app.webhooks.get(only_endpoint(web))
    assert endpoint.events is None
    assert endpoint.description is None
    assert "every type" in web.get("/webhooks").text


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"url": "ftp://hooks.example.com"}, "url", "http or https"),
        ({"url": ""}, "url", "url is required"),
        ({"url": "https://user:pw@hooks.example.com"}, "url", "credentials"),
        ({"url": "https://hooks.example.com:99999/x"}, "url", "bad port"),
        ({"url": "https://" + "a" * 2100 + ".com"}, "url", "at most 2048"),
        ({"every": "some", "events": ["outcome.confirmed", "nope.never"]}, "events", "nope.never"),
        ({"every": "some"}, "events", "at least one event type"),
        ({"description": "d" * 1001}, "description", "at most 1000"),
        ({"description": "nul\x00byte"}, "description", "description is a text"),
    ],
)
def test_bad_input_is_refused_next_to_its_field_and_nothing_is_stored(
    web: Web, admin: str, fields: dict[str, Any], field: str, message: str
) -> None:
    response = add(web, admin, **fields)
    assert response.status_code == 422, response.text
    error = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', response.text)
    assert error is not None, response.text
    assert message in error.group(1)
    assert "whsec_" not in response.text
    assert table_rows(web) == []
    assert web.app.activity.list(limit=5).items[0].action != "webhook.created"
    if field == "url" and fields["url"]:  # what was typed is kept, escaped, in the form
        assert 'aria-invalid="true"' in response.text


def test_a_refused_form_keeps_what_was_typed(web: Web, admin: str) -> None:
    response = add(web, admin, url="gopher://x", every="some", events=["dispute.opened"])
    assert response.status_code == 422
    assert 'value="gopher://x"' in response.text
    assert re.search(r'value="dispute.opened" checked', response.text)
    assert not re.search(r'value="charge.booked" checked', response.text)


# One endpoint: edit, disable, enable, rotate, delete ---------------------------------------


@pytest.fixture
def endpoint(web: Web) -> str:
    add_endpoint(web.app, "we_one", "https://hooks.example.com/one")
    return "we_one"


def test_editing_an_endpoint(web: Web, admin: str, endpoint: str) -> None:
    body = {
        "url": "https://hooks.example.com/two",
        "every": "some",
        "events": ["invoice.finalized"],
        "description": "Billing",
        "csrf_token": admin,
    }
    response = post(web, f"/webhooks/{endpoint}", body)
    assert response.status_code == 303
    assert response.headers["location"] == f"/webhooks/{endpoint}?done=saved"
    found = web.app.webhooks.get(endpoint)
    assert (found.url, found.events, found.description) == (
        "https://hooks.example.com/two",
        ("invoice.finalized",),
        "Billing",
    )
    page = web.get(response.headers["location"]).text
    assert "Changes saved." in page
    entry = web.app.activity.list(limit=1).items[0]
    assert (entry.actor, entry.action) == (ADMIN, "webhook.updated")
    assert entry.after is not None
    assert entry.after["url"] == "https://hooks.example.com/two"


def test_a_bad_edit_changes_nothing(web: Web, admin: str, endpoint: str) -> None:
    before = table_rows(web)
    body = {"url": "https://hooks.example.com/x", "every": "some", "events": ["outcome.gone"]}
    response = post(web, f"/webhooks/{endpoint}", {**body, "csrf_token": admin})
    assert response.status_code == 422
    assert 'id="events-error"' in response.text
    assert "outcome.gone" in response.text
    assert 'value="https://hooks.example.com/x"' in response.text  # as typed
    assert table_rows(web) == before


def test_disable_and_enable(web: Web, admin: str, endpoint: str) -> None:
    response = post(web, f"/webhooks/{endpoint}/disable", {"csrf_token": admin})
    assert response.status_code == 303
    assert not web.app.webhooks.get(endpoint).enabled
    page = web.get(response.headers["location"]).text
    assert "The endpoint is disabled" in page
    assert ">Enable</button>" in page
    assert (web.app.activity.list(limit=1).items[0].actor) == ADMIN
    response = post(web, f"/webhooks/{endpoint}/enable", {"csrf_token": admin})
    assert response.status_code == 303
    assert web.app.webhooks.get(endpoint).enabled
    assert ">Disable</button>" in web.get(f"/webhooks/{endpoint}").text


def test_an_endpoint_a_410_disabled_says_why(web: Web, endpoint: str) -> None:
    web.app.webhooks.update(endpoint, {"enabled": False}, actor=CLI)
    with web.app.db.write() as tx:
        tx.execute(
            "UPDATE webhook_endpoints SET disabled_reason = ? WHERE id = ?",
            ("410 Gone at 2026-11-23T10:00:00+00:00", endpoint),
        )
    web.session(VIEWER)
    for path in ("/webhooks", f"/webhooks/{endpoint}"):
        page = web.get(path).text
        assert "disabled" in page
        assert "410 Gone at 2026-11-23T10:00:00+00:00" in page


def test_rotating_shows_the_new_secret_once(web: Web, admin: str, endpoint: str) -> None:
    page = web.get(f"/webhooks/{endpoint}").text
    assert 'name="rotation" value="none"' in page
    form = {"csrf_token": admin, "rotation": "none"}
    response = post(web, f"/webhooks/{endpoint}/rotate-secret", form)
    assert response.status_code == 200
    [secret] = SECRET.findall(response.text)
    assert "Copy the secret now" in response.text
    assert "keeps signing too" in response.text
    found = web.app.webhooks.get(endpoint)
    assert found.previous_until is not None
    page = web.get(f"/webhooks/{endpoint}").text
    assert secret not in page
    assert "Old secret signs until" in page
    assert "A rotation is under way" in page
    mark = re.search(r'name="rotation" value="([^"]+)"', page)
    assert mark is not None
    assert mark.group(1) == "2026-11-24T10:00:00Z"  # the form now names this rotation
    web.clock.advance(hours=24, seconds=1)
    web.session(ADMIN)  # the first one ended, idle for 12 hours
    later = web.get(f"/webhooks/{endpoint}")
    assert later.status_code == 200
    page = later.text
    assert "Rotate secret" in page
    assert "Old secret signs until" not in page
    assert "A rotation is under way" not in page
    entry = web.app.activity.list(limit=1).items[0]
    assert (entry.actor, entry.action) == (ADMIN, "webhook.secret_rotated")
    assert secret not in repr(entry)


def test_a_rotation_sent_twice_rotates_once(web: Web, admin: str, endpoint: str) -> None:
    form = {"csrf_token": admin, "rotation": "none"}
    first = post(web, f"/webhooks/{endpoint}/rotate-secret", form)
    assert first.status_code == 200
    rotated = table_secrets(web)
    again = post(web, f"/webhooks/{endpoint}/rotate-secret", form)  # a reload of the answer
    assert again.status_code == 409
    assert "was it sent twice?" in again.text
    assert "whsec_" not in again.text
    assert table_secrets(web) == rotated  # the old secret still signs beside the first new one
    for sent in ("", "2026-11-24T10:00:00", "x" * 500):
        refused = post(web, f"/webhooks/{endpoint}/rotate-secret", {**form, "rotation": sent})
        assert refused.status_code == 409
    assert table_secrets(web) == rotated
    entries = [e.action for e in web.app.activity.list(limit=3).items]
    assert entries.count("webhook.secret_rotated") == 1


def table_secrets(web: Web) -> list[Any]:
    with web.app.db.read() as tx:
        return list(
            tx.query("SELECT secret, previous_secret, previous_until FROM webhook_endpoints")
        )


def test_delete_asks_first(web: Web, admin: str, endpoint: str) -> None:
    page = web.get(f"/webhooks/{endpoint}").text
    assert f'href="/webhooks/{endpoint}/delete"' in page
    confirm = web.get(f"/webhooks/{endpoint}/delete")
    assert confirm.status_code == 200
    assert "Delete this endpoint?" in confirm.text
    assert web.app.webhooks.get(endpoint)  # asking deletes nothing
    response = post(web, f"/webhooks/{endpoint}/delete", {"csrf_token": admin})
    assert response.status_code == 303
    assert response.headers["location"] == "/webhooks?deleted=1"
    assert web.app.webhooks.list() == []
    assert "The endpoint was deleted" in web.get("/webhooks?deleted=1").text
    assert web.get(f"/webhooks/{endpoint}").status_code == 404
    entry = web.app.activity.list(limit=1).items[0]
    assert (entry.actor, entry.action) == (ADMIN, "webhook.deleted")


@pytest.mark.parametrize(
    "path",
    [
        "/webhooks/we_nope",
        "/webhooks/we_nope/delete",
        "/webhooks/" + "x" * 5000,
        "/webhooks/%00%ff",
    ],
)
def test_an_unknown_endpoint_is_404(web: Web, path: str) -> None:
    web.session(VIEWER)
    response = web.get(path)
    assert response.status_code == 404
    assert "no webhook endpoint" in response.text


@pytest.mark.parametrize("tail", ["", "/enable", "/disable", "/rotate-secret", "/delete"])
def test_changing_an_unknown_endpoint_is_404(web: Web, admin: str, tail: str) -> None:
    body = {"url": "https://x.example", "every": "all", "csrf_token": admin}
    response = post(web, f"/webhooks/we_nope{tail}", body)
    assert response.status_code == 404
    assert table_rows(web) == []


# Deliveries -----------------------------------------------------------------------------------


def test_deliveries_are_paged_newest_first_with_their_attempts(web: Web, endpoint: str) -> None:
    at = web.clock()
    ids = [add_delivery(web.app.db, endpoint, at=at, event=f"evt_{n:03}") for n in range(120)]
    failed = add_delivery(web.app.db, endpoint, at=at, failures=8, state="failed", event="evt_f")
    web.session(VIEWER)
    first = web.get(f"/webhooks/{endpoint}").text
    shown = numbers(first, "delivery-rows")
    assert shown == [failed, *reversed(ids[-49:])]
    assert "8 attempts" in first
    assert "answered <strong>500</strong>" in first
    older = re.search(r'<a href="(/webhooks/we_one\?after=\d+)"', first)
    assert older is not None
    second = web.get(older.group(1).replace("&amp;", "&")).text
    shown = numbers(second, "delivery-rows")
    assert shown == list(reversed(ids[21:71]))
    assert "Newest deliveries" in second
    third = re.search(r'<a href="(/webhooks/we_one\?after=\d+)"', second)
    assert third is not None
    last = web.get(third.group(1)).text
    shown = numbers(last, "delivery-rows")
    assert shown == list(reversed(ids[:21]))
    assert "Older deliveries" not in last


def test_deliveries_filtered_by_state(web: Web, endpoint: str) -> None:
    at = web.clock()
    delivered = add_delivery(web.app.db, endpoint, at=at, state="delivered", event="evt_ok")
    failed = add_delivery(web.app.db, endpoint, at=at, failures=8, state="failed", event="evt_bad")
    retrying = add_delivery(web.app.db, endpoint, at=at, failures=2, event="evt_again")
    waiting = add_delivery(web.app.db, endpoint, at=at, event="evt_new")
    web.session(VIEWER)

    def shown(query: str) -> list[int]:
        page = web.get(f"/webhooks/{endpoint}{query}")
        assert page.status_code == 200
        return numbers(page.text, "delivery-rows")

    assert shown("") == [waiting, retrying, failed, delivered]
    assert shown("?state=failed") == [failed]
    assert shown("?state=retrying") == [retrying]
    page = web.get(f"/webhooks/{endpoint}?state=failed").text
    assert 'aria-current="page">Failed</a>' in page
    assert web.get(f"/webhooks/{endpoint}?state=bogus").status_code == 422
    assert web.get(f"/webhooks/{endpoint}?after=abc").status_code == 422
    assert web.get(f"/webhooks/{endpoint}?after=" + "9" * 40).status_code == 422


def test_the_list_highlights_failing_endpoints_and_lists_their_failures(
    web: Web, endpoint: str
) -> None:
    add_endpoint(web.app, "we_two", "https://hooks.example.com/two")
    at = web.clock()
    failed = add_delivery(web.app.db, endpoint, at=at, failures=8, state="failed", event="evt_1")
    failed_two = add_delivery(
        web.app.db, "we_two", at=at, failures=8, state="failed", event="evt_2"
    )
    retrying = add_delivery(web.app.db, "we_two", at=at, failures=1, error="connection refused")
    add_delivery(web.app.db, endpoint, at=at, state="delivered", event="evt_3")
    web.session(VIEWER)
    page = web.get("/webhooks").text
    assert page.count('class="wh-troubled"') == 2
    assert numbers(page, "trouble-rows") == [failed_two, failed]
    assert "Retry now" not in page  # a viewer gets no form
    retrying_page = web.get("/webhooks?state=retrying").text
    assert numbers(retrying_page, "trouble-rows") == [retrying]
    assert "connection refused" in retrying_page


@pytest.mark.parametrize("state", ["failed", "retrying"])
def test_failures_are_read_through_their_index_only(web: Web, endpoint: str, state: str) -> None:
    """What the pages list of failures never reads the deliveries that went well."""
    add_endpoint(web.app, "we_two", "https://hooks.example.com/two")
    at = web.clock()
    add_delivery(web.app.db, endpoint, at=at, failures=8, state="failed", event="evt_f")
    add_delivery(web.app.db, "we_two", at=at, failures=2, event="evt_r")
    add_delivery(web.app.db, endpoint, at=at, state="delivered", event="evt_ok")
    hooks = web.app.webhooks
    found = {
        **plans(web, lambda: hooks.troubles(state, limit=50)),
        **plans(web, lambda: hooks.deliveries(endpoint, limit=50, state=state)),
        **plans(web, hooks.summaries),
    }
    counted = [p for p in found.values() if "webhook_deliveries_failed" in p]
    assert len(counted) >= 2  # the count, and the list when it is of the failed
    assert [p for p in found.values() if f"webhook_deliveries_{state}" in p]
    for sql, plan in found.items():
        if "webhook_endpoints" not in sql:  # a handful of rows, sorted
            assert "TEMP B-TREE" not in plan, (sql, plan)
        scans = plan.replace("SCAN capped", "").replace("SCAN CONSTANT ROW", "")
        assert not re.search(r"SCAN (d|webhook_deliveries)\b(?! USING)", scans), (sql, plan)
        if "FROM webhook_deliveries" in sql and "endpoint_id" in sql:
            assert "INDEX webhook_deliveries_" in plan, (sql, plan)


# Retry ---------------------------------------------------------------------------------------


def test_retrying_a_failed_delivery(web: Web, admin: str, endpoint: str) -> None:
    failed = add_delivery(web.app.db, endpoint, at=web.clock(), failures=8, state="failed")
    page = web.get(f"/webhooks/{endpoint}").text
    assert f'action="/webhooks/{endpoint}/deliveries/{failed}/retry"' in page
    response = post(web, f"/webhooks/{endpoint}/deliveries/{failed}/retry", {"csrf_token": admin})
    assert response.status_code == 303
    assert response.headers["location"] == (f"/webhooks/{endpoint}?done=retried&delivery={failed}")
    [row] = web.app.webhooks.deliveries(endpoint, limit=5).items
    assert (row.state, row.next_at) == ("pending", web.clock())
    assert (
        f"Delivery {failed} will be sent again now." in web.get(response.headers["location"]).text
    )
    entry = web.app.activity.list(limit=1).items[0]
    assert (entry.actor, entry.action) == (ADMIN, "webhook.delivery_retried")


def test_retrying_from_the_list_goes_back_to_the_list(web: Web, admin: str, endpoint: str) -> None:
    failed = add_delivery(web.app.db, endpoint, at=web.clock(), failures=8, state="failed")
    body = {"csrf_token": admin, "back": "list"}
    response = post(web, f"/webhooks/{endpoint}/deliveries/{failed}/retry", body)
    assert response.headers["location"] == f"/webhooks?retried={failed}"
    assert "will be sent again now" in web.get(response.headers["location"]).text


def test_a_delivered_delivery_is_not_retried(web: Web, admin: str, endpoint: str) -> None:
    done = add_delivery(web.app.db, endpoint, at=web.clock(), state="delivered")
    assert "Retry now" not in web.get(f"/webhooks/{endpoint}").text
    before = web.app.webhooks.deliveries(endpoint, limit=5).items
    response = post(web, f"/webhooks/{endpoint}/deliveries/{done}/retry", {"csrf_token": admin})
    assert response.status_code == 422
    assert "only a failed or pending one is retried" in response.text
    assert web.app.webhooks.deliveries(endpoint, limit=5).items == before


@pytest.mark.parametrize(
    ("delivery", "status"),
    [("12345", 404), ("abc", 422), ("9" * 30, 404), ("-1", 422)],
)
def test_a_bad_delivery_id_is_refused(
    web: Web, admin: str, endpoint: str, delivery: str, status: int
) -> None:
    response = post(web, f"/webhooks/{endpoint}/deliveries/{delivery}/retry", {"csrf_token": admin})
    assert response.status_code == status, response.text


def test_another_endpoints_delivery_is_not_retried_through_this_one(
    web: Web, admin: str, endpoint: str
) -> None:
    add_endpoint(web.app, "we_two", "https://hooks.example.com/two")
    theirs = add_delivery(web.app.db, "we_two", at=web.clock(), failures=8, state="failed")
    response = post(web, f"/webhooks/{endpoint}/deliveries/{theirs}/retry", {"csrf_token": admin})
    assert response.status_code == 404
    assert web.app.webhooks.deliveries("we_two", limit=5).items[0].state == "failed"


# Escaping ------------------------------------------------------------------------------------


def test_hostile_descriptions_and_urls_are_shown_as_text(web: Web, admin: str) -> None:
    url = 'https://hooks.example.com/"><script>alert(2)</script>'
    response = add(web, admin, url=url, description=HOSTILE)
    assert response.status_code == 201
    ident = only_endpoint(web)
    at = web.clock()
    add_delivery(web.app.db, ident, at=at, failures=1, error="<img src=x onerror=alert(3)>")
    for path in (
        "/webhooks",
        f"/webhooks/{ident}",
        f"/webhooks/{ident}/delete",
        "/webhooks?state=retrying",
    ):
        page = web.get(path).text
        assert "<script>alert" not in page
        assert "<b onmouseover" not in page
        assert "<img src=x" not in page
        assert "&lt;script&gt;alert(" in page
    refused = add(web, admin, url='javascript:alert(1)"><script>x()</script>')
    assert refused.status_code == 422
    assert "<script>x()" not in refused.text
