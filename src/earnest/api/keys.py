"""``/v1/keys``: create (shown once), list (never the key or its hash), revoke."""

from __future__ import annotations

from litestar import Router, delete, get, post
from litestar.response import Response

from earnest.api.auth import require
from earnest.api.common import (
    AnyRequest,
    actor,
    answer,
    cursor_param,
    earnest,
    json_object,
    limit_param,
    page,
    path_param,
    text_field,
)
from earnest.errors import Invalid
from earnest.service.keys import Scope
from earnest.service.views import key_json

FIELDS = frozenset({"scope", "name"})
MAX_NAME = 255


@post("/", opt=require(Scope.ADMIN), status_code=201)
async def post_key(request: AnyRequest) -> Response[bytes]:
    body = await json_object(request, FIELDS)
    scope = body.get("scope")
    if not isinstance(scope, str) or scope not in {s.value for s in Scope}:
        raise Invalid("scope must be ingest, read or admin", field="scope")
    name = text_field(body, "name", MAX_NAME)
    app, who = earnest(request), actor(request)
    record, secret = await app.write(lambda: app.keys.create(Scope(scope), name, actor=who))
    return answer({**key_json(record), "key": secret}, 201)


@get("/", opt=require(Scope.ADMIN))
async def get_keys(request: AnyRequest) -> Response[bytes]:
    limit = limit_param(request)
    after = cursor_param(request, "keys", int, str)  # (created_at, id)
    app = earnest(request)
    found = await app.read(lambda: app.keys.list(limit=limit, after=after))
    return answer(page("keys", found, key_json))


@delete("/{id:str}", opt=require(Scope.ADMIN), status_code=200)
async def delete_key(request: AnyRequest) -> Response[bytes]:
    ident = path_param(request, "id")
    app, who = earnest(request), actor(request)
    return answer(key_json(await app.write(lambda: app.keys.revoke(ident, actor=who))))


router = Router("/v1/keys", route_handlers=[post_key, get_keys, delete_key])
