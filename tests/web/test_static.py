"""The dashboard's static files: the vendored ones exactly as published (their hashes in
VENDORED.md), each URL versioned and cached for a year, nothing else served."""

from __future__ import annotations

import hashlib
import re
from importlib import resources

from earnest.web.static import CACHE, FILES, HTMX, static_file, static_url
from tests.web.conftest import Web

STATIC = resources.files("earnest.web").joinpath("static")


def test_vendored_files_are_as_published() -> None:
    table = STATIC.joinpath("VENDORED.md").read_text(encoding="utf-8")
    listed = dict(re.findall(r"^\| `([^`]+)` \|.*\| `([0-9a-f]{64})` \|$", table, re.MULTILINE))
    assert set(listed) == {HTMX, "htmx-2.0.4.LICENSE"}
    for name, digest in listed.items():
        assert hashlib.sha256(STATIC.joinpath(name).read_bytes()).hexdigest() == digest, name
    assert "Zero-Clause BSD" in STATIC.joinpath("htmx-2.0.4.LICENSE").read_text(encoding="utf-8")
    assert set(FILES) == {"earnest.css", *listed}


def test_every_static_file_is_served_versioned_and_cached(web: Web) -> None:
    for name, media_type in FILES.items():
        url = static_url(name)
        assert url == f"/static/{name}?v={static_file(name).version}"
        response = web.client.get(url)
        assert response.status_code == 200
        assert response.content == STATIC.joinpath(name).read_bytes()
        assert response.headers["content-type"].startswith(media_type)
        assert response.headers["cache-control"] == CACHE
