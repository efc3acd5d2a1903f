"""Signals per second through ``POST /v1/signals/batch`` (benchmark B1), embedded SQLite.

Earnest serves from its own process (``earnest serve`` on a fresh temporary SQLite file, with
the landing-page contract and an ingest key made by the CLI); this process sends batches of
1,000 signals over one HTTP connection, one after the other, each answered only once its
commit is durable (WAL, ``synchronous=FULL``).

The ceiling, measured in the same run, is the least any store must do for those signals: the
very rows Earnest wrote (one ``signals`` row, its ``history`` entries, one upsert per touched
outcome, new customers, the chain head), read back from Earnest's file and inserted with plain
``sqlite3`` into a fresh file with the same schema and PRAGMAs, one transaction per batch.

    .venv/bin/python benchmarks/ingest.py [--signals N] [--json]
    .venv/bin/python benchmarks/ingest.py --py-spy /tmp/ingest.txt   # sample the server
    .venv/bin/python benchmarks/ingest.py --cprofile 20   # profile ingest() in-process
    .venv/bin/python benchmarks/ingest.py --database postgresql   # B6: benchmarks/ingest_pg.py
    .venv/bin/python benchmarks/ingest.py --webhook   # B1w: B1, then B1 with one endpoint

B1w (``--webhook``) sends the same stream four times, each to a fresh server and database:
as B1, then twice with one enabled webhook endpoint wanting every event type (``earnest
webhooks add``; a loopback receiver in this process answers 204 at once), then as B1 again.
With the endpoint, the server writes each event and its delivery in the transaction of the
batch that caused it, and delivers them as in production (``earnest serve`` runs the
scheduler, whose webhook source claims and sends them; recording each attempt is a write
like any other); in this stream the events are ``outcome.in_review`` (the review windows last
24 h). Its figure is the best run with the endpoint, its ratio against the same ceiling as
B1's (the rows Earnest wrote, without the outbox's), its target the issue's: within 10% of
the best B1 run of the same invocation.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any

import httpx

from common import LANDING_PAGE, picks, stop
from earnest.service.ingest import ingest
from earnest.store import connect

PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=30000",
)


def signals(count: int, outcomes: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    """A deterministic stream with unique ids: completed, a score 1-5, sometimes a dispute.

    Every signal names its customer, so whichever signal comes first opens the outcome.
    """
    customers = max(1, outcomes // 20)
    for i, ref, name, score in picks(count, outcomes, seed):
        item: dict[str, Any] = {
            "id": f"sig-{i:08d}",
            "contract": "landing_page",
            "outcome": f"lp-{ref:06d}",
            "customer": f"cust-{ref % customers:05d}",
            "signal": name,
        }
        if score is not None:
            item["value"] = score
        yield item


def workload(count: int, outcomes: int, seed: int = 7) -> list[dict[str, Any]]:
    """:func:`signals`, all of them."""
    return list(signals(count, outcomes, seed))


def batches(stream: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    return [stream[start : start + size] for start in range(0, len(stream), size)]


# Earnest, in its own process --------------------------------------------------------------


def cli(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "earnest.cli", *args], check=True, capture_output=True, text=True
    )
    return done.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def prepare(workdir: Path) -> tuple[Path, str]:
    """A fresh database with the landing-page contract and an ingest key."""
    database = workdir / "earnest.db"
    return database, provision(workdir, str(database))


def provision(workdir: Path, database: str) -> str:
    """Apply the landing-page contract to ``database`` (a file or URL); a new ingest key."""
    contract = workdir / "landing_page.yaml"
    contract.write_text(f"key: landing_page{LANDING_PAGE}", encoding="utf-8")
    cli("contracts", "apply", "--database", database, str(contract))
    key = cli("keys", "create", "--scope", "ingest", "--database", database)
    return key.strip().splitlines()[-1].strip()


def start_server(database: Path | str, port: int, log: IO[bytes]) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "earnest.cli", "serve"),
            *("--port", str(port), "--database", str(database)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"earnest serve exited with status {server.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    stop(server)
    raise RuntimeError("earnest serve did not answer /healthz within 30 s")


@dataclass(slots=True)
class Load:
    signals: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.signals / self.seconds


def send(port: int, key: str, bodies: list[bytes], sizes: list[int], connections: int = 1) -> Load:
    """The batches in order over ``connections`` keep-alive connections, each sending its next
    batch as soon as its last one is answered; every signal must be accepted."""
    load = Load()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    work = iter(zip(bodies, sizes, strict=True))
    lock = threading.Lock()
    failures: list[BaseException] = []

    def client() -> None:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=120
        ) as http:
            while not failures:
                with lock:
                    body, size = next(work, (b"", 0))
                if not size:
                    return
                sent = time.perf_counter()
                response = http.post("/v1/signals/batch", content=body)
                took = time.perf_counter() - sent
                if response.status_code != 200:
                    raise RuntimeError(f"HTTP {response.status_code}: {response.text[:500]}")
                accepted = response.json()["accepted"]
                if accepted != size:
                    raise RuntimeError(f"{accepted} of {size} accepted: {response.text[:500]}")
                with lock:
                    load.latencies.append(took)
                    load.signals += size

    def guarded() -> None:
        try:
            client()
        except BaseException as error:  # reported by the caller, and stops the others
            failures.append(error)

    threads = [threading.Thread(target=guarded) for _ in range(connections)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    load.seconds = time.perf_counter() - started
    if failures:
        raise failures[0]
    return load


# The ceiling: the same rows with plain sqlite3 -------------------------------------------


@dataclass(slots=True)
class Batch:
    customers: list[tuple[Any, ...]]
    outcomes: list[tuple[Any, ...]]
    history: list[tuple[Any, ...]]
    signals: list[tuple[Any, ...]]
    head: tuple[Any, ...]


OUTCOME_COLUMNS = (
    "id, contract, ref, contract_version, customer, state, scheduled, review_reason, opened_at,"
    " active_until, review_ends_at, settled_at, clock, deadline, observed, last_verdict,"
    " contested, charged, credited"
)
_MUTABLE = (
    "state, scheduled, review_reason, active_until, review_ends_at, settled_at, clock,"
    " deadline, observed, last_verdict, contested, charged, credited"
)
UPSERT_OUTCOME = (
    f"INSERT INTO outcomes ({OUTCOME_COLUMNS}) VALUES ({', '.join('?' * 19)})"
    " ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _MUTABLE.replace(" ", "").split(","))
)


def written_rows(
    database: Path, size: int
) -> tuple[list[str], list[tuple[str, list[Any]]], list[Batch]]:
    """Earnest's schema, its set-up rows, and the rows it wrote, cut into its batches."""
    with sqlite3.connect(database) as raw:
        schema = [
            str(sql)
            for (sql,) in raw.execute(
                "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'"
                " ORDER BY type = 'index', rowid"
            )
        ]
        setup, batches = read_written(raw, size)
    return schema, setup, batches


