"""Proving the record: the hash chains intact (``audit verify``) and every outcome, its
ledger entries and history rebuilt by the engine equal to what is stored (``replay
--verify``). Both only read."""

from __future__ import annotations

from earnest.service import audit
from earnest.service.replay import ReplayReport, replay_verify
from earnest.store import Database


class Auditing:
    def __init__(self, db: Database) -> None:
        self.db = db

    def verify(self) -> audit.AuditSummary:
        """Both chains' reports: the history (with the ledger checked against it) and the
        activity log."""
        return audit.verify_all(self.db)

    def replay(self) -> ReplayReport:
        return replay_verify(self.db)
