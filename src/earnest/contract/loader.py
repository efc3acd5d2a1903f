"""Load and validate contracts from YAML, JSON or a mapping (SPEC section 2).

Every problem in a document is collected and raised together as one :class:`ContractError`,
each :class:`FieldError` naming its field; problems with the document itself (not UTF-8, not
YAML, not a mapping) use the field ``<document>``. Condition errors carry the line and column
within the expression and a caret snippet; list items are named ``conditions[i]``.

YAML is read with :class:`ContractYamlLoader`, which never builds a float: ``0.99`` becomes
``Decimal("0.99")``, and YAML 1.1's surprising numbers (``017`` octal, ``1:30`` base 60,
``1_000``, ``+5``, ``1e3``, ``.inf``) stay text, so the field's parser explains what is wrong.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Literal, TypeVar

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, ScalarNode

from earnest.contract.condition import Condition, ConditionError, compile_condition
from earnest.contract.duration import format_duration, parse_duration
from earnest.contract.errors import ContractError, FieldError, describe
from earnest.contract.model import AfterSettlement, Contract, OnTimeout
from earnest.contract.money import parse_price

DOCUMENT = "<document>"  # the field named by errors about the document as a whole
MAX_DOCUMENT_BYTES = 65_536
MAX_NAME_CHARS = 200
MAX_DESCRIPTION_CHARS = 4_000
ACTIVE_FOR_BOUNDS_S = (1, 366 * 86_400)
REVIEW_WINDOW_BOUNDS_S = (0, 366 * 86_400)
KEY_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,63}")
KEY_RULE = "use 1 to 64 lower-case letters, digits and underscores, starting with a letter"

FIELDS = (
    "key",
    "name",
    "description",
    "conditions",
    "price",
    "active_for",
    "review_window",
    "on_timeout",
    "after_settlement",
)
# Returned by the API next to a contract's fields; writing them back is a mistake worth naming.
READ_ONLY_FIELDS = ("version", "fingerprint", "archived", "created_at")
REQUIRED_EXAMPLES = {
    "conditions": "conditions: resolved AND NOT reopened",
    "price": "price: $0.99",
    "active_for": "active_for: 48h",
    "review_window": "review_window: 24h",
}

T = TypeVar("T")
Format = Literal["yaml", "json"]


class ContractYamlLoader(yaml.SafeLoader):
    """A safe YAML loader: decimals instead of floats, plain decimal integers only, and
    duplicate keys refused instead of silently keeping the last one."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _value in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first_line = seen.get(key)
            except TypeError:
                continue  # unhashable: the base constructor reports it
            if first_line is not None:
                raise ConstructorError(
                    None,
                    None,
                    f"the key {key!r} appears twice (first on line {first_line + 1})",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep)


def _construct_int(loader: ContractYamlLoader, node: ScalarNode) -> int | str:
    text = str(loader.construct_scalar(node))
    if re.fullmatch(r"-?(?:0|[1-9][0-9]{0,29})", text):
        return int(text)
    return text


def _construct_decimal(loader: ContractYamlLoader, node: ScalarNode) -> Decimal | str:
    text = str(loader.construct_scalar(node))
    if re.fullmatch(r"-?[0-9]{1,30}\.[0-9]{1,30}", text):
        return Decimal(text)
    return text


ContractYamlLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
ContractYamlLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)


def load_contract(
    source: str | bytes | Mapping[str, Any],
    *,
    key: str | None = None,
    format: Format | None = None,
) -> Contract:
    """Validate one contract. Text is YAML unless ``format="json"``; ``key`` is the key the
    contract is saved under (the API path): used when the document has none, and an error
    when the document names another."""
    data = source if isinstance(source, Mapping) else _parse(source, format or "yaml")
    return _build(data, key, key_must_match=True)


def load_contract_bytes(raw: bytes, *, filename: str) -> Contract:
    """Validate a contract file's content: ``.json`` is JSON, ``.yaml``/``.yml`` YAML; the
    key defaults to the file name's stem when the document has none."""
    name = filename.replace("\\", "/").rpartition("/")[2]
    data = _parse(raw, contract_file_format(name))
    return _build(data, name.rpartition(".")[0], key_must_match=False)


