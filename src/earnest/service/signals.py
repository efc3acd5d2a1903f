"""Signals in (SPEC section 5): one through the writer's group commit, or a batch in one
transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from earnest.clock import Clock
from earnest.service.ingest import MAX_BATCH, Result, ingest
from earnest.service.writer import Answer, Writer
from earnest.store import Database

__all__ = ["MAX_BATCH", "Answer", "Result", "Signals"]


class Signals:
    def __init__(self, db: Database, clock: Clock, writer: Writer) -> None:
        self.db = db
        self.clock = clock
        self.writer = writer

    def send(self, body: object, received_at: datetime | None = None) -> Answer:
        """One signal, committed with those queued beside it; blocks until durable."""
        return self.writer.submit(body, received_at or self.clock())

    async def send_async(self, body: object, received_at: datetime) -> Answer:
        """One signal, received at ``received_at`` (the request's arrival), awaited."""
        return await self.writer.submit_async(body, received_at)

    def batch(self, items: Sequence[object], received_at: datetime | None = None) -> list[Result]:
        """A batch, every item validated on its own, the valid ones applied in order and
        committed together, all received at one time (at most ``MAX_BATCH``)."""
        return ingest(self.db, items, received_at or self.clock())
