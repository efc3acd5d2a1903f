"""kill -9 at random instants, on SQLite and PostgreSQL (SPEC section 10).

A worker process (``worker.py``) ingests batches and fires deadlines on a virtual clock; the
test SIGKILLs it after a random 0.05-0.4 s, restarts it, 30+ times per backend, then fires every
remaining deadline and checks: nothing acknowledged lost, nothing half-applied, every due
deadline settled, one charge per confirmed outcome, and an intact hash chain.

``EARNEST_CRASH_SEED`` replays one run's kill schedule.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from earnest.service.deadlines import catch_up
from earnest.store import connect
from tests.crash.checks import check_store, read_lines
from tests.crash.worker import T0, setup

WORKER = Path(__file__).with_name("worker.py")
KILLS = 30
BUDGET_S = 150.0  # a safety cap on a slow machine; 30 kills normally take about 15 s
FAR_FUTURE = T0 + timedelta(days=3650)


def start_worker(url: str, log: Path, seed: str, stderr: Path) -> subprocess.Popen[str]:
    with stderr.open("w") as err:
        return subprocess.Popen(
            [sys.executable, str(WORKER), url, str(log), seed],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )


def kill_repeatedly(url: str, tmp_path: Path) -> tuple[int, int]:
    """Run the worker, SIGKILL it at random instants; ``(kills, kills after READY)``."""
    seed = int(os.environ.get("EARNEST_CRASH_SEED", str(random.randrange(1 << 30))))
    print(f"EARNEST_CRASH_SEED={seed}")
    rng = random.Random(seed)
    log = tmp_path / "acks.log"
    started = time.monotonic()
    kills = ready_kills = 0
    while kills < KILLS or time.monotonic() - started < 2.0:
        stderr = tmp_path / f"worker-{kills}.err"
        process = start_worker(url, log, f"k{kills}", stderr)
        # Mostly kill once the worker is working; sometimes during its start-up.
        wait_ready = rng.random() < 0.85
        if wait_ready:
            assert process.stdout is not None
            line = process.stdout.readline()
            assert line == "READY\n", f"worker died on start: {stderr.read_text()}"
        time.sleep(rng.uniform(0.05, 0.4))
        alive = process.poll() is None
        process.send_signal(signal.SIGKILL)
        process.wait()
        if process.stdout is not None:
            process.stdout.close()
        assert alive, f"worker exited by itself: {stderr.read_text()}"
        kills += 1
        ready_kills += wait_ready
        if time.monotonic() - started > BUDGET_S:
            break
    return kills, ready_kills


def crash_and_check(url: str, tmp_path: Path) -> None:
    db = connect(url)
    setup(db)
    kills, ready_kills = kill_repeatedly(url, tmp_path)
    assert kills >= KILLS, f"only {kills} kills fit in {BUDGET_S} s"
    acked, acked_torn = read_lines(tmp_path / "acks.log")
    intents, intent_torn = read_lines(tmp_path / "acks.log.intent")
    assert not intent_torn, "a single write() of an intent line was torn by SIGKILL"
    assert len(acked) >= KILLS // 2, "the worker made almost no progress between kills"
    fired = catch_up(db, FAR_FUTURE)
    report = check_store(db, acked=acked, intents=intents, final_time=FAR_FUTURE)
    db.close()
    in_flight = len(intents) - len(acked)
    print(
        f"{kills} kills ({ready_kills} after start-up), {len(acked)} acknowledged batches,"
        f" {in_flight} in flight at a kill, torn ack line: {acked_torn};"
        f" final pass fired {fired}; {report}"
    )
    assert report.outcomes > 0
    assert report.states["confirmed"] > 0
    assert report.states["cancelled"] > 0


def test_kill9_sqlite(tmp_path: Path) -> None:
    crash_and_check(str(tmp_path / "earnest.db"), tmp_path)


def test_kill9_postgresql(pg_url: str, tmp_path: Path) -> None:
    crash_and_check(pg_url, tmp_path)


@pytest.mark.parametrize("torn", [b"3 a b", b"2 a b c\n"])
def test_a_torn_last_line_is_ignored(tmp_path: Path, torn: bytes) -> None:
    log = tmp_path / "log"
    log.write_bytes(b"2 x y\n1 z\n" + torn)
    assert read_lines(log) == ([["x", "y"], ["z"]], True)
