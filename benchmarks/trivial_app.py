"""The ceiling of benchmark B2: the least an endpoint on Earnest's server stack can do.

One Litestar route, ``POST /v1/signals``, parses the body with Earnest's own JSON reader
(:func:`earnest.jsonio.parse_json`, numbers as ``Decimal``, duplicate keys refused) and
answers a small JSON object through Earnest's encoder. It is served by uvicorn with the very
``Config`` options of :func:`earnest.api.server.serve_http` (uvloop, httptools, one process),
so whatever separates it from Earnest is Earnest's own work: auth, validation, the store.

    .venv/bin/python benchmarks/trivial_app.py --port 8123
"""

from __future__ import annotations

import argparse
from typing import Any

import uvicorn
from litestar import Litestar, Request, Response, post

from earnest.api.server import uvicorn_config
from earnest.jsonio import dump_json, parse_json


@post("/v1/signals", status_code=200)
async def post_signal(request: Request[Any, Any, Any]) -> Response[bytes]:
    body = parse_json(await request.body())
    ident = body.get("id") if isinstance(body, dict) else None
    return Response(dump_json({"duplicate": False, "id": ident}), media_type="application/json")


app = Litestar(route_handlers=[post_signal], openapi_config=None)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    config = uvicorn_config(app, args.host, args.port)  # as earnest serve does
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