def contract_file_format(name: str) -> Format:
    suffix = name.rpartition(".")[2].lower() if "." in name else ""
    if suffix not in ("yaml", "yml", "json"):
        raise _document_error(f"{name!r}: expected a .yaml, .yml or .json file")
    return "json" if suffix == "json" else "yaml"


def contract_to_dict(contract: Contract) -> dict[str, Any]:
    """The canonical JSON-able form; ``load_contract`` of it gives an equal contract."""
    conditions = contract.conditions
    return {
        "key": contract.key,
        "name": contract.name,
        "description": contract.description,
        "conditions": conditions if isinstance(conditions, str) else list(conditions),
        "price": contract.price.to_json(),
        "active_for": format_duration(contract.active_for_s),
        "review_window": format_duration(contract.review_window_s),
        "on_timeout": contract.on_timeout.value,
        "after_settlement": contract.after_settlement.value,
    }


def contract_fingerprint(contract: Contract) -> str:
    """``sha256:<hex>`` of the contract's meaning: conditions by their canonical text, the
    amount without trailing zeros beyond the minor unit, durations in canonical form. Layout,
    keyword case and how a price or duration was spelled do not change it; any change to
    what is billed, or to the name or description, does."""
    form = contract_to_dict(contract)
    form["conditions"] = contract.condition.canonical
    text = json.dumps(form, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


# -- reading the document ---------------------------------------------------------------------


def _parse(source: object, fmt: Format) -> Mapping[Any, Any]:
    text = _text(source)
    try:
        data = _parse_json(text) if fmt == "json" else _parse_yaml(text)
    except RecursionError:
        raise _document_error("is nested too deeply") from None
    if data is None:
        raise _document_error("is empty; expected a mapping of contract fields")
    if not isinstance(data, Mapping):
        raise _document_error(
            f"expected a mapping of contract fields (conditions, price, ...), got {describe(data)}"
        )
    return data


def _text(source: object) -> str:
    if isinstance(source, bytes):
        if len(source) > MAX_DOCUMENT_BYTES:
            raise _document_error(_too_large(len(source)))
        try:
            return source.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _document_error(
                f"is not valid UTF-8 ({exc.reason} at byte {exc.start})"
            ) from None
    if not isinstance(source, str):
        raise _document_error(f"expected YAML or JSON text or a mapping, got {describe(source)}")
    size = len(source.encode("utf-8", "surrogatepass"))
    if size > MAX_DOCUMENT_BYTES:
        raise _document_error(_too_large(size))
    return source


def _too_large(size: int) -> str:
    return f"is {size} bytes; a contract document is at most {MAX_DOCUMENT_BYTES} bytes"


def _parse_yaml(text: str) -> object:
    try:
        return yaml.load(text, Loader=ContractYamlLoader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = "invalid YAML: " + ", ".join(p for p in (exc.context, exc.problem) if p)
        if "constructor for the tag '!" in message and "'!!" not in message:
            message += "; a value starting with ! is a YAML tag: quote the expression"
        if mark is None:
            raise _document_error(message) from None
        raise _document_error(message, text, mark.line, mark.column) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position)
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1)
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        message = f"invalid YAML: the character U+{code:04X} is not allowed"
        raise _document_error(message, text, line, column) from None
    except yaml.YAMLError as exc:
        raise _document_error(f"invalid YAML: {exc}") from None


def _parse_json(text: str) -> object:
    try:
        return json.loads(
            text,
            parse_float=Decimal,
            parse_constant=_refuse_constant,
            parse_int=_json_int,
            object_pairs_hook=_refuse_duplicates,
        )
    except json.JSONDecodeError as exc:
        raise _document_error(
            f"invalid JSON: {exc.msg}", text, exc.lineno - 1, exc.colno - 1
        ) from None
    except ValueError as exc:
        raise _document_error(f"invalid JSON: {exc}") from None


