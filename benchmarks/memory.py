"""Peak resident memory of the server while 2M signals open 1M outcomes (benchmark B5).

Earnest serves from its own process (``earnest serve`` on a fresh temporary SQLite file, the
landing-page contract, an ingest key made by the CLI, as in B1). This process sends 2,000,000
signals in batches of 1,000 through ``POST /v1/signals/batch`` over two concurrent
connections: every outcome gets two signals, ``completed`` naming its customer (which opens
it) and then a ``score``, the pair a few batches apart, so 1,000,000 outcomes end up open.
Bodies are generated lazily, so the generator's memory is not in question.

A sampler reads the server's ``VmRSS`` and ``VmHWM`` from ``/proc/PID/status`` every 0.5 s.
The figure is the peak (``VmHWM``); flatness compares RSS after 10%, 50% and 100% of the
signals: "flat" means RSS at 100% is within max(20 MB, 10%) of RSS at 10%, by which point
the server has loaded everything it needs and its caches and buffers are warm.

    .venv/bin/python benchmarks/memory.py [--signals N] [--connections C] [--json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from common import stop
from ingest import free_port, prepare, start_server

LIMIT_MB = 300.0
FLAT_MB = 20.0
FLAT_SHARE = 0.10
SPREAD = 4  # an outcome's score comes this many batches after the signal that opened it


def status_kb(pid: int) -> dict[str, int]:
    """``VmRSS`` and ``VmHWM`` of ``pid`` in kB."""
    found: dict[str, int] = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(("VmRSS:", "VmHWM:")):
                name, value = line.split(":", 1)
                found[name] = int(value.split()[0])
    return found


def bodies(signals: int, batch: int) -> Iterator[tuple[int, bytes]]:
    """``(signals in it, body)`` for each batch, generated on demand.

    Batch ``b`` opens outcomes ``b*half .. (b+1)*half-1`` with a ``completed`` signal naming
    the customer, and scores those opened ``SPREAD`` batches earlier; the last batches score
    what is left, so every outcome gets exactly two signals.
    """
    half = batch // 2
    outcomes = signals // 2
    opening_batches = -(-outcomes // half)
    customers = max(1, outcomes // 20)
    for number in range(opening_batches + SPREAD):
        items: list[str] = []
        start = number * half
        for ref in range(start, min(start + half, outcomes)):
            items.append(
                f'{{"id":"o-{ref:07d}","contract":"landing_page","outcome":"lp-{ref:07d}",'
                f'"customer":"cust-{ref % customers:06d}","signal":"completed"}}'
            )
        scored = (number - SPREAD) * half
        for ref in range(max(0, scored), min(scored + half, outcomes)):
            items.append(
                f'{{"id":"s-{ref:07d}","contract":"landing_page","outcome":"lp-{ref:07d}",'
                f'"signal":"score","value":{ref % 5 + 1}}}'
            )
        if items:
            yield len(items), ('{"signals":[' + ",".join(items) + "]}").encode()


@dataclass(slots=True)
class Progress:
    """Shared between the senders and the sampler."""

    total: int
    sent: int = 0
    samples: list[tuple[float, int, int, int]] = field(default_factory=list)  # t, sent, rss, hwm
    marks: dict[int, int] = field(default_factory=dict)  # percent -> RSS kB when reached
    error: BaseException | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


def sender(
    port: int, key: str, work: Iterator[tuple[int, bytes]], progress: Progress, pid: int
) -> None:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    try:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=120
        ) as http:
            while progress.error is None:
                with progress.lock:
                    taken = next(work, None)
                if taken is None:
                    return
                size, body = taken
                response = http.post("/v1/signals/batch", content=body)
                if response.status_code != 200:
                    raise RuntimeError(f"HTTP {response.status_code}: {response.text[:500]}")
                accepted = response.json()["accepted"]
                if accepted != size:
                    raise RuntimeError(f"{accepted} of {size} accepted: {response.text[:500]}")
                with progress.lock:
                    before = progress.sent * 100 // progress.total
                    progress.sent += size
                    after = progress.sent * 100 // progress.total
                    for percent in (10, 50, 100):
                        if before < percent <= after:
                            progress.marks[percent] = status_kb(pid)["VmRSS"]
    except BaseException as error:  # reported by the main thread
        progress.error = error


def sampler(pid: int, progress: Progress, done: threading.Event, started: float) -> None:
    while not done.wait(0.5):
        try:
            now = status_kb(pid)
        except OSError:
            return
        progress.samples.append(
            (time.perf_counter() - started, progress.sent, now["VmRSS"], now["VmHWM"])
        )


@dataclass(slots=True)
class Run:
    """What one load measured."""

    idle_kb: int
    final: dict[str, int]
    seconds: float
    progress: Progress


def run(signals: int, batch: int, connections: int, keep: bool) -> Run:
    """Start the server on a fresh file, send the load, sample its memory; stop it."""
    workdir = Path(tempfile.mkdtemp(prefix="earnest-bench-memory-"))
    progress = Progress(total=signals)
    try:
        database, key = prepare(workdir)
        port = free_port()
        log = (workdir / "server.log").open("wb")
        server = start_server(database, port, log)
        idle = status_kb(server.pid)["VmRSS"]
        done = threading.Event()
        started = time.perf_counter()
        work = bodies(signals, batch)
        threads = [
            threading.Thread(target=sender, args=(port, key, work, progress, server.pid))
            for _ in range(connections)
        ]
        watcher = threading.Thread(target=sampler, args=(server.pid, progress, done, started))
        try:
            watcher.start()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            seconds = time.perf_counter() - started
            final = status_kb(server.pid)
        finally:
            done.set()
            watcher.join()
            stop(server)
            log.close()
        if progress.error is not None:
            raise RuntimeError(f"load failed: {progress.error}") from progress.error
    finally:
        if keep:
            print(f"kept {workdir}", flush=True)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return Run(idle, final, seconds, progress)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--signals", type=int, default=2_000_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--connections", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    measured = run(args.signals, args.batch, args.connections, args.keep)
    progress = measured.progress
    peak = measured.final["VmHWM"] / 1024
    at = {percent: kb / 1024 for percent, kb in progress.marks.items()}
    growth = at[100] - at[10]
    allowed = max(FLAT_MB, FLAT_SHARE * at[10])
    flat = growth <= allowed
    rate = progress.sent / measured.seconds
    detail = (
        f"RSS idle {measured.idle_kb / 1024:.0f} MB, at 10% {at[10]:.0f} MB, 50% {at[50]:.0f} MB,"
        f" 100% {at[100]:.0f} MB (growth {growth:+.0f} MB, allowed {allowed:.0f} MB);"
        f" {progress.sent:,} signals in {measured.seconds:.0f} s ({rate:,.0f} signals/s)"
    )
    result = {
        "benchmark": "B5 memory",
        "what": (
            f"peak RSS (VmHWM) of earnest serve (SQLite) while {progress.sent:,} signals open"
            f" {progress.sent // 2:,} outcomes, batches of {args.batch:,}, {args.connections}"
            " connections"
        ),
        "figure": round(peak, 1),
        "unit": "MB",
        "ceiling": None,
        "ceiling_what": "an absolute limit",
        "ratio": None,
        "target": (
            f"peak <= {LIMIT_MB:.0f} MB; flat: RSS at 100% of signals within"
            f" max({FLAT_MB:.0f} MB, {FLAT_SHARE:.0%}) of RSS at 10%"
        ),
        "met": bool(peak <= LIMIT_MB and flat),
        "detail": detail,
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"peak RSS {peak:.1f} MB (limit {LIMIT_MB:.0f} MB); flat: {flat}")
    print(detail)
    step = max(1, len(progress.samples) // 20)
    for t, sent, rss, hwm in progress.samples[::step]:
        print(f"  {t:6.1f} s  {sent:>9,} signals  RSS {rss / 1024:6.1f} MB  HWM {hwm / 1024:6.1f}")
    print(f"target met: {result['met']}")


if __name__ == "__main__":
    main()
