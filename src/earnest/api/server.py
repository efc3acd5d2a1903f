"""Serving the API with uvicorn (uvloop, httptools) until a stop event is set.

Fits :data:`earnest.service.process.HttpServer` through ``functools.partial``:
``run_process(db, http=partial(serve_http, db, host, port))``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from earnest.api.app import create_app
from earnest.store.db import Database


class _Server(uvicorn.Server):
    """A uvicorn server whose shutdown comes from a ``threading.Event``, not signals."""

    def __init__(self, config: uvicorn.Config, stop: threading.Event) -> None:
        super().__init__(config)
        self.stop = stop

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        """The process owner (``run_process``) handles signals and sets ``stop``."""
        yield

    async def on_tick(self, counter: int) -> bool:
        if self.stop.is_set():
            self.should_exit = True
        return await super().on_tick(counter)


def serve_http(db: Database, host: str, port: int, stop: threading.Event) -> None:
    """Serve until ``stop`` is set; requests in flight finish before it returns."""
    config = uvicorn.Config(
        create_app(db),
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=30,
    )
    _Server(config, stop).run()
