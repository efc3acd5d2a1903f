"""Store threads: the database drivers are synchronous and a connection belongs to one
thread, so work reaches the database through lanes of threads that each own a connection,
close it when the lane closes, and hand each result back to whoever waits for it (an asyncio
task on its event loop, or a blocked thread).

Two lanes exist per application (:mod:`earnest.app`): :class:`Readers`, a few threads for
reads, and the :class:`~earnest.service.writer.Writer`, one thread through which every write
of the process goes (group commit, decision 0010). A job runs to its end even when whoever
awaited it is gone: a write is never cut in half by a client hanging up.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import queue
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from earnest.store import Database

T = TypeVar("T")
W = TypeVar("W")  # what a lane's queue holds


class Reply:
    """Where one job's result goes: an asyncio future on its loop, or a thread's future."""

    __slots__ = ("future", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop | None) -> None:
        self.loop = loop
        self.future: asyncio.Future[Any] | concurrent.futures.Future[Any] = (
            loop.create_future() if loop is not None else concurrent.futures.Future()
        )

    async def wait_async(self) -> Any:
        assert isinstance(self.future, asyncio.Future)
        # Shielded: a request that goes away does not cancel the job's future.
        return await asyncio.shield(self.future)

    def wait(self) -> Any:
        assert isinstance(self.future, concurrent.futures.Future)
        return self.future.result()


def deliver(outcomes: Sequence[tuple[Reply, Any]]) -> None:
    """Settle every reply with its result (or exception), with one wake-up per event loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Reply, Any]]] = defaultdict(list)
    for reply, outcome in outcomes:
        if reply.loop is None:
            future = reply.future
            assert isinstance(future, concurrent.futures.Future)
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
        else:
            by_loop[reply.loop].append((reply, outcome))
    for loop, settled in by_loop.items():
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
            loop.call_soon_threadsafe(_settle, settled)


def _settle(settled: list[tuple[Reply, Any]]) -> None:
    for reply, outcome in settled:
        future = reply.future
        if future.done():
            continue
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)


class Lane(Generic[W]):
    """``size`` threads draining one queue; each takes up to ``take`` queued items at a time
    and hands them to :meth:`handle`. Threads start on first use and end at :meth:`close`,
    after finishing what was queued; a lane used again after closing starts afresh."""

    def __init__(self, db: Database, name: str, *, size: int = 1, take: int = 1) -> None:
        assert size >= 1
        assert take >= 1
        self.db = db
        self.name = name
        self.size = size
        self.take = take
        self._queue: queue.SimpleQueue[W | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def handle(self, items: list[W]) -> None:
        raise NotImplementedError

    def call(self, item: Callable[[Reply], W]) -> Any:
        """Queue ``item(reply)`` and block until its reply is settled (a thread's caller)."""
        assert not self.on_lane(), "a lane's thread cannot wait on its own lane"
        reply = Reply(None)
        self.put(item(reply))
        return reply.wait()

    async def call_async(self, item: Callable[[Reply], W]) -> Any:
        """Queue ``item(reply)`` and await its reply (a task on an event loop)."""
        reply = Reply(asyncio.get_running_loop())
        self.put(item(reply))
        return await reply.wait_async()

    def put(self, item: W) -> None:
        # Under the lock, so an item is queued either before :meth:`close`'s stop marks (a
        # thread it closes runs it first) or after them, to threads started for it here.
        with self._lock:
            self._start()
            self._queue.put(item)

    def close(self) -> None:
        """Finish what is queued, close every thread's connection, join the threads. What is
        put after this goes to a fresh queue and fresh threads, never to the closing ones."""
        with self._lock:
            threads, self._threads = self._threads, []
            closing, self._queue = self._queue, queue.SimpleQueue()
            for _ in threads:
                closing.put(None)
        for thread in threads:
            thread.join()

    def on_lane(self) -> bool:
        """Whether the caller is one of this lane's threads (which must never wait on it)."""
        return threading.current_thread() in self._threads

    def _start(self) -> None:
        """Start the missing threads; the caller holds the lock."""
        alive = [thread for thread in self._threads if thread.is_alive()]
        while len(alive) < self.size:
            thread = threading.Thread(
                target=self._work, args=(self._queue,), name=self.name, daemon=True
            )
            thread.start()
            alive.append(thread)
        self._threads = alive

    def _work(self, jobs: queue.SimpleQueue[W | None]) -> None:
        try:
            while (first := jobs.get()) is not None:
                items, more = self._take(first, jobs)
                self.handle(items)
                if not more:
                    break
        finally:
            self.db.close()

    def _take(self, first: W, jobs: queue.SimpleQueue[W | None]) -> tuple[list[W], bool]:
        """``first`` and what is queued behind it; False once the stop mark was taken."""
        items = [first]
        while len(items) < self.take:
            try:
                item = jobs.get_nowait()
            except queue.Empty:
                break
            if item is None:
                return items, False
            items.append(item)
        return items, True


@dataclass(frozen=True, slots=True)
class Job:
    """A call to make on a lane's thread, and where its result (or exception) goes."""

    call: Callable[[], Any]
    reply: Reply

    def run(self) -> None:
        try:
            result: Any = self.call()
        except BaseException as error:  # handed to whoever waits
            result = error
        deliver([(self.reply, result)])


class Readers(Lane[Job]):
    """A few threads for reads, each job on its own."""

    def __init__(self, db: Database, size: int = 8) -> None:
        super().__init__(db, "earnest-store", size=size, take=1)

    def handle(self, items: list[Job]) -> None:
        for job in items:
            job.run()

    async def run(self, call: Callable[[], T]) -> T:
        result: T = await self.call_async(functools.partial(Job, call))
        return result
