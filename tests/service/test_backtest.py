"""The backtest on both stores: hand-made histories where a known change flips known outcomes,
checked outcome by outcome and in revenue; people's decisions reported, not re-decided; the
version an outcome opened under reproduces it; precise refusals."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from earnest.backtest import BacktestReport
from earnest.contract import Contract, load_contract
from earnest.engine import Scheduled
from earnest.errors import EarnestError
from earnest.service.backtest import BacktestCancelled, run_backtest
from earnest.service.contracts import Contracts
from earnest.service.deadlines import catch_up
from earnest.service.disputes import Disputes
from earnest.service.ingest import ingest
from earnest.service.outcomes import Outcomes
from earnest.store import Database
from tests.contracts import T0

TICKET = """
key: ticket
conditions: resolved AND NOT reopened AND csat >= 4
price: $1.00
active_for: 48h
review_window: 24h
on_timeout: confirm
"""
NOW = T0 + timedelta(days=10)
H = timedelta(hours=1)
M = timedelta(minutes=1)


def proposed(**changes: str) -> Contract:
    """The ticket contract with some of its lines changed."""
    lines = []
    for line in TICKET.strip().splitlines():
        name = line.split(":", 1)[0]
        lines.append(f"{name}: {changes.pop(name)}" if name in changes else line)
    assert not changes, changes
    return load_contract("\n".join(lines))


def signal(ref: str, name: str, value: Any = True, **extra: Any) -> dict[str, Any]:
    return {"contract": "ticket", "outcome": ref, "signal": name, "value": value, **extra}


# (time, what): a signal to ingest, or a person's action
STORY: list[tuple[datetime, Any]] = [
    (T0, signal("t1", "resolved", customer="acme")),  # csat 4: confirmed; csat >= 5 cancels
    (T0 + M, signal("t1", "csat", 4)),
    (T0 + 2 * M, signal("t2", "resolved", customer="acme")),  # csat 5: confirmed under all
    (T0 + 3 * M, signal("t2", "csat", 5)),
    (T0 + 4 * M, signal("t3", "resolved", customer="bolt")),  # no csat: on_timeout decides
    (T0 + 5 * M, signal("t4", "resolved", customer="bolt")),  # reopened 2 h into its review
    (T0 + 6 * M, signal("t4", "csat", 5)),
    (T0 + 2 * H + 6 * M, signal("t4", "reopened")),
    (T0 + 7 * M, signal("t5", "resolved", customer="acme")),  # cancelled by hand
    (T0 + 30 * M, "settle t5"),
    (T0 + 8 * M, signal("t6", "resolved", customer="bolt")),  # confirmed, then disputed
    (T0 + 9 * M, signal("t6", "csat", 5)),
    (T0 + 3 * 24 * H, "dispute t6"),
    (T0 + 3 * 24 * H + H, "credit t6"),
    (NOW - 30 * M, signal("t7", "resolved", customer="acme")),  # still in review at NOW
    (NOW - 29 * M, signal("t7", "csat", 5)),
]


def play(db: Database) -> None:
    """The story, live: each signal received at its time, deadlines fired as they fall due."""
    Contracts(db, lambda: T0).save(load_contract(TICKET), actor="test")
    outcomes, disputes = Outcomes(db, lambda: T0), Disputes(db, lambda: T0)
    for at, what in sorted(STORY, key=lambda item: item[0]):
        catch_up(db, at)
        if what == "settle t5":
            outcomes.settle("ticket", "t5", Scheduled.CANCEL, "duplicate", actor="ops", at=at)
        elif what == "dispute t6":
            disputes.open("ticket", "t6", "only half fixed", actor="ops", at=at)
        elif what == "credit t6":
            disputes.resolve("ticket", "t6", "credit", "half", amount="0.40", actor="ops", at=at)
        else:
            [result] = ingest(db, [what], at)
            assert result.status == "accepted", result
    catch_up(db, NOW - H)  # the scheduler last ran an hour ago: NOW's deadlines are pending


@pytest.fixture
def story(db: Database) -> Database:
    play(db)
    return db


def run(
    db: Database, contract: Contract, since: datetime | None = None, until: datetime | None = None
) -> BacktestReport:
    return Contracts(db, lambda: NOW).backtest(contract, since=since, until=until)


def changed(report: BacktestReport) -> dict[str, tuple[str, str, str]]:
    return {
        d.ref: (d.change, d.before.state.value, d.after.state.value) for d in report.differences
    }


def revenue(report: BacktestReport) -> dict[str, tuple[str, str, str]]:
    """Charged revenue per currency as the report's JSON shows it: before, after, difference."""
    shown = report.json()["revenue"]
    return {c: (v["before"], v["after"], v["difference"]) for c, v in shown.items()}


