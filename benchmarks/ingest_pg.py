"""Signals per second through ``POST /v1/signals/batch`` on PostgreSQL (benchmark B6).

B1 (``benchmarks/ingest.py``) with the store on PostgreSQL: a throwaway cluster (``initdb``
into a temporary directory, as the tests do, run as the ``postgres`` OS user when root) with
default durability (``fsync`` on, ``synchronous_commit`` on). Earnest serves from its own
process on one database of it; this process sends the same batches of 1,000 signals, one after
the other over one connection, each answered only once its commit is durable.

The ceiling, measured in the same run: the rows Earnest wrote (signals, history entries,
outcome upserts, new customers, the chain head), read back and inserted with plain psycopg
``executemany`` into a fresh database of the same cluster with the same schema, one
transaction per batch.

    .venv/bin/python benchmarks/ingest_pg.py [--signals N] [--json]
    .venv/bin/python benchmarks/ingest.py --database postgresql [...]   # the same
    .venv/bin/python benchmarks/ingest_pg.py --py-spy /tmp/ingest_pg.txt   # sample the server
    .venv/bin/python benchmarks/ingest_pg.py --cprofile 30   # profile ingest() in-process
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

from common import stop
from earnest.store import connect
from ingest import (
    UPSERT_OUTCOME,
    Batch,
    Load,
    batches,
    free_port,
    percentile,
    profile_ingest,
    provision,
    read_written,
    send,
    start_py_spy,
    start_server,
    stop_py_spy,
    workload,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for tests/
from tests.pgserver import PgServer

TARGET = 0.30


def pg(text: str) -> str:
    """Earnest's ``?`` placeholders as psycopg's ``%s``."""
    return text.replace("?", "%s")


def written_rows(url: str, size: int) -> tuple[list[tuple[str, list[Any]]], list[Batch]]:
    """Earnest's set-up rows and the rows it wrote, cut into its batches."""
    with psycopg.connect(url) as raw:
        return read_written(raw, size)


def ceiling(url: str, setup: list[tuple[str, list[Any]]], rows: list[Batch]) -> Load:
    """The same rows with plain psycopg into ``url`` (migrated, empty): one commit a batch."""
    connect(url).migrate()
    with psycopg.connect(url) as raw:
        with raw.transaction():
            for table, values in setup:
                if values:
                    marks = ", ".join(["%s"] * len(values[0]))
                    raw.cursor().executemany(f"INSERT INTO {table} VALUES ({marks})", values)
        cursor = raw.cursor()
        load = Load()
        started = time.perf_counter()
        for batch in rows:
            sent = time.perf_counter()
            with raw.transaction():
                # A new customer: its row with its first open period, and its billing-day
                # history (as benchmarks/ingest.py's SQLite ceiling).
                cursor.executemany(
                    "INSERT INTO customers (id, billing_day, created_at, open_start, open_end)"
                    " VALUES (%s, %s, %s, %s, %s)",
                    batch.customers,
                )
                cursor.executemany(
                    "INSERT INTO billing_days (customer, since, billing_day) VALUES (%s, %s, %s)",
                    [(c[0], c[2], c[1]) for c in batch.customers],
                )
                cursor.executemany(pg(UPSERT_OUTCOME), batch.outcomes)
                cursor.executemany(
                    "INSERT INTO history (seq, outcome_id, recorded_at, kind, data, hash)"
                    " VALUES (%s, %s, %s, %s, %s, %s)",
                    batch.history,
                )
                cursor.executemany(
                    "INSERT INTO signals (id, fingerprint, outcome_id, received_at, history_seq)"
                    " VALUES (%s, %s, %s, %s, %s)",
                    batch.signals,
                )
                cursor.execute("UPDATE chain_head SET seq = %s, hash = %s WHERE id = 1", batch.head)
            load.latencies.append(time.perf_counter() - sent)
            load.signals += len(batch.signals)
        load.seconds = time.perf_counter() - started
        return load


def durability(url: str) -> str:
    """The settings that make a commit durable, as the server reports them."""
    with psycopg.connect(url) as raw:
        values = [
            f"{name}={raw.execute(f'SHOW {name}').fetchone()[0]}"  # type: ignore[index]
            for name in ("fsync", "synchronous_commit", "wal_sync_method")
        ]
        version = raw.execute("SHOW server_version").fetchone()
    return f"PostgreSQL {version[0] if version else '?'}, " + ", ".join(values)


