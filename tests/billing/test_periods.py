"""Billing periods from a billing-day history (SPEC section 6): the spec's example, and over
random histories: periods tile time, the first holds the customer's creation, a change never
moves the period in progress, and each period ends on the day in force before it began."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from earnest.billing import BillingDays, Period, next_occurrence
from earnest.billing.periods import midnight, tiles


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def spans(periods: list[Period]) -> list[tuple[str, str]]:
    return [(p.start.date().isoformat(), p.end.date().isoformat()) for p in periods]


def test_the_spec_example() -> None:
    """Billing day 1 changed to 25 on 2026-11-21: 11-01 → 12-01, 12-01 → 12-25, 12-25 → 01-25."""
    days = BillingDays.of(at("2026-10-10 08:00"), 1, (at("2026-11-21 12:00"), 25))
    found = days.between(at("2026-11-01"), at("2027-02-01"))
    assert spans(found) == [
        ("2026-11-01", "2026-12-01"),
        ("2026-12-01", "2026-12-25"),
        ("2026-12-25", "2027-01-25"),
        ("2027-01-25", "2027-02-25"),
    ]


def test_with_billing_day_15_a_period_runs_from_the_15th_to_the_15th() -> None:
    days = BillingDays.of(at("2026-11-20 09:30"), 15)
    assert spans([days.first()]) == [("2026-11-15", "2026-12-15")]
    # A charge at exactly 00:00 on a billing day belongs to the period that starts then.
    assert days.containing(at("2026-12-15 00:00")).start == at("2026-12-15")
    assert days.containing(at("2026-12-14 23:59:59.999999")).end == at("2026-12-15")


def test_a_change_to_the_next_day_makes_a_one_day_period() -> None:
    days = BillingDays.of(at("2026-11-05"), 1, (at("2026-11-20"), 2))
    assert spans(days.between(at("2026-12-01"), at("2026-12-03"))) == [
        ("2026-12-01", "2026-12-02"),
        ("2026-12-02", "2027-01-02"),
    ]


def test_several_changes_in_one_period_the_last_counts() -> None:
    changes = [(at("2026-11-03"), 10), (at("2026-11-09"), 20), (at("2026-11-30"), 5)]
    days = BillingDays.of(at("2026-10-01"), 1, *changes)
    assert spans(days.between(at("2026-11-01"), at("2027-01-01"))) == [
        ("2026-11-01", "2026-12-01"),
        ("2026-12-01", "2026-12-05"),
        ("2026-12-05", "2027-01-05"),
    ]


def test_a_change_at_the_instant_a_period_starts_waits_for_the_next() -> None:
    days = BillingDays.of(at("2026-10-15"), 1, (at("2026-12-01 00:00"), 10))
    assert spans(days.between(at("2026-12-01"), at("2027-01-02"))) == [
        ("2026-12-01", "2027-01-01"),
        ("2027-01-01", "2027-01-10"),
    ]


def test_an_entry_of_a_finalized_period_goes_to_the_first_open_one() -> None:
    days = BillingDays.of(at("2026-10-01"), 1)
    november, december = days.between(at("2026-11-01"), at("2026-12-02"))
    late = at("2026-11-30 23:59:59")  # settled in November, committed after November closed
    assert days.place(late, november) == (november, None)
    assert days.place(late, december) == (december, november)
    assert days.place(at("2026-12-02"), december) == (december, None)
    assert days.place(at("2027-01-02"), november)[0].start == at("2027-01-01")  # walked on
    assert days.place(at("2026-09-01"), december) == (december, days.first())  # before it


# Properties -------------------------------------------------------------------------------

T0 = datetime(2024, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=3 * 365)


@st.composite
def histories(draw: st.DrawFn) -> BillingDays:
    created = T0 + timedelta(seconds=draw(st.integers(0, 400 * 86_400)))
    day = draw(st.integers(1, 28))
    offsets = sorted(draw(st.lists(st.integers(0, 700 * 86_400), max_size=8)))
    later = [(created + timedelta(seconds=s), draw(st.integers(1, 28))) for s in offsets]
    return BillingDays.of(created, day, *later)


@given(histories())
def test_periods_tile_time_from_the_creation_on(days: BillingDays) -> None:
    created = days.changes[0][0]
    found = days.between(created, created + SPAN)
    assert tiles(found)
    assert created in found[0]
    assert found[-1].end >= created + SPAN
    for period in found:
        assert period.start.time() == period.end.time() == datetime.min.time()
        assert timedelta(days=1) <= period.end - period.start <= timedelta(days=31)


@given(histories())
def test_each_period_ends_on_the_day_in_force_before_it_began(days: BillingDays) -> None:
    created = days.changes[0][0]
    for period in days.between(created, created + SPAN)[1:]:
        day = days.in_force_before(period.start)
        assert period.end.date() == next_occurrence(period.start.date(), day)


@given(histories(), st.integers(0, 900 * 86_400), st.integers(1, 28))
def test_a_change_never_moves_the_period_in_progress(
    days: BillingDays, offset_s: int, new_day: int
) -> None:
    last = days.changes[-1][0]
    moment = max(last, days.changes[0][0] + timedelta(seconds=offset_s))
    changed = BillingDays((*days.changes, (moment, new_day)))
    before = days.between(days.changes[0][0], moment + timedelta(seconds=1))
    after = changed.between(days.changes[0][0], moment + timedelta(seconds=1))
    assert before == after  # every period up to the one in progress at the change
    assert changed.containing(moment) == days.containing(moment)


@given(histories(), st.lists(st.integers(0, 3 * 365 * 86_400), min_size=1, max_size=30))
def test_every_moment_falls_in_exactly_one_period(days: BillingDays, offsets: list[int]) -> None:
    created = days.changes[0][0]
    found = days.between(created, created + SPAN + timedelta(days=40))
    for offset in offsets:
        moment = created + timedelta(seconds=offset)
        holding = [p for p in found if moment in p]
        assert holding == [days.containing(moment)]


def test_next_occurrence_is_strictly_after() -> None:
    assert next_occurrence(date(2026, 12, 25), 25) == date(2027, 1, 25)
    assert next_occurrence(date(2026, 12, 24), 25) == date(2026, 12, 25)
    assert next_occurrence(date(2026, 12, 31), 1) == date(2027, 1, 1)
    assert midnight(date(2026, 1, 2)) == at("2026-01-02")
