"""``earnest demo``'s moving parts: a fresh database with the example contracts on short windows,
a few months of past history written in virtual time (:func:`write_history`: customers on
different billing days, finalized invoices, disputes and credits), and :class:`Traffic`, which
invents outcome stories for a few customers and sends their signals.

The generator is pure apart from three seams, so tests run it without HTTP or sleeping: ``rng``
decides the stories, ``clock`` says when "now" is, ``sink`` receives each batch of signals. The
live demo plugs in the real clock and an :class:`HttpSink` that posts to the API.
"""

from __future__ import annotations

import heapq
import logging
import random
import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml

from earnest.access import Scope
from earnest.app import Earnest
from earnest.billing import BillingDays, Period
from earnest.contract import load_contract
from earnest.contract.loader import ContractYamlLoader
from earnest.service.activity import CLI
from earnest.service.deadlines import catch_up
from earnest.service.ingest import MAX_BATCH, ingest
from earnest.service.invoices import InvoiceClosing
from earnest.service.pages import MAX_LIMIT, every
from earnest.timefmt import format_time

log = logging.getLogger(__name__)

Signal = dict[str, Any]
Sink = Callable[[Sequence[Signal]], None]
Clock = Callable[[], datetime]
Plan = list[tuple[float, Signal]]  # (seconds after the story starts, signal without id or at)

CUSTOMERS = ("acme", "globex", "initech", "umbrella", "hooli")
DEMO_USER = "admin@example.com"  # the dashboard's sign-in
REVIEW_S = 60  # the demo's review_window, "1m", in seconds
# Short enough to watch an outcome open, enter review and settle within a few minutes.
WINDOWS = {
    "ticket_resolved": {"active_for": "2m", "review_window": "1m"},
    "code_shipped": {"active_for": "3m", "review_window": "1m"},
    "incident_resolved": {"active_for": "2m30s", "review_window": "1m"},
}
EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"  # the repository's examples/
_LATE_S = REVIEW_S + 30  # after the review that began at the story's decisive signal has ended
_RECENT = 200  # how many sent signals a deliberate duplicate may be drawn from


# Setup ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DemoSetup:
    admin_key: str
    ingest_key: str
    contracts: tuple[str, ...]
    admin_id: str = ""  # the admin key's id: who acts when the demo's history resolves disputes
    user_email: str = DEMO_USER  # the dashboard's admin user
    user_password: str = ""  # generated afresh for every demo


def remove_database_files(path: Path) -> None:
    """Delete a previous demo database and its WAL files; never the production ``earnest.db``."""
    if path.name == "earnest.db":
        raise ValueError(f"refusing to replace {path}: give the demo a file of its own")
    for candidate in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        candidate.unlink(missing_ok=True)


def demo_contract_documents(examples_dir: Path = EXAMPLES_DIR) -> list[dict[str, Any]]:
    """The example contracts as mappings, their windows shortened for the demo."""
    documents = []
    for key, windows in WINDOWS.items():
        text = (examples_dir / f"{key}.yaml").read_text(encoding="utf-8")
        document = yaml.load(text, Loader=ContractYamlLoader)  # a SafeLoader
        assert isinstance(document, dict), f"{key}.yaml is not a mapping"
        documents.append({**document, **windows})
    return documents


def set_up(app: Earnest, examples_dir: Path = EXAMPLES_DIR) -> DemoSetup:
    """Store the demo contracts, create one admin and one ingest key and a dashboard admin
    with a generated password (all as ``cli``)."""
    contracts = [load_contract(document) for document in demo_contract_documents(examples_dir)]
    for contract in contracts:
        app.contracts.save(contract, actor=CLI)
    admin, admin_key = app.keys.create(Scope.ADMIN, "demo admin", actor=CLI)
    _, ingest_key = app.keys.create(Scope.INGEST, "demo traffic", actor=CLI)
    password = secrets.token_urlsafe(12)  # 16 characters, printed once in the banner
    app.users.create(DEMO_USER, "admin", password, actor=CLI)
    keys = tuple(c.key for c in contracts)
    return DemoSetup(admin_key, ingest_key, keys, admin.id, DEMO_USER, password)


# Stories --------------------------------------------------------------------------------


def _signal(contract: str, ref: str, name: str, value: object = True, **extra: Any) -> Signal:
    signal: Signal = {"contract": contract, "outcome": ref, "signal": name}
    if value is not True:
        signal["value"] = value
    signal.update(extra)
    return signal


