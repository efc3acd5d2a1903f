"""A crash-test worker: ``python tests/crash/worker.py URL LOGFILE SEED [ROUNDS]``.

Loops (forever, or ``ROUNDS`` times) on a virtual clock: builds a batch of 50-200 signals with
unique ids ``f"{seed}-{n}"`` over a rolling pool of 300 outcome references of one contract
(plus a few exact re-sends of the previous batch, which must come back as duplicates), calls
``ingest`` and then ``fire_due``.

- Before each ``ingest`` it appends the batch's fresh ids to ``LOGFILE + ".intent"`` (no fsync:
  a SIGKILL does not lose what ``write`` handed the kernel), so a test can check that an
  unacknowledged batch is all-or-nothing.
- After ``ingest`` returns it appends the acknowledged (``accepted``) ids to ``LOGFILE``, one
  line per batch, ``"<count> <id> <id> ...\\n"``, flushed and fsynced: a torn last line is
  detected by its missing newline or a count that does not match.

Virtual clock: without ``ROUNDS`` it resumes after a restart at ``max(T0, latest outcomes.clock,
latest history.recorded_at) + STEP`` (nothing extra persisted), so it is monotonic across kills.
With ``ROUNDS`` (the concurrency test) it follows the fixed schedule ``T0 + k * STEP`` for
``k = 1..ROUNDS``, the same in every process.

Once set up it prints ``READY`` on stdout.
"""

from __future__ import annotations

import os
import random
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from earnest.contract import load_contract
from earnest.service.deadlines import fire_due
from earnest.service.ingest import ingest
from earnest.store import Database, connect
from earnest.store.codec import from_us
from earnest.store.contracts import save_contract

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
STEP = timedelta(seconds=3)
POOL = 300
CONTRACT_KEY = "landing"
CONTRACT = """
active_for: 60s
review_window: 30s
price: $0.99
conditions: completed AND score > 3 AND NOT disputed
on_timeout: confirm
"""


def setup(db: Database) -> None:
    """Schema and contract; both idempotent, so every (re)start may run them."""
    db.migrate()
    with db.write() as tx:
        save_contract(tx, load_contract(CONTRACT, key=CONTRACT_KEY), T0)


def resume_time(db: Database) -> datetime:
    with db.read() as tx:
        clock = tx.one("SELECT MAX(clock) FROM outcomes")
        recorded = tx.one("SELECT MAX(recorded_at) FROM history")
    latest = T0
    for row in (clock, recorded):
        if row is not None and row[0] is not None:
            latest = max(latest, from_us(int(row[0])))
    return latest + STEP


def make_batch(rng: random.Random, seed: str, start: int, now: datetime) -> list[dict[str, Any]]:
    """50-200 signals with ids ``seed-start``, ``seed-(start+1)``, ... over a rolling pool."""
    # The pool rolls by ten references per step: each reference gets signals for ~30 steps
    # (90 s), about when its deadlines settle it; later ones are late signals.
    base = int((now - T0).total_seconds()) // 3 * 10
    batch: list[dict[str, Any]] = []
    for n in range(start, start + rng.randint(50, 200)):
        index = base + rng.randrange(POOL)
        name = rng.choice(("completed", "score", "score", "disputed"))
        value: Any = True
        if name == "score":
            value = rng.randint(0, 5)
        elif name == "disputed":
            value = rng.random() < 0.3
        batch.append(
            {
                "id": f"{seed}-{n}",
                "contract": CONTRACT_KEY,
                "outcome": f"o{index}",
                "customer": f"c{index % 23}",
                "signal": name,
                "value": value,
            }
        )
    return batch


def append_line(path: str, ids: list[str], *, sync: bool) -> None:
    line = (f"{len(ids)} " + " ".join(ids) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        written = os.write(fd, line)
        assert written == len(line)
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)


def run(url: str, logfile: str, seed: str, rounds: int | None) -> None:
    db = connect(url)
    setup(db)
    rng = random.Random(seed)
    now = T0 + STEP if rounds is not None else resume_time(db)
    print("READY", flush=True)
    counter = 0
    previous: list[dict[str, Any]] = []
    done = 0
    while rounds is None or done < rounds:
        fresh = make_batch(rng, seed, counter, now)
        counter += len(fresh)
        resent = rng.sample(previous, min(len(previous), rng.randint(0, 5)))
        batch = fresh + resent
        rng.shuffle(batch)
        append_line(logfile + ".intent", [item["id"] for item in fresh], sync=False)
        results = ingest(db, batch, now)
        accepted = [r.signal.id for r in results if r.status == "accepted" and r.signal]
        append_line(logfile, [ident for ident in accepted if ident is not None], sync=True)
        by_id = {r.signal.id: r.status for r in results if r.signal is not None}
        for item in resent:
            assert by_id.get(item["id"]) == "duplicate", (item["id"], by_id.get(item["id"]))
        assert len(accepted) == len(fresh), [r for r in results if r.status != "accepted"]
        fire_due(db, now)
        previous = fresh
        done += 1
        now += STEP
    db.close()


def main(argv: list[str]) -> int:
    if len(argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    url, logfile, seed = argv[:3]
    run(url, logfile, seed, int(argv[3]) if len(argv) == 4 else None)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
