"""The dashboard's pages through HTTP: signing in and out through the form, the overview's
figures, the activity log page by page, the settings form with its errors next to the field,
planted HTML shown as text, and hostile requests answered without a 5xx."""

from __future__ import annotations

import html
import re

import pytest

from earnest.contract import load_contract
from earnest.engine import Scheduled
from earnest.service.activity import CLI
from earnest.service.users import ACCOUNT_FREE
from earnest.web.pages import ACTIVITY_PAGE
from tests.contracts import LANDING
from tests.web.conftest import ADMIN, CSRF, PASSWORD, VIEWER, Web, csrf_of

PLANTED = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_signing_in_through_the_form_returns_to_next(web: Web) -> None:
    response = web.sign_in("Admin@Example.COM", next="/activity?after=3")
    assert response.status_code == 303
    assert response.headers["location"] == "/activity?after=3"
    cookie = response.headers["set-cookie"]
    assert "earnest_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain http here (the default: Secure behind https)
    page = web.get("/")
    assert page.status_code == 200
    assert "admin@example.com" in page.text


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil", "x"])
def test_next_never_leaves_the_site(web: Web, target: str) -> None:
    response = web.sign_in(ADMIN, next=target)
    assert response.headers["location"] == "/"


def test_a_wrong_password_and_an_unknown_email_read_the_same(web: Web) -> None:
    wrong = web.sign_in(ADMIN, "not the password")
    unknown = web.sign_in("nobody@example.com", PASSWORD)
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "The email or the password is wrong." in response.text
    shown = [CSRF.sub("", r.text) for r in (wrong, unknown)]  # each form has its own token
    assert shown[0].replace(ADMIN, "E") == shown[1].replace("nobody@example.com", "E")


def test_repeated_failures_are_told_when_to_try_again(web: Web) -> None:
    for _ in range(ACCOUNT_FREE + 1):
        assert web.sign_in(VIEWER, "not the password").status_code == 401
    blocked = web.sign_in(VIEWER, PASSWORD)
    assert blocked.status_code == 429
    assert blocked.headers["retry-after"] == "2"
    assert "Try again in 2 seconds" in blocked.text
    web.clock.advance(seconds=2)
    assert web.sign_in(VIEWER, PASSWORD).status_code == 303


def test_the_layout_lists_every_page_and_marks_the_current_one(web: Web) -> None:
    web.session(VIEWER)
    page = web.get("/activity").text
    links = re.findall(r'<li><a href="([^"]+)"', page)
    assert links == [
        "/",
        "/contracts",
        "/outcomes",
        "/customers",
        "/invoices",
        "/webhooks",
        "/activity",
        "/settings",
    ]
    assert '<a href="/activity" aria-current="page">Activity</a>' in page
    for link in links:
        assert web.get(link).status_code == 200
    assert 'action="/sign-out"' in page
    assert "/static/htmx-2.0.4.min.js?v=" in page


def test_pages_carry_security_headers(web: Web) -> None:
    web.session(ADMIN)
    for path in ("/", "/activity", "/settings", "/sign-in"):
        headers = web.get(path).headers
        assert "script-src 'self'" in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["cache-control"] == "no-store"


def test_the_overview_shows_outcomes_disputes_and_drafts(web: Web) -> None:
    web.session(VIEWER)
    page = web.get("/")
    assert page.status_code == 200
    text = html.unescape(re.sub(r"\s+", " ", page.text))
    assert "Outcomes by state" in text
    for state in ("open", "in review", "confirmed", "cancelled"):
        assert f'<th scope="row">{state}</th><td class="num">0</td>' in text
    assert "No draft invoice yet" in text
    assert "Nothing booked in October 2026 or November 2026." in text
    assert "0 confirmed and 0 cancelled over 30 days" in text