def _ticket(rng: random.Random, number: int, customer: str) -> Plan:
    ref, c = f"T-{number}", "ticket_resolved"
    subject = rng.choice(("Password reset", "Refund request", "Invoice question", "Login loop"))
    opened = _signal(c, ref, "resolved", customer=customer, data={"subject": subject})
    met = rng.uniform(5, 20)
    story = rng.choices(
        ("happy", "low", "corrected", "reopened", "silent", "late"), (4, 2, 2, 2, 1, 1)
    )[0]
    plan: Plan = [(0.0, opened)]
    if story == "happy":
        plan.append((met, _signal(c, ref, "csat", rng.choice((4, 5)))))
    elif story == "low":  # a failed check while open: cancelled when the activity window ends
        plan.append((met, _signal(c, ref, "csat", rng.choice((1, 2, 3)))))
    elif story == "corrected":  # the survey tool corrects a mis-recorded score
        plan.append((met, _signal(c, ref, "csat", 2, data={"source": "survey"})))
        plan.append(
            (met + rng.uniform(5, 15), _signal(c, ref, "csat", 5, data={"corrected": True}))
        )
    elif story == "reopened":  # reopened during review: the scheduled decision flips to cancel
        plan.append((met, _signal(c, ref, "csat", 5)))
        plan.append((met + rng.uniform(10, REVIEW_S - 15), _signal(c, ref, "reopened")))
    elif story == "late":  # reopened after settlement: flagged as contested
        plan.append((met, _signal(c, ref, "csat", 4)))
        plan.append((met + _LATE_S + rng.uniform(0, 20), _signal(c, ref, "reopened")))
    return plan  # "silent": no news is good news, confirmed when the activity window ends


def _pull_request(rng: random.Random, number: int, customer: str) -> Plan:
    ref, c = f"{customer}/{rng.choice(('api', 'web', 'billing'))}#{number}", "code_shipped"
    title = rng.choice(("Fix pagination", "Add retries", "Speed up search", "Bump deps"))
    sha = f"{rng.getrandbits(40):010x}"
    merged = rng.uniform(5, 25)
    plan: Plan = [
        (0.0, _signal(c, ref, "pr_opened", customer=customer, data={"title": title})),
    ]
    story = rng.choices(
        ("shipped", "reverted", "retracted", "late_revert", "abandoned"), (4, 2, 1, 1, 1)
    )[0]
    if story == "abandoned":  # never merged: cancelled when the activity window ends
        return plan
    plan.append((merged, _signal(c, ref, "merged", data={"sha": sha})))
    if story == "reverted":
        plan.append((merged + rng.uniform(10, REVIEW_S - 15), _signal(c, ref, "reverted")))
    elif story == "retracted":  # a revert sent by mistake, then withdrawn with value null
        revert = merged + rng.uniform(5, 20)
        plan.append((revert, _signal(c, ref, "reverted")))
        plan.append((revert + rng.uniform(5, 15), _signal(c, ref, "reverted", None)))
    elif story == "late_revert":  # reverted after settlement: credited back automatically
        plan.append((merged + _LATE_S + rng.uniform(0, 20), _signal(c, ref, "reverted")))
    return plan


def _incident(rng: random.Random, number: int, customer: str) -> Plan:
    ref, c = f"INC-{number}", "incident_resolved"
    service = rng.choice(("checkout", "search", "auth", "payments"))
    story = rng.choices(("resolved", "recurred", "minor", "late_recurrence"), (4, 2, 2, 1))[0]
    severity = "sev3" if story == "minor" else rng.choice(("sev1", "sev2"))
    resolved = rng.uniform(10, 30)
    plan: Plan = [
        (0.0, _signal(c, ref, "severity", severity, customer=customer, data={"service": service})),
        (resolved, _signal(c, ref, "resolved")),
    ]
    if story == "recurred":
        plan.append((resolved + rng.uniform(10, REVIEW_S - 15), _signal(c, ref, "recurred")))
    elif story == "late_recurrence":  # after settlement: recorded, and ignored by contract
        plan.append((resolved + _LATE_S + rng.uniform(0, 20), _signal(c, ref, "recurred")))
    return plan


STORIES = (_ticket, _pull_request, _incident)


# The generator --------------------------------------------------------------------------


