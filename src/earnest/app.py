"""The application: one object that owns the database, the clock, the writer and the
services, built once per process (:func:`earnest.bootstrap.build`).

Every use case is one method of a service, opening its own transaction and taking the
``actor`` it acts for. The entry points (``earnest.api``, ``earnest.cli``, the demo, later the
dashboard) only translate: they parse input, call one use case, and render its answer.
They never open a transaction nor import the store. ::

    earnest = build("sqlite:///earnest.db")
    stored, created = earnest.contracts.save(contract, actor=CLI)
    answer = earnest.writer.submit(signal, earnest.clock())   # group commit
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from earnest.clock import Clock, utc_now
from earnest.service.activity import Activity
from earnest.service.auditing import Auditing
from earnest.service.contracts import Contracts
from earnest.service.customers import Customers
from earnest.service.deadlines import OutcomeDeadlines
from earnest.service.delivery import Sender, WebhookDelivery
from earnest.service.disputes import Disputes
from earnest.service.invoices import InvoiceClosing, Invoices
from earnest.service.keys import Keys
from earnest.service.lanes import Readers
from earnest.service.ledger import Ledger
from earnest.service.outcomes import Outcomes
from earnest.service.overview import Overview
from earnest.service.portal import Portal
from earnest.service.scheduler import POLL_S, DueWork, Scheduler
from earnest.service.settings import Settings
from earnest.service.signals import Signals
from earnest.service.users import Users
from earnest.service.webhooks import Webhooks
from earnest.service.writer import Writer
from earnest.store import Database, redact

T = TypeVar("T")


class Earnest:
    """The database, the clock, the writer, the readers and every service over them."""

    def __init__(self, db: Database, *, clock: Clock = utc_now) -> None:
        self.db = db
        self.clock = clock
        self.writer = Writer(db)
        self.readers = Readers(db)
        self.contracts = Contracts(db, clock)
        self.signals = Signals(db, clock, self.writer)
        self.outcomes = Outcomes(db, clock)
        self.customers = Customers(db, clock)
        self.keys = Keys(db, clock)
        self.activity = Activity(db)
        self.audit = Auditing(db)
        self.settings = Settings(db, clock)
        self.invoices = Invoices(db, clock)
        self.disputes = Disputes(db, clock)
        self.webhooks = Webhooks(db, clock)
        self._sender: Sender | None = None
        self.ledger = Ledger(db)
        self.users = Users(db, clock)
        self.portal = Portal(db, clock)
        self.overview = Overview(db, clock)

    @property
    def database_name(self) -> str:
        """The database's URL without its password, for messages and logs."""
        return redact(self.db.url)

    @property
    def reads_never_wait(self) -> bool:
        """A one-row read never waits on a writer (SQLite in WAL mode)."""
        return self.db.READS_NEVER_WAIT

    def due_work(self) -> list[DueWork]:
        """The scheduler's sources, in the order it polls them: deadlines before the period
        closings they may add charges to, then webhook deliveries (posted by one sender per
        process, whose attempts are recorded through the writer)."""
        if self._sender is None:
            self._sender = Sender(self.db, clock=self.clock, writes=self.writer.run)
        delivery = WebhookDelivery(self.db, self._sender, clock=self.clock)
        return [OutcomeDeadlines(self.db), InvoiceClosing(self.db), delivery]

    def scheduler(self, *, poll_s: float | None = None) -> Scheduler:
        """A scheduler over :meth:`due_work`, writing through this process's writer."""
        return Scheduler(
            self.db,
            self.due_work(),
            clock=self.clock,
            poll_s=POLL_S if poll_s is None else poll_s,
            writes=self.writer.run,
        )

    # Entry points call a use case where its I/O belongs --------------------------------

    async def read(self, use_case: Callable[[], T]) -> T:
        """Run a reading use case on a store thread (the drivers are synchronous)."""
        return await self.readers.run(use_case)

    async def write(self, use_case: Callable[[], T]) -> T:
        """Run a writing use case on the writer thread, in queue order with signals."""
        return await self.writer.run_async(use_case)

    def close(self) -> None:
        """Let webhook requests in flight finish and record, commit what is queued, then close
        every thread's connection."""
        if self._sender is not None:
            self._sender.close()
        self.writer.close()
        self.readers.close()
        self.db.close()
