"""verdict() calls per second for the landing-page condition, over a mix of value sets.

The ceiling, measured in the same run, is the least a check can cost in Python: one function
call that reads three names from the values. The ratio says how close verdict() comes to it.

    .venv/bin/python benchmarks/condition.py [--calls N]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Mapping
from decimal import Decimal

from common import LANDING_CONDITION
from earnest.contract.condition import Value, compile_condition

# Twelve recurring unseen names nothing prunes: verdict({}) spends the whole enumeration bound
# (MAX_ENUMERATION, docs/decisions/0003) before falling back to Kleene's answer.
BOUND = " OR ".join(f"(a{i} AND NOT a{i})" for i in range(12))
MIX: list[dict[str, Value]] = [
    {},  # undecided
    {"completed": True},  # undecided
    {"completed": True, "score": Decimal(2)},  # failed
    {"completed": True, "score": Decimal(4)},  # met
    {"completed": True, "score": Decimal("4.5"), "disputed": False},  # met
    {"completed": True, "score": Decimal(5), "disputed": True},  # failed
]


def calls_per_s(check: Callable[[Mapping[str, Value]], object], calls: int) -> float:
    rounds = max(1, calls // len(MIX))
    start = time.perf_counter()
    for _ in range(rounds):
        for values in MIX:
            check(values)
    return rounds * len(MIX) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=600_000)
    parser.add_argument("--json", action="store_true", help="print one JSON result line")
    args = parser.parse_args()
    calls = args.calls
    condition = compile_condition(LANDING_CONDITION)

    def ceiling(values: Mapping[str, Value]) -> object:
        return (values.get("completed"), values.get("score"), values.get("disputed"))

    measured = {
        "ceiling (read 3 names)": calls_per_s(ceiling, calls),
        "verdict()": calls_per_s(condition.verdict, calls),
        "explain().text()": calls_per_s(lambda v: condition.explain(v).text(), calls // 20),
    }
    ratio = measured["verdict()"] / measured["ceiling (read 3 names)"]
    if args.json:
        result = {
            "benchmark": "condition.verdict",
            "what": "verdict() calls/s, landing-page condition",
            "figure": round(measured["verdict()"]),
            "ceiling": round(measured["ceiling (read 3 names)"]),
            "ceiling_what": "a function reading the 3 names",
            "ratio": round(ratio, 3),
            "unit": "calls/s",
        }
        print(json.dumps(result))
        return
    for name, rate in measured.items():
        print(f"{name:24} {rate:>12,.0f} calls/s  {1e6 / rate:6.2f} µs/call")
    print(f"verdict() runs at {ratio:.0%} of the ceiling")
    bound = compile_condition(BOUND)
    per_call = min(1 / calls_per_s(bound.verdict, len(MIX)) for _ in range(5))
    print(f"verdict() to the enumeration bound: {per_call * 1e3:.1f} ms/call")


if __name__ == "__main__":
    main()
