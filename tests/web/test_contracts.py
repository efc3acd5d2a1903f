"""The contracts pages through HTTP: the list, a contract with its versions, a version, the
diff of two, the editor's check (line, column and caret for each problem, for many broken
texts), its backtest, saving a new version as the signed-in user, archiving; a viewer reads
and checks but changes nothing; planted HTML is shown as text."""

from __future__ import annotations

import html
import re
from decimal import Decimal

import httpx
import pytest

from earnest.contract import load_contract
from earnest.contract.loader import MAX_DOCUMENT_BYTES
from earnest.service.activity import CLI
from earnest.service.contracts import contract_yaml
from tests.contracts import LANDING
from tests.web.conftest import ADMIN, VIEWER, Web
from tests.web.test_access import state

PLANTED = '<script>alert("x")</script><img src=x onerror=alert(1)>'
LANDING_V2 = LANDING.replace("$0.99", "$1.50")


def _landing(web: Web) -> None:
    web.app.contracts.save(load_contract(LANDING, key="landing"), actor=CLI)


def _post(
    web: Web, path: str, text: str, *, csrf: str, editing: str = "", htmx: bool = False
) -> httpx.Response:
    headers = {"HX-Request": "true"} if htmx else {}
    body = {"yaml": text, "editing": editing, "csrf_token": csrf}
    return web.client.post(path, data=body, headers=headers, follow_redirects=False)


