"""p99 time to fetch one outcome's full history, on a big store and one 100x smaller (B4).

Two fresh SQLite files with Earnest's schema (its migrations, through ``earnest contracts
apply``) and the landing-page contract are filled directly with plain ``sqlite3``: settled
outcomes of 10 to 20 history entries each (opened, signal and check pairs, the transitions to
review and to confirmed, the charge), entry data as Earnest writes it. Entries of about 1,000
outcomes are interleaved, as concurrent traffic leaves them, so one outcome's entries are
spread over the table, not side by side. The big store holds at least 2,000,000 entries; the
small one 100x fewer outcomes. The hash chain is not valid (it is not read here).

Both files are read whole before measuring, so both sit in the OS page cache (they are far
smaller than the machine's memory): the comparison is of SQLite's and Earnest's work, not of
the disk. Each store is then served by ``earnest serve`` in its own process, and this process
fetches ``GET /v1/outcomes/{contract}/{ref}/history`` for random outcomes, one request at a
time, taking turns between the two servers (one connection each) so that other load on the
machine hits both alike, after a warm-up. The ceiling is the same fetch on the small store.
``detail`` adds the in-process p99 of ``outcome_history()`` on both stores.

    .venv/bin/python benchmarks/history.py [--entries N] [--fetches N] [--json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from common import stop
from earnest.service.history import read_history as outcome_history
from earnest.store import connect
from ingest import PRAGMAS, cli, free_port, percentile, prepare, start_server

TARGET = 1.5
SCALE = 100  # the small store has this many times fewer outcomes
WINDOW = 1_000  # outcomes whose entries interleave
T0_US = 1_772_000_000_000_000  # 2026-02-25, microseconds since the epoch
HOUR_US = 3_600_000_000


def iso(micros: int) -> str:
    seconds, fraction = divmod(micros, 1_000_000)
    moment = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    return f"{moment}.{fraction:06d}Z" if fraction else f"{moment}Z"


def entries_of(
    ref: int, customer: str, opened_us: int, rng: random.Random
) -> list[tuple[Any, ...]]:
    """``(recorded_at, kind, data)`` of one settled landing-page outcome: 10 to 20 entries."""
    active_until = iso(opened_us + 48 * HOUR_US)
    entries: list[tuple[Any, ...]] = [
        (
            opened_us,
            "opened",
            f'{{"active_until":"{active_until}","contract":"landing_page","contract_version":1,'
            f'"customer":"{customer}","price":{{"amount":"0.99","currency":"USD"}}}}',
        )
    ]
    values: dict[str, str] = {}
    at = opened_us
    pairs = rng.randint(3, 8)
    for pair in range(pairs):
        at += rng.randint(1, 600_000_000)
        name, value = ("completed", "true") if pair == pairs - 1 else ("score", str(1 + pair % 5))
        if pair == pairs - 1:
            values["score"] = "5"
        values[name] = value
        seen = ",".join(f'"{k}":{v}' for k, v in sorted(values.items()))
        verdict = "met" if "completed" in values else "undecided"
        entries.append(
            (
                at,
                "signal",
                f'{{"at":"{iso(at)}","data":null,"id":"sig-{ref:07d}-{pair}","late":false,'
                f'"received_at":"{iso(at)}","signal":"{name}","value":{value}}}',
            )
        )
        entries.append((at, "check", f'{{"values":{{{seen}}},"verdict":"{verdict}"}}'))
    review_ends = iso(at + 24 * HOUR_US)
    common = (
        f'"active_until":"{active_until}","review_ends_at":"{review_ends}",'
        '"review_reason":"conditions_met","scheduled":"confirm"'
    )
    entries.append(
        (
            at,
            "transition",
            f'{{{common},"from":"open","reason":"conditions_met","settled_at":null,'
            '"to":"in_review"}',
        )
    )
    settled = at + 24 * HOUR_US
    entries.append(
        (
            settled,
            "transition",
            f'{{{common},"from":"in_review","reason":"review_window_ended",'
            f'"settled_at":"{iso(settled)}","to":"confirmed"}}',
        )
    )
    entries.append((settled, "charge", '{"amount":0.99,"currency":"USD"}'))
    return entries


def interleaved(outcomes: int, seed: int) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """``(outcome index, entry)`` for ``outcomes`` outcomes, ``WINDOW`` of them at a time
    taking turns, as concurrent traffic writes them."""
    rng = random.Random(seed)
    customers = max(1, outcomes // 20)
    for first in range(0, outcomes, WINDOW):
        window = range(first, min(outcomes, first + WINDOW))
        opened = T0_US + first * 60_000_000
        pending = [
            (i, iter(entries_of(i, f"cust-{i % customers:05d}", opened, rng))) for i in window
        ]
        while pending:
            still = []
            for i, entries in pending:
                entry = next(entries, None)
                if entry is not None:
                    yield i, entry
                    still.append((i, entries))
            pending = still


def outcome_row(ident: int, customers: int) -> tuple[Any, ...]:
    opened = T0_US + (ident - 1) // WINDOW * WINDOW * 60_000_000
    observed = f'{{"completed":[true,{opened}],"score":[5,{opened}]}}'
    return (
        *(ident, "landing_page", f"lp-{ident - 1:07d}", 1, f"cust-{(ident - 1) % customers:05d}"),
        *("confirmed", "confirm", "conditions_met", opened, opened + 48 * HOUR_US),
        *(opened + 24 * HOUR_US, opened + 24 * HOUR_US, opened + 24 * HOUR_US, None, observed),
        *("met", False, "0.99", "0"),
    )


def fill(database: Path, outcomes: int, seed: int) -> int:
    """Customers, ``outcomes`` settled outcomes and their history; how many entries."""
    customers = max(1, outcomes // 20)
    raw = sqlite3.connect(database, isolation_level=None)
    try:
        for pragma in PRAGMAS:
            raw.execute(pragma)
        raw.execute("BEGIN IMMEDIATE")
        raw.executemany(
            "INSERT INTO customers (id, billing_day, created_at) VALUES (?, 1, ?)",
            ((f"cust-{c:05d}", T0_US) for c in range(customers)),
        )
        raw.executemany(
            "INSERT INTO outcomes (id, contract, ref, contract_version, customer, state,"
            " scheduled, review_reason, opened_at, active_until, review_ends_at, settled_at,"
            " clock, deadline, observed, last_verdict, contested, charged, credited)"
            f" VALUES ({', '.join('?' * 19)})",
            (outcome_row(i, customers) for i in range(1, outcomes + 1)),
        )
        seq = 0

        def rows() -> Iterator[tuple[Any, ...]]:
            nonlocal seq
            for i, (recorded_at, kind, data) in interleaved(outcomes, seed):
                seq += 1
                digest = hashlib.sha256(seq.to_bytes(8, "big")).hexdigest()
                yield seq, i + 1, recorded_at, kind, data, digest

        raw.executemany(
            "INSERT INTO history (seq, outcome_id, recorded_at, kind, data, hash)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            rows(),
        )
        raw.execute("UPDATE chain_head SET seq = ?, hash = '' WHERE id = 1", (seq,))
        raw.execute("COMMIT")
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()
    return seq


def read_whole(database: Path) -> int:
    """Read the file (and its WAL) once, so the OS keeps it in its page cache; its size."""
    size = 0
    for path in (database, database.with_name(database.name + "-wal")):
        if path.exists():
            with path.open("rb") as file:
                while chunk := file.read(1 << 20):
                    size += len(chunk)
    return size


@dataclass(slots=True, eq=False)
class Store:
    database: Path
    outcomes: int
    entries: int
    size: int


def build(workdir: Path, name: str, outcomes: int) -> Store:
    (workdir / name).mkdir()
    database, _ = prepare(workdir / name)
    entries = fill(database, outcomes, seed=len(name))
    return Store(database, outcomes, entries, 0)


def refs(store: Store, count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [f"lp-{rng.randrange(store.outcomes):07d}" for _ in range(count)]


def serve(store: Store, stack: ExitStack) -> httpx.Client:
    """``earnest serve`` on ``store`` with a read key; a client for it (both closed by
    ``stack``)."""
    key = cli("keys", "create", "--scope", "read", "--database", str(store.database))
    key = key.strip().splitlines()[-1].strip()
    port = free_port()
    log = stack.enter_context((store.database.parent / "server.log").open("wb"))
    server = start_server(store.database, port, log)
    stack.callback(stop, server)
    headers = {"Authorization": f"Bearer {key}"}
    return stack.enter_context(
        httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=30)
    )


def fetch_http(stores: list[Store], fetches: int, warmup: int) -> list[list[float]]:
    """Sequential history fetches through one ``earnest serve`` per store, taking turns
    between the stores (so that other load on the machine hits both alike); each store's
    fetch times in seconds."""
    with ExitStack() as stack:
        clients = [serve(store, stack) for store in stores]
        picked = [refs(store, warmup + fetches, seed=11) for store in stores]
        latencies: list[list[float]] = [[] for _ in stores]
        for i in range(warmup + fetches):
            for client, chosen, times in zip(clients, picked, latencies, strict=True):
                sent = time.perf_counter()
                response = client.get(f"/v1/outcomes/landing_page/{chosen[i]}/history")
                took = time.perf_counter() - sent
                if response.status_code != 200:
                    raise RuntimeError(f"HTTP {response.status_code}: {response.text[:300]}")
                count = len(response.json()["entries"])
                if not 10 <= count <= 20:
                    raise RuntimeError(f"{chosen[i]}: {count} entries, expected 10 to 20")
                if i >= warmup:
                    times.append(took)
    return latencies


def fetch_service(stores: list[Store], fetches: int, warmup: int) -> list[list[float]]:
    """Sequential ``outcome_history()`` calls in this process, taking turns between the
    stores; each store's call times in seconds."""
    dbs = [connect(str(store.database)) for store in stores]
    try:
        picked = [refs(store, warmup + fetches, seed=13) for store in stores]
        latencies: list[list[float]] = [[] for _ in stores]
        for i in range(warmup + fetches):
            for db, chosen, times in zip(dbs, picked, latencies, strict=True):
                started = time.perf_counter()
                entries = outcome_history(db, "landing_page", chosen[i])
                took = time.perf_counter() - started
                assert 10 <= len(entries) <= 20, (chosen[i], len(entries))
                if i >= warmup:
                    times.append(took)
        return latencies
    finally:
        for db in dbs:
            db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--entries", type=int, default=2_000_000, help="at least, big store")
    parser.add_argument("--fetches", type=int, default=5_000)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    big_outcomes = -(-args.entries // 15 // SCALE) * SCALE * 21 // 20  # mean 15 entries, +5%
    workdir = Path(tempfile.mkdtemp(prefix="earnest-bench-history-"))
    try:
        filling = time.perf_counter()
        big = build(workdir, "big", big_outcomes)
        small = build(workdir, "small", big_outcomes // SCALE)
        filled_s = time.perf_counter() - filling
        if big.entries < args.entries:
            raise RuntimeError(f"the big store holds {big.entries:,} entries, not {args.entries:,}")
        for store in (big, small):
            store.size = read_whole(store.database)
        http = dict(
            zip((big, small), fetch_http([big, small], args.fetches, args.warmup), strict=True)
        )
        service = dict(
            zip((big, small), fetch_service([big, small], args.fetches, args.warmup), strict=True)
        )
    finally:
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    p99 = {s: percentile(http[s], 0.99) for s in (big, small)}
    p50 = {s: percentile(http[s], 0.5) for s in (big, small)}
    in_p99 = {s: percentile(service[s], 0.99) for s in (big, small)}
    in_p50 = {s: percentile(service[s], 0.5) for s in (big, small)}
    ratio = p99[big] / p99[small]
    result = {
        "benchmark": "B4 history",
        "what": (
            "p99 of GET /v1/outcomes/{contract}/{ref}/history (10 to 20 entries), random"
            f" outcomes, sequential, on a store of {big.entries:,} history entries, SQLite,"
            " both files in the OS page cache, server in its own process, taking turns with"
            " the small store's server"
        ),
        "figure": round(p99[big] * 1e3, 2),
        "unit": "ms",
        "ceiling": round(p99[small] * 1e3, 2),
        "ceiling_what": (f"the same fetch on a store {SCALE}x smaller ({small.entries:,} entries)"),
        "ratio": round(ratio, 3),
        "target": f"p99(big)/p99(small) <= {TARGET}, >= 2M entries in the big store",
        "met": ratio <= TARGET and big.entries >= 2_000_000,
        "detail": (
            f"p50 {p50[big] * 1e3:.2f} vs {p50[small] * 1e3:.2f} ms; in-process"
            f" outcome_history() p99 {in_p99[big] * 1e3:.2f} vs {in_p99[small] * 1e3:.2f} ms,"
            f" p50 {in_p50[big] * 1e3:.2f} vs {in_p50[small] * 1e3:.2f} ms;"
            f" files {big.size / 2**20:.0f} and {small.size / 2**20:.1f} MiB;"
            f" {args.fetches:,} fetches each after {args.warmup:,}"
        ),
    }
    if args.json:
        print(json.dumps(result))
        return
    print(
        f"fill: {big.entries:,} entries ({big.outcomes:,} outcomes) and {small.entries:,}"
        f" ({small.outcomes:,}) in {filled_s:.1f} s (not timed)"
    )
    print(
        f"GET history p99: big {p99[big] * 1e3:.2f} ms, small {p99[small] * 1e3:.2f} ms"
        f" ({result['detail']})"
    )
    print(f"ratio {ratio:.3f} (target <= {TARGET}): {'met' if result['met'] else 'NOT met'}")


if __name__ == "__main__":
    main()
