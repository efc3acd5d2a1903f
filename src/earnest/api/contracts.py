"""``/v1/contracts``: create or update, validate, list, read versions, archive."""

from __future__ import annotations

from typing import Any, Literal

from litestar import Router, get, post, put
from litestar.response import Response

from earnest.api.auth import require
from earnest.api.common import (
    AnyRequest,
    answer,
    cursor_param,
    database,
    encode_cursor,
    in_thread,
    limit_param,
    now,
    page,
    path_param,
)
from earnest.api.errors import ApiError
from earnest.api.views import contract_json
from earnest.contract import (
    Contract,
    ContractError,
    contract_fingerprint,
    contract_to_dict,
    load_contract,
)
from earnest.jsonio import MalformedJson, parse_json
from earnest.store.contracts import (
    StoredContract,
    UnknownContract,
    archive_contract,
    contract_version,
    latest_contract,
    save_contract,
)
from earnest.store.keys import Scope

YAML_TYPES = frozenset({"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"})
MAX_VERSION = 2**31


async def _contract(request: AnyRequest, key: str | None) -> Contract:
    """The body as a contract: YAML when the Content-Type says so, JSON otherwise."""
    raw = await request.body()
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    fmt: Literal["json", "yaml"] = "yaml" if media_type in YAML_TYPES else "json"
    if fmt == "json":
        try:
            parse_json(raw)
        except MalformedJson as error:
            raise ApiError(400, "malformed_json", error.message) from None
    try:
        return load_contract(raw, key=key, format=fmt)
    except ContractError as error:
        raise ApiError(
            422,
            "invalid_contract",
            str(error.first),
            error.first.field,
            {"errors": [e.to_json() for e in error.errors]},
        ) from None


def _unknown(error: UnknownContract) -> ApiError:
    return ApiError(404, "unknown_contract", str(error), "key")


@put("/{key:str}", opt=require(Scope.ADMIN))
async def put_contract(request: AnyRequest) -> Response[bytes]:
    key = path_param(request, "key")
    contract = await _contract(request, key)
    db, moment = database(request), now(request)

    def save() -> tuple[StoredContract, bool]:
        with db.write() as tx:
            return save_contract(tx, contract, moment)

    stored, created = await in_thread(request, save)
    return answer(contract_json(stored), 201 if created else 200)


@post("/validate", opt=require(Scope.READ), status_code=200)
async def validate_contract(request: AnyRequest) -> Response[bytes]:
    key = request.query_params.get("key")
    contract = await _contract(request, key)
    return answer({"valid": True, "contract": contract_json_unsaved(contract)})


def contract_json_unsaved(contract: Contract) -> dict[str, Any]:
    return {**contract_to_dict(contract), "fingerprint": contract_fingerprint(contract)}


@get("/", opt=require(Scope.READ))
async def list_contracts(request: AnyRequest) -> Response[bytes]:
    limit = limit_param(request)
    after = cursor_param(request, "contracts", int, str)  # (created_at, key)
    db = database(request)

    def load() -> tuple[list[StoredContract], list[Any] | None]:
        with db.read() as tx:
            sql = "SELECT key, created_at FROM contracts"
            params: list[Any] = []
            if after is not None:
                sql += " WHERE created_at < ? OR (created_at = ? AND key > ?)"
                params = [after[0], after[0], after[1]]
            sql += " ORDER BY created_at DESC, key LIMIT ?"
            rows = tx.query(sql, [*params, limit + 1])
            found = [latest_contract(tx, str(k)) for k, _ in rows[:limit]]
            last = [int(rows[limit - 1][1]), str(rows[limit - 1][0])] if len(rows) > limit else None
        return found, last

    found, last = await in_thread(request, load)
    cursor = encode_cursor("contracts", last) if last is not None else None
    return answer(page([contract_json(c) for c in found], cursor))


@get("/{key:str}", opt=require(Scope.READ))
async def get_contract(request: AnyRequest) -> Response[bytes]:
    key = path_param(request, "key")
    db = database(request)

    def load() -> StoredContract:
        with db.read() as tx:
            return latest_contract(tx, key)

    try:
        return answer(contract_json(await in_thread(request, load)))
    except UnknownContract as error:
        raise _unknown(error) from None


@get("/{key:str}/versions/{version:str}", opt=require(Scope.READ))
async def get_version(request: AnyRequest) -> Response[bytes]:
    key, version = path_param(request, "key"), path_param(request, "version")
    if not version.isascii() or not version.isdigit() or not 1 <= int(version[:12]) < MAX_VERSION:
        raise ApiError(422, "invalid_version", "a version is a whole number from 1", "version")
    number = int(version)
    db = database(request)

    def load() -> StoredContract:
        with db.read() as tx:
            return contract_version(tx, key, number)

    try:
        return answer(contract_json(await in_thread(request, load)))
    except UnknownContract as error:
        raise ApiError(
            404, "unknown_contract", str(error), "version" if error.version else "key"
        ) from None


@post("/{key:str}/archive", opt=require(Scope.ADMIN), status_code=200)
async def archive(request: AnyRequest) -> Response[bytes]:
    key = path_param(request, "key")
    db = database(request)

    def run() -> StoredContract:
        with db.write() as tx:
            return archive_contract(tx, key)

    try:
        return answer(contract_json(await in_thread(request, run)))
    except UnknownContract as error:
        raise _unknown(error) from None


router = Router(
    "/v1/contracts",
    route_handlers=[
        put_contract,
        validate_contract,
        list_contracts,
        get_contract,
        get_version,
        archive,
    ],
)
