"""``earnest demo``'s moving parts: a fresh database with the example contracts on short windows,
and :class:`Traffic`, which invents outcome stories for a few customers and sends their signals.

The generator is pure apart from three seams, so tests run it without HTTP or sleeping: ``rng``
decides the stories, ``clock`` says when "now" is, ``sink`` receives each batch of signals. The
live demo plugs in the real clock and an :class:`HttpSink` that posts to the API.
"""

from __future__ import annotations

import heapq
import logging
import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml

from earnest.access import Scope
from earnest.app import Earnest
from earnest.contract import load_contract
from earnest.contract.loader import ContractYamlLoader
from earnest.service.activity import CLI
from earnest.timefmt import format_time

log = logging.getLogger(__name__)

Signal = dict[str, Any]
Sink = Callable[[Sequence[Signal]], None]
Clock = Callable[[], datetime]
Plan = list[tuple[float, Signal]]  # (seconds after the story starts, signal without id or at)

CUSTOMERS = ("acme", "globex", "initech", "umbrella", "hooli")
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
    """Store the demo contracts and create one admin and one ingest key (as ``cli``)."""
    contracts = [load_contract(document) for document in demo_contract_documents(examples_dir)]
    for contract in contracts:
        app.contracts.save(contract, actor=CLI)
    _, admin_key = app.keys.create(Scope.ADMIN, "demo admin", actor=CLI)
    _, ingest_key = app.keys.create(Scope.INGEST, "demo traffic", actor=CLI)
    return DemoSetup(admin_key, ingest_key, tuple(c.key for c in contracts))


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
