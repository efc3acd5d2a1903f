"""``/healthz`` and ``/openapi.json``: no key needed."""

from __future__ import annotations

from litestar import get
from litestar.response import Response

from earnest.api.common import answer
from earnest.api.errors import JSON
from earnest.api.openapi import document
from earnest.jsonio import dump_json

_DOCUMENT = dump_json(document())


@get("/healthz")
async def healthz() -> Response[bytes]:
    return answer({"status": "ok"})


@get("/openapi.json")
async def openapi() -> Response[bytes]:
    return Response(_DOCUMENT, media_type=JSON)
