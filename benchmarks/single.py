"""Single-signal ``POST /v1/signals`` at 32 concurrent connections (benchmark B2), SQLite.

Earnest serves from its own process (``earnest serve`` on a fresh temporary SQLite file, WAL,
``synchronous=FULL``, the landing-page contract and an ingest key made by the CLI). This process
is the load generator: 32 keep-alive HTTP/1.1 connections, each sending one request, waiting
for its answer, sending the next, for a fixed time after a warm-up. Every signal has its own
id (the workload of benchmarks/ingest.py, 10,000 outcomes) and every answer must be a 200 with
the signal accepted, not a duplicate; anything else stops the run.

The ceiling, measured in the same run with the same client and the same bodies, is a trivial
endpoint on the same server stack (benchmarks/trivial_app.py: Litestar, uvicorn with uvloop and
httptools, one process, ``serve_http``'s options) that parses the body with Earnest's JSON
reader and answers a small JSON object.

The client is a lean asyncio protocol (uvloop) writing pre-built request bytes and reading
``Content-Length`` answers; its own CPU use is reported, so a client that is the bottleneck
shows (on 2 cores the server and the client each have one).

    .venv/bin/python benchmarks/single.py [--seconds 8] [--json]
    .venv/bin/python benchmarks/single.py --py-spy /tmp/single.txt   # sample Earnest's server
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import httpx
import uvloop

from common import stop
from ingest import (
    free_port,
    percentile,
    prepare,
    signals,
    start_py_spy,
    start_server,
    stop_py_spy,
)

CONNECTIONS = 32
OUTCOMES = 10_000
TRIVIAL_APP = Path(__file__).resolve().parent / "trivial_app.py"
ACCEPTED = b'"duplicate":false'
TARGET_RATIO = 0.25
TARGET_P99_S = 0.025


def bodies(outcomes: int, seed: int = 7) -> Iterator[bytes]:
    """The workload of ``ingest.workload()``, one encoded signal at a time, without end."""
    for item in signals(10**9, outcomes, seed):
        yield json.dumps(item, separators=(",", ":")).encode()


def requests(port: int, key: str | None, outcomes: int) -> Iterator[bytes]:
    head = f"POST /v1/signals HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
    if key is not None:
        head += f"Authorization: Bearer {key}\r\n"
    head += "Content-Type: application/json\r\n"
    prefix = head.encode()
    for body in bodies(outcomes):
        yield b"%bContent-Length: %d\r\n\r\n%b" % (prefix, len(body), body)


@dataclass(slots=True)
class Load:
    """What one run measured: answers completed inside the measured window."""

    requests: int = 0
    seconds: float = 0.0
    cpu_s: float = 0.0
    answered: int = 0  # warm-up and drain included
    server_cpu_s: float | None = None
    latencies: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def p(self, fraction: float) -> float:
        return percentile(self.latencies, fraction)


class Failed(RuntimeError):
    pass


class _Connection(asyncio.Protocol):
    """One keep-alive connection: one request in flight, answers parsed by Content-Length."""

    def __init__(self, run: _Run) -> None:
        self.run = run
        self.buffer = bytearray()
        self.sent = 0.0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.send()

    def send(self) -> None:
        assert self.transport is not None
        if self.run.stopping:
            self.transport.close()
            self.run.closed()
            return
        self.sent = time.perf_counter()
        self.transport.write(next(self.run.requests))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if len(self.buffer) < end + 4 + length:
            return
        body = bytes(self.buffer[end + 4 : end + 4 + length])
        del self.buffer[: end + 4 + length]
        status = head[9:12]
        if status != b"200" or (self.run.check and ACCEPTED not in body):
            self.run.fail(Failed(f"HTTP {status.decode()}: {body[:500].decode(errors='replace')}"))
            return
        self.run.answered(self.sent, time.perf_counter())
        self.send()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.run.stopping:
            self.run.fail(Failed(f"connection lost: {exc}"))


class _Run:
    def __init__(self, requests: Iterator[bytes], check: bool, loop: asyncio.AbstractEventLoop):
        self.requests = requests
        self.check = check
        self.stopping = False
        self.measuring_from = float("inf")
        self.measuring_until = float("inf")
        self.load = Load()
        self.open = 0
        self.done: asyncio.Future[None] = loop.create_future()

    def answered(self, sent: float, received: float) -> None:
        self.load.answered += 1
        if self.measuring_from <= sent and received <= self.measuring_until:
            self.load.requests += 1
            self.load.latencies.append(received - sent)

    def closed(self) -> None:
        self.open -= 1
        if self.open == 0 and not self.done.done():
            self.done.set_result(None)

    def fail(self, error: Exception) -> None:
        self.stopping = True
        if not self.done.done():
            self.done.set_exception(error)


async def _drive(
    port: int, requests: Iterator[bytes], check: bool, warmup: float, seconds: float
) -> Load:
    loop = asyncio.get_running_loop()
    run = _Run(requests, check, loop)
    for _ in range(CONNECTIONS):
        await loop.create_connection(lambda: _Connection(run), "127.0.0.1", port)
        run.open += 1
    await asyncio.sleep(warmup)
    run.measuring_from = time.perf_counter()
    cpu = time.process_time()
    await asyncio.sleep(seconds)
    run.measuring_until = time.perf_counter()
    run.load.cpu_s = time.process_time() - cpu
    run.load.seconds = run.measuring_until - run.measuring_from
    run.stopping = True
    await asyncio.wait_for(run.done, timeout=60)  # every connection finishes its request
    return run.load


def drive(port: int, requests: Iterator[bytes], check: bool, warmup: float, seconds: float) -> Load:
    return uvloop.run(_drive(port, requests, check, warmup, seconds))


def cpu_seconds(pid: int) -> float | None:
    """User and system CPU time of process ``pid`` so far (Linux), else None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def served(
    process: subprocess.Popen[bytes], port: int, key: str | None, args: argparse.Namespace
) -> Load:
    """Drive the server ``process`` listening on ``port``, noting its CPU time."""
    before = cpu_seconds(process.pid)
    load = drive(port, requests(port, key, OUTCOMES), key is not None, args.warmup, args.seconds)
    after = cpu_seconds(process.pid)
    if before is not None and after is not None:
        load.server_cpu_s = after - before
    return load