def read_written(raw: Any, size: int) -> tuple[list[tuple[str, list[Any]]], list[Batch]]:
    """Through a DB-API connection (sqlite3 or psycopg) to Earnest's store: its set-up rows
    (contracts) and the rows it wrote, cut into its batches."""
    setup = [
        (table, raw.execute(f"SELECT * FROM {table}").fetchall())
        for table in ("contracts", "contract_versions")
    ]
    signals = raw.execute(
        "SELECT id, fingerprint, outcome_id, received_at, history_seq FROM signals ORDER BY seq"
    ).fetchall()
    history = raw.execute(
        "SELECT seq, outcome_id, recorded_at, kind, data, hash FROM history ORDER BY seq"
    ).fetchall()
    outcomes = {row[0]: row for row in raw.execute(f"SELECT {OUTCOME_COLUMNS} FROM outcomes")}
    customers = {
        row[0]: row
        for row in raw.execute(
            "SELECT id, billing_day, created_at, open_start, open_end FROM customers"
        )
    }
    return setup, cut_batches(signals, history, outcomes, customers, size)


def cut_batches(
    signals: list[tuple[Any, ...]],
    history: list[tuple[Any, ...]],
    outcomes: dict[Any, tuple[Any, ...]],
    customers: dict[Any, tuple[Any, ...]],
    size: int,
) -> list[Batch]:
    """Earnest's rows, in commit order, cut into the batches it committed them in."""
    by_seq = {row[0]: row for row in history}
    seqs = [int(row[0]) for row in history]
    cuts = [signals[start : start + size] for start in range(0, len(signals), size)]
    # A batch's entries run up to the entry before the next batch's first signal entry, less
    # that signal's "opened" entry when its outcome opened there.
    ends: list[int] = []
    for following in cuts[1:]:
        first = int(following[0][4])
        before = by_seq.get(first - 1)
        ends.append(first - 2 if before is not None and before[3] == "opened" else first - 1)
    ends.append(int(history[-1][0]) if history else 0)
    result: list[Batch] = []
    start = 0
    seen_customers: set[str] = set()
    seen_outcomes: set[int] = set()
    for cut, end in zip(cuts, ends, strict=True):
        entries = history[bisect_right(seqs, start) : bisect_right(seqs, end)]
        touched = list(dict.fromkeys(int(row[2]) for row in cut))
        fresh = [customers[outcomes[o][4]] for o in touched if o not in seen_outcomes]
        new_customers = [row for row in dict.fromkeys(fresh) if row[0] not in seen_customers]
        seen_outcomes.update(touched)
        seen_customers.update(row[0] for row in new_customers)
        last = entries[-1] if entries else (start, 0, 0, "", "", "")
        result.append(
            Batch(new_customers, [outcomes[o] for o in touched], entries, cut, (last[0], last[5]))
        )
        start = end
    return result


