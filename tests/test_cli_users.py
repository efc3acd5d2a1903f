"""`earnest users create / list / disable / enable / reset-password` (SPEC 9): the password
from stdin (not a terminal here) or typed twice on a terminal, each change in the activity
log as ``cli``, refusals as one ``error:`` line and exit 1 with nothing stored."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from earnest.bootstrap import build
from earnest.cli import main
from earnest.service.users import SignInRefused

PASSWORD = "correct horse battery"


def run(database: Path, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, [*args, "--database", str(database)], input=stdin)


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "users.db"
    created = run(path, "users", "create", "--email", "Ada@Example.com", "--role", "admin",
                  stdin=PASSWORD + "\n")  # fmt: skip
    assert created.exit_code == 0, created.output
    assert created.stdout.startswith("created admin Ada@Example.com (u")
    return path


def test_users_are_created_listed_and_sign_in(database: Path) -> None:
    viewer = run(
        database, "users", "create", "--email", "bo@example.com", "--role", "viewer", stdin=PASSWORD
    )  # fmt: skip  (no newline: the whole input is the password)
    assert viewer.exit_code == 0, viewer.output
    listed = run(database, "users", "list")
    assert listed.exit_code == 0, listed.output
    lines = [line for line in listed.stdout.splitlines() if "@" in line]
    assert len(lines) == 2
    assert "bo@example.com" in lines[0]
    assert "viewer" in lines[0]
    assert "enabled" in lines[0]
    assert "Ada@Example.com" in lines[1]
    assert "admin" in lines[1]
    assert PASSWORD not in listed.stdout
    assert "argon2" not in listed.stdout
    app = build(str(database), create=False)
    try:
        assert app.users.sign_in("bo@example.com", PASSWORD, "192.0.2.1").token
        actors = {(e.actor, e.action) for e in app.activity.list(limit=10).items}
        assert actors == {("cli", "user.created")}
    finally:
        app.close()


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["--email", "ada@example.com", "--role", "viewer"], PASSWORD, "exists already"),
        (["--email", "bo@example.com", "--role", "viewer"], "short\n", "at least 12 characters"),
        (["--email", "bo@example.com", "--role", "viewer"], "", "at least 12 characters"),
        (["--email", "nope", "--role", "viewer"], PASSWORD, "email is an address"),
    ],
)
def test_a_refused_user_is_one_error_line_and_nothing_stored(
    database: Path, args: list[str], stdin: str, message: str
) -> None:
    result = run(database, "users", "create", *args, stdin=stdin)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ")
    assert message in result.stderr
    assert (
        len([line for line in run(database, "users", "list").stdout.splitlines() if "@" in line])
        == 1
    )


def test_a_role_is_admin_or_viewer(database: Path) -> None:
    result = run(database, "users", "create", "--email", "b@example.com", "--role", "root")
    assert result.exit_code == 2
    assert "'root' is not one of 'admin', 'viewer'" in result.output


def test_disable_enable_and_reset_password(database: Path) -> None:
    app = build(str(database), create=False)
    try:
        signed = app.users.sign_in("ada@example.com", PASSWORD, "192.0.2.1")
        disabled = run(database, "users", "disable", "ADA@example.com")
        assert disabled.exit_code == 0, disabled.output
        assert disabled.stdout.strip() == "disabled Ada@Example.com"
        assert app.users.session(signed.token) is None
        assert "disabled" in run(database, "users", "list").stdout
        with pytest.raises(SignInRefused):
            app.users.sign_in("ada@example.com", PASSWORD, "192.0.2.1")
        assert run(database, "users", "enable", "ada@example.com").exit_code == 0
        reset = run(database, "users", "reset-password", "ada@example.com",
                    stdin="a new long password\n")  # fmt: skip
        assert reset.exit_code == 0, reset.output
        with pytest.raises(SignInRefused):
            app.users.sign_in("ada@example.com", PASSWORD, "192.0.2.1")
        assert app.users.sign_in("ada@example.com", "a new long password", "192.0.2.1").token
        actions = [e.action for e in reversed(app.activity.list(limit=10).items)]
        assert actions == ["user.created", "user.disabled", "user.enabled", "user.password_reset"]
        assert {e.actor for e in app.activity.list(limit=10).items} == {"cli"}
    finally:
        app.close()


@pytest.mark.parametrize("command", ["disable", "enable", "reset-password"])
def test_an_unknown_user_is_an_error(database: Path, command: str) -> None:
    result = run(database, "users", command, "nobody@example.com", stdin=PASSWORD)
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: no user with email 'nobody@example.com'"


def test_list_never_creates_a_database(tmp_path: Path) -> None:
    result = run(tmp_path / "missing.db", "users", "list")
    assert result.exit_code == 1
    assert "no Earnest database" in result.stderr
    assert not (tmp_path / "missing.db").exists()


def test_on_a_terminal_the_password_is_typed_twice(
    database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from earnest.cli import users as cli_users

    prompts: list[tuple[str, object]] = []

    def prompt(text: str, **options: object) -> str:
        prompts.append((text, options.get("confirmation_prompt")))
        assert options.get("hide_input") is True
        return "typed on a terminal"

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Terminal())
    monkeypatch.setattr(click, "prompt", prompt)
    assert cli_users.read_password() == "typed on a terminal"
    assert prompts == [("Password (12 characters or more)", "Repeat it")]
