"""A backtest in a process of its own, for a serving process (``POST
/v1/contracts/{key}/backtest``).

A backtest is CPU-bound Python: run on one of the server's threads, it would hold the GIL
half the time and take that much from ingest. In a child process at a lower CPU priority
(:func:`~earnest.service.backtest.lower_priority`) it takes only the CPU ingest leaves
(docs/decisions/0019, benchmark B9i). The child gets its request on stdin (the database URL
never appears on a command line) and answers the report, or the error it raised, as JSON on
stdout. Cancelling the awaiting coroutine kills the child. At most :data:`MAX_RUNNING`
backtests run at once per process; another is refused with 503 ``backtests_busy``.

    python -m earnest.service.backtest_apart   # the child: a request on stdin
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec

from earnest.contract import Contract, contract_to_dict, load_contract
from earnest.errors import Conflict, EarnestError, Invalid, NotFound, Unavailable
from earnest.service.backtest import lower_priority, run_backtest
from earnest.store import connect
from earnest.timefmt import format_time, parse_time

MAX_RUNNING = 2  # backtests at once in one serving process
_BRANCHES: dict[str, type[EarnestError]] = {
    "invalid": Invalid, "not_found": NotFound, "conflict": Conflict, "unavailable": Unavailable,
}  # fmt: skip


class BacktestsBusy(Unavailable):
    code = "backtests_busy"

    def __init__(self) -> None:
        super().__init__(f"{MAX_RUNNING} backtests are running; try again when one has finished")


class Slots:
    """How many backtests may still start in this process."""

    def __init__(self, size: int = MAX_RUNNING) -> None:
        self._free = size
        self._lock = threading.Lock()

    def take(self) -> None:
        with self._lock:
            if self._free <= 0:
                raise BacktestsBusy()
            self._free -= 1

    def give(self) -> None:
        with self._lock:
            self._free += 1


async def backtest_apart(
    url: str,
    contract: Contract,
    since: datetime | None,
    until: datetime | None,
    now: datetime,
) -> dict[str, Any]:
    """The backtest report (its JSON) from a child process over the database at ``url``;
    raises the error the backtest raised, as the same code, field and message."""
    request = {
        "url": url,
        "contract": contract_to_dict(contract),
        "since": None if since is None else format_time(since),
        "until": None if until is None else format_time(until),
        "now": format_time(now),
    }
    package = str(Path(__file__).resolve().parents[2])  # this very earnest, whatever sys.path
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([package, *_python_path()])}
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "earnest.service.backtest_apart",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    try:
        out, err = await child.communicate(msgspec.json.encode(request))
    finally:
        if child.returncode is None:  # cancelled: the backtest stops with the request
            with contextlib.suppress(ProcessLookupError):
                child.kill()
            await child.wait()
    answer = msgspec.json.decode(out) if out.strip() else {}
    if "report" in answer:
        report: dict[str, Any] = answer["report"]
        return report
    if "error" in answer:
        error = answer["error"]
        branch = _BRANCHES.get(error["branch"], EarnestError)
        raise branch(error["message"], code=error["code"], field=error["field"])
    tail = err.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
    raise RuntimeError(f"the backtest process exited {child.returncode}: {tail[0]}")


def _python_path() -> list[str]:
    found = os.environ.get("PYTHONPATH", "")
    return [part for part in found.split(os.pathsep) if part]


def main() -> None:
    """The child: read the request, lower this process's priority, answer on stdout."""
    request = msgspec.json.decode(sys.stdin.buffer.read())
    lower_priority()
    try:
        contract = load_contract(request["contract"])
        since, until = (_time(request["since"]), _time(request["until"]))
        now = parse_time(request["now"])
        db = connect(request["url"])
        try:
            with db.read() as tx:
                report = run_backtest(tx, contract, since, until, lambda: now)
        finally:
            db.close()
    except EarnestError as error:
        sys.stdout.buffer.write(msgspec.json.encode({"error": _error_json(error)}))
        return
    sys.stdout.buffer.write(msgspec.json.encode({"report": report.json()}))


def _time(text: str | None) -> datetime | None:
    return None if text is None else parse_time(text)


def _error_json(error: EarnestError) -> dict[str, Any]:
    branch = next((name for name, kind in _BRANCHES.items() if isinstance(error, kind)), "earnest")
    return {"code": error.code, "message": error.message, "field": error.field, "branch": branch}


if __name__ == "__main__":
    main()