def test_the_overview_shows_revenue_by_month_and_settlements_by_day(web: Web) -> None:
    app = web.app
    app.contracts.save(load_contract(LANDING, key="landing"), actor=CLI)
    for ref in ("R-1", "R-2", "R-3"):
        body = {"contract": "landing", "outcome": ref, "customer": "acme", "signal": "completed"}
        assert app.signals.send(body).result.error is None
    app.outcomes.settle("landing", "R-1", Scheduled.CONFIRM, "done", actor=CLI)
    app.outcomes.settle("landing", "R-2", Scheduled.CONFIRM, "done", actor=CLI)
    app.outcomes.settle("landing", "R-3", Scheduled.CANCEL, "no", actor=CLI)
    web.session(VIEWER)
    text = html.unescape(re.sub(r"\s+", " ", web.get("/").text))
    assert (
        '<th scope="row">USD</th> <td>November 2026 <span class="muted">(so far)</span></td>'
        ' <td class="num">$1.98</td> <td class="num">$0.00</td> <td class="num">$1.98</td>'
    ) in text
    assert '<td>October 2026</td> <td class="num">$0.00</td>' in text
    assert "2 confirmed and 1 cancelled over 30 days" in text
    assert "<title>23 Nov: 2 confirmed, 1 cancelled</title>" in text
    assert '<th scope="row">23 Nov 2026</th><td class="num">2</td><td class="num">1</td>' in text
    assert text.count('<rect class="confirmed"') == 1  # one day with settlements


def test_the_activity_log_pages_newest_first(web: Web) -> None:
    for n in range(ACTIVITY_PAGE + 5):  # plus the two users the fixture created
        web.app.settings.put({"seller_name": f"Seller {n}"}, actor=CLI)
    web.session(VIEWER)
    first = web.get("/activity").text
    seqs = [int(s) for s in re.findall(r'<td class="num">(\d+)</td>', first)]
    assert seqs == list(range(ACTIVITY_PAGE + 7, 7, -1))
    assert "Seller 54" in first
    older = re.search(r'href="/activity\?after=(\d+)"', first)
    assert older is not None
    assert older.group(1) == "8"
    assert 'hx-get="/activity?after=8"' in first
    second = web.get("/activity?after=8").text
    assert [int(s) for s in re.findall(r'<td class="num">(\d+)</td>', second)] == list(
        range(7, 0, -1)
    )
    assert "user.created" in second
    assert "after=" not in second.split('id="pager"')[1]  # the last page
    assert 'href="/activity">Newest entries' in second


@pytest.mark.parametrize("after", ["abc", "0", "-1", "1e3", "99999999999999999999", "٣"])
def test_a_bad_page_position_is_a_422_page(web: Web, after: str) -> None:
    web.session(VIEWER)
    response = web.get(f"/activity?after={after}")
    assert response.status_code == 422
    assert "after is an entry number" in html.unescape(response.text)


def test_a_setting_refused_is_shown_next_to_its_field_and_nothing_saved(web: Web) -> None:
    signed = web.session(ADMIN)
    body = {"seller_name": "Kept As Typed", "invoice_grace": "forever", "csrf_token": signed.csrf}
    response = web.post("/settings", body)
    assert response.status_code == 422
    page = html.unescape(response.text)
    assert 'id="invoice_grace" name="invoice_grace" value="forever"' in page
    assert 'aria-invalid="true"' in page
    assert re.search(r'<p class="error" id="invoice_grace-error">invoice_grace: .+</p>', page)
    assert 'value="Kept As Typed"' in page
    assert web.app.settings.get().seller_name is None


def test_an_empty_optional_setting_restores_its_default(web: Web) -> None:
    web.app.settings.put({"public_base_url": "https://billing.example.com"}, actor=CLI)
    signed = web.session(ADMIN)
    body = {"public_base_url": "  ", "invoice_prefix": "EARN", "csrf_token": signed.csrf}
    assert web.post("/settings", body).status_code == 303
    assert web.app.settings.get().public_base_url is None
    saved = web.get("/settings?saved=1").text
    assert "Settings saved." in saved


def test_planted_html_is_shown_as_text_on_every_page_that_shows_it(web: Web) -> None:
    signed = web.session(ADMIN)
    body = {"seller_name": PLANTED, "csrf_token": signed.csrf}
    assert web.post("/settings", body).status_code == 303
    assert web.app.settings.get().seller_name == PLANTED
    for email in (ADMIN, VIEWER):
        web.session(email)
        for path in ("/settings", "/activity"):
            page = web.get(path).text
            assert "<script>alert" not in page
            assert "<img src=x" not in page
            assert "&lt;script&gt;alert(" in page
    web.session(ADMIN)
    settings = web.get("/settings").text
    assert 'value="&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x' in settings