class Traffic:
    """Starts stories at ``rate`` signals per second (on average) and sends each signal when due.

    Every signal gets a unique ``id`` and an ``at`` of the moment it is sent, except deliberate
    duplicates (``duplicate_rate`` of signals), which resend an earlier signal byte for byte.
    """

    def __init__(
        self,
        *,
        rng: random.Random,
        clock: Clock,
        sink: Sink,
        rate: float = 4.0,
        duplicate_rate: float = 0.03,
        id_prefix: str = "demo",
    ) -> None:
        assert rate > 0, "the rate is in signals per second and must be positive"
        self.rng, self.clock, self.sink, self.rate = rng, clock, sink, rate
        self.duplicate_rate = duplicate_rate
        self.id_prefix = id_prefix
        self.sent = 0
        self.duplicates_sent = 0
        self._queue: list[tuple[datetime, int, Signal, bool]] = []  # (due, order, signal, final)
        self._order = 0
        self._ids = 0
        self._stories = 0
        self._next_story: datetime | None = None
        self._recent: list[Signal] = []

    def step(self) -> list[Signal]:
        """Send every signal due now, as one batch; the batch sent."""
        now = self.clock()
        self._start_stories(now)
        batch: list[Signal] = []
        while self._queue and self._queue[0][0] <= now:
            _, _, signal, final = heapq.heappop(self._queue)
            if final:
                self.duplicates_sent += 1
                batch.append(signal)
            else:
                batch.append(self._stamp(signal, now))
        if batch:
            self.sink(batch)
            self.sent += len(batch)
        return batch

    def run(self, stop: threading.Event, tick_s: float = 0.25) -> None:
        """Step every ``tick_s`` until ``stop`` is set. A failing sink never ends the traffic."""
        while not stop.is_set():
            try:
                self.step()
            except Exception:  # the demo keeps going; the log says what went wrong
                log.exception("demo traffic: a step failed")
            stop.wait(tick_s)

    def _start_stories(self, now: datetime) -> None:
        if self._next_story is None or self._next_story < now - timedelta(seconds=10):
            self._next_story = now  # first step, or the thread stalled: no burst to catch up
        while self._next_story <= now:
            self._stories += 1
            tell = self.rng.choice(STORIES)
            plan = tell(self.rng, 1000 + self._stories, self.rng.choice(CUSTOMERS))
            for offset_s, signal in plan:
                self._push(self._next_story + timedelta(seconds=offset_s), signal, final=False)
            self._next_story += timedelta(seconds=len(plan) / self.rate)

    def _stamp(self, template: Signal, now: datetime) -> Signal:
        self._ids += 1
        ident = f"{self.id_prefix}-{self._ids:08d}"
        signal = {"id": ident, **template, "at": format_time(now)}
        self._recent = [*self._recent[-(_RECENT - 1) :], signal]
        if self.rng.random() < self.duplicate_rate:
            resend_at = now + timedelta(seconds=self.rng.uniform(2, 20))
            self._push(resend_at, self.rng.choice(self._recent), final=True)
        return signal

    def _push(self, due: datetime, signal: Signal, *, final: bool) -> None:
        self._order += 1
        heapq.heappush(self._queue, (due, self._order, signal, final))


# Past history ---------------------------------------------------------------------------

HISTORY_DAYS = 95  # about three months of past periods, all finalized but the current ones
HISTORY_STORIES = 880  # story numbers 1..880 (live traffic numbers its stories from 1001)
SELLER = {
    "seller_name": "Earnest Demo Ltd",
    "seller_address": "1 Market Street, San Francisco, CA 94105, USA",
    "seller_tax_id": "US 12-3456789",
}
CUSTOMER_DETAILS: dict[str, dict[str, Any]] = {
    "acme": {"name": "Acme Corporation", "billing_day": 1,
             "address": "12 Road Runner Way, Phoenix, AZ 85001, USA", "tax_id": "US 98-7654321"},
    "globex": {"name": "Globex Inc.", "billing_day": 15,
               "address": "1 Cypress Creek, Springfield, OR 97477, USA", "tax_id": "US 45-1234567"},
    "initech": {"name": "Initech LLC", "billing_day": 28,
                "address": "4120 Freidrich Lane, Austin, TX 78744, USA", "tax_id": "US 74-2468013"},
    "umbrella": {"name": "Umbrella plc", "billing_day": 8,
                 "address": "221 Raccoon Street, London EC1A 1BB, United Kingdom",
                 "tax_id": "GB 123 4567 89"},
    "hooli": {"name": "Hooli GmbH", "billing_day": 22,
              "address": "Friedrichstrasse 68, 10117 Berlin, Germany", "tax_id": "DE 811 907 980"},
}  # fmt: skip
_CHANGED_DAY = ("umbrella", 25)  # a billing-day change in the history: one short period
_HOUR = timedelta(hours=1)
_DAY = timedelta(days=1)

