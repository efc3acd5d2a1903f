"""One real server (uvicorn on a free port, a SQLite file) for every SDK test of a module."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from earnest.api.server import serve_http
from earnest.app import Earnest
from earnest.client import Client
from earnest.store import Database, connect
from tests.api.conftest import make_keys
from tests.contracts import LANDING

__all__ = ["LANDING"]


@dataclass
class Server:
    url: str
    port: int
    keys: dict[str, str]
    db: Database

    def client(self, scope: str = "admin", url: str | None = None) -> Client:
        return Client(url or self.url, self.keys[scope], backoff_s=0.01)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    path: Path = tmp_path_factory.mktemp("client") / "earnest.db"
    db = connect(str(path))
    db.migrate()
    keys = make_keys(db)
    port = free_port()
    stop = threading.Event()
    thread = threading.Thread(target=serve_http, args=(Earnest(db), "127.0.0.1", port, stop))
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while True:
        try:
            if httpx.get(f"{url}/healthz").status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield Server(url, port, keys, db)
    finally:
        stop.set()
        thread.join(timeout=15)
        db.close()
    assert not thread.is_alive()


@pytest.fixture
def client(server: Server) -> Iterator[Client]:
    with server.client() as sdk:
        yield sdk


@pytest.fixture
def landing(client: Client) -> str:
    """A fresh contract key holding the landing contract."""
    key = f"landing_{uuid.uuid4().hex[:8]}"
    client.put_contract(key, LANDING)
    return key
