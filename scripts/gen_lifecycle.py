"""Regenerate docs/lifecycle.md from the transition table: ``python scripts/gen_lifecycle.py``."""

from __future__ import annotations

from pathlib import Path

from earnest.engine.diagram import lifecycle_diagram
from earnest.engine.lifecycle import SETTLED, State

TARGET = Path(__file__).resolve().parent.parent / "docs" / "lifecycle.md"

_INTRO = """\
# Outcome lifecycle

Generated from `earnest.engine.lifecycle.TRANSITIONS` by `python scripts/gen_lifecycle.py`; do
not edit it by hand. Each arrow is one legal transition, labelled with the event that takes it;
{settled} are settled and final. SPEC section 4 says when each event happens.
"""


def render() -> str:
    """The whole of docs/lifecycle.md for the current table."""
    settled = " and ".join(f"`{state.value}`" for state in State if state in SETTLED)
    return f"{_INTRO.format(settled=settled)}\n```mermaid\n{lifecycle_diagram()}```\n"


def main() -> None:
    TARGET.write_text(render(), encoding="utf-8")
    print(f"wrote {TARGET}")


if __name__ == "__main__":
    main()