Action = Callable[[], object]
Event = tuple[datetime, int, "Signal | Action"]


@dataclass(slots=True)
class _VirtualClock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass(frozen=True, slots=True)
class History:
    """What :func:`write_history` left behind, for the banner."""

    start: datetime
    finalized: list[str]  # invoice numbers, in order
    drafts: int
    disputes: int  # opened by hand (4) and by late signals under after_settlement: flag


def _periods(customer: str, start: datetime) -> list[Period]:
    """The customer's first three periods, for a customer created at ``start``."""
    days = BillingDays.of(start, CUSTOMER_DETAILS[customer]["billing_day"])
    first = days.first()
    return [first, days.after(first), days.after(days.after(first))]


def _happy_ticket(number: int, customer: str, at: datetime) -> list[tuple[datetime, Signal]]:
    """A ticket resolved with a good score at ``at``: confirmed a review window later."""
    ref, c = f"T-{number}", "ticket_resolved"
    opened = _signal(c, ref, "resolved", customer=customer, data={"subject": "Billing export"})
    return [(at, opened), (at + timedelta(seconds=20), _signal(c, ref, "csat", 5))]


@dataclass(slots=True)
class _Timeline:
    """Past events in time order: signals (sent in batches) and actions (each at its time)."""

    events: list[Event] = field(default_factory=list)

    def signals(self, timed: Sequence[tuple[datetime, Signal]]) -> None:
        for at, signal in timed:
            self.events.append((at, len(self.events), signal))

    def action(self, at: datetime, action: Action) -> None:
        self.events.append((at, len(self.events), action))


def write_history(
    app: Earnest,
    now: datetime,
    rng: random.Random,
    *,
    days: int = HISTORY_DAYS,
    stories: int = HISTORY_STORIES,
) -> tuple[DemoSetup, History]:
    """Set up the demo (contracts, keys, seller settings, customers) ``days`` before ``now``
    and write what happened since, in virtual time: ``stories`` outcome stories, a dispute
    resolved with a partial credit, one credited on a later invoice than its charge, one
    rejected and one left open, a billing-day change, and every period that ended before
    ``now`` finalized (numbered EARN-000001 on). Everything is stamped with its past time,
    so live traffic from ``now`` on follows it."""
    assert stories < 1000, "live traffic numbers its stories from 1001"
    start = datetime.combine((now - timedelta(days=days)).date(), datetime.min.time(), UTC)
    clock = _VirtualClock(start)
    past = Earnest(app.db, clock=clock)
    setup = set_up(past)
    past.settings.put(SELLER, actor=CLI)
    for customer in CUSTOMERS:
        past.customers.put(customer, CUSTOMER_DETAILS[customer], actor=CLI)
    timeline = _Timeline()
    # the stories of live traffic, spread over the history, ending an hour before now
    span = (now - _HOUR - start - _HOUR) / stories
    for number in range(1, stories + 1):
        began = start + _HOUR + span * (number - 1 + rng.random() * 0.5)
        plan = rng.choice(STORIES)(rng, number, rng.choice(CUSTOMERS))
        timeline.signals([(began + timedelta(seconds=offset), s) for offset, s in plan])
    # disputes, each on a ticket of its own
    admin = setup.admin_id
    acme, globex, initech = (_periods(c, start) for c in ("acme", "globex", "initech"))
    charged = acme[1].start + 2 * _DAY  # resolved with a partial credit in the same period
    timeline.signals(_happy_ticket(901, "acme", charged))
    timeline.action(
        charged + 2 * _DAY,
        lambda: past.disputes.open(
            "ticket_resolved", "T-901", "The fix only worked for half the users", actor=admin,
            at=clock.now,
        ),
    )  # fmt: skip
    timeline.action(
        charged + 3 * _DAY,
        lambda: past.disputes.resolve(
            "ticket_resolved", "T-901", "credit", "Partial refund: half the users affected",
            amount="0.40", actor=admin, at=clock.now,
        ),
    )  # fmt: skip
    charged = globex[1].start + 20 * _DAY  # credited in the next period, on its invoice
    timeline.signals(_happy_ticket(902, "globex", charged))
    disputed = globex[2].start + _DAY
    timeline.action(
        disputed,
        lambda: past.disputes.open(
            "ticket_resolved", "T-902", "Duplicate of an earlier ticket", actor=admin,
            at=clock.now,
        ),
    )  # fmt: skip
    timeline.action(
        disputed + _DAY,
        lambda: past.disputes.resolve(
            "ticket_resolved", "T-902", "credit", "Refund: duplicate ticket", actor=admin,
            at=clock.now,
        ),
    )  # fmt: skip
    charged = initech[1].start + 3 * _DAY  # rejected
    timeline.signals(_happy_ticket(903, "initech", charged))
    timeline.action(
        charged + _DAY,
        lambda: past.disputes.open(
            "ticket_resolved", "T-903", "The customer says it was never resolved", actor=admin,
            at=clock.now,
        ),
    )  # fmt: skip
    timeline.action(
        charged + 2 * _DAY,
        lambda: past.disputes.resolve(
            "ticket_resolved", "T-903", "reject", "The ticket log shows the customer confirmed",
            actor=admin, at=clock.now,
        ),
    )  # fmt: skip
    charged = now - 3 * _DAY  # still open
    timeline.signals(_happy_ticket(904, "hooli", charged))
    timeline.action(
        charged + _DAY,
        lambda: past.disputes.open(
            "ticket_resolved", "T-904", "Agent closed the ticket without an answer",
            actor=admin, at=clock.now,
        ),
    )  # fmt: skip
    customer, day = _CHANGED_DAY
    timeline.action(
        _periods(customer, start)[1].start + 10 * _DAY,
        lambda: past.customers.put(customer, {"billing_day": day}, actor=CLI),
    )
    _play(app, timeline, clock, now)
    finalized = every(
        lambda after: app.invoices.list(status="finalized", limit=MAX_LIMIT, after=after)
    )
    drafts = every(lambda after: app.invoices.list(status="draft", limit=MAX_LIMIT, after=after))
    disputes = every(lambda after: app.disputes.list(limit=MAX_LIMIT, after=after))
    numbers = sorted(i.number for i in finalized if i.number is not None)
    return setup, History(start, numbers, len(drafts), len(disputes))


