"""Several processes on one PostgreSQL database (SPEC section 10).

Four worker processes (``worker.py`` with a round count) ingest signals with distinct ids for
the same rolling pool of outcomes and fire the same due deadlines, on the same virtual clock
schedule. Afterwards: each outcome settled once and charged at most once (once if confirmed),
every acknowledged signal stored once, no batch half-applied, the hash chain intact.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from earnest.service.deadlines import catch_up
from earnest.store import connect
from earnest.store.codec import to_us
from tests.crash.checks import check_store, read_lines
from tests.crash.worker import STEP, T0, setup

WORKER = Path(__file__).with_name("worker.py")
PROCESSES = 4
ROUNDS = 150
FAR_FUTURE = T0 + timedelta(days=3650)


def test_concurrent_writers_settle_and_charge_each_outcome_once(
    pg_url: str, tmp_path: Path
) -> None:
    db = connect(pg_url)
    setup(db)
    logs = [tmp_path / f"acks-{n}.log" for n in range(PROCESSES)]
    errors = [tmp_path / f"worker-{n}.err" for n in range(PROCESSES)]
    processes = []
    for n, (log, err) in enumerate(zip(logs, errors, strict=True)):
        with err.open("w") as stderr:
            processes.append(
                subprocess.Popen(
                    [sys.executable, str(WORKER), pg_url, str(log), f"p{n}", str(ROUNDS)],
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,
                )
            )
    codes = [process.wait(timeout=120) for process in processes]
    assert codes == [0] * PROCESSES, [err.read_text()[-3000:] for err in errors]

    acked: list[list[str]] = []
    intents: list[list[str]] = []
    for log in logs:
        done, torn = read_lines(log)
        sent, intent_torn = read_lines(log.with_name(log.name + ".intent"))
        assert not torn
        assert not intent_torn
        assert len(done) == len(sent) == ROUNDS
        acked += done
        intents += sent
    with db.read() as tx:
        due = tx.one(
            "SELECT COUNT(*) FROM outcomes WHERE deadline IS NOT NULL AND deadline <= ?",
            (to_us(T0 + STEP * ROUNDS),),
        )
    assert due == (0,), f"{due} deadlines were due at the last round and did not fire"
    fired = catch_up(db, FAR_FUTURE)
    report = check_store(db, acked=acked, intents=intents, final_time=FAR_FUTURE)
    db.close()
    print(f"{PROCESSES} processes x {ROUNDS} rounds; final pass fired {fired}; {report}")
    assert report.signals == sum(len(batch) for batch in acked)
    assert report.states["confirmed"] > 0
    assert report.states["cancelled"] > 0