def test_the_viewer_sees_settings_without_a_form(web: Web) -> None:
    web.app.settings.put({"seller_name": "Acme Billing"}, actor=CLI)
    web.session(VIEWER)
    page = web.get("/settings").text
    assert "Acme Billing" in page
    assert "<form" not in page.split("</header>")[1]
    assert "Only an admin can change the settings." in page


HOSTILE_FORMS: list[tuple[str, bytes, str]] = [
    ("/settings", b"seller_name=%FF%FE%00&csrf_token=", "application/x-www-form-urlencoded"),
    ("/settings", b"\xff\xfe\x00garbage", "application/x-www-form-urlencoded"),
    ("/settings", b"--x\r\nbroken", "multipart/form-data; boundary=x"),
    ("/settings", b"--x\r\nbroken", "multipart/form-data"),
    ("/settings", b'{"seller_name": "json"}', "application/json"),
    ("/settings", b"a=" + b"x" * 300_000, "application/x-www-form-urlencoded"),
    ("/sign-in", b"email=%FF&password=%00&csrf_token=%FF", "application/x-www-form-urlencoded"),
    ("/sign-in", b"\x00\x01\x02", "application/octet-stream"),
    ("/sign-out", b"csrf_token=%C0%AF", "application/x-www-form-urlencoded"),
]


@pytest.mark.parametrize(("path", "body", "content_type"), HOSTILE_FORMS)
def test_hostile_bodies_get_a_4xx_and_change_nothing(
    web: Web, path: str, body: bytes, content_type: str
) -> None:
    signed = web.session(ADMIN)
    before = web.app.settings.get()
    response = web.client.post(
        path, content=body, headers={"Content-Type": content_type}, follow_redirects=False
    )
    assert 400 <= response.status_code < 500, response.text
    assert web.app.settings.get() == before
    assert web.app.users.session(signed.token) is not None


def test_a_multipart_form_with_a_file_for_a_setting_is_refused(web: Web) -> None:
    signed = web.session(ADMIN)
    response = web.client.post(
        "/settings",
        data={"csrf_token": signed.csrf},
        files={"seller_name": ("a.txt", b"file", "text/plain")},
        follow_redirects=False,
    )
    assert response.status_code == 422
    assert web.app.settings.get().seller_name is None


@pytest.mark.parametrize(
    "path",
    ["/static/nothing.js", "/static/..%2Fapp.py", "/static/VENDORED.md", "/nowhere"],
)
def test_unknown_paths_are_404(web: Web, path: str) -> None:
    web.session(ADMIN)
    answer = web.get(path)
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert "<h1>Not found</h1>" in answer.text


def test_a_method_no_route_has_is_a_405_page_outside_the_api(web: Web) -> None:
    answer = web.client.delete("/activity")
    assert answer.status_code == 405
    assert answer.headers["content-type"].startswith("text/html")
    assert "Content-Security-Policy" in answer.headers
    api = web.client.delete("/v1/settings")
    assert api.status_code in (401, 405)
    assert api.json()["error"]["code"] in ("unauthorized", "method_not_allowed")
    assert web.client.get("/v1/nowhere").json()["error"]["code"] in ("unauthorized", "not_found")


def test_the_api_is_unchanged_beside_the_dashboard(web: Web) -> None:
    assert web.client.get("/healthz").json() == {"status": "ok"}
    assert web.client.get("/openapi.json").json()["openapi"].startswith("3.1")
    refused = web.client.get("/v1/settings")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthorized"
    assert all(
        not p.startswith(("/sign", "/activity"))
        for p in web.client.get("/openapi.json").json()["paths"]
    )


def test_the_sign_in_page_reuses_a_well_formed_form_token(web: Web) -> None:
    web.as_session(None)
    first = csrf_of(web.get("/sign-in"))
    second = csrf_of(web.get("/sign-in"))
    assert first == second  # two tabs may sign in
