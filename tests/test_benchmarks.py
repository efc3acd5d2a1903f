"""Every benchmark script still runs end to end, at a small size, and reports what ``make bench``
reads: the figures of tiny runs mean nothing, but a benchmark that no longer runs is caught here
rather than when someone next measures."""

from __future__ import annotations

import json
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"

SMALL = {
    "engine": ["engine.py", "--signals", "5000"],
    "condition": ["condition.py"],
    "B1": ["ingest.py", "--signals", "3000", "--outcomes", "500"],
    "B1w": ["ingest.py", "--webhook", "--signals", "3000", "--outcomes", "500"],
    "B2": ["single.py", "--seconds", "0.5", "--warmup", "0.2"],
    "B3": ["settle.py", "--outcomes", "2000"],
    "B4": ["history.py", "--entries", "20000", "--fetches", "50", "--warmup", "10"],
    "B5": ["memory.py", "--signals", "4000"],
    "B6": ["ingest.py", "--database", "postgresql", "--signals", "3000", "--outcomes", "500"],
    "B7": ["finalize.py", "--customers", "50", "--charges", "2000"],
    "B8": ["invoice.py", "--big", "2000", "--small", "20", "--fetches", "50", "--warmup", "10"],
    "B9": ["backtest.py", "--signals", "20000"],
    "B9i": ["backtest.py", "--during-ingest", "--signals", "20000", "--seconds", "1"],
    "B10": ["dashboard.py", "--entries", "20000", "--fetches", "5", "--warmup", "1"],
}


def test_run_py_lists_exactly_these_benchmarks() -> None:
    listed: list[tuple[str, list[str]]] = runpy.run_path(str(BENCHMARKS / "run.py"))["BENCHMARKS"]
    assert [ident for ident, _ in listed] == list(SMALL)
    assert {ident: script[0] for ident, script in listed} == {
        ident: script[0] for ident, script in SMALL.items()
    }


@pytest.mark.parametrize("ident", list(SMALL))
def test_benchmark_runs_and_reports_its_figures(ident: str) -> None:
    script = SMALL[ident]
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script[0]), *script[1:], "--json"],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert {"benchmark", "what", "figure", "unit", "ceiling", "ratio"} <= set(result)
    assert result["figure"] > 0
    if result["ceiling"] is not None:
        assert result["ceiling"] > 0
        assert result["ratio"] > 0
    if ident.startswith("B"):  # the benchmarks state their target and the verdict
        assert result["target"]
        assert isinstance(result["met"], bool)
