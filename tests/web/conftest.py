"""The dashboard over a real store (a copy of a migrated SQLite file), a fake clock and a
cheap password hash, mounted beside the API as ``earnest serve`` mounts it, with an admin and
a viewer. One client; its cookie jar says who is signed in."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from litestar.testing import TestClient

from earnest.api import create_app
from earnest.app import Earnest
from earnest.service.activity import CLI
from earnest.service.users import SignedIn
from earnest.store import connect
from earnest.web import dashboard
from earnest.web.common import SESSION_COOKIE
from tests.api.conftest import Clock

PASSWORD = "correct horse battery"
ADMIN = "admin@example.com"
VIEWER = "viewer@example.com"
CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


@dataclass
class Web:
    client: TestClient[Any]
    app: Earnest
    clock: Clock

    def as_session(self, token: str | None) -> None:
        """Send ``token`` as the session cookie from now on (None: no cookie at all)."""
        self.client.cookies.clear()
        if token is not None:
            self.client.cookies.set(SESSION_COOKIE, token)

    def session(self, email: str) -> SignedIn:
        """A fresh session of ``email``'s user, used from now on."""
        signed = self.app.users.sign_in(email, PASSWORD, "192.0.2.10")
        self.as_session(signed.token)
        return signed

    def sign_in(self, email: str, password: str = PASSWORD, **form: str) -> httpx.Response:
        """Through the sign-in form, as a browser would."""
        self.client.cookies.clear()
        page = self.client.get("/sign-in")
        token = csrf_of(page)
        body = {"email": email, "password": password, "csrf_token": token, **form}
        return self.client.post("/sign-in", data=body, follow_redirects=False)

    def get(self, path: str) -> httpx.Response:
        return self.client.get(path, follow_redirects=False)

    def post(self, path: str, data: dict[str, str]) -> httpx.Response:
        return self.client.post(path, data=data, follow_redirects=False)


def csrf_of(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found is not None, page.text
    return found.group(1)


def plans(web: Web, read: Callable[[], object]) -> dict[str, str]:
    """Each statement ``read`` runs on this thread's SQLite connection, with its plan."""
    statements: list[str] = []
    with web.app.db.read() as tx:
        raw = tx.raw  # this thread's connection, which the use case's read takes too
    raw.set_trace_callback(statements.append)
    try:
        read()
    finally:
        raw.set_trace_callback(None)
    selects = [sql for sql in statements if sql.startswith("SELECT")]
    with web.app.db.read() as tx:
        return {
            sql: " | ".join(str(row[3]) for row in tx.query(f"EXPLAIN QUERY PLAN {sql}"))
            for sql in selects
        }


@pytest.fixture(scope="session")
def migrated_web_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("web-template") / "earnest.db"
    database = connect(str(path))
    database.migrate()
    database.close()
    return path


@pytest.fixture
def web(migrated_web_template: Path, tmp_path: Path) -> Iterator[Web]:
    path = tmp_path / "earnest.db"
    shutil.copy(migrated_web_template, path)
    clock = Clock()
    app = Earnest(connect(str(path)), clock=clock)
    app.users.hasher = PasswordHasher.from_parameters(CHEAPEST)
    app.users.create(ADMIN, "admin", PASSWORD, actor=CLI)
    app.users.create(VIEWER, "viewer", PASSWORD, actor=CLI)
    with TestClient(app=create_app(app, mount=[dashboard()])) as client:
        yield Web(client, app, clock)