def _play(app: Earnest, timeline: _Timeline, clock: _VirtualClock, now: datetime) -> None:
    """Apply the timeline in time order, as the live demo would have: signals in batches, each
    at its own time; each action at its time; each period closed once its end and grace have
    passed (its deadlines first), then, at ``now``, every deadline and closing due."""
    closing = InvoiceClosing(app.db)
    pending: list[tuple[datetime, Signal]] = []
    due = closing.next_due()  # read again after each closing and action: only they move it
    ids = 0

    def send() -> None:
        if pending:
            results = ingest(app.db, [s for _, s in pending], [at for at, _ in pending])
            refused = [r for r in results if r.status != "accepted"]
            assert not refused, f"the demo's history refused a signal: {refused[0]}"
            pending.clear()

    def close_until(moment: datetime) -> None:
        nonlocal due
        while due is not None and due <= moment:
            send()
            while closing.fire_due(due):
                pass
            due = closing.next_due()

    for at, _, event in sorted(timeline.events, key=lambda e: (e[0], e[1])):
        close_until(at)
        if isinstance(event, dict):
            ids += 1
            pending.append((at, {"id": f"past-{ids:06d}", **event, "at": format_time(at)}))
            if len(pending) == MAX_BATCH:
                send()
            continue
        send()
        clock.now = at
        event()
        due = closing.next_due()
    send()
    catch_up(app.db, now)
    close_until(now)
    clock.now = now


# Sending over HTTP ----------------------------------------------------------------------


class HttpSink:
    """Posts each batch to ``/v1/signals/batch``; logs refusals and errors, never raises them."""

    def __init__(self, base_url: str, ingest_key: str, *, timeout_s: float = 10.0) -> None:
        self.client = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {ingest_key}"},
            timeout=timeout_s,
        )

    def __call__(self, signals: Sequence[Signal]) -> None:
        try:
            response = self.client.post("/v1/signals/batch", json={"signals": list(signals)})
        except httpx.HTTPError as error:
            log.warning("demo traffic: %d signals not sent: %s", len(signals), error)
            return
        if response.status_code != 200:
            log.warning("demo traffic: HTTP %d: %s", response.status_code, response.text[:500])
            return
        for item in response.json().get("results", []):
            if item.get("status") == "rejected":
                log.warning("demo traffic: signal %s rejected: %s", item.get("index"), item)

    def close(self) -> None:
        self.client.close()


def wait_until_healthy(base_url: str, stop: threading.Event, timeout_s: float = 30.0) -> bool:
    """Poll ``/healthz`` until it answers ok; False when ``stop`` is set or time runs out."""
    for _ in range(int(timeout_s / 0.1)):
        if stop.is_set():
            return False
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1.0).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        stop.wait(0.1)
    return False
