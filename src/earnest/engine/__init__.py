"""The pure outcome engine: state, inputs, effects and ``decide()``. No clock, no I/O."""

from earnest.engine.decide import decide
from earnest.engine.lifecycle import (
    TRANSITIONS,
    Event,
    IllegalTransition,
    ReviewReason,
    Scheduled,
    State,
)
from earnest.engine.model import (
    Charge,
    Credit,
    DeadlineReached,
    Decision,
    Effects,
    Entry,
    Input,
    Observed,
    Open,
    Outcome,
    Settle,
    Signal,
)

__all__ = [
    "TRANSITIONS",
    "Charge",
    "Credit",
    "DeadlineReached",
    "Decision",
    "Effects",
    "Entry",
    "Event",
    "IllegalTransition",
    "Input",
    "Observed",
    "Open",
    "Outcome",
    "ReviewReason",
    "Scheduled",
    "Settle",
    "Signal",
    "State",
    "decide",
]
