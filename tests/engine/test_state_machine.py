"""The engine against the reference model, driven by Hypothesis over many outcomes and inputs.

Each outcome runs in two engine instances fed the same inputs at the same times: the *lazy*
one sees deadlines only when its next input arrives; the *eager* one also gets a
``DeadlineReached`` at every clock advance, the way a scheduler with no lag would deliver them.
Each instance is compared with its own reference model after every step, and the two must have
identical histories and outcomes once a final deadline far in the future has fired.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from earnest.contract import load_contract
from earnest.contract.model import Contract
from earnest.engine import (
    Charge,
    Credit,
    DeadlineReached,
    Decision,
    Entry,
    IllegalTransition,
    Input,
    Open,
    Outcome,
    Scheduled,
    Settle,
    Signal,
    State,
    decide,
)
from earnest.timefmt import format_time
from tests.engine.reference_model import RefEntry, RefIllegal, RefOutcome

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
FAR_FUTURE = timedelta(days=1000)
REFS = ("acme/api#1", "acme/api#2", "globex/web#3")
UNRELATED = "weather"


@dataclass(frozen=True)
class Spec:
    """A contract under test, the signal names its condition reads, and the signals that move
    its verdict (towards met, towards failed, or back to undecided by a retraction)."""

    mapping: dict[str, Any]
    names: tuple[str, ...]
    moves: tuple[tuple[str, Any], ...]

    def build(self) -> Contract:
        return load_contract(self.mapping)


SPECS = (
    Spec(  # the landing page's short form
        {
            "key": "landing",
            "conditions": "completed AND score > 3 AND NOT disputed",
            "price": "$0.99",
            "active_for": "1h",
            "review_window": "10m",
            "on_timeout": "confirm",
        },
        ("completed", "score", "disputed"),
        (
            ("completed", True),
            ("score", Decimal(4)),
            ("disputed", False),
            ("score", Decimal(3)),
            ("disputed", True),
            ("completed", None),
            ("disputed", None),
        ),
    ),
    Spec(
        {
            "key": "ticket_resolved",
            "conditions": "resolved AND NOT reopened AND csat >= 4",
            "price": "€1.50",
            "active_for": "2h",
            "review_window": "30m",
            "on_timeout": "cancel",
            "after_settlement": "credit",
        },
        ("resolved", "reopened", "csat"),
        (
            ("resolved", True),
            ("csat", Decimal(4)),
            ("reopened", False),
            ("csat", Decimal("3.9")),
            ("reopened", True),
            ("resolved", None),
            ("reopened", None),
        ),
    ),
    Spec(
        {
            "key": "code_shipped",
            "conditions": ["merged", "NOT reverted"],
            "price": "0.25 USD",
            "active_for": "30m",
            "review_window": "0s",
            "on_timeout": "confirm",
            "after_settlement": "flag",
        },
        ("merged", "reverted"),
        (("merged", True), ("reverted", True), ("merged", None), ("reverted", None)),
    ),
    Spec(
        {
            "key": "deploy_done",
            "conditions": 'status IN ["done", "shipped"] AND NOT vetoed',
            "price": "£2",
            "active_for": "45m",
            "review_window": "15m",
            "on_timeout": "confirm",
            "after_settlement": "ignore",
        },
        ("status", "vetoed"),
        (
            ("status", "done"),
            ("status", "shipped"),
            ("status", "started"),
            ("vetoed", True),
            ("status", None),
            ("vetoed", None),
        ),
    ),
)

CONTRACTS = tuple(spec.build() for spec in SPECS)

VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(["2", "3", "3.5", "3.999", "4", "4.0", "5", "0", "-1"]).map(Decimal),
    st.sampled_from(["done", "shipped", "Done", "", "yes"]),
)

# Small steps inside windows, and jumps across one or several deadlines.
CLOCK_STEPS = st.one_of(
    st.integers(min_value=0, max_value=120),
    st.integers(min_value=0, max_value=300),
    st.sampled_from([599, 600, 601, 900, 1799, 1800, 2700, 3599, 3600, 3601, 7200, 86_400]),
).map(lambda s: timedelta(seconds=s))


@dataclass
class Run:
    """One outcome as one engine instance sees it, beside its reference model."""

    outcome: Outcome
    model: RefOutcome
    entries: list[Entry] = field(default_factory=list)
    charges: list[Charge] = field(default_factory=list)
    credits: list[Credit] = field(default_factory=list)
    deadline: datetime | None = None

    def apply(self, decision: Decision) -> None:
        self.outcome = decision.outcome
        self.entries.extend(decision.effects.entries)
        self.charges.extend(decision.effects.charges)
        self.credits.extend(decision.effects.credits)
        self.deadline = decision.effects.deadline


@dataclass
class Tracked:
    contract: Contract
    spec: Spec
    lazy: Run
    eager: Run
    sent: list[tuple[str, Any, datetime, str]] = field(default_factory=list)

    @property
    def runs(self) -> tuple[Run, Run]:
        return (self.lazy, self.eager)


def open_run(contract: Contract, ref: str, now: datetime) -> Run:
    decision = decide(None, Open(contract, 1, ref, "acme"), now)
    run = Run(decision.outcome, RefOutcome.open(contract, ref, "acme", now))
    run.apply(decision)
    return run


def feed(run: Run, event: Input, now: datetime, model_step: Callable[[RefOutcome], Any]) -> None:
    """Give one input to the engine and its model; both must accept it or both refuse it."""
    before_outcome, before_entries = run.outcome, len(run.entries)
    engine_refused = model_refused = False
    try:
        run.apply(decide(run.outcome, event, now))
    except IllegalTransition:
        engine_refused = True
    try:
        model_step(run.model)
    except RefIllegal:
        model_refused = True
    assert engine_refused == model_refused, (
        f"engine refused {engine_refused}, model {model_refused}"
    )
    if engine_refused:
        assert run.outcome is before_outcome
        assert len(run.entries) == before_entries
    if before_outcome.state.settled:  # a settled outcome never changes its decision
        assert run.outcome.state is before_outcome.state
        assert run.outcome.settled_at == before_outcome.settled_at


class LifecycleMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.spec_of: dict[str, tuple[Contract, Spec]] = {}
        self.tracked: dict[str, Tracked] = {}

    @initialize(
        choices=st.lists(st.sampled_from(range(len(SPECS))), min_size=2, max_size=3),
    )
    def assign_contracts(self, choices: list[int]) -> None:
        for ref, index in zip(REFS, choices, strict=False):
            self.spec_of[ref] = (CONTRACTS[index], SPECS[index])

    # Rules -----------------------------------------------------------------------------

    @rule(data=st.data())
    def open(self, data: st.DataObject) -> None:
        ref = data.draw(st.sampled_from(sorted(self.spec_of)))
        self.ensure_open(ref)

    @rule(data=st.data())
    def signal(self, data: st.DataObject) -> None:
        ref = data.draw(st.sampled_from(sorted(self.spec_of)))
        tracked = self.ensure_open(ref)
        name = data.draw(st.sampled_from((*tracked.spec.names, UNRELATED)))
        value = data.draw(VALUES)
        earlier_ats = [at for _, _, at, _ in tracked.sent]
        at_choices: list[st.SearchStrategy[datetime]] = [
            st.integers(min_value=-120, max_value=300).map(
                lambda s: self.now + timedelta(seconds=s)
            ),
            st.integers(min_value=-7200, max_value=300).map(
                lambda s: self.now + timedelta(seconds=s)
            ),
        ]
        if earlier_ats:
            at_choices.append(st.sampled_from(earlier_ats))
        at = data.draw(st.one_of(at_choices))
        self.send(tracked, name, value, at, f"sig-{len(tracked.sent)}")

    @rule(data=st.data(), age_s=st.sampled_from([0, 0, 1, 30]))
    def move(self, data: st.DataObject, age_s: int) -> None:
        """A signal that moves the verdict, occurring now or just before: reaches reviews."""
        ref = data.draw(st.sampled_from(sorted(self.spec_of)))
        tracked = self.ensure_open(ref)
        name, value = data.draw(st.sampled_from(tracked.spec.moves))
        at = self.now - timedelta(seconds=age_s)
        self.send(tracked, name, value, at, f"sig-{len(tracked.sent)}")

    @precondition(lambda self: any(t.sent for t in self.tracked.values()))
    @rule(data=st.data())
    def resend(self, data: st.DataObject) -> None:
        """The engine has no idempotency (the service does): a resend is a new arrival."""
        ref = data.draw(st.sampled_from(sorted(r for r, t in self.tracked.items() if t.sent)))
        tracked = self.tracked[ref]
        name, value, at, signal_id = data.draw(st.sampled_from(tracked.sent))
        self.send(tracked, name, value, at, signal_id)

    @rule(step=CLOCK_STEPS)
    def advance_clock(self, step: timedelta) -> None:
        self.advance_to(self.now + step)

    @precondition(lambda self: any(t.lazy.deadline for t in self.tracked.values()))
    @rule(data=st.data())
    def advance_to_deadline(self, data: st.DataObject) -> None:
        """Land exactly on a deadline, so the next input arrives at the deadline itself."""
        deadlines = sorted({t.lazy.deadline for t in self.tracked.values() if t.lazy.deadline})
        self.advance_to(max(self.now, data.draw(st.sampled_from(deadlines))))

    @precondition(lambda self: bool(self.tracked))
    @rule(data=st.data())
    def deadline_reached(self, data: st.DataObject) -> None:
        ref = data.draw(st.sampled_from(sorted(self.tracked)))
        for run in self.tracked[ref].runs:
            feed(run, DeadlineReached(), self.now, lambda m: m.deadline_reached(self.now))

    @precondition(lambda self: bool(self.tracked))
    @rule(data=st.data(), decision=st.sampled_from(Scheduled))
    def settle(self, data: st.DataObject, decision: Scheduled) -> None:
        ref = data.draw(st.sampled_from(sorted(self.tracked)))
        event = Settle(decision, "admin says so", by="ops")
        for run in self.tracked[ref].runs:
            feed(run, event, self.now, lambda m: m.settle(decision.value, self.now))

    # Helpers ---------------------------------------------------------------------------

    def ensure_open(self, ref: str) -> Tracked:
        """Open ``ref`` if it is not tracked yet; a second Open is a no-op."""
        tracked = self.tracked.get(ref)
        if tracked is None:
            contract, spec = self.spec_of[ref]
            lazy, eager = open_run(contract, ref, self.now), open_run(contract, ref, self.now)
            tracked = self.tracked[ref] = Tracked(contract, spec, lazy, eager)
            return tracked
        for run in tracked.runs:
            again = decide(run.outcome, Open(tracked.contract, 1, ref, "acme"), self.now)
            assert again.outcome == run.outcome
            assert again.effects.entries == ()
            assert again.effects.charges == ()
        return tracked

    def send(self, tracked: Tracked, name: str, value: Any, at: datetime, signal_id: str) -> None:
        tracked.sent.append((name, value, at, signal_id))
        event = Signal(name, value, at, id=signal_id)
        for run in tracked.runs:
            feed(run, event, self.now, lambda m: m.signal(name, value, at, self.now))

    def advance_to(self, moment: datetime) -> None:
        assert moment >= self.now
        self.now = moment
        for tracked in self.tracked.values():
            eager = tracked.eager
            feed(eager, DeadlineReached(), self.now, lambda m: m.deadline_reached(self.now))

    # Invariants ------------------------------------------------------------------------

    @invariant()
    def engine_matches_model(self) -> None:
        for tracked in self.tracked.values():
            for run in tracked.runs:
                assert_matches(run)

    @invariant()
    def eager_and_lazy_agree_in_the_end(self) -> None:
        for ref, tracked in self.tracked.items():
            final = self.now + FAR_FUTURE
            lazy = decide(tracked.lazy.outcome, DeadlineReached(), final)
            eager = decide(tracked.eager.outcome, DeadlineReached(), final)
            assert lazy.outcome == eager.outcome, ref
            assert lazy.outcome.state.settled
            assert [*tracked.lazy.entries, *lazy.effects.entries] == [
                *tracked.eager.entries,
                *eager.effects.entries,
            ], ref
            assert [*tracked.lazy.charges, *lazy.effects.charges] == [
                *tracked.eager.charges,
                *eager.effects.charges,
            ]
            assert tracked.lazy.credits == tracked.eager.credits

    @invariant()
    def ledger_is_consistent(self) -> None:
        for tracked in self.tracked.values():
            for run in tracked.runs:
                state = run.outcome.state
                assert len(run.charges) == (1 if state is State.CONFIRMED else 0)
                charged = sum((c.amount for c in run.charges), start=Decimal(0))
                credited = sum((c.amount for c in run.credits), start=Decimal(0))
                assert Decimal(0) <= credited <= charged
                assert all(c.amount > 0 for c in run.credits)

    @invariant()
    def settled_outcomes_never_change_state(self) -> None:
        for tracked in self.tracked.values():
            for run in tracked.runs:
                settles = [e for e in run.entries if e.kind == "transition" and is_settling(e)]
                assert len(settles) <= 1
                if settles:
                    assert run.outcome.state.value == settles[0].data["to"]
                    assert run.outcome.settled_at == settles[0].at


def is_settling(entry: Entry) -> bool:
    return entry.data["to"] in (State.CONFIRMED.value, State.CANCELLED.value)


def assert_matches(run: Run) -> None:
    engine, model = run.outcome, run.model
    assert engine.state.value == model.state
    assert _value_of(engine.scheduled) == model.scheduled
    assert _value_of(engine.review_reason) == model.review_reason
    assert engine.opened_at == model.opened_at
    assert engine.active_until == model.active_until
    assert engine.review_ends_at == model.review_ends_at
    assert engine.settled_at == model.settled_at
    assert engine.clock == model.clock
    assert engine.values == model.values
    assert {n: (o.value, o.at) for n, o in engine.observed.items()} == {
        n: (v.value, v.at) for n, v in model.latest.items()
    }
    assert _value_of(engine.last_verdict) == model.last_verdict
    assert engine.contested == model.contested
    assert [(c.amount, c.currency, c.at) for c in run.charges] == model.charges
    assert [(c.amount, c.currency, c.at) for c in run.credits] == model.credits
    assert engine.charged == (model.charged if model.charges else None)
    assert engine.credited == model.credited
    assert run.deadline == engine.deadline == model_deadline(model)
    assert project(run.entries, model.entries) == [_plain(e) for e in model.entries]


def model_deadline(model: RefOutcome) -> datetime | None:
    if model.state == "open":
        return model.active_until
    if model.state == "in_review":
        return model.review_ends_at
    return None


def project(
    entries: Sequence[Entry], like: Sequence[RefEntry]
) -> list[tuple[str, str, dict[str, Any]]]:
    """The engine's entries cut down to the data keys the model records, for comparison."""
    out = []
    for index, entry in enumerate(entries):
        keys = like[index].data.keys() if index < len(like) else ()
        data = {key: entry.data.get(key, "<missing>") for key in keys}
        out.append((entry.kind, format_time(entry.at), data))
    return out


def _plain(entry: RefEntry) -> tuple[str, str, dict[str, Any]]:
    return (entry.kind, format_time(entry.at), dict(entry.data))


def _value_of(member: StrEnum | None) -> str | None:
    return None if member is None else member.value


LifecycleMachine.TestCase.settings = settings(
    max_examples=200,
    stateful_step_count=40,
    deadline=None,
)
TestLifecycle = LifecycleMachine.TestCase
