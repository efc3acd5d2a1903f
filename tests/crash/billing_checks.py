"""Billing invariants of a store after crashes or concurrent closers (SPEC sections 6 and 12).

:func:`check_billing` reads the whole store in one snapshot and asserts, with its own SQL (not
the product's read paths, which it would otherwise only be agreeing with):

- every ledger row is on exactly one invoice, which exists, is of its customer and currency,
  and is a real period of the customer's billing-day history; the row and its history entry
  name the same invoice and period; the row's time is inside that period, unless its history
  entry says ``moved_from`` the period that holds its time, which then ends at or before the
  invoice's period starts; a charge is booked at its outcome's settlement time;
- every invoice has a ledger row; its ``subtotal``/``credits`` are the sums of its rows and
  its charge lines the count of its charges per (contract, version, unit price);
- finalized ⇔ number, sequence, hash and finalization time set; the sequences are exactly
  ``1..n`` and ``counters.invoice_number == n``; in sequence order the keys (period end,
  customer as UTF-8 bytes, currency) strictly increase; each number is ``{prefix}-{n:06}``
  with a prefix that was set at some time (a change of prefix does not restart ``n``);
- every finalized invoice has exactly one ``invoice.finalized`` activity entry, at its
  finalization time, naming its number, whose hash is the invoice's stored hash and the hash
  of the invoice as it reads now (:func:`earnest.service.invoices.invoice_hash`); no draft has
  one;
- each customer's open period is one of its periods, not due at ``final_time`` (its end plus
  the grace is later); every invoice before it is finalized, every one from it on a draft;
- disputes: at most one open per outcome, ``contested`` exactly while one is open; a credit
  resolution names its credit ledger row and amount; no outcome credited beyond its charge;
- and the product's own verifiers agree: ``audit verify`` and ``replay --verify``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import pairwise
from typing import Any

from earnest.billing import BillingDays, Period
from earnest.billing.periods import midnight
from earnest.service.invoices import invoice_hash, load_invoice
from earnest.service.settings import DEFAULTS, settings_of
from earnest.store import Database
from earnest.store.codec import from_us, loads, money_value, to_us
from earnest.store.invoices import billing_of, get_invoice, invoice_id, price_key
from tests.crash.checks import product_verifiers

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class BillingReport:
    customers: int = 0
    invoices: int = 0
    finalized: int = 0
    charges: int = 0
    credits: int = 0
    moved: int = 0  # ledger entries booked into a later period than their time's
    disputes: Counter[str] = field(default_factory=Counter)  # open, reject, credit
    period_ends: int = 0  # distinct period ends with a finalized invoice

    def __str__(self) -> str:
        return (
            f"{self.customers} customers, {self.invoices} invoices ({self.finalized} finalized"
            f" over {self.period_ends} period ends), {self.charges} charges, {self.credits}"
            f" credits, {self.moved} moved, disputes {dict(self.disputes)}"
        )


def _money(value: Any) -> Decimal:
    amount = money_value(value)
    assert amount is not None
    return amount


def _day(text: str) -> datetime:
    return midnight(date.fromisoformat(text))


def _periods_until(days: BillingDays, end: datetime) -> set[Period]:
    found: set[Period] = set()
    for period in days.periods():
        found.add(period)
        if period.end >= end:
            return found
    raise AssertionError("unreachable: periods run without end")


def check_billing(
    db: Database,
    *,
    final_time: datetime | None,
    constant_grace: bool = True,
    verifiers: bool = True,
) -> BillingReport:
    """Assert every billing invariant; ``final_time``: when everything due was closed (None:
    not checked); ``constant_grace``: the grace never changed, so each invoice was finalized
    at its period's end plus the grace of now; ``verifiers``: also run ``audit verify`` and
    ``replay --verify`` (:func:`tests.crash.checks.check_store` runs them too)."""
    report = BillingReport()
    with db.read() as tx:
        settings = settings_of(tx)
        customers = {
            str(ident): Period(from_us(int(start)), from_us(int(end)))
            for ident, start, end in tx.query("SELECT id, open_start, open_end FROM customers")
        }
        billing = billing_of(tx, list(customers))
        invoices = {
            str(row[0]): row
            for row in tx.query(
                "SELECT id, customer, currency, period_start, period_end, status, number,"
                " sequence, subtotal, credits, finalized_at, hash FROM invoices"
            )
        }
        lines = tx.query(
            "SELECT invoice_id, contract, contract_version, unit_price, quantity FROM invoice_lines"
        )
        ledger = tx.query(
            "SELECT l.id, l.kind, l.outcome_id, l.customer, l.amount, l.currency, l.period_start,"
            " l.period_end, l.booked_at, l.history_seq, l.invoice_id, o.contract,"
            " o.contract_version, o.customer, o.settled_at FROM ledger l"
            " JOIN outcomes o ON o.id = l.outcome_id ORDER BY l.id"
        )
        booked = {
            int(seq): (str(kind), int(outcome), loads(data))
            for seq, kind, outcome, data in tx.query(
                "SELECT seq, kind, outcome_id, data FROM history WHERE kind IN ('charge', 'credit')"
            )
        }
        counter = tx.one("SELECT value FROM counters WHERE name = 'invoice_number'")
        finalizations = tx.query(
            "SELECT seq, at, subject, after FROM activity WHERE action = 'invoice.finalized'"
        )
        prefixes = {DEFAULTS.invoice_prefix} | {
            loads(after).get("invoice_prefix")
            for (after,) in tx.query("SELECT after FROM activity WHERE action = 'settings.updated'")
        }
        recomputed = {}
        for ident, row in invoices.items():
            if row[5] == "finalized":
                stored = get_invoice(tx, ident)
                assert stored is not None
                recomputed[ident] = invoice_hash(load_invoice(tx, stored))
        disputes = tx.query(
            "SELECT id, outcome_id, state, resolution, credit_amount, credit_ledger_id"
            " FROM disputes"
        )
        outcomes = {
            int(ident): (bool(contested), charged, credited)
            for ident, contested, charged, credited in tx.query(
                "SELECT id, contested, charged, credited FROM outcomes"
            )
        }
    report.customers, report.invoices = len(customers), len(invoices)
    grace = settings.grace
    horizon = max([final_time or EPOCH, *(p.end for p in customers.values())])
    tiling = {ident: _periods_until(b.days, horizon) for ident, b in billing.items()}
    assert set(billing) == set(customers), "a customer without a billing-day history"

    # Every ledger row on exactly one invoice, where SPEC 6 places it.
    sums: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    counts: Counter[tuple[str, str, int, str]] = Counter()
    ledger_by_id: dict[int, tuple[str, int, Decimal]] = {}
    charged: dict[int, Decimal] = {}
    credited: dict[int, Decimal] = defaultdict(Decimal)
    for row in ledger:
        ident, kind, outcome_id, customer, amount_raw, currency, p_start, p_end = row[:8]
        booked_us, seq, invoice, contract, version, owner, settled_at = row[8:]
        what = f"ledger {ident} ({kind} of outcome {outcome_id})"
        amount = _money(amount_raw)
        at = from_us(int(booked_us))
        ledger_by_id[int(ident)] = (str(kind), int(outcome_id), amount)
        assert kind in ("charge", "credit"), f"{what}: kind {kind!r}"
        assert customer == owner, f"{what}: customer {customer}, outcome's {owner}"
        assert invoice is not None, f"{what}: on no invoice"
        found = invoices.get(str(invoice))
        assert found is not None, f"{what}: on invoice {invoice}, which does not exist"
        _, inv_customer, inv_currency, inv_start_us, inv_end_us = found[:5]
        assert (inv_customer, inv_currency) == (customer, currency), (
            f"{what}: {customer} {currency} on invoice of {inv_customer} {inv_currency}"
        )
        period = Period(from_us(int(inv_start_us)), from_us(int(inv_end_us)))
        assert invoice == invoice_id(str(customer), period.start, str(currency)), f"{what}: id"
        assert period in tiling[str(customer)], f"{what}: invoice period {period} is no period"
        assert (_day(str(p_start)), _day(str(p_end))) == (period.start, period.end), (
            f"{what}: ledger says period {p_start}..{p_end}, its invoice {period}"
        )
        entry = booked.get(int(seq))
        assert entry is not None, f"{what}: no history entry {seq}"
        entry_kind, entry_outcome, data = entry
        assert (entry_kind, entry_outcome) == (kind, int(outcome_id)), f"{what}: history {seq}"
        assert data.get("invoice") == invoice, f"{what}: history names {data.get('invoice')}"
        assert data.get("ledger_id") == int(ident), f"{what}: history names {data.get('ledger_id')}"
        assert (data.get("period_start"), data.get("period_end")) == (p_start, p_end), what
        moved = data.get("moved_from")
        days = billing[str(customer)].days
        earliest = days.first()
        # Before the customer's first period (its creation stamped after the entry's time, by a
        # clock behind, or a request that waited): the first period stands for it.
        holding = earliest if at < earliest.start else days.containing(at)
        if moved is None:
            assert at in period or holding == period == earliest, (
                f"{what}: booked at {at}, outside its invoice's period {period}"
            )
        else:
            report.moved += 1
            assert at not in period, f"{what}: says moved_from but {at} is in {period}"
            assert (_day(moved["start"]), _day(moved["end"])) == (holding.start, holding.end), (
                f"{what}: moved_from {moved} but {at} is in {holding}"
            )
            assert holding.end <= period.start, f"{what}: moved back, from {holding} to {period}"
        if kind == "charge":
            report.charges += 1
            assert settled_at is not None, f"{what}: the outcome is not settled"
            assert int(settled_at) == int(booked_us), (
                f"{what}: booked at {at}, settled {settled_at}"
            )
            assert int(outcome_id) not in charged, f"outcome {outcome_id} charged twice"
            charged[int(outcome_id)] = amount
            sums[str(invoice)][0] += amount
            counts[(str(invoice), str(contract), int(version), price_key(amount))] += 1
        else:
            report.credits += 1
            credited[int(outcome_id)] += amount
            sums[str(invoice)][1] += amount

    # Running totals and aggregate lines equal the sums of the ledger rows.
    stored_lines = {
        (str(inv), str(contract), int(version), price_key(Decimal(str(price)))): int(quantity)
        for inv, contract, version, price, quantity in lines
    }
    assert len(stored_lines) == len(lines), "two invoice lines with one key"
    assert stored_lines == dict(counts), (
        f"invoice lines differ from the ledger: stored-only"
        f" {sorted(set(stored_lines.items()) - set(counts.items()))[:5]}, ledger-only"
        f" {sorted(set(counts.items()) - set(stored_lines.items()))[:5]}"
    )
    for ident, row in invoices.items():
        assert ident in sums, f"invoice {ident} has no ledger row"
        subtotal, credits = _money(row[8]), _money(row[9])
        assert (subtotal, credits) == tuple(sums[ident]), (
            f"invoice {ident}: subtotal/credits {subtotal}/{credits}, ledger {sums[ident]}"
        )

    # Numbers: finalized <=> numbered; 1..n without gap or repeat, in SPEC 6's order.
    numbered: list[tuple[int, tuple[int, bytes, str], str]] = []
    for ident, row in invoices.items():
        status, number, sequence, finalized_at, digest = row[5], row[6], row[7], row[10], row[11]
        assert status in ("draft", "finalized"), f"invoice {ident}: status {status!r}"
        if status == "draft":
            assert (number, sequence, finalized_at, digest) == (None, None, None, None), (
                f"draft {ident} has {number} {sequence} {finalized_at} {digest}"
            )
            continue
        assert None not in (number, sequence, finalized_at, digest), f"invoice {ident}: {row}"
        prefix, _, digits = str(number).rpartition("-")
        assert (prefix in prefixes, digits) == (True, f"{int(sequence):06d}"), (
            f"invoice {ident}: number {number} for sequence {sequence}, prefixes {prefixes}"
        )
        end = from_us(int(row[4]))
        assert from_us(int(finalized_at)) >= end, f"invoice {ident} finalized before its end"
        if constant_grace:
            assert from_us(int(finalized_at)) == end + grace, f"invoice {ident}: finalized_at"
        numbered.append((int(sequence), (int(row[4]), str(row[1]).encode(), str(row[2])), ident))
    numbered.sort()
    report.finalized = len(numbered)
    report.period_ends = len({key[0] for _, key, _ in numbered})
    sequences = [sequence for sequence, _, _ in numbered]
    assert sequences == list(range(1, len(numbered) + 1)), (
        f"invoice sequence is not 1..{len(numbered)}: gaps or repeats near"
        f" {[s for i, s in enumerate(sequences) if s != i + 1][:5]}"
    )
    assert counter is not None
    assert int(counter[0]) == len(numbered), (
        f"counters.invoice_number {counter[0]} but {len(numbered)} finalized invoices"
    )
    for (_, before, first), (_, after, second) in pairwise(numbered):
        assert before < after, f"numbered out of order: {first} {before} then {second} {after}"

    # The activity log: one invoice.finalized per finalized invoice, hash as frozen and as now.
    recorded: dict[str, list[tuple[int, Any]]] = defaultdict(list)
    for _, at_us, subject, after_text in finalizations:
        recorded[str(subject)].append((int(at_us), loads(after_text)))
    for ident, row in invoices.items():
        entries = recorded.pop(ident, [])
        if row[5] == "draft":
            assert not entries, f"draft {ident} has an invoice.finalized entry"
            continue
        assert len(entries) == 1, f"invoice {ident} finalized {len(entries)} times"
        [(at_us, after)] = entries
        assert at_us == int(row[10]), f"invoice {ident}: activity at {at_us}, finalized {row[10]}"
        assert after["number"] == row[6], f"invoice {ident}: activity names {after['number']}"
        assert (after["customer"], after["currency"]) == (row[1], row[2]), f"invoice {ident}"
        assert after["hash"] == row[11], f"invoice {ident}: activity hash differs from stored"
        assert recomputed[ident] == row[11], f"invoice {ident} changed after it was finalized"
    assert not recorded, f"invoice.finalized entries for unknown invoices {list(recorded)[:5]}"

    # Open periods: none due; everything before finalized, everything from it on a draft.
    for ident, open_period in customers.items():
        assert open_period in tiling[ident], f"customer {ident}: open {open_period} is no period"
        assert final_time is None or open_period.end + grace > final_time, (
            f"customer {ident}: period {open_period} due at {open_period.end + grace},"
            f" still open at {final_time}"
        )
    for ident, row in invoices.items():
        open_period = customers[str(row[1])]
        if int(row[4]) <= to_us(open_period.start):
            assert row[5] == "finalized", f"invoice {ident} of a closed period is a draft"
        else:
            assert int(row[3]) >= to_us(open_period.start), f"invoice {ident} overlaps open"
            assert row[5] == "draft", f"invoice {ident} of an open period is finalized"

    # Disputes.
    open_by_outcome: Counter[int] = Counter()
    for ident, outcome_id, state, resolution, amount, ledger_id in disputes:
        key = str(state) if state == "open" else str(resolution)
        report.disputes[key] += 1
        if state == "open":
            open_by_outcome[int(outcome_id)] += 1
        if resolution == "credit":
            assert ledger_id is not None, f"dispute {ident}: credit without a ledger row"
            kind, owner, booked_amount = ledger_by_id[int(ledger_id)]
            assert (kind, owner) == ("credit", int(outcome_id)), f"dispute {ident}: ledger"
            assert booked_amount == _money(amount), f"dispute {ident}: credit amount"
        else:
            assert ledger_id is None, f"dispute {ident} ({state} {resolution}) has a credit"
    assert max(open_by_outcome.values(), default=0) <= 1, "two open disputes on one outcome"
    for number, (contested, charge, credit) in outcomes.items():
        what = f"outcome {number}"
        assert contested == (number in open_by_outcome), f"{what}: contested {contested}"
        total = credited.get(number, Decimal(0))
        if number in charged:
            assert _money(charge) == charged[number], f"{what}: charged"
            assert total <= charged[number], f"{what} credited {total} > its charge"
        assert (money_value(credit) or Decimal(0)) == total, f"{what}: credited"
    if verifiers:
        product_verifiers(db)
    return report