def measure(
    bodies: list[bytes], sizes: list[int], size: int, py_spy: str | None, keep: bool
) -> tuple[Load, Load, list[Batch], str]:
    """Earnest's load and the ceiling's on one throwaway cluster, then its durability settings."""
    workdir = Path(tempfile.mkdtemp(prefix="earnest-bench-ingest-pg-"))
    cluster = PgServer()
    try:
        cluster.start()
        url = cluster.create_database("earnest")
        settings = durability(url)
        key = provision(workdir, url)
        port = free_port()
        log = (workdir / "server.log").open("wb")
        server = start_server(url, port, log)
        spy = None
        try:
            if py_spy:
                spy = start_py_spy(server.pid, py_spy, "--gil")
            ours = send(port, key, bodies, sizes)
        finally:
            stop_py_spy(spy)
            stop(server)
            log.close()
        setup, rows = written_rows(url, size)
        base = ceiling(cluster.create_database("ceiling"), setup, rows)
        if base.signals != ours.signals:
            raise RuntimeError(f"ceiling wrote {base.signals} signals, Earnest {ours.signals}")
    finally:
        cluster.stop()
        if keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return ours, base, rows, settings


def profile_on_postgresql(stream: list[dict[str, Any]], size: int, count: int) -> None:
    """``ingest()`` profiled in this process against a throwaway cluster."""
    workdir = Path(tempfile.mkdtemp(prefix="earnest-bench-ingest-pg-"))
    cluster = PgServer()
    try:
        cluster.start()
        url = cluster.create_database("earnest")
        provision(workdir, url)
        profile_ingest(url, stream, size, count)
    finally:
        cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--signals", type=int, default=100_000)
    parser.add_argument("--outcomes", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--py-spy", metavar="FILE", help="sample the server into FILE (raw)")
    parser.add_argument("--cprofile", type=int, metavar="BATCHES", help="profile ingest() only")
    args = parser.parse_args(argv)
    if args.cprofile:
        profile_on_postgresql(workload(args.signals, args.outcomes), args.batch, args.cprofile)
        return
    work = batches(workload(args.signals, args.outcomes), args.batch)
    bodies = [json.dumps({"signals": b}, separators=(",", ":")).encode() for b in work]
    sizes = [len(b) for b in work]
    ours, base, rows, settings = measure(bodies, sizes, args.batch, args.py_spy, args.keep)
    ratio = ours.rate / base.rate
    p99 = percentile(ours.latencies, 0.99) * 1e3
    history = sum(len(b.history) for b in rows)
    upserts = sum(len(b.outcomes) for b in rows)
    detail = (
        f"{settings}; batch p50 {percentile(ours.latencies, 0.5) * 1e3:.1f} ms, p99 {p99:.1f} ms"
        f" (ceiling p50 {percentile(base.latencies, 0.5) * 1e3:.1f} ms);"
        f" {history / base.signals:.2f} history rows and {upserts / base.signals:.2f} outcome"
        " upserts per signal"
    )
    result = {
        "benchmark": "B6 ingest.postgresql",
        "what": (
            f"signals/s through POST /v1/signals/batch ({args.batch:,} per batch, sequential,"
            f" one connection), landing-page contract, {args.outcomes:,} outcomes, PostgreSQL"
            " synchronous_commit=on, server in its own process"
        ),
        "figure": round(ours.rate),
        "unit": "signals/s",
        "ceiling": round(base.rate),
        "ceiling_what": (
            "plain psycopg executemany of the same rows (signal, history entries, outcome"
            f" upserts, customers, chain head) in {args.batch:,}-signal transactions"
        ),
        "ratio": round(ratio, 3),
        "target": f"ratio >= {TARGET:.2f}",
        "met": ratio >= TARGET,
        "detail": detail,
    }
    if args.json:
        print(json.dumps(result))
        return
    print(
        f"POST /v1/signals/batch on PostgreSQL: {ours.rate:,.0f} signals/s ({ours.signals:,} in"
        f" {ours.seconds:.1f} s)"
    )
    print(f"ceiling (plain psycopg executemany): {base.rate:,.0f} signals/s ({base.seconds:.2f} s)")
    print(detail)
    print(f"ratio {ratio:.3f} (target >= {TARGET:.2f}): {'met' if ratio >= TARGET else 'missed'}")


if __name__ == "__main__":
    main()
