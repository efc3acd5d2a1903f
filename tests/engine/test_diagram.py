"""docs/lifecycle.md is drawn from the transition table and kept up to date with it."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable
from pathlib import Path

from earnest.engine.diagram import lifecycle_diagram
from earnest.engine.lifecycle import SETTLED, TRANSITIONS, Event, State

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "lifecycle.md"
SCRIPT = ROOT / "scripts" / "gen_lifecycle.py"
EDGE = re.compile(r"^ {4}(\w+) --> (\w+) : (\w+)$", re.MULTILINE)
FINAL = re.compile(r"^ {4}(\w+) --> \[\*\]$", re.MULTILINE)


def script_render() -> Callable[[], str]:
    """The script's own ``render``, loaded from its file (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location("gen_lifecycle", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    render: Callable[[], str] = module.render
    return render


def edges(diagram: str) -> set[tuple[State, Event, State]]:
    return {(State(a), Event(event), State(b)) for a, b, event in EDGE.findall(diagram)}


def test_the_doc_is_what_the_script_writes_now() -> None:
    assert DOC.read_text(encoding="utf-8") == script_render()(), (
        "docs/lifecycle.md is out of date with earnest.engine.lifecycle.TRANSITIONS:"
        " run `python scripts/gen_lifecycle.py`"
    )


def test_every_transition_is_one_edge_labelled_with_its_event() -> None:
    diagram = lifecycle_diagram()
    table = {
        (state, event, to) for (state, event), targets in TRANSITIONS.items() for to in targets
    }

    assert {(state, event) for state, event, _ in edges(diagram)} >= TRANSITIONS.keys()
    assert edges(diagram) == table
    assert len(EDGE.findall(diagram)) == len(table)
    assert {State(name) for name in FINAL.findall(diagram)} == SETTLED
    assert diagram.startswith("stateDiagram-v2\n    [*] --> open\n")


def test_a_changed_table_changes_the_diagram_and_its_order_does_not() -> None:
    extra = {**TRANSITIONS, (State.CONFIRMED, Event.MANUAL_CANCEL): frozenset({State.CANCELLED})}
    reversed_table = dict(reversed(TRANSITIONS.items()))

    assert ("confirmed", "cancelled", "manual_cancel") in EDGE.findall(lifecycle_diagram(extra))
    assert lifecycle_diagram(reversed_table) == lifecycle_diagram()
