"""docs/api.md is generated from the OpenAPI document and kept up to date."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import msgspec
import pytest

from earnest.api import schemas
from earnest.api.docs import _BODY_EXAMPLES, ERROR_CODES, render
from earnest.api.openapi import document

DOCS = Path(__file__).resolve().parent.parent / "docs" / "api.md"
HEADING = re.compile(r"^### `([A-Z]+) (\S+)`$", re.MULTILINE)


def test_docs_are_up_to_date() -> None:
    assert DOCS.read_text(encoding="utf-8") == render(), (
        "docs/api.md is out of date: run `python scripts/gen_api_docs.py`"
    )


def test_every_documented_endpoint_is_in_the_openapi_document_and_vice_versa() -> None:
    documented = {(m.lower(), p) for m, p in HEADING.findall(DOCS.read_text(encoding="utf-8"))}
    served = {(m, p) for p, item in document()["paths"].items() for m in item}
    assert documented == served


def test_every_endpoint_has_one_curl_example() -> None:
    sections = HEADING.split(DOCS.read_text(encoding="utf-8"))[1:]
    bodies = sections[2::3]
    assert bodies
    for body in bodies:
        assert body.count("curl -s") == 1
        assert "$EARNEST_URL" in body


def test_outcome_references_are_percent_encoded() -> None:
    assert "acme%2Fapi%231234" in render()
    assert "$EARNEST_URL/v1/outcomes/ticket_resolved/acme/" not in render()


@pytest.mark.parametrize("name", sorted(_BODY_EXAMPLES))
def test_example_bodies_match_their_schemas(name: str) -> None:
    struct: Any = getattr(schemas, name)
    msgspec.json.decode(msgspec.json.encode(_BODY_EXAMPLES[name]), type=struct)


def test_error_codes_are_unique() -> None:
    codes = [code for code, _, _ in ERROR_CODES]
    assert len(codes) == len(set(codes))