def _json_int(text: str) -> int | str:
    """Like the YAML loader: an integer too long for any field stays text, so the field's
    parser reports it (``int()`` of thousands of digits is refused by Python itself)."""
    return int(text) if len(text) <= 30 else text


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not a number JSON allows")


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in pairs:
        if name in out:
            raise ValueError(f"the key {name!r} appears twice")
        out[name] = value
    return out


def _document_error(
    message: str, text: str | None = None, line: int | None = None, column: int | None = None
) -> ContractError:
    """One error about the whole document; ``line`` and ``column`` are 0-based here."""
    if text is None or line is None or column is None:
        return ContractError([FieldError(DOCUMENT, message)])
    return ContractError(
        [FieldError(DOCUMENT, message, line + 1, column + 1, _snippet(text, line, column))]
    )


def _snippet(text: str, line: int, column: int) -> str:
    lines = text.splitlines() or [""]
    source_line = lines[line] if line < len(lines) else ""
    return f"{source_line}\n{' ' * column}^"


# -- validating fields ------------------------------------------------------------------------


def _build(data: Mapping[Any, Any], given_key: str | None, *, key_must_match: bool) -> Contract:
    errors: list[FieldError] = []
    for field in data:
        if field not in FIELDS:
            errors.append(FieldError(str(field), _unknown_field(field)))

    def check(field: str, parse: Callable[[object], T], default: T | None = None) -> T | None:
        value = data.get(field)
        if value is None:
            if field in REQUIRED_EXAMPLES:
                errors.append(FieldError(field, f"is required, e.g. {REQUIRED_EXAMPLES[field]}"))
            return default
        try:
            return parse(value)
        except ValueError as exc:
            errors.append(FieldError(field, str(exc)))
            return None

    key = _check_key(data.get("key"), given_key, key_must_match, errors)
    name = check("name", _text_field(MAX_NAME_CHARS, one_line=True))
    description = check("description", _text_field(MAX_DESCRIPTION_CHARS, one_line=False))
    conditions: str | tuple[str, ...] | None = check("conditions", _conditions_source)
    condition = _compile(conditions, errors) if conditions is not None else None
    price = check("price", parse_price)
    active_for_s = check("active_for", _bounded_duration(*ACTIVE_FOR_BOUNDS_S))
    review_window_s = check("review_window", _bounded_duration(*REVIEW_WINDOW_BOUNDS_S))
    on_timeout = check("on_timeout", _choice(OnTimeout), OnTimeout.CANCEL)
    after_settlement = check("after_settlement", _choice(AfterSettlement), AfterSettlement.FLAG)

    if errors:
        raise ContractError(errors)
    assert conditions is not None, "a contract without errors has conditions"
    return Contract(
        key=_present(key),
        name=name or None,
        description=description or None,
        conditions=conditions,
        condition=_present(condition),
        price=_present(price),
        active_for_s=_present(active_for_s),
        review_window_s=_present(review_window_s),
        on_timeout=_present(on_timeout),
        after_settlement=_present(after_settlement),
    )


def _present(value: T | None) -> T:
    """A field's value once validation found no errors (every required one was then set)."""
    assert value is not None, "a contract without errors has every required field"
    return value


def _unknown_field(field: object) -> str:
    if field in READ_ONLY_FIELDS:
        return "is set by Earnest and cannot be written; remove it"
    close = difflib.get_close_matches(str(field), FIELDS, n=1, cutoff=0.6)
    if close:
        return f"is not a contract field; did you mean {close[0]!r}?"
    return "is not a contract field; the fields are " + ", ".join(FIELDS)


