"""The session cookie's ``Secure`` flag: set when the request came over https (the default),
always or never as ``EARNEST_SECURE_COOKIES`` says; a bad value stops ``earnest serve``."""

from __future__ import annotations

from pathlib import Path

import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from click.testing import CliRunner
from litestar.testing import TestClient

from earnest.api import create_app
from earnest.app import Earnest
from earnest.cli import main
from earnest.cli.processes import dashboard_router
from earnest.service.activity import CLI
from earnest.store import connect
from earnest.web import WebConfig, dashboard
from tests.web.conftest import ADMIN, PASSWORD, csrf_of


@pytest.mark.parametrize(
    ("setting", "base_url", "secure"),
    [
        (None, "http://testserver.local", False),
        (None, "https://testserver.local", True),
        (True, "http://testserver.local", True),
        (False, "https://testserver.local", False),
    ],
)
def test_secure_follows_the_setting_or_the_scheme(
    tmp_path: Path, setting: bool | None, base_url: str, secure: bool
) -> None:
    app = Earnest(connect(str(tmp_path / "earnest.db")))
    app.db.migrate()
    app.users.hasher = PasswordHasher.from_parameters(CHEAPEST)
    app.users.create(ADMIN, "admin", PASSWORD, actor=CLI)
    mounted = create_app(app, mount=[dashboard(WebConfig(secure_cookies=setting))])
    with TestClient(app=mounted, base_url=base_url) as client:  # its shutdown closes the app
        form = client.get("/sign-in")
        assert ("; Secure" in form.headers["set-cookie"]) is secure
        if secure and base_url.startswith("http:"):
            return  # a Secure cookie never comes back over http: set true behind https only
        body = {"email": ADMIN, "password": PASSWORD, "csrf_token": csrf_of(form)}
        signed_in = client.post("/sign-in", data=body, follow_redirects=False)
        assert signed_in.status_code == 303, signed_in.text
        [cookie] = [
            v for v in signed_in.headers.get_list("set-cookie") if v.startswith("earnest_session=")
        ]
    assert ("; Secure" in cookie) is secure
    assert "HttpOnly" in cookie


@pytest.mark.parametrize(
    ("value", "secure"), [("", None), ("auto", None), ("TRUE", True), ("1", True), ("false", False)]
)
def test_the_environment_chooses(
    monkeypatch: pytest.MonkeyPatch, value: str, secure: bool | None
) -> None:
    monkeypatch.setenv("EARNEST_SECURE_COOKIES", value)
    assert dashboard_router().opt["web"] == WebConfig(secure_cookies=secure)


def test_a_bad_value_stops_serve_before_it_listens(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["serve", "--port", "1", "--database", str(tmp_path / "e.db")],
        env={"EARNEST_SECURE_COOKIES": "sometimes"},
    )
    assert result.exit_code == 1
    assert "EARNEST_SECURE_COOKIES is auto, true or false, not 'sometimes'" in result.stderr
