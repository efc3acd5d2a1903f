"""RFC 3339 times. Every time in Earnest is an aware UTC ``datetime``."""

from __future__ import annotations

from datetime import UTC, datetime


def parse_time(text: str) -> datetime:
    """Parse an RFC 3339 time with an explicit offset; return it in UTC.

    Raises ``ValueError`` for anything else (a naive time is ambiguous, so it is refused).
    """
    if not isinstance(text, str) or not text or len(text) > 64:
        raise ValueError("expected an RFC 3339 time such as 2026-11-23T10:00:00Z")
    candidate = text.strip()
    if candidate[-1:] in ("z", "Z"):
        candidate = candidate[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        raise ValueError(f"{text!r} is not an RFC 3339 time such as 2026-11-23T10:00:00Z") from None
    if parsed.tzinfo is None or ("T" not in candidate.upper() and " " not in candidate):
        raise ValueError(f"{text!r} needs a date, a time and a UTC offset (for example 'Z')")
    return parsed.astimezone(UTC)


def format_time(moment: datetime) -> str:
    """Format an aware time as RFC 3339 UTC with a ``Z``; microseconds only when present."""
    assert moment.tzinfo is not None, "times in Earnest are always aware"
    moment = moment.astimezone(UTC)
    # Not strftime: its %Y does not pad years before 1000, which parse_time then refuses.
    text = f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment:%H:%M:%S}"
    return f"{text}.{moment.microsecond:06d}Z" if moment.microsecond else f"{text}Z"
