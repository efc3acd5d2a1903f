"""Webhook signatures per the Standard Webhooks specification (SPEC 10).

A secret is ``whsec_`` and the base64 of 32 random bytes. A request carries ``webhook-id``
(the event's id, the same on every retry), ``webhook-timestamp`` (unix seconds of this
attempt) and ``webhook-signature``: ``v1,`` and the base64 HMAC-SHA256 of
``{id}.{timestamp}.{body}`` keyed with the secret's decoded part; during a rotation, one
signature per secret, space-separated. ``tests/service/test_signing.py`` checks every
signature with the ``standardwebhooks`` package, an independent implementation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence

PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    assert secret.startswith(PREFIX), "a webhook secret starts with whsec_"
    return base64.b64decode(secret[len(PREFIX) :])


def sign(secret: str, event_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` signature of ``{id}.{timestamp}.{body}``."""
    message = f"{event_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), message, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(event_id: str, timestamp: int, body: bytes, secrets_: Sequence[str]) -> dict[str, str]:
    """The request's signature headers, signed with every secret given (the current one
    first; the previous one too during a rotation)."""
    assert secrets_, "an endpoint always has a secret"
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(s, event_id, timestamp, body) for s in secrets_),
        "content-type": "application/json",
    }
