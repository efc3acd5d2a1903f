"""The outcomes pages through HTTP: the list with its filters (bad ones refused naming the
field) and its pages, each outcome with its timeline in plain words, settling by hand,
opening and resolving disputes (a partial credit lands on the invoice), every refusal
changing nothing, and planted HTML shown as text."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from decimal import Decimal
from urllib.parse import quote

import httpx
import pytest
from markupsafe import escape

from earnest.engine import Scheduled, State
from earnest.web.outcomes import filters_of
from tests.web.access_outcomes import MORE_REQUESTS, ensure_landing, seed, signals
from tests.web.conftest import ADMIN, VIEWER, Web, plans
from tests.web.test_access import state

PLANTED = '<script>alert("x")</script><img src=x onerror=alert(1)>'
HOSTILE_REF = 'acme/api#12 <b>"x"</b>'


@pytest.fixture
def seeded(web: Web) -> Web:
    seed(web.app)
    return web


def rows(text: str) -> list[str]:
    """The references of the list's rows, in order."""
    body = text.split('<tbody id="outcome-rows">', 1)[1].split("</tbody>", 1)[0]
    return [
        html.unescape(ref) for ref in re.findall(r'<a href="/outcomes/[^"]+">([^<]*)</a>', body)
    ]


def text_of(page: str) -> str:
    """The page as a reader sees its words: tags dropped, entities read."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def post(web: Web, path: str, data: dict[str, str], csrf: str) -> httpx.Response:
    return web.post(path, {**data, "csrf_token": csrf})


# The list -----------------------------------------------------------------------------------


def test_the_list_shows_every_outcome_newest_first(seeded: Web) -> None:
    seeded.session(VIEWER)
    page = seeded.get("/outcomes")
    assert page.status_code == 200
    assert rows(page.text) == ["OUT-3", "OUT-2", "OUT-1"]
    assert page.text.count('<a href="/customers/acme">acme</a>') == 3
    text = text_of(page.text)
    assert "in review" in text
    assert "Contested" in text  # OUT-2's mark
    assert "$0.99" in text


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("contested=yes", ["OUT-2"]),
        ("contested=no", ["OUT-3", "OUT-1"]),
        ("contested=any", ["OUT-3", "OUT-2", "OUT-1"]),
        ("state=in_review", ["OUT-1"]),
        ("state=confirmed&contested=no", ["OUT-3"]),
        ("contract=landing&customer=acme&state=confirmed", ["OUT-3", "OUT-2"]),
        ("customer=acme&state=&contract=&contested=", ["OUT-3", "OUT-2", "OUT-1"]),
    ],
)
def test_filters_narrow_the_list(seeded: Web, query: str, expected: list[str]) -> None:
    seeded.session(VIEWER)
    page = seeded.get(f"/outcomes?{query}")
    assert page.status_code == 200
    assert rows(page.text) == expected


def test_filters_matching_nothing_say_so(seeded: Web) -> None:
    seeded.session(VIEWER)
    for query in ("customer=nobody", "contract=other", "state=cancelled"):
        page = seeded.get(f"/outcomes?{query}")
        assert page.status_code == 200
        assert "No outcome matches these filters." in page.text


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("state=settled", "state"),
        ("contested=maybe", "contested"),
        ("contract=" + "x" * 256, "contract"),
        ("customer=a%00b", "customer"),
        ("after=-1", "after"),
        ("after=abc", "after"),
        ("after=99999999999999999999", "after"),
    ],
)
def test_a_bad_filter_is_refused_naming_it(seeded: Web, query: str, field: str) -> None:
    seeded.session(VIEWER)
    page = seeded.get(f"/outcomes?{query}")
    assert page.status_code == 422, page.text
    assert "No outcomes shown" in page.text
    assert field in text_of(page.text).split("No outcomes shown", 1)[1][:200]
    assert 'id="outcome-rows"' not in page.text
    if field in ("state", "contested", "contract", "customer"):
        assert f'id="filter-{field}-error"' in page.text  # next to its field


def test_the_list_pages_with_its_filters(web: Web) -> None:
    ensure_landing(web.app)
    refs = [f"OUT-P{i:03d}" for i in range(60)]
    web.app.signals.batch([item for ref in refs for item in signals(ref, ("completed", True))])
    web.session(VIEWER)
    first = web.get("/outcomes?contract=landing&state=open")
    assert rows(first.text) == list(reversed(refs))[:50]
    older = re.search(r'<a href="([^"]+)"[^<]*Older outcomes', first.text)
    assert older is not None
    link = html.unescape(older.group(1))
    assert "contract=landing" in link
    assert "state=open" in link
    second = web.get(link)
    assert rows(second.text) == list(reversed(refs))[50:]
    assert "Older outcomes" not in second.text
    assert "Newest outcomes" in second.text


# One outcome ---------------------------------------------------------------------------------


def test_an_outcome_shows_its_figures_and_links(seeded: Web) -> None:
    seeded.session(VIEWER)
    page = seeded.get("/outcomes/landing/OUT-2")
    assert page.status_code == 200
    view = seeded.app.outcomes.get("landing", "OUT-2")
    assert view.charge is not None
    assert 'href="/customers/acme"' in page.text
    assert 'href="/contracts/landing/versions/1"' in page.text
    assert f'href="/invoices/{view.charge.invoice}"' in page.text
    text = text_of(page.text)
    assert "confirmed" in text
    assert "Contested: a dispute is open" in text
    assert "not what we asked for" in text
    assert "Only an admin can settle" in text  # a viewer sees no form
    assert '<form class="oc-action"' not in page.text


def test_the_timeline_says_each_entry_in_plain_words(web: Web) -> None:
    ensure_landing(web.app)
    web.app.signals.batch(
        [{**signals("OUT-T", ("completed", True))[0], "id": "sig-1", "data": {"pr": 12}}]
    )
    web.app.signals.batch(signals("OUT-T", ("score", 5)))
    web.clock.advance(hours=25)  # the review window ends: its deadline settles it
    web.app.signals.batch(signals("OUT-T", ("score", 2)))  # late: flags a dispute
    web.app.disputes.resolve("landing", "OUT-T", "credit", "half", amount="0.40", actor=ADMIN)
    web.session(VIEWER)
    page = web.get("/outcomes/landing/OUT-T")
    assert page.status_code == 200
    text = text_of(page.text)
    expected = [
        "Tracking began for customer acme under contract landing version 1, at a price of"
        " $0.99; it stays open until 25 Nov 2026, 10:00:00 UTC.",
        "Signal “completed” arrived: true, at 23 Nov 2026, 10:00:00 UTC.",
        "Signal id sig-1",
        'Data {"pr":12}',
        "Not decided yet: score > 3 does not hold (score not seen yet).",
        "Conditions met: completed is true, score > 3 holds (score is 5) and NOT disputed"
        " holds (disputed not seen yet).",
        "Review window opened because the conditions were met; it ends on 24 Nov 2026,"
        " 10:00:00 UTC, and the outcome will then be confirmed.",
        "Confirmed when the review window ended.",
        "Charged $0.99.",
        "Signal “score” arrived: 2, at 24 Nov 2026, 11:00:00 UTC. It came after settlement,"
        " so it changes no decision.",
        "Conditions failed: score > 3 does not hold (score is 2).",
        "Dispute opened automatically: late signal score failed the check.",
        f"Dispute resolved by {ADMIN} with a credit of $0.40: “half”.",
        "Credited $0.40 when the dispute was resolved: “half”.",
    ]
    at = 0
    for sentence in expected:
        found = text.find(sentence, at)
        assert found >= 0, (sentence, text[at:])
        at = found + len(sentence)
    assert "Net $0.59" in text


def test_settling_by_hand_and_the_engine_s_other_transitions(web: Web) -> None:
    ensure_landing(web.app)
    web.app.signals.batch(signals("OUT-S", ("completed", True), ("score", 5)))
    web.app.signals.batch(signals("OUT-S", ("score", 1)))  # the check flips it to cancel
    web.app.outcomes.settle("landing", "OUT-S", Scheduled.CANCEL, "gone", actor=ADMIN)
    web.session(VIEWER)
    text = text_of(web.get("/outcomes/landing/OUT-S").text)
    assert "The check changed the decision: the outcome will be cancelled when the review" in text
    assert f"Cancelled by hand by {ADMIN}: “gone”." in text
    assert "nothing charged" in text


def test_a_reference_with_slashes_and_markup_is_one_outcome(web: Web) -> None:
    ensure_landing(web.app)
    web.app.signals.batch(signals(HOSTILE_REF, ("completed", True)))
    web.session(ADMIN)
    listed = web.get("/outcomes")
    path = f"/outcomes/landing/{quote(HOSTILE_REF, safe='')}"
    assert f'href="{path}"' in listed.text
    assert "<b>" not in listed.text
    page = web.get(path)
    assert page.status_code == 200
    assert html.escape(HOSTILE_REF, quote=False) in page.text or "&lt;b&gt;" in page.text
    assert f'action="{path}/settle"' in page.text


@pytest.mark.parametrize(
    "path",
    [
        "/outcomes/landing/NOPE",
        "/outcomes/nope/OUT-1",
        "/outcomes/landing/OUT-1/extra",
        "/outcomes/landing/%FF",
        "/outcomes/landing/a%00b",
        "/outcomes/landing/OUT-1?after=x",
    ],
)
def test_an_unknown_or_malformed_outcome_is_an_error_page(seeded: Web, path: str) -> None:
    seeded.session(VIEWER)
    page = seeded.get(path)
    assert page.status_code in (404, 422), page.text
    assert "<h1>" in page.text


def test_a_long_timeline_comes_a_page_at_a_time(web: Web) -> None:
    ensure_landing(web.app)
    web.app.signals.batch(signals("OUT-L", *[("score", i % 3) for i in range(120)]))
    web.session(VIEWER)
    first = web.get("/outcomes/landing/OUT-L")
    assert first.text.count('<li class="step ') == 200
    later = re.search(r'<a href="([^"]+)">Later entries', first.text)
    assert later is not None
    second = web.get(html.unescape(later.group(1)))
    assert second.status_code == 200
    assert second.text.count('<li class="step ') == 241 - 200  # opened + 120 signals + checks
    assert "Later entries" not in second.text


# Changes -------------------------------------------------------------------------------------


def test_an_admin_settles_an_outcome_in_review(seeded: Web) -> None:
    signed = seeded.session(ADMIN)
    page = seeded.get("/outcomes/landing/OUT-1")
    assert 'action="/outcomes/landing/OUT-1/settle"' in page.text
    answer = post(seeded, "/outcomes/landing/OUT-1/settle",
                  {"decision": "cancel", "reason": "duplicate"}, signed.csrf)  # fmt: skip
    assert answer.status_code == 303
    assert answer.headers["location"] == "/outcomes/landing/OUT-1?done=settled"
    assert seeded.app.outcomes.get("landing", "OUT-1").outcome.state is State.CANCELLED
    after = text_of(seeded.get("/outcomes/landing/OUT-1?done=settled").text)
    assert "The outcome was settled." in after
    assert f"Cancelled by hand by {ADMIN}: “duplicate”." in after


@pytest.mark.parametrize(
    "case",
    [
        ("OUT-1/settle", {"decision": "maybe", "reason": "x"}, 422, "settle-decision",
         "decision is confirm or cancel"),
        ("OUT-1/settle", {"decision": "confirm", "reason": "  "}, 422, "settle-reason",
         "reason is required"),
        ("OUT-1/settle", {"decision": "confirm", "reason": "x" * 1001}, 422, "settle-reason",
         "at most 1000"),
        ("OUT-3/settle", {"decision": "cancel", "reason": "late"}, 409, None,
         "already confirmed"),
        ("OUT-3/disputes", {"reason": ""}, 422, "dispute-reason", "reason is required"),
        ("OUT-1/disputes", {"reason": "no"}, 409, None, "only a confirmed outcome"),
        ("OUT-2/disputes", {"reason": "again"}, 409, None, "already has an open dispute"),
        ("OUT-3/disputes/resolve", {"resolution": "reject", "note": "n"}, 409, None,
         "no open dispute"),
        ("OUT-2/disputes/resolve", {"resolution": "credit_partial", "amount": "", "note": "n"},
         422, "resolve-amount", "amount is required"),
        ("OUT-2/disputes/resolve", {"resolution": "credit_partial", "amount": "-1", "note": "n"},
         422, "resolve-amount", "must be positive"),
        ("OUT-2/disputes/resolve", {"resolution": "credit_partial", "amount": "1e3",
                                    "note": "n"}, 422, "resolve-amount", "positive decimal"),
        ("OUT-2/disputes/resolve", {"resolution": "credit_partial", "amount": "1.00",
                                    "note": "n"}, 422, "resolve-amount", "more than the 0.99"),
        ("OUT-2/disputes/resolve", {"resolution": "everything", "note": "n"}, 422,
         "resolve-resolution", "resolution is"),
        ("OUT-2/disputes/resolve", {"resolution": "reject", "note": ""}, 422, "resolve-note",
         "note is required"),
    ],
)  # fmt: skip
def test_a_refused_change_says_why_and_changes_nothing(
    seeded: Web, case: tuple[str, dict[str, str], int, str | None, str]
) -> None:
    path, body, status, field, message = case
    signed = seeded.session(ADMIN)
    before = state(seeded)
    answer = post(seeded, f"/outcomes/landing/{path}", body, signed.csrf)
    assert answer.status_code == status, answer.text
    text = answer.text
    assert "Nothing was changed" in text
    assert message in html.unescape(text)
    if field is not None:
        assert f'id="{field}-error"' in text
        assert message in html.unescape(text.split(f'id="{field}-error"', 1)[1][:300])
    assert state(seeded) == before


def test_a_refused_form_keeps_what_was_typed(seeded: Web) -> None:
    signed = seeded.session(ADMIN)
    answer = post(seeded, "/outcomes/landing/OUT-2/disputes/resolve",
                  {"resolution": "credit_partial", "amount": "5", "note": PLANTED},
                  signed.csrf)  # fmt: skip
    text = answer.text
    assert 'value="5"' in text
    assert str(escape(PLANTED)) in text
    assert PLANTED not in text
    assert re.search(r'value="credit_partial" checked', text)


def test_unknown_actions_and_outcomes_are_not_found(seeded: Web) -> None:
    signed = seeded.session(ADMIN)
    before = state(seeded)
    for path in ("/outcomes/landing/OUT-1/archive", "/outcomes/landing/NOPE/settle"):
        answer = post(seeded, path, {"decision": "confirm", "reason": "x"}, signed.csrf)
        assert answer.status_code == 404
    assert state(seeded) == before


def test_a_dispute_is_opened_and_resolved_with_a_partial_credit_on_the_invoice(
    seeded: Web,
) -> None:
    signed = seeded.session(ADMIN)
    opened = post(seeded, "/outcomes/landing/OUT-3/disputes", {"reason": PLANTED}, signed.csrf)
    assert opened.status_code == 303
    page = seeded.get("/outcomes/landing/OUT-3?done=disputed")
    assert "The dispute was opened." in page.text
    assert PLANTED not in page.text
    assert str(escape(PLANTED)) in page.text
    assert f"Dispute opened by {ADMIN}" in text_of(page.text)
    assert seeded.app.outcomes.get("landing", "OUT-3").outcome.contested
    assert rows(seeded.get("/outcomes?contested=yes").text) == ["OUT-3", "OUT-2"]

    resolved = post(seeded, "/outcomes/landing/OUT-3/disputes/resolve",
                    {"resolution": "credit_partial", "amount": "0.25", "note": "a quarter"},
                    signed.csrf)  # fmt: skip
    assert resolved.status_code == 303
    view = seeded.app.outcomes.get("landing", "OUT-3")
    assert not view.outcome.contested
    assert [c.amount for c in view.credits] == [Decimal("0.25")]
    assert view.net == Decimal("0.74")
    text = text_of(seeded.get("/outcomes/landing/OUT-3").text)
    assert f"Dispute resolved by {ADMIN} with a credit of $0.25: “a quarter”." in text
    assert "Net $0.74" in text
    invoice = seeded.app.invoices.get(view.credits[0].invoice or "")
    assert [(c.outcome, c.amount) for c in invoice.credits] == [("OUT-3", Decimal("0.25"))]
    disputes = seeded.app.disputes.list(limit=10).items
    assert (disputes[0].outcome, disputes[0].resolved_by) == ("OUT-3", ADMIN)


@pytest.mark.parametrize(("choice", "credited"), [("credit_full", "0.99"), ("reject", None)])
def test_a_dispute_is_accepted_in_full_or_rejected(
    seeded: Web, choice: str, credited: str | None
) -> None:
    signed = seeded.session(ADMIN)
    answer = post(seeded, "/outcomes/landing/OUT-2/disputes/resolve",
                  {"resolution": choice, "amount": "0.10", "note": "looked at"},
                  signed.csrf)  # fmt: skip
    assert answer.status_code == 303
    view = seeded.app.outcomes.get("landing", "OUT-2")
    assert not view.outcome.contested
    assert [str(c.amount) for c in view.credits] == ([credited] if credited else [])
    words = "with a credit of $0.99" if credited else "Dispute rejected by"
    assert words in text_of(seeded.get("/outcomes/landing/OUT-2").text)


def test_a_viewer_is_refused_every_change(seeded: Web) -> None:
    signed = seeded.session(VIEWER)
    before = state(seeded)
    for path, body in MORE_REQUESTS:
        answer = post(seeded, path, body, signed.csrf)
        assert answer.status_code == 403
    assert state(seeded) == before


def test_planted_signal_data_and_reasons_are_text(web: Web) -> None:
    ensure_landing(web.app)
    item = {**signals(PLANTED, ("completed", True))[0], "id": PLANTED, "data": {"x": PLANTED}}
    web.app.signals.batch([item, *signals(PLANTED, (PLANTED[:60], PLANTED))])
    web.app.outcomes.settle("landing", PLANTED, Scheduled.CONFIRM, PLANTED, actor=ADMIN)
    web.app.disputes.open("landing", PLANTED, PLANTED, actor=ADMIN)
    web.session(ADMIN)
    for path in ("/outcomes", f"/outcomes/landing/{quote(PLANTED, safe='')}"):
        page = web.get(path)
        assert page.status_code == 200
        assert "<script>alert" not in page.text
        assert "<img src=x" not in page.text
        assert "&lt;script&gt;" in page.text


def test_settling_takes_the_time_of_the_request(seeded: Web) -> None:
    seeded.clock.advance(hours=1)
    signed = seeded.session(ADMIN)
    post(seeded, "/outcomes/landing/OUT-1/settle", {"decision": "confirm", "reason": "ok"},
         signed.csrf)  # fmt: skip
    view = seeded.app.outcomes.get("landing", "OUT-1")
    assert view.outcome.settled_at == seeded.clock.now
    assert view.outcome.settled_at - view.outcome.opened_at == timedelta(hours=1)


# Speed -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "index"),
    [
        ("contract=landing", "outcomes_contract"),
        ("customer=acme", "outcomes_customer"),
        ("state=in_review", "outcomes_state"),
        ("contested=yes", "outcomes_contested"),
        ("contract=landing&state=in_review", "outcomes_state"),
        ("contract=landing&customer=acme&state=confirmed", "outcomes_customer"),
        ("customer=acme&contested=yes&state=confirmed", "outcomes_contested"),
    ],
)
def test_each_filter_walks_an_index_newest_first(seeded: Web, query: str, index: str) -> None:
    """No filter sorts the outcomes it matches: the list reads one index in id order (SQLite
    keeps no statistics to choose by, so the store says which)."""
    filters = filters_of(dict(part.split("=") for part in query.split("&"))).chosen
    found = plans(seeded, lambda: seeded.app.outcomes.list(filters, limit=50))
    plan = next(plan for sql, plan in found.items() if sql.startswith("SELECT id FROM outcomes"))
    assert re.search(rf"INDEX {index}\b", plan), plan
    assert "TEMP B-TREE" not in plan, plan
    assert not [p for p in found.values() if re.search(r"SCAN (ledger|outcomes)(?! USING)", p)], (
        found
    )


def test_an_outcome_s_page_reads_by_index_only(seeded: Web) -> None:
    """Its row, ledger entries, a page of history and its disputes: no table read whole."""
    found = plans(seeded, lambda: seeded.app.outcomes.detail("landing", "OUT-2"))
    assert len(found) >= 4
    for sql, plan in found.items():
        assert "SCAN" not in plan.replace("SCAN CONSTANT ROW", ""), (sql, plan)
