"""kill -9 of ``earnest serve`` while webhook events are written and delivered (SPEC 10, 12).

A real ``earnest serve`` on SQLite, with one endpoint wanting every event type: a real
loopback receiver (``tests/service/receiver.py``) that checks every request's signature with
the ``standardwebhooks`` package and takes 20 ms to answer, so that about half the kills find
deliveries in flight (claimed by the server killed, not recorded). A client thread posts
signals over HTTP for many outcomes of a contract with 1 s windows (so deadlines settle,
charges book, late signals flag disputes), opens disputes and resolves some with credits,
whether or not a server is up. The test SIGKILLs the server at random instants, 30+ times:
mostly while it serves and delivers, now and then during its start-up (schema check,
catch-up, first claims). The first server is the installed ``earnest`` script; the others are
``earnest serve`` forked from a zygote (``serve_zygote.py``: the same click command, Python
started once), so 30 kills fit in seconds.

After the last kill, a last ``earnest serve`` (the script again) runs until every deadline has
settled and every delivery is delivered, then stops on SIGTERM with status 0. Its clock is
:data:`~earnest.service.delivery.CLAIM_S` + 10 s ahead (libfaketime, wall clock only), as if
it had been restarted a minute later: claims held by killed senders have expired, as they
would in production, and the receiver's five-minute timestamp tolerance still holds. Without
``faketime`` (outside CI) the test expires those claims in the database instead.

A request cut off by a kill between its headers and the end of its body is no delivery (its
headers must still name a committed event). Then: every event committed (``webhook_events``
and its delivery) was received at least once, its body byte for byte; nothing was received
that the database does not hold (no uncommitted event went out); per outcome, the first
receipt of each event is in commit order (delivery id), and that order is the order of the
events' times; every request verified; every delivery recorded delivered with a 2xx attempt;
every signal the server acknowledged is stored; the product's verifiers (audit and replay)
agree.

``EARNEST_CRASH_SEED`` replays one run's kill schedule (the traffic's timing still varies).
"""

from __future__ import annotations

import functools
import heapq
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from earnest.access import Scope
from earnest.bootstrap import build
from earnest.contract import load_contract
from earnest.service.delivery import CLAIM_S
from earnest.store import connect
from tests.crash.checks import product_verifiers
from tests.service.receiver import Receiver

ZYGOTE = Path(__file__).with_name("serve_zygote.py")
EARNEST = Path(sys.executable).with_name("earnest")
KILLS = 32
BUDGET_S = 90.0  # a safety cap on a slow machine; 32 kills normally take about 15 s
ALIVE_S = (0.05, 0.45)  # how long a server runs after answering /healthz before its SIGKILL
EARLY_S = (0.0, 0.3)  # or, now and then, after its fork, during its start-up
HOLD_S = 0.02  # how long the receiver takes to answer
START_S = 30.0  # the most a server may take to answer /healthz
DRAIN_S = 30.0  # the most the last server may take to settle and deliver everything
AHEAD_S = int(CLAIM_S) + 10  # the last server's clock: the killed senders' claims expired
CONTRACT_KEY = "hook"
CONTRACT = """
active_for: 1s
review_window: 1s
price: $1
conditions: done AND NOT broken
on_timeout: cancel
after_settlement: flag
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def libfaketime() -> str | None:
    """Debian's libfaketime, as ``tests/test_serve_faketime.py`` finds it."""
    from tests.test_serve_faketime import libfaketime as find

    try:
        return find()
    except pytest.skip.Exception:
        return None


# The client ---------------------------------------------------------------------------------