def test_the_version_outcomes_opened_under_reproduces_them(story: Database) -> None:
    report = run(story, load_contract(TICKET))
    assert report.version == 1
    assert (report.outcomes, report.replayed, report.manual) == (7, 6, 1)
    assert report.differences == []
    assert (report.changed, report.changes) == (0, {})
    assert report.still_open == 1  # t7, in review until tomorrow
    assert report.signals == 12  # t5's signal is not replayed: it was settled by hand
    assert revenue(report) == {"USD": ("4.00", "4.00", "0.00")}  # t1, t2, t3, t6


def test_a_stricter_threshold_cancels_what_it_no_longer_accepts(story: Database) -> None:
    report = run(story, proposed(conditions="resolved AND NOT reopened AND csat >= 5"))
    assert report.version == 2  # what saving it would make
    assert changed(report) == {"t1": ("confirmed → cancelled", "confirmed", "cancelled")}
    [t1] = report.differences
    assert t1.before.explanation is not None
    assert "csat = 4" in t1.before.explanation
    assert t1.before.explanation.endswith("met")
    assert t1.after.explanation is not None
    assert "csat >= 5: csat = 4 ✗" in t1.after.explanation
    assert t1.after.explanation.endswith("failed")
    assert t1.after.review_reason == "activity_timeout"
    assert t1.after.settled_at == T0 + 72 * H  # active 48 h, then a 24 h review
    assert (t1.before.charge, t1.after.charge) == ((Decimal("1.00"), "USD"), None)
    assert report.changes == {"confirmed → cancelled": 1}
    assert revenue(report) == {"USD": ("4.00", "3.00", "-1.00")}


def test_a_shorter_review_window_lets_a_correction_arrive_too_late(story: Database) -> None:
    report = run(story, proposed(review_window="1h"))
    # t4's reopening came 2 h into its review: within 24 h it cancelled, after 1 h it is late
    assert changed(report) == {"t4": ("cancelled → confirmed", "cancelled", "confirmed")}
    [t4] = report.differences
    assert t4.after.settled_at == T0 + 6 * M + H
    assert t4.before.explanation is not None
    assert "reopened = true ✗" in t4.before.explanation
    assert t4.after.explanation is not None
    assert t4.after.explanation.endswith("met")
    assert report.still_open == 1  # t7 is still in review (until NOW + 30 min)
    assert revenue(report) == {"USD": ("4.00", "5.00", "1.00")}


def test_on_timeout_flipped_cancels_the_no_news_outcome(story: Database) -> None:
    report = run(story, proposed(on_timeout="cancel"))
    assert changed(report) == {"t3": ("confirmed → cancelled", "confirmed", "cancelled")}
    [t3] = report.differences
    assert t3.before.how == "activity window ended undecided; on_timeout confirm"
    assert t3.after.how == "activity window ended undecided; on_timeout cancel"
    assert revenue(report) == {"USD": ("4.00", "3.00", "-1.00")}


def test_a_new_price_and_currency_changes_every_charge(story: Database) -> None:
    report = run(story, proposed(price="€2.50"))
    assert set(changed(report)) == {"t1", "t2", "t3", "t6"}
    assert {d.change for d in report.differences} == {"price changed"}
    assert revenue(report) == {
        "EUR": ("0.00", "10.00", "10.00"),
        "USD": ("4.00", "0.00", "-4.00"),
    }


