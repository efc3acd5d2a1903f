"""``GET /v1/activity``: the activity log through the API, newest first, paginated, admin only;
each entry names the API key that acted."""

from __future__ import annotations

import re

import pytest

from tests.api.conftest import Api


def key_id(api: Api, scope: str) -> str:
    """The id of the fixture's key of ``scope`` (a key reads ``ek_<id>_<secret>``)."""
    return api.keys[scope].split("_")[1]


def test_activity_lists_changes_with_their_actor_newest_first(api_any: Api) -> None:
    api = api_any
    assert api.get("/v1/activity").json() == {"items": [], "next_cursor": None}
    api.landing()
    api.clock.advance(minutes=5)
    created = api.post("/v1/keys", {"scope": "read", "name": "dashboard"})
    assert created.status_code == 201, created.text
    api.clock.advance(minutes=5)
    api.put("/v1/customers/acme", {"name": "Acme Inc."})
    admin = key_id(api, "admin")
    entries = api.get("/v1/activity").json()["items"]
    summary = [(e["action"], e["subject"], e["actor"], e["at"]) for e in entries]
    assert summary == [
        ("customer.created", "acme", admin, "2026-11-23T10:10:00Z"),
        ("key.created", created.json()["id"], admin, "2026-11-23T10:05:00Z"),
        ("contract.saved", "landing", admin, "2026-11-23T10:00:00Z"),
    ]
    seqs = [e["seq"] for e in entries]
    assert seqs == sorted(seqs, reverse=True)
    assert len(set(seqs)) == 3
    saved = entries[2]
    assert saved["before"] is None
    assert saved["after"]["version"] == 1
    assert saved["after"]["contract"]["key"] == "landing"
    key = entries[1]
    assert key["before"] is None
    assert key["after"]["scope"] == "read"
    assert key["after"]["name"] == "dashboard"
    assert created.json()["key"] not in api.get("/v1/activity").text  # never the key itself
    assert all(re.fullmatch(r"[0-9a-f]{64}", e["hash"]) for e in entries)
    assert len({e["hash"] for e in entries}) == 3


def test_activity_pages_with_a_cursor(api: Api) -> None:
    api.landing()
    for n in range(3):
        api.clock.advance(seconds=1)
        api.post("/v1/keys", {"scope": "ingest", "name": f"k{n}"})
    everything = api.get("/v1/activity").json()["items"]
    assert len(everything) == 4
    pages, cursor = [], None
    while True:
        query = "/v1/activity?limit=3" + (f"&cursor={cursor}" if cursor else "")
        answer = api.get(query).json()
        pages.append(answer["items"])
        cursor = answer["next_cursor"]
        if cursor is None:
            break
    assert [len(p) for p in pages] == [3, 1]
    assert [e for page in pages for e in page] == everything
    # New entries after the first page do not shift the pages behind it.
    first = api.get("/v1/activity?limit=2").json()
    api.post("/v1/keys", {"scope": "read"})
    rest = api.get(f"/v1/activity?limit=2&cursor={first['next_cursor']}").json()
    assert [e["seq"] for e in first["items"] + rest["items"]] == [e["seq"] for e in everything]


@pytest.mark.parametrize(
    ("query", "code"),
    [("?limit=0", "invalid_limit"), ("?limit=1001", "invalid_limit"),
     ("?cursor=nope", "invalid_cursor")],
)  # fmt: skip
def test_activity_refuses_a_bad_limit_or_cursor(api: Api, query: str, code: str) -> None:
    response = api.get("/v1/activity" + query)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == code


def test_another_list_s_cursor_is_refused(api: Api) -> None:
    api.landing()
    for n in range(2):
        api.post("/v1/keys", {"scope": "read", "name": f"k{n}"})
    cursor = api.get("/v1/keys?limit=1").json()["next_cursor"]
    assert cursor is not None
    response = api.get(f"/v1/activity?cursor={cursor}")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_cursor"


@pytest.mark.parametrize("scope", ["read", "ingest"])
def test_activity_needs_an_admin_key(api: Api, scope: str) -> None:
    api.landing()
    response = api.get("/v1/activity", scope=scope)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert "landing" not in response.text
