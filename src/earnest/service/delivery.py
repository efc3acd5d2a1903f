"""Webhook delivery (SPEC 10): at least once, after the commit that wrote the event.

:class:`WebhookDelivery` is a source of due work for the scheduler. Each ``fire_due`` claims,
in one write transaction, the due deliveries this process has room for (``claimed_until``
marks them; a crashed sender's claim expires after :data:`CLAIM_S`), and hands them to a
:class:`Sender`: one event loop thread posting with ``httpx``, so a slow or dead endpoint
holds a coroutine, not a thread. The request happens outside any transaction; only its
recorded attempt goes back through ``writes`` (the process's writer). That transaction also
claims what the attempt's end makes claimable (the outcome's next event, the slot it frees),
sent at once: an endpoint gets requests as fast as it answers them, up to the bounds, not as
fast as the scheduler looks.

Bounds: at most :data:`PER_ENDPOINT` requests in flight per endpoint and :data:`CAPACITY` in
all, so a slow endpoint never delays another, nor ingest (which never waits on delivery).
Per endpoint, an outcome's event is claimed only once its previous one is delivered or
failed for good (the store's claim query). A 2xx within :data:`TIMEOUT_S` is success;
anything else is retried after :data:`SCHEDULE_S` with ±10% jitter, then ``failed``; a 410
disables the endpoint, its deliveries staying pending until it is enabled again.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import httpx

from earnest.clock import Clock, utc_now
from earnest.service.activity import SYSTEM, append_activity
from earnest.service.secrets import SecretKeyMissing, unseal
from earnest.service.signing import headers
from earnest.store import Database, Tx
from earnest.store.webhooks import (
    Claimed,
    claim,
    endpoints_by_id,
    next_due,
    record_attempt,
    update_endpoint,
)

log = logging.getLogger("earnest.webhooks")

SCHEDULE_S = (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
JITTER = 0.1
TIMEOUT_S = 15.0
CLAIM_S = 60.0  # a claim outlives any attempt (15 s) and its recording
PER_ENDPOINT = 4
CAPACITY = 64
EXCERPT = 500  # characters of an answer's body kept with the attempt
IDLE_S = 0.2

Writes = Callable[[Callable[[], Any]], Any]


def retry_delay(attempts: int, rng: random.Random | None = None) -> timedelta | None:
    """The wait after the ``attempts``-th failed attempt (1-based); None: failed for good."""
    if attempts > len(SCHEDULE_S):
        return None
    base = SCHEDULE_S[attempts - 1]
    spread = (rng or random).uniform(-JITTER, JITTER)
    return timedelta(seconds=base * (1 + spread))


class Sender:
    """One event loop thread that posts claimed deliveries and records their attempts."""

    def __init__(
        self,
        db: Database,
        *,
        clock: Clock = utc_now,
        writes: Writes | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = TIMEOUT_S,
    ) -> None:
        self.db = db
        self.clock = clock
        self.writes: Writes = writes or (lambda job: job())
        self.transport = transport
        self.timeout_s = timeout_s
        self.busy: dict[str, int] = {}
        self.in_flight = 0
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: httpx.AsyncClient | None = None
        self._thread: threading.Thread | None = None
        # The sender's reads and recordings run on one thread of their own, off the loop,
        # holding its own connection (closed with the sender).
        self._store = ThreadPoolExecutor(1, thread_name_prefix="earnest-webhooks-store")
        self._ready = threading.Event()
        self.finished = threading.Condition(self._lock)
        self.on_done: Callable[[], None] = lambda: None
        # What an attempt's end makes claimable, claimed in the transaction recording it
        # (set by WebhookDelivery; given that transaction and the delivery that ends).
        self.refill: Callable[[Tx, list[Claimed]], list[Claimed]] = lambda tx, done: []
        # Attempts ended, waiting to be recorded together (loop thread only).
        self._ended: list[tuple[Claimed, dict[str, Any], asyncio.Future[None]]] = []
        self._recording = False
        self._recorder_task: asyncio.Task[None] | None = None
        self._closing = False  # claim nothing more: let what is in flight end

    def start(self) -> None:
        if self._thread is not None:
            return
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="earnest-webhooks", daemon=True)
        self._thread.start()
        self._ready.wait()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._client = httpx.AsyncClient(
            timeout=self.timeout_s, transport=self.transport, follow_redirects=False
        )
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._client.aclose())
            loop.close()

    def room(self) -> int:
        with self._lock:
            return CAPACITY - self.in_flight

    def busy_now(self) -> dict[str, int]:
        with self._lock:
            return dict(self.busy)

    def submit(self, claimed: Claimed) -> Future[None]:
        self.start()
        assert self._loop is not None
        with self._lock:
            self.in_flight += 1
            self.busy[claimed.endpoint_id] = self.busy.get(claimed.endpoint_id, 0) + 1
        return asyncio.run_coroutine_threadsafe(self._deliver(claimed), self._loop)

    async def _deliver(self, claimed: Claimed) -> None:
        try:
            await self._attempt(claimed)
        except Exception:
            log.exception("webhooks: delivery %d: recording its attempt failed", claimed.id)
        finally:
            with self._lock:
                self.in_flight -= 1
                self.busy[claimed.endpoint_id] -= 1
                self.finished.notify_all()
            self.on_done()

    async def _attempt(self, claimed: Claimed) -> None:
        assert self._client is not None
        loop = asyncio.get_running_loop()
        endpoint = await loop.run_in_executor(self._store, self._endpoint, claimed.endpoint_id)
        now = self.clock()
        status: int | None = None
        error: str | None = None
        excerpt: str | None = None
        started = time.perf_counter()
        url, secrets = "", []
        if endpoint is None:
            error = "the endpoint was deleted"
        else:
            url = endpoint.url
            try:
                secrets = [unseal(endpoint.secret)]
                previous = endpoint.previous_secret
                if previous and endpoint.previous_until and endpoint.previous_until > now:
                    secrets.append(unseal(previous))
            except SecretKeyMissing as missing:
                error = str(missing)
        if error is None:
            body = claimed.body.encode()
            signed = headers(claimed.event_id, int(now.timestamp()), body, secrets)
            try:
                # The timeout bounds the whole attempt (httpx's bounds each phase: a trickling
                # answer could outlast it), and only an excerpt of the answer is read.
                status, excerpt = await asyncio.wait_for(
                    self._post(url, body, signed), self.timeout_s
                )
            except (TimeoutError, httpx.TimeoutException):
                error = f"no answer within {self.timeout_s:g} s"
            except httpx.HTTPError as failure:
                error = f"{type(failure).__name__}: {failure}"[:EXCERPT]
        duration_ms = int((time.perf_counter() - started) * 1000)
        ended = {"at": now, "status": status, "duration_ms": duration_ms, "error": error,
                 "excerpt": excerpt}  # fmt: skip
        recorded: asyncio.Future[None] = loop.create_future()
        self._ended.append((claimed, ended, recorded))
        if not self._recording:
            self._recording = True
            self._recorder_task = loop.create_task(self._record_ended())
        await recorded

    async def _record_ended(self) -> None:
        """Record every ended attempt, as many per transaction as have ended meanwhile: one
        commit (one fsync) for a burst of answers, not one each (loop thread)."""
        loop = asyncio.get_running_loop()
        try:
            while self._ended:
                batch, self._ended = self._ended, []
                items = [(claimed, ended) for claimed, ended, _ in batch]
                try:
                    await loop.run_in_executor(self._store, self._write_all, items)
                except Exception as failure:
                    for *_, recorded in batch:
                        recorded.set_exception(failure)
                else:
                    for *_, recorded in batch:
                        recorded.set_result(None)
        finally:
            self._recording = False

    def _write_all(self, items: list[tuple[Claimed, dict[str, Any]]]) -> None:
        self.writes(lambda: self._record_all(items))

    def _record_all(self, items: list[tuple[Claimed, dict[str, Any]]]) -> None:
        more: list[Claimed] = []
        with self.db.write() as tx:
            for claimed, ended in items:
                self._record(tx, claimed, **ended)
            # The outcomes' next events, and the slots these attempts free, are claimed now
            # and sent after the commit: not at the scheduler's next look, which would hold
            # an endpoint to PER_ENDPOINT requests per IDLE_S however fast it answers.
            if not self._closing:
                more = self.refill(tx, [claimed for claimed, _ in items])
        for next_one in more:
            self.submit(next_one)

    async def _post(self, url: str, body: bytes, signed: dict[str, str]) -> tuple[int, str]:
        """POST ``body``; the answer's status and the first bytes of its body."""
        assert self._client is not None
        async with self._client.stream("POST", url, content=body, headers=signed) as answer:
            kept = b""
            async for chunk in answer.aiter_bytes():
                kept += chunk
                if len(kept) >= EXCERPT:
                    break
            return answer.status_code, kept[:EXCERPT].decode("utf-8", "replace")

    def _endpoint(self, ident: str) -> Any:
        with self.db.read() as tx:
            return endpoints_by_id(tx, [ident]).get(ident)

    def _record(
        self,
        tx: Tx,
        claimed: Claimed,
        *,
        at: datetime,
        status: int | None,
        duration_ms: int,
        error: str | None,
        excerpt: str | None,
    ) -> None:
        attempts = claimed.attempts + 1
        if status is not None and 200 <= status < 300:
            state, next_at = "delivered", None
        elif status == 410:
            state, next_at = "pending", at + (retry_delay(1) or timedelta(0))
            endpoint = endpoints_by_id(tx, [claimed.endpoint_id]).get(claimed.endpoint_id)
            if endpoint is not None and endpoint.enabled:
                reason = f"410 Gone at {at.isoformat()}"
                update_endpoint(
                    tx, claimed.endpoint_id, {"enabled": False, "disabled_reason": reason}
                )
                append_activity(
                    tx, at=at, actor=SYSTEM, action="webhook.disabled",
                    subject=claimed.endpoint_id, before={"enabled": True},
                    after={"enabled": False, "reason": reason},
                )  # fmt: skip
        else:
            delay = retry_delay(attempts)
            state = "failed" if delay is None else "pending"
            next_at = None if delay is None else at + delay
        record_attempt(
            tx, claimed.id, at=at, status=status, duration_ms=duration_ms, error=error,
            response=excerpt, state=state, next_at=next_at,
        )  # fmt: skip

    def wait_idle(self, timeout_s: float = 30.0) -> bool:
        """Wait until nothing is in flight (tests, and a clean stop)."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while self.in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.finished.wait(left)
        return True

    def close(self, timeout_s: float = TIMEOUT_S + 5) -> None:
        """Let the requests in flight finish (their claims would expire otherwise), then stop."""
        self._closing = True
        if self._thread is None or self._loop is None:
            return
        self.wait_idle(timeout_s)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout_s)
        self._thread = None
        self._store.submit(self.db.close).result()  # the store thread's connection
        self._store.shutdown()


class WebhookDelivery:
    """The scheduler's source of due webhook deliveries."""

    name = "webhooks"
    batch = CAPACITY

    def __init__(self, db: Database, sender: Sender, *, clock: Clock = utc_now) -> None:
        self.db = db
        self.sender = sender
        self.clock = clock
        self._idle_until: datetime | None = None
        sender.on_done = self._woken
        sender.refill = self._refill

    def _woken(self) -> None:
        self._idle_until = None  # room freed, or an outcome's next event unblocked

    def _refill(self, tx: Tx, done: list[Claimed]) -> list[Claimed]:
        """Claim, in the transaction recording ``done``'s attempts, what their end makes
        claimable, counting ``done`` as no longer in flight."""
        busy = self.sender.busy_now()
        for ended in done:
            busy[ended.endpoint_id] -= 1
        now = self.clock()
        return claim(
            tx, now, until=now + timedelta(seconds=CLAIM_S),
            limit=self.sender.room() + len(done), busy=busy, per_endpoint=PER_ENDPOINT,
        )  # fmt: skip

    def next_due(self) -> datetime | None:
        if self.sender.room() <= 0:
            return None  # polled again within the scheduler's poll interval
        with self.db.read() as tx:
            due = next_due(tx)
        if due is None or self._idle_until is None:
            return due
        return max(due, self._idle_until)

    def fire_due(self, now: datetime) -> int:
        room = self.sender.room()
        if room <= 0:
            return 0
        with self.db.write() as tx:
            taken = claim(
                tx, now, until=now + timedelta(seconds=CLAIM_S), limit=room,
                busy=self.sender.busy_now(), per_endpoint=PER_ENDPOINT,
            )  # fmt: skip
        for claimed in taken:
            self.sender.submit(claimed)
        if not taken:
            # Due rows this process cannot claim now (ordered behind one in flight, or their
            # endpoint at its bound): look again after a poll, or as soon as a send ends.
            self._idle_until = now + timedelta(seconds=IDLE_S)
        return len(taken)
