"""``/v1/contracts``: create or update, validate, list, read versions, archive."""

from __future__ import annotations

from typing import Any, Literal

from litestar import Router, get, post, put
from litestar.response import Response

from earnest.api.auth import require
from earnest.api.common import (
    AnyRequest,
    actor,
    answer,
    cursor_param,
    earnest,
    limit_param,
    page,
    path_param,
)
from earnest.contract import Contract, contract_fingerprint, contract_to_dict, load_contract
from earnest.errors import Invalid
from earnest.jsonio import parse_json
from earnest.service.backtest import parse_bound
from earnest.service.keys import Scope
from earnest.service.views import contract_json

YAML_TYPES = frozenset({"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"})
MAX_VERSION = 2**31


async def _contract(request: AnyRequest, key: str | None) -> Contract:
    """The body as a contract: YAML when the Content-Type says so, JSON otherwise. Raises
    ``MalformedJson`` (400) or ``ContractError`` (422, every problem with line and column)."""
    raw = await request.body()
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    fmt: Literal["json", "yaml"] = "yaml" if media_type in YAML_TYPES else "json"
    if fmt == "json":
        parse_json(raw)
    return load_contract(raw, key=key, format=fmt)


@put("/{key:str}", opt=require(Scope.ADMIN))
async def put_contract(request: AnyRequest) -> Response[bytes]:
    contract = await _contract(request, path_param(request, "key"))
    app, who = earnest(request), actor(request)
    stored, created = await app.write(lambda: app.contracts.save(contract, actor=who))
    return answer(contract_json(stored), 201 if created else 200)


@post("/validate", opt=require(Scope.READ), status_code=200)
async def validate_contract(request: AnyRequest) -> Response[bytes]:
    contract = await _contract(request, request.query_params.get("key"))
    return answer({"valid": True, "contract": contract_json_unsaved(contract)})


def contract_json_unsaved(contract: Contract) -> dict[str, Any]:
    return {**contract_to_dict(contract), "fingerprint": contract_fingerprint(contract)}


@get("/", opt=require(Scope.READ))
async def list_contracts(request: AnyRequest) -> Response[bytes]:
    limit = limit_param(request)
    after = cursor_param(request, "contracts", int, str)  # (created_at, key)
    app = earnest(request)
    found = await app.read(lambda: app.contracts.list(limit=limit, after=after))
    return answer(page("contracts", found, contract_json))


@get("/{key:str}", opt=require(Scope.READ))
async def get_contract(request: AnyRequest) -> Response[bytes]:
    key = path_param(request, "key")
    app = earnest(request)
    return answer(contract_json(await app.read(lambda: app.contracts.latest(key))))


@get("/{key:str}/versions/{version:str}", opt=require(Scope.READ))
async def get_version(request: AnyRequest) -> Response[bytes]:
    key, version = path_param(request, "key"), path_param(request, "version")
    if not version.isascii() or not version.isdigit() or not 1 <= int(version[:12]) < MAX_VERSION:
        raise Invalid("a version is a whole number from 1", code="invalid_version", field="version")
    number = int(version)
    app = earnest(request)
    return answer(contract_json(await app.read(lambda: app.contracts.version(key, number))))


@post("/{key:str}/backtest", opt=require(Scope.READ), status_code=200)
async def backtest(request: AnyRequest) -> Response[bytes]:
    """The report of the body, a proposed version, over the outcomes opened in
    ``[since, until)`` (SPEC section 2); run in a process of its own, writing nothing."""
    key = path_param(request, "key")
    since = parse_bound(request.query_params.get("since"), "since")
    until = parse_bound(request.query_params.get("until"), "until")
    contract = await _contract(request, key)
    app = earnest(request)
    await app.read(lambda: app.contracts.latest(key))  # 404 before a process is started
    return answer(await app.contracts.backtest_apart(contract, since=since, until=until))


@post("/{key:str}/archive", opt=require(Scope.ADMIN), status_code=200)
async def archive(request: AnyRequest) -> Response[bytes]:
    key = path_param(request, "key")
    app, who = earnest(request), actor(request)
    return answer(contract_json(await app.write(lambda: app.contracts.archive(key, actor=who))))


router = Router(
    "/v1/contracts",
    route_handlers=[
        put_contract,
        validate_contract,
        list_contracts,
        get_contract,
        get_version,
        backtest,
        archive,
    ],
)
