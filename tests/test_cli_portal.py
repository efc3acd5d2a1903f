"""``earnest portal-link CUSTOMER [--expires 30d]``: the link is the last line, on the public
base URL (else serve's default address, said on stderr), opens the customer's evidence pages
through the dashboard, expires when told, and is in the activity log as cli's."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner
from litestar.testing import TestClient

from earnest.api.app import create_app
from earnest.app import Earnest
from earnest.cli import main
from earnest.service.activity import CLI
from earnest.store import connect
from earnest.web import dashboard


def _database(tmp_path: Path) -> str:
    database = str(tmp_path / "portal.db")
    app = Earnest(connect(database))
    app.db.migrate()
    app.customers.put("acme", {"name": "Acme Inc."}, actor=CLI)
    app.close()
    return database


def test_the_link_is_the_last_line_and_opens_the_pages(tmp_path: Path) -> None:
    database = _database(tmp_path)
    runner = CliRunner()
    created = runner.invoke(main, ["portal-link", "acme", "--database", database])
    assert created.exit_code == 0, created.output
    url = created.stdout.strip().splitlines()[-1]
    assert url.startswith("http://127.0.0.1:8000/portal/")
    assert "public_base_url is not set" in created.stderr
    token = url.rsplit("/", 1)[1]
    assert token not in created.stderr
    app = Earnest(connect(database))
    with TestClient(app=create_app(app, mount=[dashboard()])) as client:
        page = client.get(f"/portal/{token}")
        assert page.status_code == 200
        assert "Acme Inc." in page.text
    [entry] = [e for e in app.activity.list(limit=10).items if e.action.startswith("portal")]
    assert (entry.action, entry.actor) == ("portal_link.created", CLI)
    app.close()


def test_the_public_base_url_and_expires(tmp_path: Path) -> None:
    database = _database(tmp_path)
    runner = CliRunner()
    runner.invoke(
        main,
        ["settings", "set", "public_base_url", "https://billing.example.com", "--database",
         database],
    )  # fmt: skip
    created = runner.invoke(
        main, ["portal-link", "acme", "--expires", "2h", "--database", database]
    )
    assert created.exit_code == 0, created.output
    assert created.stdout.strip().splitlines()[-1].startswith("https://billing.example.com/portal/")
    assert "public_base_url is not set" not in created.stderr
    app = Earnest(connect(database))
    [link] = app.portal.list("acme", limit=10).items
    assert link.expires_at - link.created_at == timedelta(hours=2)
    app.close()


def test_refusals_name_the_problem(tmp_path: Path) -> None:
    database = _database(tmp_path)
    runner = CliRunner()
    bad = runner.invoke(main, ["portal-link", "acme", "--expires", "soon", "--database", database])
    assert bad.exit_code == 1
    assert "--expires: 'soon' is not a duration" in bad.stderr
    unknown = runner.invoke(main, ["portal-link", "nobody", "--database", database])
    assert unknown.exit_code == 1
    assert "unknown_customer" in unknown.stderr
    assert unknown.stdout == ""
