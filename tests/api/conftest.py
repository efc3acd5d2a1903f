"""An API over a real store, a fake clock, and one key of each scope.

``api`` runs on a copy of a migrated SQLite file (fast); ``api_any`` on the shared ``db``
fixture, once on SQLite and once on PostgreSQL, for the tests that matter on both.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient

from earnest.access import Scope
from earnest.api import create_app
from earnest.app import Earnest
from earnest.store import Database, connect
from earnest.store.keys import create_key
from tests.contracts import LANDING, T0


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Api:
    client: TestClient[Any]
    db: Database
    clock: Clock
    keys: dict[str, str] = field(default_factory=dict)

    def headers(self, scope: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[scope]}"}

    def get(self, path: str, scope: str = "admin", **kw: Any) -> httpx.Response:
        return self.client.get(path, headers=self.headers(scope), **kw)

    def post(self, path: str, body: Any = None, scope: str = "admin", **kw: Any) -> httpx.Response:
        return self.client.post(path, json=body, headers=self.headers(scope), **kw)

    def put(self, path: str, body: Any = None, scope: str = "admin", **kw: Any) -> httpx.Response:
        return self.client.put(path, json=body, headers=self.headers(scope), **kw)

    def delete(self, path: str, scope: str = "admin") -> httpx.Response:
        return self.client.delete(path, headers=self.headers(scope))

    def landing(self, key: str = "landing") -> None:
        response = self.client.put(
            f"/v1/contracts/{key}",
            content=LANDING,
            headers={**self.headers(), "Content-Type": "application/yaml"},
        )
        assert response.status_code in (200, 201), response.text


def make_keys(db: Database) -> dict[str, str]:
    keys = {}
    with db.write() as tx:
        for scope in Scope:
            keys[scope.value] = create_key(tx, scope, T0 - timedelta(days=1), scope.value)[1]
    return keys


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "earnest.db"
    database = connect(str(path))
    database.migrate()
    database.close()
    return path


@pytest.fixture
def sqlite_db(migrated_template: Path, tmp_path: Path) -> Iterator[Database]:
    path = tmp_path / "earnest.db"
    shutil.copy(migrated_template, path)
    database = connect(str(path))
    try:
        yield database
    finally:
        database.close()


def _api(db: Database) -> Iterator[Api]:
    clock = Clock()
    keys = make_keys(db)
    with TestClient(app=create_app(Earnest(db, clock=clock))) as client:
        yield Api(client, db, clock, keys)


@pytest.fixture
def api(sqlite_db: Database) -> Iterator[Api]:
    yield from _api(sqlite_db)


@pytest.fixture
def api_any(db: Database) -> Iterator[Api]:
    yield from _api(db)
