"""Webhook secrets at rest (SPEC 10): encrypted with a key derived from
``EARNEST_SECRET_KEY`` when it is set (Fernet: AES-128-CBC with HMAC-SHA256), else stored as
they are. The stored text says which (``fernet:`` or ``plain:``), so a key set later still
reads older plain secrets, and a sealed secret without the key is refused by name rather
than sent garbled.

Without ``EARNEST_SECRET_KEY``, anyone who can read the database can read the secrets and
forge webhooks the vendor's systems would accept: set it in production, and keep it outside
the database (docs/webhooks.md).
"""

from __future__ import annotations

import base64
import hashlib
import os

from earnest.errors import Unavailable

ENV = "EARNEST_SECRET_KEY"


class SecretKeyMissing(Unavailable):
    code = "secret_key_missing"

    def __init__(self) -> None:
        super().__init__(
            f"webhook secrets are encrypted but {ENV} is not set (or is another key):"
            " set the key they were sealed with"
        )


def _fernet(key: str) -> object:
    from cryptography.fernet import Fernet  # only where secrets are sealed  # noqa: PLC0415

    derived = hashlib.sha256(key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(derived))


def seal(secret: str) -> str:
    key = os.environ.get(ENV)
    if not key:
        return "plain:" + secret
    token: bytes = _fernet(key).encrypt(secret.encode())  # type: ignore[attr-defined]
    return "fernet:" + token.decode()


def unseal(stored: str) -> str:
    kind, _, value = stored.partition(":")
    if kind == "plain":
        return value
    assert kind == "fernet", f"unknown sealing {kind!r}"
    key = os.environ.get(ENV)
    if not key:
        raise SecretKeyMissing()
    from cryptography.fernet import InvalidToken  # noqa: PLC0415

    try:
        opened: bytes = _fernet(key).decrypt(value.encode())  # type: ignore[attr-defined]
    except InvalidToken:
        raise SecretKeyMissing() from None
    return opened.decode()
