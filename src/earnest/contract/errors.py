"""Contract validation errors.

A contract that does not validate is never stored. Every problem is reported as a
:class:`FieldError` naming the field; condition errors also carry the line, the column and a
caret under the offending token. :class:`ContractError` gathers all of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from earnest.errors import Invalid


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    message: str
    line: int | None = None
    column: int | None = None
    snippet: str | None = None  # the offending source line, then a caret line

    def __str__(self) -> str:
        where = f" (line {self.line}, column {self.column})" if self.line is not None else ""
        text = f"{self.field}: {self.message}{where}"
        if self.snippet:
            text += "\n" + "\n".join("    " + part for part in self.snippet.splitlines())
        return text

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"field": self.field, "message": self.message}
        if self.line is not None:
            out["line"] = self.line
            out["column"] = self.column
        if self.snippet is not None:
            out["snippet"] = self.snippet
        return out


class ContractError(Invalid):
    """A contract failed validation; ``errors`` lists every problem found (the first one is
    the error's ``message`` and ``field``; all of them go in the API's ``errors`` list)."""

    code = "invalid_contract"

    def __init__(self, errors: list[FieldError] | tuple[FieldError, ...]) -> None:
        assert errors, "a ContractError needs at least one FieldError"
        self.errors = tuple(errors)
        super().__init__(
            str(self.errors[0]),
            field=self.errors[0].field,
            extra={"errors": [e.to_json() for e in self.errors]},
        )

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)

    @property
    def first(self) -> FieldError:
        return self.errors[0]


def describe(value: object) -> str:
    """A value's kind in words, for error messages: ``got a list``, ``got a boolean (true)``."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int | Decimal):
        return f"a number ({value})"
    if isinstance(value, float):
        return f"a float ({value!r})"
    if isinstance(value, str):
        return f"text ({value!r})" if len(value) <= 40 else "text"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"
