"""Signals per second through ``decide()`` for the landing-page contract.

The ceiling, measured in the same run, is the least any engine must do per signal in Python:
copy the outcome's value map with one new entry and build one frozen record. The ratio
says how close ``decide()`` (check, explanation, history entries, transitions) comes to it.

    .venv/bin/python benchmarks/engine.py [--signals N] [--json]
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from common import LANDING_PAGE, picks
from earnest.contract import load_contract
from earnest.engine import Open, Outcome, Signal, decide

START = datetime(2026, 11, 23, tzinfo=UTC)


def workload(count: int, outcomes: int, seed: int = 7) -> list[tuple[int, Signal, datetime]]:
    """A deterministic stream: each outcome gets completed, a score, sometimes a dispute."""
    stream: list[tuple[int, Signal, datetime]] = []
    for i, ref, name, score in picks(count, outcomes, seed):
        now = START + timedelta(seconds=i // 10)
        value = True if score is None else Decimal(score)
        stream.append((ref, Signal(name, value, now, f"s{i}"), now))
    return stream


@dataclass(frozen=True, slots=True)
class _Record:
    values: dict[str, Any]
    at: datetime


def ceiling(stream: list[tuple[int, Signal, datetime]], outcomes: int) -> float:
    state: list[dict[str, Any]] = [{} for _ in range(outcomes)]
    started = time.perf_counter()
    for ref, signal, now in stream:
        values = dict(state[ref])
        values[signal.signal] = signal.value
        _Record(values, now)
        state[ref] = values
    return len(stream) / (time.perf_counter() - started)


def engine(stream: list[tuple[int, Signal, datetime]], outcomes: int) -> float:
    contract = load_contract(LANDING_PAGE, key="landing_page")
    state: list[Outcome] = [
        decide(None, Open(contract, 1, f"o{i}", "acme"), START).outcome for i in range(outcomes)
    ]
    started = time.perf_counter()
    for ref, signal, now in stream:
        state[ref] = decide(state[ref], signal, now).outcome
    return len(stream) / (time.perf_counter() - started)


def build_us(make: Any, count: int = 200_000) -> float:
    """Microseconds to build one record with ``make()``, best of three."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(count):
            make()
        best = min(best, time.perf_counter() - started)
    return best / count * 1e6


def record_costs() -> tuple[float, float]:
    """Building an outcome as the engine does (a frozen ``msgspec.Struct``, decision 0011) and
    as a frozen dataclass of the same fields would: microseconds each."""
    contract = load_contract(LANDING_PAGE, key="landing_page")
    outcome = decide(None, Open(contract, 1, "o", "acme"), START).outcome
    fields = {name: getattr(outcome, name) for name in Outcome.__struct_fields__}
    as_dataclass: Any = dataclass(frozen=True, slots=True)(
        type("FrozenOutcome", (), {"__annotations__": dict.fromkeys(fields, "Any")})
    )
    values = tuple(fields.values())
    return build_us(lambda: Outcome(*values)), build_us(lambda: as_dataclass(*values))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signals", type=int, default=200_000)
    parser.add_argument("--outcomes", type=int, default=10_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    stream = workload(args.signals, args.outcomes)
    base = max(ceiling(stream, args.outcomes) for _ in range(3))
    ours = max(engine(stream, args.outcomes) for _ in range(3))
    struct_us, frozen_us = record_costs()
    result = {
        "benchmark": "engine.decide",
        "what": f"signals/s through decide(), landing-page contract, {args.outcomes:,} outcomes",
        "figure": round(ours),
        "ceiling": round(base),
        "ceiling_what": "copy the value map and build one frozen record per signal",
        "ratio": round(ours / base, 3),
        "unit": "signals/s",
        "detail": (
            f"building an outcome: {struct_us:.2f} us (a frozen dataclass: {frozen_us:.2f} us)"
        ),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"decide(): {ours:,.0f} signals/s; ceiling {base:,.0f}/s; ratio {ours / base:.3f}")
        print(result["detail"])


if __name__ == "__main__":
    main()