class Traffic(threading.Thread):
    """Posts signals for new outcomes (about 30 a second) and, on a schedule, their follow-ups:
    a failing signal during the review (cancelled), a late failing one after confirmation
    (flag: contested, dispute opened), a dispute opened by hand, a resolution with a credit.
    A request that fails (no server, killed mid-answer) is not retried: the database is the
    truth the checks start from. ``acked``: ids of the signals answered 200."""

    def __init__(self, base: str, key: str, seed: int) -> None:
        super().__init__(name="traffic", daemon=True)
        self.client = httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=5.0
        )
        self.rng = random.Random(seed)
        self.stopping = threading.Event()
        self.acked: list[str] = []
        self.answers: Counter[str] = Counter()
        self.sent = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._run()
        except BaseException as error:  # reported by stop()
            self.error = error

    def _run(self) -> None:
        rng = self.rng
        later: list[tuple[float, int, str, int]] = []  # (due, tiebreak, action, outcome)
        outcome = 0
        while not self.stopping.is_set():
            now = time.monotonic()
            outcome += 1
            if rng.random() < 0.85:
                self.signal(outcome, "done", True)  # in review at once, confirmed 1 s later
                if rng.random() < 0.2:
                    heapq.heappush(later, (now + rng.uniform(0.1, 0.8), outcome, "break", outcome))
                elif rng.random() < 0.25:
                    heapq.heappush(later, (now + rng.uniform(2.2, 3.0), outcome, "late", outcome))
                elif rng.random() < 0.15:
                    heapq.heappush(later, (now + rng.uniform(2.2, 3.0), outcome, "open", outcome))
            else:
                self.signal(outcome, "broken", False)  # undecided: times out, cancelled
            while later and later[0][0] <= time.monotonic():
                _, _, action, ref = heapq.heappop(later)
                if action == "break":
                    self.signal(ref, "broken", True)
                elif action == "late":
                    self.signal(ref, "broken", True)  # after settlement: a system dispute
                    if rng.random() < 0.5:
                        heapq.heappush(later, (time.monotonic() + 0.3, ref, "credit", ref))
                elif action == "open":
                    self.post(f"/v1/outcomes/{CONTRACT_KEY}/o{ref}/disputes", {"reason": "late"})
                    heapq.heappush(later, (time.monotonic() + 0.3, ref, "credit", ref))
                else:
                    self.post(
                        f"/v1/outcomes/{CONTRACT_KEY}/o{ref}/disputes/resolve",
                        {"resolution": "credit", "note": "refunded"},
                    )
            self.stopping.wait(0.03)

    def signal(self, outcome: int, name: str, value: Any) -> None:
        self.sent += 1
        ident = f"s{self.sent}"
        body = {"id": ident, "contract": CONTRACT_KEY, "outcome": f"o{outcome}",
                "customer": f"c{outcome % 7}", "signal": name, "value": value}  # fmt: skip
        if self.post("/v1/signals", body) == 200:
            self.acked.append(ident)

    def post(self, path: str, body: dict[str, Any]) -> int | None:
        try:
            answer = self.client.post(path, json=body)
        except httpx.TransportError:
            self.answers["no answer"] += 1
            return None
        self.answers[str(answer.status_code)] += 1
        assert answer.status_code < 500, answer.text
        return answer.status_code

    def stop(self) -> None:
        self.stopping.set()
        self.join(30)
        self.client.close()
        if self.error is not None:
            raise self.error


# The servers --------------------------------------------------------------------------------


