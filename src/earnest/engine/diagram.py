"""The outcome lifecycle drawn from its one table, as h11 draws its state machine from its own.

:func:`lifecycle_diagram` renders :data:`~earnest.engine.lifecycle.TRANSITIONS` as a Mermaid
``stateDiagram-v2``, so the picture in docs/lifecycle.md cannot disagree with the code that
``decide()`` runs. Pure: it returns text; ``scripts/gen_lifecycle.py`` writes the file.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from earnest.engine.lifecycle import SETTLED, TRANSITIONS, Event, State

# Every outcome begins open: ``decide(None, Open(...), now)`` creates it in this state.
INITIAL = State.OPEN

_STATE_ORDER = {state: index for index, state in enumerate(State)}
_EVENT_ORDER = {event: index for index, event in enumerate(Event)}


def lifecycle_diagram(
    transitions: Mapping[tuple[State, Event], Collection[State]] = TRANSITIONS,
    settled: Collection[State] = SETTLED,
) -> str:
    """A Mermaid ``stateDiagram-v2``: one edge per (state, event, to) of ``transitions``,
    labelled with the event; settled states end in ``[*]``.

    The order is that of the enums' definitions (states, then events, then targets), not of
    the table or of a set, so the same table always yields the same text.
    """
    lines = ["stateDiagram-v2", f"    [*] --> {INITIAL.value}"]
    for state, event, to in sorted(
        ((state, event, to) for (state, event), targets in transitions.items() for to in targets),
        key=lambda edge: (_STATE_ORDER[edge[0]], _EVENT_ORDER[edge[1]], _STATE_ORDER[edge[2]]),
    ):
        lines.append(f"    {state.value} --> {to.value} : {event.value}")
    lines += [f"    {state.value} --> [*]" for state in State if state in settled]
    return "\n".join(lines) + "\n"
