"""``/v1/keys``: create (shown once), list (never the key or its hash), revoke."""

from __future__ import annotations

from datetime import datetime

from litestar import Router, delete, get, post
from litestar.response import Response

from earnest.api.auth import require
from earnest.api.common import (
    AnyRequest,
    answer,
    cursor_param,
    database,
    encode_cursor,
    in_thread,
    json_object,
    limit_param,
    now,
    page,
    path_param,
    text_field,
)
from earnest.api.errors import ApiError
from earnest.api.views import key_json
from earnest.store.codec import to_us
from earnest.store.db import Database
from earnest.store.keys import ApiKey, Scope, create_key, list_keys, revoke_key

FIELDS = frozenset({"scope", "name"})
MAX_NAME = 255


def _create(db: Database, scope: Scope, name: str | None, moment: datetime) -> tuple[ApiKey, str]:
    with db.write() as tx:
        return create_key(tx, scope, moment, name)


@post("/", opt=require(Scope.ADMIN), status_code=201)
async def post_key(request: AnyRequest) -> Response[bytes]:
    body = await json_object(request, FIELDS)
    scope = body.get("scope")
    if not isinstance(scope, str) or scope not in {s.value for s in Scope}:
        raise ApiError(422, "invalid_field", "scope must be ingest, read or admin", "scope")
    name = text_field(body, "name", MAX_NAME)
    record, secret = await in_thread(
        request, _create, database(request), Scope(scope), name, now(request)
    )
    return answer({**key_json(record), "key": secret}, 201)


@get("/", opt=require(Scope.ADMIN))
async def get_keys(request: AnyRequest) -> Response[bytes]:
    limit = limit_param(request)
    after = cursor_param(request, "keys", int, str)
    db = database(request)

    def load() -> list[ApiKey]:
        with db.read() as tx:
            return list_keys(tx)

    keys = sorted(await in_thread(request, load), key=lambda k: (-to_us(k.created_at), k.id))
    if after is not None:
        position = (-after[0], after[1])
        keys = [k for k in keys if (-to_us(k.created_at), k.id) > position]
    shown = keys[:limit]
    cursor = None
    if len(keys) > limit:
        cursor = encode_cursor("keys", [to_us(shown[-1].created_at), shown[-1].id])
    return answer(page([key_json(k) for k in shown], cursor))


@delete("/{id:str}", opt=require(Scope.ADMIN), status_code=200)
async def delete_key(request: AnyRequest) -> Response[bytes]:
    ident = path_param(request, "id")
    db, moment = database(request), now(request)

    def revoke() -> ApiKey | None:
        with db.write() as tx:
            return revoke_key(tx, ident, moment)

    revoked = await in_thread(request, revoke)
    if revoked is None:
        raise ApiError(404, "unknown_key", f"no API key {ident!r}", "id")
    return answer(key_json(revoked))


router = Router("/v1/keys", route_handlers=[post_key, get_keys, delete_key])
