"""`earnest keys create / list / revoke`, and a created key working against the API."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from litestar.testing import TestClient

from earnest.api.app import create_app
from earnest.app import Earnest
from earnest.cli import main
from earnest.store import connect


def test_a_created_key_is_the_last_line_and_works_until_revoked(tmp_path: Path) -> None:
    database = str(tmp_path / "keys.db")
    runner = CliRunner()
    created = runner.invoke(main, ["keys", "create", "--scope", "read", "--database", database])
    assert created.exit_code == 0, created.output
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("ek_")
    key_id = key.split("_")[1]
    listed = runner.invoke(main, ["keys", "list", "--database", database])
    assert key_id in listed.stdout
    assert key not in listed.stdout  # the key itself is shown once only
    db = connect(database)
    with TestClient(app=create_app(Earnest(db))) as client:
        headers = {"Authorization": f"Bearer {key}"}
        assert client.get("/v1/contracts", headers=headers).status_code == 200
        assert client.post("/v1/keys", json={"scope": "admin"}, headers=headers).status_code == 403
        revoked = runner.invoke(main, ["keys", "revoke", key_id, "--database", database])
        assert revoked.exit_code == 0
        assert client.get("/v1/contracts", headers=headers).status_code == 401
    db.close()
    unknown = runner.invoke(main, ["keys", "revoke", "k000", "--database", database])
    assert unknown.exit_code == 1
    assert "no key with id 'k000'" in unknown.stderr


def test_a_scope_must_be_one_of_three(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["keys", "create", "--scope", "root", "--database", str(tmp_path / "k.db")]
    )
    assert result.exit_code == 2
    assert "'root' is not one of 'ingest', 'read', 'admin'" in result.output
