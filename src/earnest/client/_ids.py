"""UUIDv7 (RFC 9562) signal ids: time-ordered, so the server's index stays append-mostly.

Python 3.11's :mod:`uuid` has no ``uuid7``. Layout, most significant bit first::

    unix_ts_ms (48) | ver = 0b0111 (4) | rand_a (12) | var = 0b10 (2) | rand_b (62)
"""

from __future__ import annotations

import os
import time
import uuid

_MS_MASK = (1 << 48) - 1


def uuid7(now_ms: int | None = None, random_bytes: bytes | None = None) -> uuid.UUID:
    """A new UUIDv7; ``now_ms`` and ``random_bytes`` (10 bytes) are for tests only."""
    ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    noise = int.from_bytes(os.urandom(10) if random_bytes is None else random_bytes, "big")
    rand_a = noise >> 68 & 0xFFF  # the top 12 of the 80 random bits
    rand_b = noise & (1 << 62) - 1  # the low 62
    value = (ms & _MS_MASK) << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    return uuid.UUID(int=value)


def new_signal_id() -> str:
    return str(uuid7())
