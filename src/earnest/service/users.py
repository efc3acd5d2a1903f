"""Dashboard users, their sign-in and their sessions (SPEC 11).

- **Users** have an email (unique whatever its case), a role, ``admin`` or ``viewer``, and a
  password of 12 characters or more, stored as an argon2id hash. Creating, disabling,
  enabling a user and resetting a password are in the activity log, never the password nor
  its hash. Disabling a user or resetting a password ends the user's sessions.
- **Sign-in** is two steps, so the slow part holds no lock: :meth:`Users.check_sign_in`
  reads and verifies the password (argon2 takes a few hundred milliseconds, on purpose), then
  :meth:`Users.finish_sign_in` records the result in one short write. Every refusal reads the
  same, whether the email exists, the password is wrong or the user is disabled.
- **Throttle**: failures are counted per account (by the email as typed, whether or not such a
  user exists, so a block says nothing about existence) and per address, in the database (so
  every process sees them). Past a few free failures each one blocks its key for twice as long
  as the one before, up to 15 minutes; a failure an hour after the last starts again from one.
- **Sessions** are random tokens, stored as their SHA-256, ending at sign-out and after 12
  hours without a request. ``last_seen_at`` is written at most every 5 minutes, outside the
  audit chains. Each session has its own CSRF secret, which every form carries back.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from earnest.clock import Clock
from earnest.errors import Conflict, Invalid, NotFound, Unauthorized, Unavailable
from earnest.service.activity import append_activity
from earnest.service.pages import Page, check_limit, page_of
from earnest.store import Database, Tx
from earnest.store.codec import to_us
from earnest.store.users import (
    SessionRow,
    Throttle,
    User,
    clear_throttle,
    delete_session,
    delete_sessions_of,
    insert_session,
    insert_user,
    list_users,
    prune_sessions,
    prune_throttles,
    put_throttle,
    session_id,
    session_of,
    set_disabled,
    set_password,
    throttles,
    touch_session,
    user_by_email,
)

__all__ = [
    "CurrentSession",
    "Role",
    "SignInCheck",
    "SignInRefused",
    "SignedIn",
    "TooManySignIns",
    "User",
    "Users",
]

MIN_PASSWORD = 12  # characters (SPEC 11)
MAX_PASSWORD = 1_024  # characters: argon2 hashes anything, but nothing longer is a password
MAX_EMAIL = 254  # characters, as in RFC 5321's path limit
MAX_TOKEN = 128  # characters of a session token as the cookie sends it (ours are 43)
IDLE = timedelta(hours=12)  # a session ends after this long without a request
TOUCH_EVERY = timedelta(minutes=5)  # last_seen_at is written at most this often
ACCOUNT_FREE = 5  # failed sign-ins per account before each one blocks it
ADDRESS_FREE = 20  # per address (an office shares one)
MAX_BLOCK_S = 900  # the longest block: 15 minutes
FORGET_AFTER = timedelta(hours=1)  # a failure this long after the last counts from one again
PRUNE = 100  # expired sessions or forgotten counters deleted per sign-in, at most


class Role(StrEnum):
    ADMIN = "admin"  # everything
    VIEWER = "viewer"  # reads every page; changes nothing


class InvalidEmail(Invalid):
    code = "invalid_email"

    def __init__(self, message: str) -> None:
        super().__init__(message, field="email")


class InvalidPassword(Invalid):
    code = "invalid_password"

    def __init__(self, message: str) -> None:
        super().__init__(message, field="password")


class UserExists(Conflict):
    code = "user_exists"

    def __init__(self, email: str) -> None:
        super().__init__(f"a user with email {email!r} exists already", field="email")


class UnknownUser(NotFound):
    code = "unknown_user"

    def __init__(self, email: str) -> None:
        super().__init__(f"no user with email {email!r}", field="email")


class SignInRefused(Unauthorized):
    """The one answer to a wrong email, a wrong password and a disabled user alike."""

    code = "sign_in_refused"

    def __init__(self) -> None:
        super().__init__("the email or the password is wrong")


class TooManySignIns(Unavailable):
    code = "too_many_sign_ins"

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(
            f"too many failed sign-ins: try again in {retry_after_s} seconds",
            extra={"retry_after_s": retry_after_s},
        )
        self.retry_after_s = retry_after_s


def normalise_email(value: Any) -> tuple[str, str]:
    """``(email as given, trimmed; its case-folded key)``; :class:`InvalidEmail` if it is not
    one address."""
    if not isinstance(value, str):
        raise InvalidEmail("email is text such as finance@example.com")
    email = value.strip()
    local, at, domain = email.rpartition("@")
    if len(email) > MAX_EMAIL:
        raise InvalidEmail(f"email is at most {MAX_EMAIL} characters")
    if not at or not local or "." not in domain.strip(".") or domain != domain.strip("."):
        raise InvalidEmail(f"email is an address such as finance@example.com, got {email!r}")
    if any(c.isspace() or not c.isprintable() for c in email):
        raise InvalidEmail("email must not contain spaces or control characters")
    return email, email.lower()


def check_password(value: Any) -> str:
    if not isinstance(value, str) or len(value) < MIN_PASSWORD:
        raise InvalidPassword(f"a password has at least {MIN_PASSWORD} characters")
    if len(value) > MAX_PASSWORD:
        raise InvalidPassword(f"a password has at most {MAX_PASSWORD} characters")
    if "\x00" in value:
        raise InvalidPassword("a password must not contain U+0000")
    return value


def parse_role(value: Any) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise Invalid(f"role is admin or viewer, got {value!r}", field="role") from None


# The throttle: pure ---------------------------------------------------------------------


def account_key(email_key: str) -> str:
    return f"email:{email_key}"


def address_key(address: str) -> str:
    return f"address:{address}"


def blocked_until(found: Throttle | None, now: datetime) -> datetime | None:
    """When ``found`` stops blocking sign-ins, if it blocks them at ``now``."""
    if found is None or found.blocked_until is None or found.blocked_until <= now:
        return None
    return found.blocked_until


def after_failure(found: Throttle | None, key: str, free: int, now: datetime) -> Throttle:
    """The counter ``key`` after one more failure at ``now``: past ``free`` failures, each
    blocks for 2, 4, 8, … seconds, at most :data:`MAX_BLOCK_S`."""
    fresh = found is None or now - found.last_failure_at >= FORGET_AFTER
    failures = 1 if fresh or found is None else found.failures + 1
    block = None
    if failures > free:
        block = now + timedelta(seconds=min(2 ** min(failures - free, 20), MAX_BLOCK_S))
    return Throttle(key, failures, now, block)


def _retry_after_s(until: datetime, now: datetime) -> int:
    return max(1, int((until - now).total_seconds() + 0.999))


# Sessions -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CurrentSession:
    """A live session and its user (enabled)."""

    user: User
    row: SessionRow

    @property
    def csrf(self) -> str:
        return self.row.csrf

    @property
    def is_admin(self) -> bool:
        return self.user.role == Role.ADMIN


@dataclass(frozen=True, slots=True)
class SignedIn:
    user: User
    token: str  # for the cookie; never stored
    csrf: str


@dataclass(frozen=True, slots=True)
class SignInCheck:
    """What :meth:`Users.check_sign_in` found, for :meth:`Users.finish_sign_in` to record."""

    email_key: str | None  # None: not an email at all (counted per address only)
    address: str
    user: User | None  # the user whose password matched (and who is enabled), else None
    password_hash: str | None  # the hash it matched, to notice a reset in between
    blocked_until: datetime | None


class Users:
    def __init__(self, db: Database, clock: Clock, hasher: PasswordHasher | None = None) -> None:
        self.db = db
        self.clock = clock
        self.hasher = hasher or PasswordHasher()  # argon2id, RFC 9106's low-memory profile
        self._dummy: str | None = None

    # Managing users ------------------------------------------------------------------------

    def create(self, email: Any, role: Any, password: Any, *, actor: str) -> User:
        shown, key = normalise_email(email)
        kind = parse_role(role)
        digest = self.hasher.hash(check_password(password))
        now = self.clock()
        with self.db.write() as tx:
            if user_by_email(tx, key) is not None:
                raise UserExists(shown)
            user = insert_user(
                tx, "u" + secrets.token_hex(5), email=shown, email_key=key, role=kind.value,
                password_hash=digest, now=now,
            )  # fmt: skip
            append_activity(
                tx, at=now, actor=actor, action="user.created", subject=user.id, before=None,
                after={"email": user.email, "role": user.role, "disabled": False},
            )  # fmt: skip
        return user

    def list(self, *, limit: int, after: tuple[int, str] | None = None) -> Page[User]:
        check_limit(limit)
        with self.db.read() as tx:
            found = list_users(tx, limit=limit + 1, after=after)
        return page_of(found, limit, lambda last: (to_us(last.created_at), last.id))

    def get(self, email: Any) -> User:
        shown, key = normalise_email(email)
        with self.db.read() as tx:
            found = user_by_email(tx, key)
        if found is None:
            raise UnknownUser(shown)
        return found[0]

    def set_disabled(self, email: Any, disabled: bool, *, actor: str) -> User:
        """Disable (ending every session at once) or enable the user; doing it twice changes
        nothing and logs nothing. Enabling also lifts a block on the account's sign-ins."""
        shown, key = normalise_email(email)
        now = self.clock()
        with self.db.write() as tx:
            user = self._locked(tx, shown, key)
            if user.disabled == disabled:
                return user
            set_disabled(tx, user.id, disabled)
            if disabled:
                delete_sessions_of(tx, user.id)
            else:
                clear_throttle(tx, account_key(key))
            append_activity(
                tx, at=now, actor=actor, action="user.disabled" if disabled else "user.enabled",
                subject=user.id, before={"disabled": user.disabled}, after={"disabled": disabled},
            )  # fmt: skip
        return replace(user, disabled=disabled)

    def reset_password(self, email: Any, password: Any, *, actor: str) -> User:
        """A new password: the user's sessions end, and a block on its sign-ins is lifted."""
        shown, key = normalise_email(email)
        digest = self.hasher.hash(check_password(password))
        now = self.clock()
        with self.db.write() as tx:
            user = self._locked(tx, shown, key)
            set_password(tx, user.id, digest, now)
            ended = delete_sessions_of(tx, user.id)
            clear_throttle(tx, account_key(key))
            append_activity(
                tx, at=now, actor=actor, action="user.password_reset", subject=user.id,
                before=None, after={"email": user.email, "sessions_ended": ended},
            )  # fmt: skip
        return replace(user, password_changed_at=now)

    def _locked(self, tx: Tx, shown: str, key: str) -> User:
        found = user_by_email(tx, key, lock=True)
        if found is None:
            raise UnknownUser(shown)
        return found[0]

    # Signing in ----------------------------------------------------------------------------

    def check_sign_in(self, email: Any, password: Any, address: str) -> SignInCheck:
        """Read the throttle and the user, and verify the password: no write, no lock, so the
        slow hash holds up nobody. The answer goes to :meth:`finish_sign_in`."""
        now = self.clock()
        try:
            _, key = normalise_email(email)
        except InvalidEmail:
            key = None
        keys = [address_key(address)] + ([] if key is None else [account_key(key)])
        with self.db.read() as tx:
            counters = throttles(tx, keys)
            found = None if key is None else user_by_email(tx, key)
        until = max((b for c in counters.values() if (b := blocked_until(c, now))), default=None)
        if until is not None:
            return SignInCheck(key, address, None, None, until)
        usable = isinstance(password, str) and 0 < len(password) <= MAX_PASSWORD
        digest = found[1] if found is not None else self._dummy_hash()
        matched = usable and self._verify(digest, str(password))
        if found is None or not matched or found[0].disabled:
            return SignInCheck(key, address, None, None, None)
        return SignInCheck(key, address, found[0], digest, None)

    def finish_sign_in(self, check: SignInCheck, *, replacing: str | None = None) -> SignedIn:
        """Record :meth:`check_sign_in`'s answer: a session for a match (ending the session
        whose token is ``replacing``, if any), else one more failure for the account and the
        address. :class:`SignInRefused` or :class:`TooManySignIns` otherwise."""
        now = self.clock()
        with self.db.write() as tx:
            refusal, signed_in = self._conclude(tx, check, now, replacing)
        if signed_in is None:
            assert refusal is not None
            raise refusal
        return signed_in

    def _conclude(
        self, tx: Tx, check: SignInCheck, now: datetime, replacing: str | None
    ) -> tuple[SignInRefused | TooManySignIns | None, SignedIn | None]:
        """In the write transaction: what to answer. A refusal is returned, not raised, so
        that the failure it counts is committed."""
        keys = {address_key(check.address): ADDRESS_FREE}
        if check.email_key is not None:
            keys[account_key(check.email_key)] = ACCOUNT_FREE
        counters = throttles(tx, keys)
        until = max((b for c in counters.values() if (b := blocked_until(c, now))), default=None)
        until = check.blocked_until if until is None else until
        if until is not None:  # not counted: no password was tried
            return TooManySignIns(_retry_after_s(until, now)), None
        user = self._still_valid(tx, check)
        if user is None:
            for key, free in keys.items():
                put_throttle(tx, after_failure(counters.get(key), key, free, now))
            prune_throttles(tx, now - FORGET_AFTER, now, PRUNE)
            return SignInRefused(), None
        assert check.email_key is not None
        clear_throttle(tx, account_key(check.email_key))
        if replacing:
            delete_session(tx, session_id(replacing))
        prune_sessions(tx, now, PRUNE)
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        insert_session(tx, token, user_id=user.id, now=now, expires_at=now + IDLE, csrf=csrf)
        return None, SignedIn(user, token, csrf)

    def _still_valid(self, tx: Tx, check: SignInCheck) -> User | None:
        """The matched user, unless it was disabled or its password reset since the check."""
        if check.user is None or check.email_key is None:
            return None
        found = user_by_email(tx, check.email_key, lock=True)
        if found is None or found[0].disabled or found[1] != check.password_hash:
            return None
        return found[0]

    def sign_in(self, email: Any, password: Any, address: str) -> SignedIn:
        """Both steps at once (the dashboard runs them on different threads)."""
        return self.finish_sign_in(self.check_sign_in(email, password, address))

    def _verify(self, digest: str, password: str) -> bool:
        try:
            return self.hasher.verify(digest, password)
        except (VerificationError, InvalidHashError):
            return False

    def _dummy_hash(self) -> str:
        """A hash to verify against when no user has the email: the answer takes as long."""
        if self._dummy is None:
            self._dummy = self.hasher.hash(secrets.token_urlsafe(24))
        return self._dummy

    # Sessions ------------------------------------------------------------------------------

    def session(self, token: str | None) -> CurrentSession | None:
        """The live session whose cookie holds ``token``: None when it is unknown, signed
        out, idle too long, or its user disabled. One statement, no snapshot."""
        if not token or len(token) > MAX_TOKEN or not token.isascii():
            return None
        now = self.clock()
        with self.db.autocommit() as tx:
            found = session_of(tx, token)
        if found is None:
            return None
        row, user = found
        if row.expires_at <= now or user.disabled:
            return None
        return CurrentSession(user, row)

    def needs_touch(self, current: CurrentSession, now: datetime) -> bool:
        return now - current.row.last_seen_at >= TOUCH_EVERY

    def touch(self, current: CurrentSession) -> None:
        """Note a request at now: the session's 12 idle hours start again."""
        now = self.clock()
        with self.db.write() as tx:
            touch_session(tx, current.row.id, now, now + IDLE)

    def sign_out(self, token: str | None) -> bool:
        """End the session whose cookie holds ``token``; False when there was none."""
        if not token or len(token) > MAX_TOKEN or not token.isascii():
            return False
        with self.db.write() as tx:
            return delete_session(tx, session_id(token))