def ceiling(
    workdir: Path, schema: list[str], setup: list[tuple[str, list[Any]]], rows: list[Batch]
) -> Load:
    target = workdir / "ceiling.db"
    raw = sqlite3.connect(target, isolation_level=None)
    try:
        for pragma in PRAGMAS:
            raw.execute(pragma)
        raw.execute("BEGIN")
        for statement in schema:
            raw.execute(statement)
        for table, values in setup:
            if values:
                marks = ", ".join("?" * len(values[0]))
                raw.executemany(f"INSERT INTO {table} VALUES ({marks})", values)
        raw.execute("INSERT INTO chain_head (id, seq, hash) VALUES (1, 0, '')")
        raw.execute("COMMIT")
        load = Load()
        started = time.perf_counter()
        for batch in rows:
            sent = time.perf_counter()
            raw.execute("BEGIN IMMEDIATE")
            # A new customer: its row with its first open period, and its billing-day history.
            raw.executemany(
                "INSERT INTO customers (id, billing_day, created_at, open_start, open_end)"
                " VALUES (?, ?, ?, ?, ?)",
                batch.customers,
            )
            raw.executemany(
                "INSERT INTO billing_days (customer, since, billing_day) VALUES (?, ?, ?)",
                [(c[0], c[2], c[1]) for c in batch.customers],
            )
            raw.executemany(UPSERT_OUTCOME, batch.outcomes)
            raw.executemany(
                "INSERT INTO history (seq, outcome_id, recorded_at, kind, data, hash)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                batch.history,
            )
            raw.executemany(
                "INSERT INTO signals (id, fingerprint, outcome_id, received_at, history_seq)"
                " VALUES (?, ?, ?, ?, ?)",
                batch.signals,
            )
            raw.execute("UPDATE chain_head SET seq = ?, hash = ? WHERE id = 1", batch.head)
            raw.execute("COMMIT")
            load.latencies.append(time.perf_counter() - sent)
            load.signals += len(batch.signals)
        load.seconds = time.perf_counter() - started
        return load
    finally:
        raw.close()


# Profiles ------------------------------------------------------------------------------


def profile_ingest(database: str, stream: list[dict[str, Any]], size: int, count: int) -> None:
    """cProfile ``ingest()`` in this process, on one connection, on ``count`` batches into
    ``database`` (a file or URL, provisioned); prints the seconds per batch, then the profile."""
    db = connect(database)
    work = batches(stream, size)[:count]
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for batch in work:
        ingest(db, batch, datetime.now(UTC))
    profiler.disable()
    print(f"ingest(): {(time.perf_counter() - started) / len(work):.3f} s per batch (profiled)")
    db.close()
    stats = pstats.Stats(profiler, stream=sys.stderr)
    stats.sort_stats("tottime").print_stats(15)
    stats.sort_stats("cumulative").print_stats(25)


