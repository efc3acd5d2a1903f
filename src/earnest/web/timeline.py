"""An outcome's history as a timeline in plain words (SPEC 11): every signal, check with its
explanation, transition, charge, credit and dispute, one :class:`Step` each.

Shared by the dashboard's outcome page and the customers' evidence pages: a step holds only
what the history entry holds, and who acted is shown through ``actor``, so the evidence pages
can name a dashboard user "the vendor". Render it with ``templates/_timeline.html``::

    {% set timeline = steps %}{% set invoice_base = "/invoices/" %}
    {% include "_timeline.html" %}

``invoice_base`` (optional) makes each charge's and credit's invoice a link
``invoice_base + invoice id``; without it the invoice is named, not linked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from earnest.contract.condition.render import value_text
from earnest.jsonio import dump_json
from earnest.service.history import HistoryEntry
from earnest.timefmt import parse_time
from earnest.web.render import money, when

SYSTEM = "system"
MAX_DATA = 2_000  # characters of a signal's data shown in a step (the whole is in the API)

#: Each check's verdict, as the step's first words.
VERDICTS = {"met": "Conditions met", "failed": "Conditions failed", "undecided": "Not decided yet"}


@dataclass(frozen=True, slots=True)
class Step:
    """One history entry in plain words.

    ``kind`` is the entry's kind (``opened``, ``signal``, ``check``, ``transition``,
    ``charge``, ``credit``, ``dispute``, ...); ``sentence`` says what happened; ``details``
    are ``(label, text)`` pairs shown under it (a signal's id and data, a check's every
    clause, a charge's period); ``invoice`` the id of the invoice a charge or credit is on;
    ``tone`` ``ok``, ``bad`` or empty, for the page's marks."""

    seq: int
    at: datetime
    kind: str
    sentence: str
    details: tuple[tuple[str, str], ...] = ()
    invoice: str | None = None
    tone: str = ""


def as_recorded(actor: str) -> str:
    """Who acted, as the history records it (a dashboard user's email, an API key id)."""
    return actor


def steps(
    entries: Sequence[HistoryEntry],
    *,
    actor: Callable[[str], str] = as_recorded,
    currency: str = "",
) -> list[Step]:
    """The timeline of one outcome's ``entries`` (in ``seq`` order), a step per entry.

    ``actor`` names who settled by hand, opened or resolved a dispute (``system``, the engine
    itself, is always "automatically"). ``currency``: the outcome's price's, for a dispute's
    credit amount on a page of the timeline that starts after the outcome opened (else it is
    read from the ``opened`` entry). Nothing here reads the store."""
    found = []
    for entry in entries:
        data = entry.data
        if entry.kind == "opened":
            currency = str((data.get("price") or {}).get("currency") or "")
        elif entry.kind == "charge":
            currency = str(data.get("currency") or currency)
        found.append(_step(entry, currency, actor))
    return found


def _step(entry: HistoryEntry, currency: str, actor: Callable[[str], str]) -> Step:
    data, kind = entry.data, entry.kind
    if kind == "opened":
        return _opened(entry)
    if kind == "signal":
        return _signal(entry)
    if kind == "check":
        return _check(entry)
    if kind == "transition":
        return _transition(entry, actor)
    if kind in ("charge", "credit"):
        return _money(entry)
    if kind == "dispute":
        return _dispute(entry, currency, actor)
    if kind == "flag":
        text = "Marked contested" if data.get("contested") else "Marked no longer contested"
        reason = f": {data['reason']}" if data.get("reason") else ""
        return Step(entry.seq, entry.recorded_at, kind, f"{text}{reason}.")
    shown = ", ".join(f"{key} {_shown(value)}" for key, value in sorted(data.items()))
    return Step(entry.seq, entry.recorded_at, kind, f"{kind.capitalize()}: {shown}.")


# Entries -----------------------------------------------------------------------------------


def _opened(entry: HistoryEntry) -> Step:
    data = entry.data
    price = data.get("price") or {}
    sentence = (
        f"Tracking began for customer {data.get('customer')} under contract"
        f" {data.get('contract')} version {data.get('contract_version')},"
        f" at a price of {_money_text(price.get('amount'), price.get('currency'))}"
    )
    if data.get("active_until"):
        sentence += f"; it stays open until {_moment(data['active_until'])}"
    return Step(entry.seq, entry.recorded_at, "opened", sentence + ".")


def _signal(entry: HistoryEntry) -> Step:
    data = entry.data
    name, value = data.get("signal"), data.get("value")
    occurred = _moment(data["at"]) if data.get("at") else when(entry.recorded_at)
    if value is None:
        sentence = f"Signal “{name}” was retracted (no value), at {occurred}."
    else:
        sentence = f"Signal “{name}” arrived: {_value(value)}, at {occurred}."
    if data.get("late"):
        sentence += " It came after settlement, so it changes no decision."
    details = []
    if data.get("id") is not None:
        details.append(("Signal id", str(data["id"])))
    if data.get("received_at") and data.get("received_at") != data.get("at"):
        details.append(("Received", _moment(data["received_at"])))
    if data.get("data"):
        details.append(("Data", _shown(data["data"])))
    return Step(entry.seq, entry.recorded_at, "signal", sentence, tuple(details))


def _check(entry: HistoryEntry) -> Step:
    data = entry.data
    verdict = str(data.get("verdict"))
    clauses = explanation_clauses(str(data.get("explanation", "")))
    lead = VERDICTS.get(verdict, f"Check: {verdict}")
    # A met check names what held; a failed or undecided one only what did not.
    named = [text for text, held in clauses if held == (verdict == "met")]
    sentence = f"{lead}: {_joined(named)}." if named else f"{lead}."
    details = tuple((("Holds" if held else "Fails", text) for text, held in clauses))
    tone = {"met": "ok", "failed": "bad"}.get(verdict, "")
    return Step(entry.seq, entry.recorded_at, "check", sentence, details, tone=tone)


def _transition(entry: HistoryEntry, actor: Callable[[str], str]) -> Step:
    data = entry.data
    reason, scheduled = data.get("reason"), data.get("scheduled")
    ends = _moment(data["review_ends_at"]) if data.get("review_ends_at") else "?"
    then = "be confirmed" if scheduled == "confirm" else "be cancelled"
    tone = ""
    if reason == "conditions_met":
        sentence = (
            f"Review window opened because the conditions were met; it ends on {ends},"
            f" and the outcome will then {then}."
        )
    elif reason == "activity_timeout":
        sentence = (
            f"The active period ended, so the review window opened; it ends on {ends},"
            f" and the outcome will then {then} unless a check changes it."
        )
    elif reason == "check":
        sentence = (
            f"The check changed the decision: the outcome will {then}"
            f" when the review window ends on {ends}."
        )
    elif reason == "review_window_ended":
        settled = "Confirmed" if data.get("to") == "confirmed" else "Cancelled"
        sentence = f"{settled} when the review window ended."
        tone = "ok" if data.get("to") == "confirmed" else "bad"
    elif reason in ("manual_confirm", "manual_cancel"):
        settled = "Confirmed" if reason == "manual_confirm" else "Cancelled"
        who = _who(data.get("by"), actor)
        sentence = f"{settled} by hand by {who}"
        sentence += f": “{data['note']}”." if data.get("note") else "."
        tone = "ok" if reason == "manual_confirm" else "bad"
    else:
        sentence = f"Moved from {_state(data.get('from'))} to {_state(data.get('to'))} ({reason})."
    return Step(entry.seq, entry.recorded_at, "transition", sentence, tone=tone)


def _money(entry: HistoryEntry) -> Step:
    data, kind = entry.data, entry.kind
    amount = _money_text(data.get("amount"), data.get("currency"))
    if kind == "charge":
        sentence = f"Charged {amount}"
    elif data.get("reason") == "dispute":
        sentence = f"Credited {amount} when the dispute was resolved"
    elif data.get("reason") == "after_settlement":
        sentence = f"Credited {amount} because a signal after settlement failed the check"
    else:
        sentence = f"Credited {amount}" + (f" ({data['reason']})" if data.get("reason") else "")
    sentence += f": “{data['note']}”." if kind == "credit" and data.get("note") else "."
    details = []
    if data.get("period_start"):
        period = f"from {data['period_start']} until {data.get('period_end')}"
        details.append(("Billing period", period))
    moved = data.get("moved_from")
    if isinstance(moved, Mapping):
        why = moved.get("why") or "its invoice was already finalized"
        details.append(("Moved from", f"{moved.get('start')} to {moved.get('end')}: {why}"))
    invoice = data.get("invoice")
    return Step(
        entry.seq, entry.recorded_at, kind, sentence, tuple(details),
        invoice=str(invoice) if invoice else None, tone="bad" if kind == "credit" else "",
    )  # fmt: skip


def _dispute(entry: HistoryEntry, currency: str, actor: Callable[[str], str]) -> Step:
    data = entry.data
    who = _who(data.get("by"), actor)
    if data.get("action") == "opened":
        sentence = f"Dispute opened by {who}: “{data.get('reason')}”."
        if data.get("by") == SYSTEM:
            sentence = f"Dispute opened automatically: {data.get('reason')}."
        return Step(entry.seq, entry.recorded_at, "dispute", sentence, tone="bad")
    note = f": “{data['note']}”" if data.get("note") else ""
    if data.get("resolution") == "credit":
        amount = _money_text(data.get("amount"), currency)
        sentence = f"Dispute resolved by {who} with a credit of {amount}{note}."
    else:
        sentence = f"Dispute rejected by {who}; the charge stands{note}."
    return Step(entry.seq, entry.recorded_at, "dispute", sentence, tone="ok")


# Check explanations -------------------------------------------------------------------------


def explanation_clauses(explanation: str) -> list[tuple[str, bool]]:
    """``(clause in plain words, held)`` for each top-level item of a check's explanation
    (``completed = true ✓ · score > 3: score = 2 ✗ → failed``, see
    :mod:`earnest.contract.condition.explain`)."""
    body = explanation.rsplit(" → ", 1)[0] if " → " in explanation else explanation
    found = []
    for item in body.split(" · ") if body else ():
        text, held, notes = _marked(item)
        found.append((_clause(text, held) + (f" ({notes})" if notes else ""), held))
    return found


def _marked(item: str) -> tuple[str, bool, str]:
    """``(text, held, notes)`` of one item: the last mark splits its text from its notes."""
    yes, no = item.rfind(" ✓"), item.rfind(" ✗")
    at = max(yes, no)
    if at < 0:
        return item, False, ""
    notes = item[at + 2 :].strip()
    if notes.startswith("(") and notes.endswith(")"):
        notes = notes[1:-1]
    return item[:at], at == yes, notes


def _clause(text: str, held: bool) -> str:
    if ": " in text:  # "score > 3: score = 2": the expression, then its names' values
        expression, shown = text.split(": ", 1)
        verb = "holds" if held else "does not hold"
        return f"{expression} {verb} ({_values(shown)})"
    return _values(text)  # a lone name: "completed = true", "disputed unseen"


def _values(shown: str) -> str:
    parts = []
    for part in shown.split(", "):
        if part.endswith(" unseen"):
            parts.append(f"{part[: -len(' unseen')]} not seen yet")
        else:
            parts.append(part.replace(" = ", " is ", 1))
    return ", ".join(parts)


# Words ---------------------------------------------------------------------------------------


def _who(by: Any, actor: Callable[[str], str]) -> str:
    if by is None or by == "":
        return "someone unrecorded"
    if by == SYSTEM:
        return "Earnest"
    return actor(str(by))


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, str):
        return value_text(value)
    return _shown(value)


def _money_text(amount: Any, currency: Any) -> str:
    try:
        parsed = Decimal(str(amount))
    except InvalidOperation:
        return f"{amount} {currency}"
    if not parsed.is_finite() or not isinstance(currency, str) or len(currency) != 3:
        return f"{amount} {currency}"
    return money(parsed, currency)


def _moment(value: Any) -> str:
    if isinstance(value, datetime):
        return when(value)
    try:
        return when(parse_time(str(value)))
    except ValueError:
        return str(value)


def _state(value: Any) -> str:
    return str(value).replace("_", " ")


def _joined(parts: Sequence[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) else dump_json(value).decode()
    return text if len(text) <= MAX_DATA else text[: MAX_DATA - 1] + "…"
