"""The API's store threads: the database drivers are synchronous and their connections
belong to one thread each, so the API owns a fixed set of threads and closes each thread's
connection when the app shuts down (a borrowed thread pool would leak them).

A job runs to its end even when the request that awaited it is gone: a write is never cut
in half by a client hanging up.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from earnest.store.db import Database

T = TypeVar("T")
SIZE = 8

_Job = tuple[Callable[[], Any], asyncio.AbstractEventLoop, "asyncio.Future[Any]"]


class Workers:
    def __init__(self, db: Database, size: int = SIZE) -> None:
        self.db = db
        self.size = size
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    async def run(self, job: Callable[[], T]) -> T:
        self._start()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._jobs.put((job, loop, future))
        return await future

    def close(self) -> None:
        """Finish queued jobs, close every thread's connection, join the threads."""
        with self._lock:
            threads, self._threads = self._threads, []
        for _ in threads:
            self._jobs.put(None)
        for thread in threads:
            thread.join()

    def _start(self) -> None:
        if self._threads:
            return
        with self._lock:
            while len(self._threads) < self.size:
                thread = threading.Thread(target=self._work, name="earnest-api-store", daemon=True)
                thread.start()
                self._threads.append(thread)

    def _work(self) -> None:
        try:
            while (item := self._jobs.get()) is not None:
                job, loop, future = item
                try:
                    result = job()
                except BaseException as error:  # handed to the awaiting request
                    _deliver(loop, future, None, error)
                else:
                    _deliver(loop, future, result, None)
        finally:
            self.db.close()


def _deliver(
    loop: asyncio.AbstractEventLoop,
    future: asyncio.Future[Any],
    result: Any,
    error: BaseException | None,
) -> None:
    def settle() -> None:
        if future.cancelled():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
        loop.call_soon_threadsafe(settle)