def start_py_spy(pid: int, output: str, *extra: str) -> subprocess.Popen[bytes] | None:
    """Sample ``pid`` into ``output``; ``extra`` py-spy options (``--gil``: only the thread
    holding the GIL, i.e. Python's CPU time, not waits in SQLite or fsync)."""
    binary = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(binary).exists():
        print("py-spy not found: no server profile", file=sys.stderr)
        return None
    spy = subprocess.Popen(
        [
            *(binary, "record", "--pid", str(pid), "--output", output),
            *("--format", "raw", "--rate", "200", "--nonblocking", *extra),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)  # let it attach before the load starts
    return spy


def stop_py_spy(spy: subprocess.Popen[bytes] | None) -> None:
    if spy is not None:
        stop(spy, signal.SIGINT, timeout=60)  # SIGINT: py-spy writes its file, then exits


# Main ----------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def on_postgresql() -> bool:
    """Hand ``--database postgresql`` runs to ``ingest_pg.py`` (B6), with the other options."""
    backend = argparse.ArgumentParser(add_help=False)
    backend.add_argument("--database", default="sqlite")
    chosen, rest = backend.parse_known_args()
    if chosen.database != "postgresql":
        return False
    from ingest_pg import main as b6  # noqa: PLC0415 - it imports this module

    b6(rest)
    return True


class Sink:
    """B1w's webhook receiver: a loopback HTTP server answering every POST 204 at once,
    counting them (signatures are not checked: the tests do that)."""

    def __init__(self) -> None:
        self.received = 0
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", "0")))
                sink.received += 1
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def outbox(database: Path) -> tuple[int, int]:
    """``(events written, deliveries delivered)`` in Earnest's file."""
    with sqlite3.connect(database) as raw:
        (events,) = raw.execute("SELECT COUNT(*) FROM webhook_events").fetchone()
        (done,) = raw.execute(
            "SELECT COUNT(*) FROM webhook_deliveries WHERE state = 'delivered'"
        ).fetchone()
    return int(events), int(done)


def serve_and_send(
    workdir: Path,
    stream: list[dict[str, Any]],
    args: argparse.Namespace,
    webhook: str | None = None,
) -> tuple[Path, Load]:
    """``earnest serve`` on a fresh database in ``workdir``, the stream sent to it in batches;
    the database and the load. ``webhook``: the URL of one endpoint wanting every event type,
    added before the server starts."""
    work = batches(stream, args.batch)
    bodies = [json.dumps({"signals": b}, separators=(",", ":")).encode() for b in work]
    sizes = [len(b) for b in work]
    workdir.mkdir(exist_ok=True)
    database, key = prepare(workdir)
    if webhook is not None:
        cli("webhooks", "add", "--database", str(database), webhook)
    port = free_port()
    with (workdir / "server.log").open("wb") as log:
        server = start_server(database, port, log)
        spy = None
        try:
            if args.py_spy:
                spy = start_py_spy(server.pid, args.py_spy, "--gil")
            return database, send(port, key, bodies, sizes, args.connections)
        finally:
            stop_py_spy(spy)
            stop(server)


def with_webhook(
    workdir: Path, stream: list[dict[str, Any]], args: argparse.Namespace
) -> tuple[list[Load], list[Load], Path]:
    """B1w: the stream as B1 and with one endpoint, twice each, in the order B1, B1w, B1w,
    B1 (a drift of the machine's load then weighs on both alike); the loads of each, and the
    database of the last run with the endpoint."""
    plain: list[Load] = []
    hooked: list[Load] = []
    database = workdir
    sink = Sink()
    try:
        for run, with_endpoint in enumerate((False, True, True, False)):
            if with_endpoint:
                database, load = serve_and_send(workdir / f"run{run}", stream, args, sink.url)
                hooked.append(load)
            else:
                plain.append(serve_and_send(workdir / f"run{run}", stream, args)[1])
    finally:
        sink.close()
    return plain, hooked, database


def webhook_result(
    what: str, hooked: list[Load], plain: list[Load], events: int, delivered: int
) -> dict[str, Any]:
    """What B1w's JSON says beyond B1's: the best run of each, as the figure and the B1 it is
    compared with."""
    best, reference = max(r.rate for r in hooked), max(r.rate for r in plain)
    relative = best / reference

    def rates(loads: list[Load]) -> str:
        return ", ".join(f"{r.rate:,.0f}" for r in loads)

    return {
        "benchmark": "ingest.sqlite.webhook",
        "what": what + "; one webhook endpoint wanting every event type, delivered to a loopback"
        " receiver; the best of two runs",
        "figure": round(best),
        "detail": (
            f"{relative:.3f} of B1 in the same run, the best of {rates(plain)} signals/s;"
            f" with the endpoint {rates(hooked)}; {events:,} events written,"
            f" {delivered:,} delivered when the server stopped"
        ),
        "relative_to_b1": round(relative, 3),
        "b1_figure": round(reference),
        "events": events,
        "delivered": delivered,
        "target": "within 10% of B1 in the same run (B1w / B1 >= 0.90)",
        "met": relative >= 0.90,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--signals", type=int, default=100_000)
    parser.add_argument("--outcomes", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--py-spy", metavar="FILE", help="sample the server into FILE (raw)")
    parser.add_argument("--cprofile", type=int, metavar="BATCHES", help="profile ingest() only")
    parser.add_argument(
        "--database",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="postgresql: benchmark B6, run by benchmarks/ingest_pg.py",
    )
    parser.add_argument(
        "--webhook", action="store_true", help="B1w: B1, then B1 with one webhook endpoint"
    )
    args = parser.parse_args()
    stream = workload(args.signals, args.outcomes)
    workdir = Path(tempfile.mkdtemp(prefix="earnest-bench-ingest-"))
    try:
        if args.cprofile:
            database, _ = prepare(workdir)
            if args.webhook:  # the outbox's writes, without delivery
                cli("webhooks", "add", "--database", str(database), "http://127.0.0.1:9/hook")
            profile_ingest(str(database), stream, args.batch, args.cprofile)
            return
        plain: list[Load] = []
        if args.webhook:
            plain, hooked, database = with_webhook(workdir, stream, args)
            ours = max(hooked, key=lambda load: load.rate)
            events, delivered = outbox(database)
        else:
            database, ours = serve_and_send(workdir, stream, args)
        schema, setup, rows = written_rows(database, args.batch)
        base = ceiling(workdir, schema, setup, rows)
        if base.signals != ours.signals:
            raise RuntimeError(f"ceiling wrote {base.signals} signals, Earnest {ours.signals}")
    finally:
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    history = sum(len(b.history) for b in rows)
    upserts = sum(len(b.outcomes) for b in rows)
    result = {
        "benchmark": "ingest.sqlite",
        "what": (
            f"signals/s through POST /v1/signals/batch ({args.batch:,} per batch, "
            + (
                "sequential, one connection"
                if args.connections == 1
                else f"{args.connections} connections"
            )
            + f"), landing-page contract, {args.outcomes:,} outcomes,"
            " SQLite WAL synchronous=FULL, server in its own process"
        ),
        "figure": round(ours.rate),
        "ceiling": round(base.rate),
        "ceiling_what": (
            "plain sqlite3 inserts of the same rows (signal, history entries, outcome upserts)"
            f" in {args.batch:,}-signal transactions, same PRAGMAs"
        ),
        "ratio": round(ours.rate / base.rate, 3),
        "unit": "signals/s",
        "target": "ratio >= 0.30",
        "met": ours.rate / base.rate >= 0.30,
    }
    if plain:
        result.update(webhook_result(str(result["what"]), hooked, plain, events, delivered))
    if args.json:
        print(json.dumps(result))
        return
    print(
        f"POST /v1/signals/batch: {ours.rate:,.0f} signals/s ({ours.signals:,} in"
        f" {ours.seconds:.1f} s; batch p50 {percentile(ours.latencies, 0.5) * 1e3:.1f} ms,"
        f" p95 {percentile(ours.latencies, 0.95) * 1e3:.1f} ms)"
    )
    print(
        f"ceiling (plain sqlite3): {base.rate:,.0f} signals/s ({base.seconds:.2f} s;"
        f" batch p50 {percentile(base.latencies, 0.5) * 1e3:.1f} ms;"
        f" {history / base.signals:.2f} history rows and {upserts / base.signals:.2f}"
        " outcome upserts per signal)"
    )
    print(f"ratio {ours.rate / base.rate:.3f} (target >= 0.30)")
    if plain:
        print(f"with one webhook endpoint, the best of two runs: {result['detail']} (target 0.90)")


if __name__ == "__main__":
    if not on_postgresql():
        main()
