"""The pure billing core (SPEC section 6): billing periods from a customer's billing-day
history, invoice lines and totals from ledger entries, the creditable remainder of a charge.
No clock, no I/O: time and the ledger are arguments, as in the engine."""

from earnest.billing.invoice import (
    Booking,
    ChargeLine,
    CreditLine,
    Totals,
    credit_reason,
    creditable,
    invoice_lines,
    lines_json,
    minor_units,
    money_text,
    round_total,
    totals,
)
from earnest.billing.periods import BillingDays, Period, next_occurrence

__all__ = [
    "BillingDays",
    "Booking",
    "ChargeLine",
    "CreditLine",
    "Period",
    "Totals",
    "credit_reason",
    "creditable",
    "invoice_lines",
    "lines_json",
    "minor_units",
    "money_text",
    "next_occurrence",
    "round_total",
    "totals",
]
