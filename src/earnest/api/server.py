"""Serving the API with uvicorn (uvloop, httptools) until a stop event is set.

Fits :data:`earnest.service.process.HttpServer` through ``functools.partial``:
``run_process(scheduler, http=partial(serve_http, earnest, host, port))``. The port is bound
before anything is printed or started (:func:`bind`), so a port in use is one clear error.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import uvicorn
from litestar import Router

from earnest.api.app import create_app
from earnest.app import Earnest
from earnest.errors import Unavailable


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
        log_config=None,  # its records go to the root logger, in the process's one format
        timeout_graceful_shutdown=30,
    )


class PortInUse(Unavailable):
    code = "port_in_use"

    def __init__(self, host: str, port: int, reason: str) -> None:
        super().__init__(f"cannot listen on {host}:{port}: {reason}", field="port")


def bind(host: str, port: int) -> socket.socket:
    """A socket listening on ``host:port``; :class:`PortInUse` names the address if not."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
    except OSError as error:
        raise PortInUse(host, port, error.strerror or str(error)) from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as error:
        sock.close()
        raise PortInUse(host, port, error.strerror or str(error)) from None
    sock.set_inheritable(True)
    return sock


def serve_http(
    earnest: Earnest,
    host: str,
    port: int,
    stop: threading.Event,
    *,
    sock: socket.socket | None = None,
    mount: Sequence[Router] = (),
) -> None:
    """Serve until ``stop`` is set; requests in flight finish before it returns. ``sock``,
    when given, is already bound (by :func:`bind`) to ``host:port``; ``mount`` are routers
    served beside the API (:func:`~earnest.api.app.create_app`)."""
    server = _Server(uvicorn_config(create_app(earnest, mount=mount), host, port), stop)
    server.run(sockets=None if sock is None else [sock])
