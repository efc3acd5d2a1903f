"""Settings (SPEC 6): the seller's details on invoices, the invoice number prefix, the grace
before a period's invoices are finalized, and the public base URL of portal links and PDFs.

Every value is validated here, whoever sets it (API, CLI, dashboard); a refused change stores
nothing. Every change is recorded in the activity log with the values before and after.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from earnest.clock import Clock
from earnest.contract.duration import format_duration, parse_duration
from earnest.errors import Invalid
from earnest.service.activity import append_activity
from earnest.store import Database, Tx
from earnest.store.settings import read_settings, write_settings

__all__ = ["DEFAULTS", "NAMES", "InvalidSetting", "Settings", "SettingsValues", "settings_of"]

MAX_TEXT = 1_000  # characters of a name, address or tax id
MAX_GRACE_S = 7 * 86_400  # a week: finalization later than that is not a grace
PREFIX = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,19}")


class InvalidSetting(Invalid):
    code = "invalid_setting"


@dataclass(frozen=True, slots=True)
class SettingsValues:
    seller_name: str | None = None
    seller_address: str | None = None
    seller_tax_id: str | None = None
    invoice_prefix: str = "EARN"
    invoice_grace: str = "5m"  # a duration, SPEC 2's syntax
    public_base_url: str | None = None  # None: the address ``serve`` listens on

    @property
    def grace(self) -> timedelta:
        return timedelta(seconds=parse_duration(self.invoice_grace))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


DEFAULTS = SettingsValues()
NAMES = tuple(DEFAULTS.as_dict())


def _text(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidSetting(f"{name} must be text or null", field=name)
    value = value.strip()
    if len(value) > MAX_TEXT:
        raise InvalidSetting(f"{name} is at most {MAX_TEXT} characters", field=name)
    if "\x00" in value:
        raise InvalidSetting(f"{name} must not contain U+0000", field=name)
    return value or None


def _prefix(value: Any) -> str:
    if not isinstance(value, str) or not PREFIX.fullmatch(value):
        raise InvalidSetting(
            "invoice_prefix is 1 to 20 letters, digits, '-' or '_', starting with a letter or"
            f" digit, such as EARN; got {value!r}",
            field="invoice_prefix",
        )
    return value


def _grace(value: Any) -> str:
    try:
        seconds = parse_duration(value)
    except ValueError as error:
        raise InvalidSetting(f"invoice_grace: {error}", field="invoice_grace") from None
    if seconds > MAX_GRACE_S:
        raise InvalidSetting(
            f"invoice_grace is at most {format_duration(MAX_GRACE_S)}, got {value!r}",
            field="invoice_grace",
        )
    return format_duration(seconds)


def _url(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidSetting("public_base_url must be text or null", field="public_base_url")
    text = value.strip()
    parts = urlsplit(text)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or any(c in text for c in "?# \t\n\\")
    ):
        raise InvalidSetting(
            "public_base_url is an http or https address without query or fragment, such as"
            f" https://billing.example.com; got {value!r}",
            field="public_base_url",
        )
    return value.strip().rstrip("/")


_CHECKS = {
    "seller_name": lambda v: _text("seller_name", v),
    "seller_address": lambda v: _text("seller_address", v),
    "seller_tax_id": lambda v: _text("seller_tax_id", v),
    "invoice_prefix": _prefix,
    "invoice_grace": _grace,
    "public_base_url": _url,
}


def validate(changes: Mapping[str, Any]) -> dict[str, Any]:
    """The changes, each checked and normalised; :class:`InvalidSetting` names the first bad."""
    checked = {}
    for name, value in changes.items():
        check = _CHECKS.get(name)
        if check is None:
            raise InvalidSetting(
                f"no setting {name!r}; the settings are {', '.join(NAMES)}", field=name
            )
        checked[name] = check(value)
    return checked


def settings_of(tx: Tx) -> SettingsValues:
    stored = read_settings(tx)
    return replace(DEFAULTS, **{k: v for k, v in stored.items() if k in NAMES})


class Settings:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def get(self) -> SettingsValues:
        with self.db.read() as tx:
            return settings_of(tx)

    def put(self, changes: Mapping[str, Any], *, actor: str) -> SettingsValues:
        """Apply ``changes`` (setting name → value; null restores an optional one's default)."""
        checked = validate(changes)
        now = self.clock()
        with self.db.write() as tx:
            before = settings_of(tx)
            after = replace(before, **checked)
            if after != before:
                changed = {k: v for k, v in after.as_dict().items() if getattr(before, k) != v}
                write_settings(tx, changed)
                append_activity(
                    tx, at=now, actor=actor, action="settings.updated", subject="settings",
                    before={k: getattr(before, k) for k in changed}, after=changed,
                )  # fmt: skip
        return after