def _text(response: httpx.Response) -> str:
    """The page's text with its tags removed, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.text)).split())


# The list, a contract, a version, a diff ---------------------------------------------------


def test_the_list_shows_each_contract_at_its_latest_version(web: Web) -> None:
    _landing(web)
    web.app.contracts.save(load_contract(LANDING_V2, key="landing"), actor=CLI)
    other = LANDING.replace("$0.99", "€2") + f"name: '{PLANTED}'\n"
    web.clock.advance(seconds=1)  # newer: listed first
    web.app.contracts.save(load_contract(other, key="other"), actor=CLI)
    web.app.contracts.archive("other", actor=CLI)
    web.session(VIEWER)
    page = web.get("/contracts")
    assert page.status_code == 200
    text = _text(page)
    assert re.search(r"other .* 1 €2\.00 archived landing \(no name\) 2 \$1\.50 live", text)
    assert PLANTED not in page.text
    assert html.escape(PLANTED, quote=False) in page.text.replace("&#34;", '"')
    assert 'href="/contracts/landing/versions/2"' in page.text
    assert "New contract" not in page.text  # a viewer writes none


def test_the_list_is_paged_by_position(web: Web) -> None:
    for n in range(52):
        web.app.contracts.save(load_contract(LANDING, key=f"c{n:02d}"), actor=CLI)
        web.clock.advance(seconds=1)
    web.session(ADMIN)
    first = web.get("/contracts").text
    keys = re.findall(r'<a href="/contracts/(c\d\d)"', first)
    assert keys == [f"c{n:02d}" for n in range(51, 1, -1)]
    older = re.search(r'href="(/contracts\?after=[^"]+)"', first)
    assert older is not None
    second = web.get(html.unescape(older.group(1)))
    assert re.findall(r'<a href="/contracts/(c\d\d)"', second.text) == ["c01", "c00"]
    assert "Newest contracts" in second.text
    for bad in ("x", "1.", "1.Bad", "99999999999999999999999.a", "1.a b"):
        refused = web.get(f"/contracts?after={bad}")
        assert refused.status_code == 422
        assert "after is a position" in refused.text


def test_a_contract_shows_its_terms_yaml_and_versions_with_who_saved_them(web: Web) -> None:
    _landing(web)
    web.clock.advance(hours=1)
    web.app.contracts.save(load_contract(LANDING_V2, key="landing"), actor="ada@example.com")
    web.session(VIEWER)
    page = web.get("/contracts/landing")
    assert page.status_code == 200
    text = _text(page)
    assert "Terms of version 2" in text
    assert "completed AND score > 3 AND NOT disputed" in text
    assert "$1.50 per confirmed outcome" in text
    assert "2d from the outcome's opening" in text
    assert "1d after the decision" in text
    assert "confirm: when the activity window ends" in text
    assert "flag: a later signal" in text
    assert "price: 1.50 USD" in text  # the YAML
    assert re.search(r"Version 2 23 Nov 2026, 11:00:00 UTC ada@example\.com", text)
    assert re.search(r"Version 1 23 Nov 2026, 10:00:00 UTC cli", text)
    assert 'href="/outcomes?contract=landing"' in page.text
    assert 'action="/contracts/landing/diff"' in page.text
    assert 'name="from" min="1" max="2" value="1"' in page.text
    assert "Archive…" not in page.text  # a viewer archives nothing


def test_the_versions_are_paged_newest_first(web: Web) -> None:
    for n in range(52):
        written = LANDING.replace("$0.99", f"${n + 1}")
        web.app.contracts.save(load_contract(written, key="landing"), actor=CLI)
    web.session(VIEWER)
    first = web.get("/contracts/landing").text
    listed = re.findall(r">Version (\d+)</a>", first)
    assert listed == [str(n) for n in range(52, 2, -1)]
    assert 'href="/contracts/landing?before=3">Older versions</a>' in first
    second = web.get("/contracts/landing?before=3").text
    assert re.findall(r">Version (\d+)</a>", second) == ["2", "1"]
    assert "Terms of version 52" in second  # the terms are the latest's on every page
    assert "Older versions" not in second


def test_the_yaml_shown_loads_back_to_the_same_contract(web: Web) -> None:
    written = LANDING + "name: Landing\ndescription: |\n  two\n  lines\n"
    contract = load_contract(written, key="landing")
    web.app.contracts.save(contract, actor=CLI)
    again = load_contract(contract_yaml(contract))
    assert again == contract
    web.session(ADMIN)
    page = web.get("/contracts/landing/edit")
    shown = re.search(r'<textarea id="yaml"[^>]*>\n(.*?)</textarea>', page.text, re.S)
    assert shown is not None
    assert load_contract(html.unescape(shown.group(1)), key="landing") == contract


def test_a_version_and_the_diff_of_two(web: Web) -> None:
    _landing(web)
    web.app.contracts.save(load_contract(LANDING_V2, key="landing"), actor=CLI)
    web.session(VIEWER)
    first = web.get("/contracts/landing/versions/1")
    assert first.status_code == 200
    assert "$0.99 per confirmed outcome" in _text(first)
    assert "The latest is version 2" in _text(first)
    diff = web.get("/contracts/landing/diff?from=1&to=2")
    assert diff.status_code == 200
    assert "price 0.99 USD 1.50 USD" in _text(diff)
    assert "active_for" not in _text(diff)
    back = web.get("/contracts/landing/diff?from=2&to=1")
    assert "price 1.50 USD 0.99 USD" in _text(back)
    assert "No difference" in _text(web.get("/contracts/landing/diff?from=2&to=2"))
    assert "price 0.99 USD 1.50 USD" in _text(web.get("/contracts/landing/diff"))


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/contracts/landing/versions/3", 404, "no contract with key 'landing' at version 3"),
        ("/contracts/landing/versions/0", 422, "version is a version number"),
        ("/contracts/landing/versions/x1", 422, "version is a version number"),
        ("/contracts/landing/versions/99999999999999999999", 422, "version is a version"),
        ("/contracts/landing/diff?from=1&to=9", 404, "at version 9"),
        ("/contracts/landing/diff?from=-1&to=1", 422, "from is a version number"),
        ("/contracts/landing/diff?from=1&to=%00", 422, "to is a version number"),
        ("/contracts/landing?before=zz", 422, "before is a version number"),
        ("/contracts/nothing", 404, "no contract with key 'nothing'"),
        ("/contracts/nothing/edit", 404, "no contract with key 'nothing'"),
        ("/contracts/nothing/archive", 404, "no contract with key 'nothing'"),
    ],
)
def test_bad_paths_and_parameters_are_named(web: Web, path: str, status: int, words: str) -> None:
    _landing(web)
    web.session(VIEWER)
    response = web.get(path)
    assert response.status_code == status
    assert words in html.unescape(response.text)


def test_a_contract_keyed_like_the_checks_path_has_its_page(web: Web) -> None:
    web.app.contracts.save(load_contract(LANDING, key="validate"), actor=CLI)
    web.session(VIEWER)
    page = web.get("/contracts/validate")
    assert page.status_code == 200
    assert "Terms of version 1" in page.text
    web.app.contracts.save(load_contract(LANDING_V2, key="validate"), actor=CLI)
    assert "price 0.99 USD 1.50 USD" in _text(web.get("/contracts/validate/diff"))


def test_a_hostile_key_in_the_path_is_shown_as_text(web: Web) -> None:
    web.session(VIEWER)
    response = web.get("/contracts/%3Cscript%3Ex")
    assert response.status_code == 404
    assert "<script>x" not in response.text
    assert "&lt;script&gt;x" in response.text


# The editor's check -------------------------------------------------------------------------

BROKEN = {
    "a condition": (
        LANDING.replace("score > 3", "score >> 3"),
        "conditions",
        "expected a name",
        (5, 34),
        "conditions: completed AND score >> 3 AND NOT disputed",
    ),
    "an unknown field": (
        LANDING + "pirce: 2\n",
        "pirce",
        "did you mean 'price'",
        (7, 1),
        "pirce: 2",
    ),
    "a price of the wrong type": (
        LANDING.replace("$0.99", "[1, 2]"),
        "price",
        "",
        (4, 8),
        "price: [1, 2]",
    ),
    "a boolean for on_timeout": (
        LANDING.replace("on_timeout: confirm", "on_timeout: yes"),
        "on_timeout",
        "YAML reads yes, no, on and off as booleans",
        (6, 13),
        "on_timeout: yes",
    ),
    "a duration out of bounds": (
        LANDING.replace("48h", "400d"),
        "active_for",
        "must be between 1s and 366d",
        (2, 13),
        "active_for: 400d",
    ),
    "not YAML": (
        LANDING + "price: [1\n",
        "<document>",
        "invalid YAML",
        (8, 1),
        "",
    ),
    "a duplicate key": (
        LANDING + "price: $2\n",
        "<document>",
        "the key 'price' appears twice",
        (7, 1),
        "price: $2",
    ),
    "a tab": (LANDING + "\tname: x\n", "<document>", "invalid YAML", (7, 1), " name: x"),
    "another key": (
        "key: other\n" + LANDING,
        "key",
        "'other' does not match the expected key 'landing'",
        (1, 6),
        "key: other",
    ),
    "a list item": (
        LANDING.replace(
            "conditions: completed AND score > 3 AND NOT disputed",
            "conditions:\n  - completed\n  - score >",
        ),
        "conditions[1]",
        "",
        (7, 12),
        "  - score >",
    ),
    "a block of lines": (
        LANDING.replace(
            "conditions: completed AND score > 3 AND NOT disputed",
            "conditions: |\n  completed AND\n  score > 3 AND NOT (disputed",
        ),
        "conditions",
        'this "(" is never closed',
        (7, 21),
        "  score > 3 AND NOT (disputed",
    ),
}


@pytest.mark.parametrize("case", BROKEN)
def test_the_check_places_each_problem_with_a_caret(web: Web, case: str) -> None:
    text, field, words, (line, column), source = BROKEN[case]
    _landing(web)
    csrf = web.session(VIEWER).csrf  # a viewer may check: it changes nothing
    fragment = _post(web, "/contracts/validate", text, csrf=csrf, editing="landing", htmx=True)
    assert fragment.status_code == 200  # htmx swaps successes only
    assert "<html" not in fragment.text
    shown = html.unescape(fragment.text)
    assert "Not valid" in shown
    assert f"<code>{field}</code>:" in shown
    assert words in shown
    assert f"(line {line}, column {column})" in shown
    caret = re.search(r'<pre class="contract-caret">(.*)\n( *)\^</pre>', shown)
    assert caret is not None, shown
    assert caret.group(1) == source
    assert len(caret.group(2)) == column - 1
    page = _post(web, "/contracts/validate", text, csrf=csrf, editing="landing")
    assert page.status_code == 422  # without JavaScript: the whole editor, the text kept
    assert 'aria-invalid="true"' in page.text
    assert f"(line {line}, column {column})" in page.text
    assert html.escape(text, quote=False) in page.text.replace("&#39;", "'").replace("&#34;", '"')


def test_the_check_names_missing_fields_and_refuses_bad_bytes(web: Web) -> None:
    _landing(web)
    csrf = web.session(ADMIN).csrf
    empty = _text(_post(web, "/contracts/validate", "", csrf=csrf, editing="landing", htmx=True))
    assert "<document> : is empty" in empty
    missing = _post(web, "/contracts/validate", "key: landing\n", csrf=csrf, htmx=True)
    shown = _text(missing)
    assert "conditions : is required, e.g. conditions: resolved AND NOT reopened" in shown
    assert "price : is required" in shown
    huge = LANDING + "description: " + "x" * MAX_DOCUMENT_BYTES + "\n"
    big = _text(_post(web, "/contracts/validate", huge, csrf=csrf, editing="landing", htmx=True))
    assert f"a contract document is at most {MAX_DOCUMENT_BYTES} bytes" in big
    headers = {"content-type": "application/x-www-form-urlencoded", "HX-Request": "true"}
    body = b"editing=landing&yaml=key%3A+landing%0Aprice%3A+%FF%FE&csrf_token=" + csrf.encode()
    raw = web.client.post("/contracts/validate", content=body, headers=headers)
    assert raw.status_code == 200
    assert "is not valid UTF-8 text (the form sent other bytes) (line 2, column 8)" in _text(raw)
    body = b"editing=landing&yaml=key%3A+landing%0Aprice: \xff&csrf_token=" + csrf.encode()
    unencoded = web.client.post("/contracts/validate", content=body, headers=headers)
    assert unencoded.status_code == 200  # read as Latin-1 by the form decoder: not a price
    assert re.search(r"price : '.' is not a price", _text(unencoded))
    before = state(web)
    body = b"yaml=name%3A+caf%E9%0A" + LANDING.encode() + b"&csrf_token=" + csrf.encode()
    refused = web.client.post("/contracts/landing/edit", content=body, headers=headers)
    assert refused.status_code == 422
    assert "is not valid UTF-8 text" in refused.text
    assert state(web) == before
    too_big = _post(web, "/contracts/validate", "x" * 300_000, csrf=csrf)
    assert too_big.status_code == 413
    upload = web.client.post(
        "/contracts/validate",
        data={"csrf_token": csrf},
        files={"yaml": ("c.yaml", LANDING.encode())},
    )
    assert upload.status_code == 422
    assert "yaml is the contract&#39;s text, not a file" in upload.text


def test_a_valid_edit_says_what_it_changes(web: Web) -> None:
    _landing(web)
    csrf = web.session(VIEWER).csrf
    changed = _post(web, "/contracts/validate", LANDING_V2, csrf=csrf, editing="landing", htmx=True)
    assert "Valid. Compared with version 1, the latest: price : 0.99 USD → 1.50 USD" in _text(
        changed
    )
    same = LANDING.replace("$0.99", "0.99 USD").replace("48h", "2d")
    unchanged = _post(web, "/contracts/validate", same, csrf=csrf, editing="landing", htmx=True)
    assert "The same content as version 1, the latest: saving changes nothing" in _text(unchanged)
    new = _post(web, "/contracts/validate", "key: fresh\n" + LANDING, csrf=csrf, htmx=True)
    assert "A new contract, fresh : saving it creates its version 1" in _text(new)
    taken = _post(web, "/contracts/validate", "key: landing\n" + LANDING, csrf=csrf, htmx=True)
    assert "a contract with key 'landing' exists already (version 1)" in html.unescape(taken.text)
    page = _post(web, "/contracts/validate", LANDING_V2, csrf=csrf, editing="landing")
    assert page.status_code == 200
    assert "Compared with version 1" in page.text


# Saving, the backtest, archiving ---------------------------------------------------------------


def test_saving_an_edit_creates_the_next_version_as_the_user(web: Web) -> None:
    _landing(web)
    csrf = web.session(ADMIN).csrf
    page = web.get("/contracts/landing/edit")
    assert "Saving creates version 2" in page.text
    saved = _post(web, "/contracts/landing/edit", LANDING_V2, csrf=csrf)
    assert saved.status_code == 303
    assert saved.headers["location"] == "/contracts/landing?saved=2"
    latest = web.app.contracts.latest("landing")
    assert (latest.version, latest.contract.price.amount) == (2, Decimal("1.50"))
    entry = web.app.activity.list(limit=1).items[0]
    assert (entry.actor, entry.action, entry.subject) == (ADMIN, "contract.saved", "landing")
    shown = web.get(saved.headers["location"])
    assert "Saved as version 2." in shown.text
    assert re.search(r"Version 2 .* admin@example\.com", _text(shown))
    again = _post(web, "/contracts/landing/edit", LANDING_V2, csrf=csrf)
    assert again.headers["location"] == "/contracts/landing?unchanged=2"
    assert "Nothing changed" in web.get(again.headers["location"]).text


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (LANDING.replace("$0.99", "$-1"), "price"),
        ("key: other\n" + LANDING_V2, "key"),
        ("- a list\n", "<document>"),
    ],
)
def test_an_invalid_save_stores_nothing(web: Web, text: str, field: str) -> None:
    _landing(web)
    csrf = web.session(ADMIN).csrf
    before = state(web)
    refused = _post(web, "/contracts/landing/edit", text, csrf=csrf)
    assert refused.status_code == 422
    assert f"<code>{field}</code>:" in html.unescape(refused.text)
    assert 'aria-invalid="true"' in refused.text
    assert state(web) == before


def test_a_new_contract_is_saved_once_and_its_key_never_reused(web: Web) -> None:
    _landing(web)
    csrf = web.session(ADMIN).csrf
    assert "key: code_shipped" in web.get("/contracts/new").text
    created = _post(web, "/contracts/new", "key: fresh\n" + LANDING, csrf=csrf)
    assert created.headers["location"] == "/contracts/fresh?saved=1"
    assert web.app.contracts.latest("fresh").version == 1
    before = state(web)
    taken = _post(web, "/contracts/new", "key: landing\n" + LANDING_V2, csrf=csrf)
    assert taken.status_code == 422
    assert "exists already" in taken.text
    keyless = _post(web, "/contracts/new", LANDING, csrf=csrf)
    assert keyless.status_code == 422
    assert "write key: in the document" in keyless.text
    assert state(web) == before


def _outcomes(web: Web) -> None:
    _landing(web)
    for ref, score in (("T-1", 5), ("T-2", 4), ("T/3 <b>", 1)):
        for signal in ({"signal": "completed"}, {"signal": "score", "value": score}):
            body = {"contract": "landing", "outcome": ref, "customer": "acme", **signal}
            assert web.app.signals.send(body).result.error is None
    web.clock.advance(days=3)  # every review window has ended


def test_the_backtest_of_an_edit_shows_what_would_change(web: Web) -> None:
    _outcomes(web)
    csrf = web.session(ADMIN).csrf
    before = state(web)
    fragment = _post(web, "/contracts/landing/backtest", LANDING_V2, csrf=csrf, htmx=True)
    assert fragment.status_code == 200
    text = _text(fragment)
    assert (
        "The 3 outcomes opened from 27 Oct 2026, 10:00:00 UTC to 26 Nov 2026, 10:00:00 UTC ,"
        " replayed through the edit (as version 2) up to 26 Nov 2026, 10:00:00 UTC" in text
    )
    assert "Outcomes 3 Would change 2 Would not 1" in text
    assert "USD $1.98 $3.00 +$1.02" in text
    assert "Changes: price changed 2." in text
    assert 'href="/outcomes/landing/T-1"' in fragment.text
    assert state(web) == before  # nothing written
    stricter = LANDING.replace("score > 3", "score > 4")
    page = _post(web, "/contracts/landing/backtest", stricter, csrf=csrf)
    assert page.status_code == 200
    assert "confirmed → cancelled 1" in _text(page)
    assert "USD $1.98 $0.99 -$0.99" in _text(page).replace("−", "-")
    broken = _post(web, "/contracts/landing/backtest", "price: x\n", csrf=csrf, htmx=True)
    assert "Fix the problems above first" in broken.text


def test_archiving_asks_first_and_names_the_user(web: Web) -> None:
    _landing(web)
    csrf = web.session(ADMIN).csrf
    confirm = web.get("/contracts/landing/archive")
    assert confirm.status_code == 200
    assert "Archive landing" in _text(confirm)
    archived = web.post("/contracts/landing/archive", {"csrf_token": csrf})
    assert archived.status_code == 303
    assert archived.headers["location"] == "/contracts/landing?archived=1"
    assert web.app.contracts.latest("landing").archived
    entry = web.app.activity.list(limit=1).items[0]
    assert (entry.actor, entry.action) == (ADMIN, "contract.archived")
    page = web.get("/contracts/landing?archived=1")
    assert "archived: opens no new outcomes" in page.text
    assert "Archive…" not in page.text
    assert "archived already" in web.get("/contracts/landing/archive").text
    assert "archived" in _text(web.get("/contracts"))


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("/contracts/landing/edit", LANDING_V2),
        ("/contracts/new", "key: fresh\n" + LANDING),
        ("/contracts/landing/backtest", LANDING_V2),
        ("/contracts/landing/archive", ""),
    ],
)
def test_a_viewer_changes_nothing(web: Web, path: str, text: str) -> None:
    _landing(web)
    csrf = web.session(VIEWER).csrf
    editor = web.get("/contracts/landing/edit")
    assert editor.status_code == 200
    assert "Only an admin can save a contract" in editor.text
    assert "Save as a new version" not in editor.text
    assert "Run the backtest" not in editor.text
    confirm = web.get("/contracts/landing/archive").text
    assert "Only an admin can archive a contract." in confirm
    assert 'action="/contracts/landing/archive"' not in confirm
    before = state(web)
    refused = _post(web, path, text, csrf=csrf)
    assert refused.status_code == 403
    assert "only an admin" in refused.text
    assert state(web) == before
