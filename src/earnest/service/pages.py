"""What every list use case answers: a page of items and where the next one starts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from earnest.errors import Invalid

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """``items`` newest first; ``after`` is the sort key of the last item when more follow
    (the API turns it into an opaque cursor), else None."""

    items: list[T]
    after: tuple[Any, ...] | None


def bad_limit() -> Invalid:
    return Invalid(
        f"limit must be a whole number from 1 to {MAX_LIMIT}", code="invalid_limit", field="limit"
    )


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise bad_limit()
    return limit


def page_of(found: list[T], limit: int, position: Callable[[T], tuple[Any, ...]]) -> Page[T]:
    """The page of ``found`` (up to ``limit + 1`` items, read to learn whether more follow):
    its first ``limit`` items and, when more follow, the ``position`` of the last one."""
    more = len(found) > limit
    return Page(found[:limit], position(found[limit - 1]) if more else None)


def every(fetch: Callable[[tuple[Any, ...] | None], Page[T]]) -> list[T]:
    """Every item of a list, page after page: ``fetch(after)`` reads one page (a command
    that prints them all, where an entry point would hand out cursors)."""
    page = fetch(None)
    items = list(page.items)
    while page.after is not None:
        page = fetch(page.after)
        items += page.items
    return items