def test_people_s_decisions_are_reported_not_re_decided(story: Database) -> None:
    # csat >= 5 would not accept t5 either, and under "resolved" alone it would be confirmed:
    # either way it stays cancelled, as someone decided
    for contract in (proposed(conditions="resolved"), proposed(on_timeout="cancel")):
        report = run(story, contract)
        [manual] = report.settled_by_hand
        assert (manual.ref, manual.side.state.value, manual.by, manual.reason) == (
            "t5", "cancelled", "ops", "duplicate",
        )  # fmt: skip
        assert "t5" not in changed(report)
    # t6's dispute and credit are counted, and its charge stands
    assert (report.disputed, report.credited, report.credits) == (1, 1, {"USD": Decimal("0.40")})
    document = report.json()
    assert document["credits"] == {"USD": "0.40"}
    assert document["settled_by_hand"][0]["outcome"] == "t5"


def test_outcomes_opened_in_the_range_only(story: Database) -> None:
    report = run(story, load_contract(TICKET), since=T0 + 3 * M, until=T0 + 8 * M)
    assert report.outcomes == 3  # t3, t4, t5 (by hand); t6 opened at T0 + 8 min: excluded
    report = run(story, load_contract(TICKET), since=NOW - H)
    assert (report.outcomes, report.still_open) == (1, 1)
    # the default range is the 30 days to now
    assert run(story, load_contract(TICKET)).until == NOW
    assert run(story, load_contract(TICKET)).since == NOW - timedelta(days=30)


def test_a_pending_deadline_is_applied_to_what_happened(story: Database) -> None:
    # the scheduler has not run since NOW - 1 h; t7's review ends at NOW + 23.5 h
    later = NOW + 2 * 24 * H
    report = Contracts(story, lambda: later).backtest(load_contract(TICKET))
    assert report.differences == []
    assert report.still_open == 0
    assert revenue(report) == {"USD": ("5.00", "5.00", "0.00")}


def test_refusals(story: Database) -> None:
    with pytest.raises(EarnestError) as refused:
        run(story, load_contract(TICKET.replace("key: ticket", "key: nothing")))
    assert (refused.value.code, refused.value.field) == ("unknown_contract", "key")
    with pytest.raises(EarnestError) as refused:
        run(story, load_contract(TICKET), since=T0, until=T0 - M)
    assert (refused.value.code, refused.value.field) == ("invalid_range", "since")
    assert "is after until" in refused.value.message
    with pytest.raises(EarnestError) as refused:  # since defaults to until - 30 days
        run(story, load_contract(TICKET), since=NOW + M)
    assert refused.value.field == "since"


def test_a_backtest_can_be_cancelled_and_writes_nothing(story: Database) -> None:
    def head() -> tuple[Any, ...]:
        with story.read() as tx:
            row = tx.one(
                "SELECT (SELECT seq FROM chain_head), (SELECT COUNT(*) FROM outcomes),"
                " (SELECT COUNT(*) FROM ledger), (SELECT COUNT(*) FROM contract_versions)"
            )
        assert row is not None
        return row

    before = head()
    asked: list[int] = []

    def stop() -> bool:  # asked before each chunk (here, each outcome)
        asked.append(1)
        return len(asked) > 3

    with story.read() as tx, pytest.raises(BacktestCancelled):
        run_backtest(
            tx, proposed(review_window="1h"), None, None, lambda: NOW, should_stop=stop, chunk=1
        )
    assert len(asked) == 4
    with story.read() as tx:
        report = run_backtest(tx, load_contract(TICKET), None, None, lambda: NOW, chunk=1)
    assert (report.outcomes, report.changed) == (7, 0)
    report = Contracts(story, lambda: NOW).backtest(proposed(price="$3"))
    assert report.changed == 4
    assert head() == before