def wait_ready(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"trivial app exited with status {process.returncode}")
        try:
            httpx.post(f"http://127.0.0.1:{port}/v1/signals", content=b"{}", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("the trivial app did not answer within 30 s")


def earnest(workdir: Path, args: argparse.Namespace) -> Load:
    database, key = prepare(workdir)
    port = free_port()
    with (workdir / "server.log").open("wb") as log:
        server = start_server(database, port, log)
        spy = start_py_spy(server.pid, args.py_spy, "--gil") if args.py_spy else None
        try:
            return served(server, port, key, args)
        except Failed:
            print((workdir / "server.log").read_text(errors="replace")[-3000:], file=sys.stderr)
            raise
        finally:
            stop_py_spy(spy)
            stop(server)


def trivial(args: argparse.Namespace) -> Load:
    port = free_port()
    server = subprocess.Popen([sys.executable, str(TRIVIAL_APP), "--port", str(port)])
    try:
        wait_ready(port, server)
        return served(server, port, None, args)
    finally:
        stop(server)


def per_request(load: Load) -> str:
    if load.server_cpu_s is None or not load.answered:
        return "unknown"
    return f"{load.server_cpu_s / load.answered * 1e6:.0f} us"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="measured time per target")
    parser.add_argument("--warmup", type=float, default=1.5)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--py-spy", metavar="FILE", help="sample Earnest's server into FILE (raw)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="earnest-bench-single-"))
    try:
        ours = earnest(workdir, args)
        base = trivial(args)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    ratio = ours.rate / base.rate
    p99 = ours.p(0.99)
    met = ratio >= TARGET_RATIO and p99 <= TARGET_P99_S
    detail = (
        f"p50 {ours.p(0.5) * 1e3:.1f} ms, p99 {p99 * 1e3:.1f} ms; ceiling p50"
        f" {base.p(0.5) * 1e3:.1f} ms, p99 {base.p(0.99) * 1e3:.1f} ms; client CPU"
        f" {ours.cpu_s / ours.seconds:.0%} (Earnest), {base.cpu_s / base.seconds:.0%} (ceiling)"
        f"; server CPU per request {per_request(ours)} (Earnest), {per_request(base)} (ceiling)"
    )
    result = {
        "benchmark": "B2 single",
        "what": (
            f"requests/s of single-signal POST /v1/signals at {CONNECTIONS} keep-alive"
            f" connections, unique ids, landing-page contract, {OUTCOMES:,} outcomes, SQLite WAL"
            " synchronous=FULL, server in its own process"
        ),
        "figure": round(ours.rate),
        "unit": "requests/s",
        "ceiling": round(base.rate),
        "ceiling_what": (
            "a trivial Litestar endpoint parsing the same JSON with earnest.jsonio, same uvicorn"
            " options (uvloop, httptools, one process), same client"
        ),
        "ratio": round(ratio, 3),
        "target": f"ratio >= {TARGET_RATIO}, p99 <= {TARGET_P99_S * 1e3:.0f} ms",
        "met": met,
        "detail": detail,
    }
    if args.json:
        print(json.dumps(result))
        return
    print(
        f"Earnest POST /v1/signals: {ours.rate:,.0f} requests/s ({ours.requests:,} in"
        f" {ours.seconds:.1f} s, {CONNECTIONS} connections)"
    )
    print(f"ceiling (trivial endpoint): {base.rate:,.0f} requests/s ({base.requests:,})")
    print(detail)
    print(f"ratio {ratio:.3f} (target >= {TARGET_RATIO}); p99 {p99 * 1e3:.1f} ms (target <= 25)")
    print("target met" if met else "target NOT met")


if __name__ == "__main__":
    main()
