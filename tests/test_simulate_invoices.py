"""`earnest simulate --invoices`: the invoices a run of signals makes in virtual time, and the
same invoices as the store makes them from the same signals."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from earnest.bootstrap import build
from earnest.cli import main
from earnest.contract import load_contract
from earnest.service.deadlines import OutcomeDeadlines
from earnest.service.due import drain
from earnest.service.ingest import ingest
from earnest.service.invoices import InvoiceClosing
from earnest.signals import validate_signal
from earnest.simulate import Simulation
from earnest.timefmt import parse_time

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

TASK = """\
key: task_done
name: Task done
conditions: done AND NOT broken
price: $2.50
active_for: 48h
review_window: 24h
after_settlement: credit
"""

# Two customers over three months; "Zeta" sorts before "acme" as UTF-8 bytes.
SIGNALS = [
    ("a1", "acme", "done", "2026-11-10T10:00:00Z"),  # settles 11-11: November
    ("z1", "Zeta", "done", "2026-11-15T08:00:00Z"),  # settles 11-16: November
    ("a2", "acme", "done", "2026-11-29T23:00:00Z"),  # settles 11-30 23:00: November
    ("a3", "acme", "done", "2026-11-30T12:00:00Z"),  # settles 12-01 12:00: December
    ("a1", "acme", "broken", "2026-12-05T09:00:00Z"),  # late: a full credit in December
    ("z1", "Zeta", "broken", "2026-12-20T09:00:00Z"),  # late: Zeta's December is all credit
    ("b1", "acme", "done", "2027-01-03T10:00:00Z"),  # settles 01-04 10:00: the end of the run
]


def signal_lines() -> list[dict[str, Any]]:
    return [
        {"contract": "task_done", "outcome": ref, "customer": customer, "signal": signal, "at": at}
        for ref, customer, signal, at in SIGNALS
    ]


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    contract = tmp_path / "task_done.yaml"
    contract.write_text(TASK, encoding="utf-8")
    signals = tmp_path / "signals.jsonl"
    signals.write_text("".join(json.dumps(line) + "\n" for line in signal_lines()))
    return contract, signals


def summary(documents: list[dict[str, Any]]) -> list[tuple[str | None, str, str, str, str]]:
    return [
        (d["number"], d["status"], d["customer"], d["period"]["start"][:10], d["total"])
        for d in documents
    ]


def test_invoices_are_numbered_in_spec_order_and_drafts_stay_open(
    files: tuple[Path, Path],
) -> None:
    result = CliRunner().invoke(main, ["simulate", *map(str, files), "--invoices", "--json"])
    assert (result.exit_code, result.stderr) == (0, "")
    report = json.loads(result.stdout)
    assert report["as_of"] == "2027-01-04T10:00:00Z"  # the last settlement
    assert summary(report["invoices"]) == [
        ("EARN-000001", "finalized", "Zeta", "2026-11-01", "2.50"),
        ("EARN-000002", "finalized", "acme", "2026-11-01", "5.00"),
        ("EARN-000003", "finalized", "Zeta", "2026-12-01", "-2.50"),  # a credit note
        ("EARN-000004", "finalized", "acme", "2026-12-01", "0.00"),
        (None, "draft", "acme", "2027-01-01", "2.50"),
    ]
    november = report["invoices"][1]
    assert november["finalized_at"] == "2026-12-01T00:05:00Z"  # period end + grace
    assert november["lines"] == [
        {"kind": "charge", "description": "Task done (v1)", "contract": "task_done",
         "contract_version": 1, "quantity": 2, "unit_price": "2.50", "amount": "5.00"},
    ]  # fmt: skip
    december = report["invoices"][3]
    assert [line["kind"] for line in december["lines"]] == ["charge", "credit"]
    credit = december["lines"][1]
    assert (credit["outcome"], credit["amount"]) == ("a1", "-2.50")
    assert (december["subtotal"], december["credits"], december["total"]) == (
        "2.50",
        "2.50",
        "0.00",
    )
    assert report["invoices"][4]["finalized_at"] is None
    # Without --invoices the report is as before.
    plain = CliRunner().invoke(main, ["simulate", *map(str, files), "--json"])
    assert set(json.loads(plain.stdout)) == {"outcomes", "revenue"}


def test_the_table_shows_each_invoice(files: tuple[Path, Path]) -> None:
    result = CliRunner().invoke(main, ["simulate", *map(str, files), "--invoices"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "5 invoices as of 2027-01-04T10:00:00Z" in out
    assert "EARN-000001: Zeta, 2026-11-01 → 2026-12-01, USD" in out
    assert "draft: acme, 2027-01-01 → 2027-02-01, USD" in out
    assert "credit a1" in out
    assert "-2.50 USD" in out


def test_the_examples_make_drafts() -> None:
    """The bundled examples all fall in November and end in it: every invoice is a draft."""
    for name in ("ticket_resolved", "code_shipped", "incident_resolved"):
        contract, signals = EXAMPLES / f"{name}.yaml", EXAMPLES / f"{name}.jsonl"
        result = CliRunner().invoke(
            main, ["simulate", str(contract), str(signals), "--invoices", "--json"]
        )
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout)
        assert report["invoices"], name
        assert {d["status"] for d in report["invoices"]} == {"draft"}
        # The invoices add up to the revenue.
        [(currency, revenue)] = report["revenue"].items()
        assert {d["currency"] for d in report["invoices"]} == {currency}
        total = sum(float(d["subtotal"]) - float(d["credits"]) for d in report["invoices"])
        assert round(total, 6) == float(revenue)


def test_simulated_invoices_are_the_stores(tmp_path: Path) -> None:
    """The same signals through ingest, the scheduler's deadlines and its period closings
    make the same invoices, numbers and all, as the simulation in virtual time."""
    contract = load_contract(TASK)
    simulation = Simulation(contract)
    for raw in signal_lines():
        simulation.feed(validate_signal(raw, require_at=True))
    simulation.finish()
    simulated = [invoice.document() for invoice in simulation.invoices()]
    assert simulation.clock is not None

    start = parse_time(SIGNALS[0][3])
    app = build(str(tmp_path / "store.db"), clock=lambda: start)
    try:
        app.contracts.save(contract, actor="test")

        def catch_up(now: datetime) -> None:
            drain(OutcomeDeadlines(app.db), now)
            drain(InvoiceClosing(app.db), now)

        for raw in signal_lines():
            at = parse_time(raw["at"])
            catch_up(at)
            [result] = ingest(app.db, [raw], at)
            assert result.status == "accepted", result
        catch_up(simulation.clock)
        rows = app.invoices.list(limit=100).items
        stored = [app.invoices.get(row.id).document() for row in rows]
    finally:
        app.close()
    for document in stored:
        del document["id"]
    order = {d["number"] or "~": i for i, d in enumerate(simulated)}
    stored.sort(key=lambda d: (d["number"] or "~", d["customer"]))
    assert sorted(order) == sorted(d["number"] or "~" for d in stored)
    assert stored == simulated