def _check_key(
    written: object, given: str | None, must_match: bool, errors: list[FieldError]
) -> str | None:
    if written is None:
        if given is None:
            errors.append(
                FieldError(
                    "key",
                    "is required; write key: in the document (a file's name or the API path"
                    " also gives it)",
                )
            )
        elif not KEY_PATTERN.fullmatch(given):
            message = f"{given!r} is not a valid key: {KEY_RULE}"
            if not must_match:
                message = f"the file name gives {given!r}, which is not a valid key: {KEY_RULE};"
                message += " or write key: in the document"
            errors.append(FieldError("key", message))
        else:
            return given
        return None
    if not isinstance(written, str):
        errors.append(
            FieldError("key", f"expected a key such as ticket_resolved, got {describe(written)}")
        )
    elif not KEY_PATTERN.fullmatch(written):
        errors.append(FieldError("key", f"{written!r} is not a valid key: {KEY_RULE}"))
    elif must_match and given is not None and given != written:
        errors.append(FieldError("key", f"{written!r} does not match the expected key {given!r}"))
    else:
        return written
    return None


def _text_field(limit: int, *, one_line: bool) -> Callable[[object], str]:
    def parse(value: object) -> str:
        if not isinstance(value, str):
            raise ValueError(f"expected text, got {describe(value)}; quote it")
        if len(value) > limit:
            raise ValueError(f"is {len(value)} characters long; at most {limit} are allowed")
        if one_line and ("\n" in value or "\r" in value):
            raise ValueError("must be a single line")
        return value.strip()

    return parse


def _conditions_source(value: object) -> str | tuple[str, ...]:
    if isinstance(value, str):
        if not value.strip():
            raise ValueError(f"is empty; e.g. {REQUIRED_EXAMPLES['conditions']}")
        return value
    if isinstance(value, list | tuple):
        if not value:
            raise ValueError("is an empty list; give at least one expression")
        return tuple(value)  # items are checked one by one in _compile
    raise ValueError(f"expected a condition expression or a list of them, got {describe(value)}")


def _compile(source: str | tuple[str, ...], errors: list[FieldError]) -> Condition | None:
    if isinstance(source, str):
        return _compile_one("conditions", source, errors)
    failed = False
    for index, item in enumerate(source):
        field = f"conditions[{index}]"
        if not isinstance(item, str):
            errors.append(
                FieldError(field, f"expected a condition expression as text, got {describe(item)}")
            )
            failed = True
        elif not item.strip():
            errors.append(FieldError(field, "is empty; give an expression or remove the item"))
            failed = True
        elif _compile_one(field, item, errors) is None:
            failed = True
    if failed:
        return None
    return _compile_one("conditions", source, errors)  # whole-list bounds (nodes, depth)


def _compile_one(
    field: str, source: str | Sequence[str], errors: list[FieldError]
) -> Condition | None:
    try:
        return compile_condition(source)
    except ConditionError as exc:
        where = field if exc.item is None or field != "conditions" else f"conditions[{exc.item}]"
        errors.append(FieldError(where, exc.message, exc.line, exc.column, exc.snippet))
        return None


def _bounded_duration(low_s: int, high_s: int) -> Callable[[object], int]:
    def parse(value: object) -> int:
        seconds = parse_duration(value)
        if not low_s <= seconds <= high_s:
            written = value.strip() if isinstance(value, str) else f"{value} seconds"
            raise ValueError(
                f"must be between {_bound_text(low_s)} and {_bound_text(high_s)}, got {written}"
            )
        return seconds

    return parse


def _bound_text(seconds: int) -> str:
    """Bounds read best in days (366d), the unit the spec states them in."""
    if seconds and seconds % 86_400 == 0:
        return f"{seconds // 86_400}d"
    return format_duration(seconds)


E = TypeVar("E", OnTimeout, AfterSettlement)


def _choice(kind: type[E]) -> Callable[[object], E]:
    names = [member.value for member in kind]
    expected = " or ".join([", ".join(names[:-1]), names[-1]]) if len(names) > 1 else names[0]

    def parse(value: object) -> E:
        if isinstance(value, str) and value in names:
            return kind(value)
        message = f"expected {expected}, got {describe(value)}"
        if isinstance(value, bool):
            message += "; YAML reads yes, no, on and off as booleans"
        elif isinstance(value, str):
            close = difflib.get_close_matches(value.lower(), names, n=1, cutoff=0.6)
            if close:
                message += f"; did you mean {close[0]!r}?"
        raise ValueError(message)

    return parse
