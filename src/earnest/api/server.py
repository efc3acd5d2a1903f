"""Serving the API with uvicorn (uvloop, httptools) until a stop event is set.

Fits :data:`earnest.service.process.HttpServer` through ``functools.partial``:
``run_process(db, http=partial(serve_http, db, host, port))``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

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


def uvicorn_config(app: Any, host: str, port: int) -> uvicorn.Config:
    """How Earnest serves an ASGI app (``benchmarks/trivial_app.py`` serves its ceiling so)."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=30,
    )


def serve_http(db: Database, host: str, port: int, stop: threading.Event) -> None:
    """Serve until ``stop`` is set; requests in flight finish before it returns."""
    _Server(uvicorn_config(create_app(db), host, port), stop).run()
