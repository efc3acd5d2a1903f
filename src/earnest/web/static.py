"""The dashboard's static files: a fixed list, read once, served with a long cache.

Each URL carries the file's version (htmx's in its name, the stylesheet's content hash in a
query), so a browser may keep it a year and still never run a stale one. Nothing outside
:data:`FILES` is served: no directory listing, no path to traverse.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from litestar import Request, get
from litestar.response import Response

from earnest.errors import NotFound

HTMX = "htmx-2.0.4.min.js"
FILES = {
    "earnest.css": "text/css",
    HTMX: "text/javascript",
    "htmx-2.0.4.LICENSE": "text/plain",
}
CACHE = "public, max-age=31536000, immutable"


@dataclass(frozen=True, slots=True)
class StaticFile:
    body: bytes
    media_type: str
    version: str  # the first 12 hex digits of its SHA-256


@cache
def static_file(name: str) -> StaticFile:
    media_type = FILES[name]
    body = resources.files("earnest.web").joinpath("static", name).read_bytes()
    return StaticFile(body, media_type, hashlib.sha256(body).hexdigest()[:12])


def static_url(name: str) -> str:
    """The URL of static file ``name``, its version in it."""
    return f"/static/{name}?v={static_file(name).version}"


@get("/static/{name:str}", opt={"public": True}, sync_to_thread=False)
def serve_static(request: Request[Any, Any, Any]) -> Response[bytes]:
    name = str(request.path_params["name"])
    if name not in FILES:
        raise NotFound(f"no static file {name!r}")
    found = static_file(name)
    headers = {"Cache-Control": CACHE, "X-Content-Type-Options": "nosniff"}
    return Response(found.body, media_type=found.media_type, headers=headers)