class Servers:
    """Starts ``earnest serve`` (the script, or forked by the zygote) on one port; at
    :meth:`close`, kills whatever still runs."""

    def __init__(self, url: str, port: int, logs: Path) -> None:
        self.url, self.port, self.logs = url, port, logs
        self.base = f"http://127.0.0.1:{port}"
        self.log = logs / "serve.log"
        self.forked: int | None = None  # the zygote's child not reaped yet
        self.scripts: list[subprocess.Popen[bytes]] = []
        self.starts: list[float] = []  # seconds from each start to its first /healthz
        with self.log.open("a") as err:
            self.zygote = subprocess.Popen(
                [sys.executable, str(ZYGOTE)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True,
            )  # fmt: skip

    def _ask(self, line: str) -> str:
        zygote = self.zygote
        assert zygote.stdin is not None
        assert zygote.stdout is not None
        zygote.stdin.write(line + "\n")
        zygote.stdin.flush()
        answer = zygote.stdout.readline()
        while answer == "ZYGOTE\n":
            answer = zygote.stdout.readline()
        return answer

    def fork(self) -> int:
        answer = self._ask(f"serve {self.url} {self.port} {self.log}")
        assert answer.startswith("PID "), f"zygote: {answer!r} {self.tail()}"
        self.forked = int(answer.split()[1])
        return self.forked

    def reap(self, pid: int) -> int:
        answer = self._ask(f"reap {pid}")
        assert answer.startswith("EXIT "), f"zygote: {answer!r} {self.tail()}"
        self.forked = None
        return int(answer.split()[1])

    def script(self, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """The installed ``earnest serve``."""
        with self.log.open("a") as out:
            process = subprocess.Popen(
                [str(EARNEST), "--database", self.url, "serve", "--port", str(self.port)],
                stdout=out, stderr=subprocess.STDOUT, env=env,
            )  # fmt: skip
        self.scripts.append(process)
        return process

    def wait_ready(self, alive: Callable[[], bool]) -> None:
        began = time.monotonic()
        deadline = began + START_S
        while True:
            assert alive(), f"serve died on start: {self.tail()}"
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1.0).status_code == 200:
                    self.starts.append(time.monotonic() - began)
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"serve did not start: {self.tail()}"
            time.sleep(0.01)

    def tail(self) -> str:
        return self.log.read_text()[-3000:] if self.log.exists() else ""

    def close(self) -> None:
        """End the zygote; kill any server still running (a failed test)."""
        for process in self.scripts:
            if process.poll() is None:
                process.kill()
                process.wait()
        if self.forked is not None:
            os.kill(self.forked, signal.SIGKILL)
            self.reap(self.forked)
        assert self.zygote.stdin is not None
        self.zygote.stdin.close()
        code = self.zygote.wait(timeout=30)
        assert self.zygote.stdout is not None
        self.zygote.stdout.close()
        assert code == 0, self.tail()


def polled(process: subprocess.Popen[bytes]) -> bool:
    return process.poll() is None


def running(pid: int) -> bool:
    """Whether the zygote's child ``pid`` runs (not yet a zombie): it is not this process's
    child, so it is read from ``/proc``."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


@contextmanager
def reading(path: Path) -> Iterator[sqlite3.Connection]:
    """A short read of the database beside the server (WAL: it never waits on a writer)."""
    with closing(sqlite3.connect(path, timeout=30)) as connection:
        yield connection


def in_flight(path: Path, since: float) -> int:
    """Deliveries the server started at ``since`` (unix seconds) claimed and did not record:
    sent, or about to be, when it died (a claim lasts CLAIM_S from when it is made, so older
    servers' claims end before ``since + CLAIM_S``)."""
    with reading(path) as db:
        (count,) = db.execute(
            "SELECT COUNT(*) FROM webhook_deliveries WHERE state = 'pending'"
            " AND claimed_until >= ?",
            (int((since + CLAIM_S) * 1_000_000),),
        ).fetchone()
    return int(count)


def kill_repeatedly(servers: Servers, path: Path, rng: random.Random) -> tuple[int, int, int]:
    """SIGKILL :data:`KILLS` servers at random instants; ``(kills, kills after /healthz,
    kills with a delivery in flight)``."""
    started = time.monotonic()
    kills = ready_kills = mid_delivery = 0
    while kills < KILLS:
        assert time.monotonic() - started < BUDGET_S, f"only {kills} kills in {BUDGET_S} s"
        alive: Callable[[], bool]
        since = time.time()
        if kills == 0:
            process = servers.script()
            pid, alive = process.pid, functools.partial(polled, process)
        else:
            pid = servers.fork()
            alive = functools.partial(running, pid)
        wait_ready = kills == 0 or rng.random() < 0.8
        if wait_ready:
            servers.wait_ready(alive)
        time.sleep(rng.uniform(*(ALIVE_S if wait_ready else EARLY_S)))
        assert alive(), f"serve exited by itself: {servers.tail()}"
        os.kill(pid, signal.SIGKILL)  # not reaped yet: the pid is still this server's
        if kills == 0:
            status = process.wait()
            assert status == -signal.SIGKILL, status
        else:
            status = servers.reap(pid)
            killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
            assert killed, f"serve exited by itself ({status}): {servers.tail()}"
        kills += 1
        ready_kills += wait_ready
        mid_delivery += in_flight(path, since) > 0
    return kills, ready_kills, mid_delivery


def last_server(servers: Servers, path: Path) -> tuple[subprocess.Popen[bytes], str]:
    """The installed ``earnest serve``, its clock past every killed sender's claim; and how."""
    library = libfaketime()
    if library is None:  # as if CLAIM_S had passed: every sender that claimed was killed
        with reading(path) as db, db:
            db.execute("UPDATE webhook_deliveries SET claimed_until = NULL")
        return servers.script(), "claims expired in the database (no faketime)"
    env = {**os.environ, "LD_PRELOAD": library, "FAKETIME": f"+{AHEAD_S}",
           "FAKETIME_DONT_FAKE_MONOTONIC": "1"}  # fmt: skip
    return servers.script(env), f"its clock {AHEAD_S} s ahead"


def drained(path: Path) -> tuple[int, int]:
    """``(outcomes with a deadline, deliveries not delivered)``."""
    with reading(path) as db:
        (waiting,) = db.execute(
            "SELECT COUNT(*) FROM outcomes WHERE deadline IS NOT NULL"
        ).fetchone()
        (undelivered,) = db.execute(
            "SELECT COUNT(*) FROM webhook_deliveries WHERE state <> 'delivered'"
        ).fetchone()
    return int(waiting), int(undelivered)


# The test -----------------------------------------------------------------------------------


def test_kill9_while_webhooks_are_written_and_delivered(tmp_path: Path) -> None:
    seed = int(os.environ.get("EARNEST_CRASH_SEED", str(random.randrange(1 << 30))))
    print(f"EARNEST_CRASH_SEED={seed}")
    rng = random.Random(seed)
    began = time.monotonic()
    path = tmp_path / "earnest.db"
    url = str(path)
    # Each request held a little, so that kills find deliveries in flight (four at a time
    # still deliver faster than the traffic makes events).
    receiver = Receiver(answers=deque(["hang"] * 1_000_000), hang_s=HOLD_S)
    app = build(url)
    try:
        _, key = app.keys.create(Scope.ADMIN, "crash", actor="cli")
        app.contracts.save(load_contract(CONTRACT, key=CONTRACT_KEY), actor="cli")
        endpoint, secret = app.webhooks.create(receiver.url, actor="cli")
    finally:
        app.close()
    receiver.secrets = [secret]
    servers = Servers(url, free_port(), tmp_path)
    traffic = Traffic(servers.base, key, seed)
    traffic.start()
    try:
        kills, ready_kills, mid_delivery = kill_repeatedly(servers, path, rng)
        killed_at = time.monotonic()
        last, how = last_server(servers, path)
        servers.wait_ready(lambda: last.poll() is None)
        time.sleep(0.5)  # a little traffic on the last server too
        traffic.stop()
        deadline = time.monotonic() + DRAIN_S
        while (left := drained(path)) != (0, 0):
            assert last.poll() is None, f"the last serve died: {servers.tail()}"
            assert time.monotonic() < deadline, f"not drained (deadlines, deliveries): {left}"
            time.sleep(0.1)
        drain_s = time.monotonic() - killed_at
        last.send_signal(signal.SIGTERM)
        assert last.wait(timeout=30) == 0, servers.tail()
        stop_s = time.monotonic() - killed_at - drain_s
    finally:
        traffic.stopping.set()
        servers.close()
        receiver.close()

    with reading(path) as db:
        events = {
            ident: (kind, body)
            for ident, kind, body in db.execute("SELECT id, type, body FROM webhook_events")
        }
        deliveries = db.execute(
            "SELECT id, event_id, endpoint_id, ordering_key, state FROM webhook_deliveries"
            " ORDER BY id"
        ).fetchall()
        attempts = db.execute(
            "SELECT delivery_id, status FROM webhook_attempts WHERE status BETWEEN 200 AND 299"
        ).fetchall()
        stored = {ident for (ident,) in db.execute("SELECT id FROM signals")}
    # A request whose sender died between its headers and the end of its body is no delivery
    # (any receiver's framework drops it: the connection broke before Content-Length bytes):
    # only its headers count, to show that its event was committed too.
    whole = [len(r.body) == int(r.headers["content-length"]) for r in receiver.received]
    received = [r for r, ok in zip(receiver.received, whole, strict=True) if ok]
    cut_off = [r for r, ok in zip(receiver.received, whole, strict=True) if not ok]

    # Every delivery of the one endpoint delivered, after a 2xx attempt; one per event.
    assert deliveries
    assert {row[2] for row in deliveries} == {endpoint.id}
    assert sorted(row[1] for row in deliveries) == sorted(events), "an event without delivery"
    assert {row[4] for row in deliveries} == {"delivered"}

    # Every request verified; nothing received the database does not hold, byte for byte.
    cut_strays = sorted({r.headers["webhook-id"] for r in cut_off} - set(events))
    assert not cut_strays, f"a cut-off request of an event never committed: {cut_strays}"
    failed = [
        (r.headers.get("webhook-id"), r.headers.get("webhook-timestamp"),
         r.headers.get("content-length"), len(r.body), r.body[:80])
        for r in received if not r.verified
    ]  # fmt: skip
    assert not failed, f"requests failed their signature check: {failed[:5]}"
    ids = [r.headers["webhook-id"] for r in received]
    strays = sorted(set(ids) - set(events))
    assert not strays, f"received events that were never committed: {strays[:10]}"
    for request in received:
        kind, body = events[request.headers["webhook-id"]]
        assert request.body == body.encode(), f"{request.headers['webhook-id']}: another body"
        assert request.event["type"] == kind

    # Every committed event received at least once.
    lost = sorted(set(events) - set(ids))
    assert not lost, f"{len(lost)} committed events never received, e.g. {lost[:10]}"
    unanswered = {row[0] for row in deliveries} - {int(row[0]) for row in attempts}
    assert not unanswered, f"delivered without a 2xx attempt: {sorted(unanswered)[:10]}"

    # Per outcome: first receipts in commit order, and that order is the order things happened.
    first: dict[str, int] = {}
    for index, ident in enumerate(ids):
        first.setdefault(ident, index)
    by_key: dict[str, list[str]] = defaultdict(list)
    for _, event_id, _, key, _ in deliveries:
        by_key[key].append(event_id)
    for key, in_commit_order in by_key.items():
        arrived = sorted(in_commit_order, key=first.__getitem__)
        assert arrived == in_commit_order, f"{key}: received out of commit order"
        types = [events[ident][0] for ident in in_commit_order]
        stamps = [timestamp(events[ident][1]) for ident in in_commit_order]
        assert stamps == sorted(stamps), f"{key}: committed out of time order: {types}"
        if key.startswith("outcome:"):
            assert types[0] == "outcome.in_review", f"{key}: {types}"

    # Nothing acknowledged lost; the product's own verifiers agree.
    assert traffic.acked, "no signal was acknowledged"
    unstored = [ident for ident in traffic.acked if ident not in stored]
    assert not unstored, f"acknowledged signals lost: {unstored[:10]}"
    store = connect(url)
    try:
        product_verifiers(store)
    finally:
        store.close()

    kinds = Counter(kind for kind, _ in events.values())
    duplicates = len(ids) - len(set(ids))
    print(
        f"{kills} kills ({ready_kills} after /healthz, {mid_delivery} with deliveries in"
        f" flight), {len(events)} events over {len(by_key)} outcomes, {len(received)} requests"
        f" ({duplicates} duplicates; {len(cut_off)} more cut off by a kill),"
        f" {len(traffic.acked)}/{traffic.sent} signals acknowledged,"
        f" answers {dict(traffic.answers)}; drained {drain_s:.1f} s after the last kill,"
        f" stopped in {stop_s:.1f} s (the last server: {how});"
        f" starts {min(servers.starts):.2f}-{max(servers.starts):.2f} s"
        f" (mean {sum(servers.starts) / len(servers.starts):.2f});"
        f" {time.monotonic() - began:.1f} s in all; events {dict(kinds)}"
    )
    assert kills >= 30
    for kind in ("outcome.in_review", "outcome.confirmed", "outcome.cancelled", "charge.booked"):
        assert kinds[kind] > 0, f"no {kind} event: {dict(kinds)}"
    assert mid_delivery >= 3, f"only {mid_delivery} kills caught a delivery in flight"


def timestamp(body: str) -> datetime:
    """An event's ``timestamp`` (RFC 3339)."""
    return datetime.fromisoformat(json.loads(body)["timestamp"])
