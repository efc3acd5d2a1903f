"""Dashboard users, sign-in and sessions (SPEC 11) on SQLite and PostgreSQL: passwords as
argon2 hashes, refusals that never tell whether an email exists, failed sign-ins slowed per
account and per address, sessions ending at sign-out, after 12 idle hours, and when the user
is disabled or its password reset."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST

from earnest.errors import Invalid
from earnest.service.activity import CLI, Activity
from earnest.service.users import (
    ACCOUNT_FREE,
    ADDRESS_FREE,
    FORGET_AFTER,
    IDLE,
    MAX_BLOCK_S,
    TOUCH_EVERY,
    InvalidEmail,
    InvalidPassword,
    SignInRefused,
    TooManySignIns,
    UnknownUser,
    UserExists,
    Users,
    after_failure,
)
from earnest.store import Database
from earnest.store.users import Throttle
from tests.contracts import T0

CHEAP = PasswordHasher.from_parameters(CHEAPEST)
PASSWORD = "correct horse battery"
HERE = "192.0.2.1"


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def users(db: Database, clock: Clock) -> Users:
    found = Users(db, clock, hasher=CHEAP)
    found.create("Ada@Example.com", "admin", PASSWORD, actor=CLI)
    return found


def activity(db: Database) -> list[tuple[str, str, str]]:
    entries = Activity(db).list(limit=100).items
    return [(e.actor, e.action, e.subject) for e in reversed(entries)]


def test_a_user_is_stored_with_an_argon2_hash_and_logged_without_it(db: Database) -> None:
    users = Users(db, Clock(), hasher=CHEAP)
    user = users.create(" Ada@Example.com ", "viewer", PASSWORD, actor=CLI)
    assert (user.email, user.role, user.disabled) == ("Ada@Example.com", "viewer", False)
    with db.read() as tx:
        [(stored, key)] = tx.query("SELECT password_hash, email_key FROM users")
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert key == "ada@example.com"
    [entry] = Activity(db).list(limit=10).items
    assert (entry.actor, entry.action, entry.subject) == (CLI, "user.created", user.id)
    assert entry.after == {"email": "Ada@Example.com", "role": "viewer", "disabled": False}
    assert "argon2" not in str(entry.after)
    assert users.list(limit=10).items == [user]


def test_an_email_is_unique_whatever_its_case(users: Users) -> None:
    with pytest.raises(UserExists):
        users.create("ADA@example.COM", "viewer", PASSWORD, actor=CLI)
    assert len(users.list(limit=10).items) == 1


@pytest.mark.parametrize(
    ("email", "role", "password", "error"),
    [
        ("not-an-email", "admin", PASSWORD, InvalidEmail),
        ("a@b", "admin", PASSWORD, InvalidEmail),
        ("a b@example.com", "admin", PASSWORD, InvalidEmail),
        ("x" * 250 + "@example.com", "admin", PASSWORD, InvalidEmail),
        ("b@example.com", "owner", PASSWORD, Invalid),
        ("b@example.com", "admin", "eleven chars", None),  # 12 characters: accepted
        ("c@example.com", "admin", "eleven char", InvalidPassword),
        ("d@example.com", "admin", "x" * 1025, InvalidPassword),
        ("e@example.com", "admin", "twelve chars\x00", InvalidPassword),
    ],
)
def test_what_a_user_must_be(
    users: Users, email: str, role: str, password: str, error: type[Exception] | None
) -> None:
    if error is None:
        assert users.create(email, role, password, actor=CLI).email == email
        return
    with pytest.raises(error):
        users.create(email, role, password, actor=CLI)
    assert len(users.list(limit=10).items) == 1


def test_sign_in_starts_a_session_that_ends_at_sign_out(users: Users) -> None:
    signed = users.sign_in("ada@EXAMPLE.com", PASSWORD, HERE)
    current = users.session(signed.token)
    assert current is not None
    assert current.user.email == "Ada@Example.com"
    assert current.is_admin
    assert current.csrf == signed.csrf
    assert signed.csrf != signed.token
    with users.db.read() as tx:
        stored = [row[0] for row in tx.query("SELECT id FROM sessions")]
    assert signed.token not in stored  # only its hash
    assert users.sign_out(signed.token) is True
    assert users.session(signed.token) is None
    assert users.sign_out(signed.token) is False


@pytest.mark.parametrize("token", ["", "x" * 43, "x" * 500, "é" * 43, None])
def test_a_forged_token_has_no_session(users: Users, token: str | None) -> None:
    users.sign_in("ada@example.com", PASSWORD, HERE)
    assert users.session(token) is None


def test_every_refusal_reads_the_same(users: Users) -> None:
    users.create("off@example.com", "viewer", PASSWORD, actor=CLI)
    users.set_disabled("off@example.com", True, actor=CLI)
    tries = [
        ("ada@example.com", "wrong password!"),
        ("nobody@example.com", PASSWORD),
        ("off@example.com", PASSWORD),
        ("not an email", PASSWORD),
        ("ada@example.com", ""),
        ("ada@example.com", "x" * 5000),
    ]
    messages: set[tuple[str, str]] = set()
    for email, password in tries:
        with pytest.raises(SignInRefused) as refused:
            users.sign_in(email, password, f"198.51.100.{len(messages)}")
        messages.add((refused.value.code, refused.value.message))
    assert messages == {("sign_in_refused", "the email or the password is wrong")}


def _fail(users: Users, email: str, address: str, times: int) -> None:
    for _ in range(times):
        with pytest.raises(SignInRefused):
            users.sign_in(email, "wrong password!", address)


def test_failures_block_an_account_whether_or_not_it_exists(users: Users, clock: Clock) -> None:
    for email in ("ada@example.com", "nobody@example.com"):
        for n in range(ACCOUNT_FREE):  # from as many addresses: the account is counted
            with pytest.raises(SignInRefused):
                users.sign_in(email, "wrong password!", f"203.0.113.{n}")
        with pytest.raises(SignInRefused):  # the first past the free ones is still tried
            users.sign_in(email, "wrong password!", "203.0.113.50")
        with pytest.raises(TooManySignIns) as blocked:  # even the right password now
            users.sign_in(email, PASSWORD, "203.0.113.51")
        assert blocked.value.retry_after_s == 2
    clock.advance(seconds=2)
    assert users.session(users.sign_in("ada@example.com", PASSWORD, HERE).token) is not None
    # a success clears the account's count: its next failure is free again
    _fail(users, "ada@example.com", HERE, 1)
    assert users.sign_in("ada@example.com", PASSWORD, HERE).token


def test_failures_block_an_address_for_every_account(users: Users, clock: Clock) -> None:
    for n in range(ADDRESS_FREE + 1):
        with pytest.raises(SignInRefused):
            users.sign_in(f"guess{n}@example.com", "wrong password!", HERE)
    with pytest.raises(TooManySignIns):
        users.sign_in("ada@example.com", PASSWORD, HERE)
    assert users.sign_in("ada@example.com", PASSWORD, "192.0.2.2").token  # another address
    clock.advance(seconds=2)
    assert users.sign_in("ada@example.com", PASSWORD, HERE).token


def test_each_failure_past_the_free_ones_doubles_the_block() -> None:
    found: Throttle | None = None
    blocks = []
    now = T0
    for _ in range(ACCOUNT_FREE + 12):
        found = after_failure(found, "email:a@example.com", ACCOUNT_FREE, now)
        until = found.blocked_until
        blocks.append(None if until is None else int((until - now).total_seconds()))
        now = until or now + timedelta(seconds=1)
    assert blocks[:ACCOUNT_FREE] == [None] * ACCOUNT_FREE
    assert blocks[ACCOUNT_FREE:] == [2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900]
    assert max(b for b in blocks if b) == MAX_BLOCK_S
    fresh = after_failure(found, "email:a@example.com", ACCOUNT_FREE, now + FORGET_AFTER)
    assert (fresh.failures, fresh.blocked_until) == (1, None)


def test_a_blocked_attempt_is_not_counted(users: Users, clock: Clock) -> None:
    _fail(users, "ada@example.com", HERE, ACCOUNT_FREE + 1)
    for _ in range(5):
        with pytest.raises(TooManySignIns) as blocked:
            users.sign_in("ada@example.com", "wrong password!", HERE)
    assert blocked.value.retry_after_s == 2  # not lengthened by the tries while blocked


def test_a_reset_or_enabling_lifts_an_accounts_block(users: Users) -> None:
    _fail(users, "ada@example.com", "192.0.2.7", ACCOUNT_FREE + 1)
    with pytest.raises(TooManySignIns):
        users.sign_in("ada@example.com", PASSWORD, HERE)
    users.reset_password("ada@example.com", "a brand new password", actor=CLI)
    assert users.sign_in("ada@example.com", "a brand new password", HERE).token
    with pytest.raises(SignInRefused):
        users.sign_in("ada@example.com", PASSWORD, HERE)  # the old password is gone


def test_a_session_ends_after_twelve_idle_hours(users: Users, clock: Clock) -> None:
    signed = users.sign_in("ada@example.com", PASSWORD, HERE)
    clock.advance(hours=11)
    current = users.session(signed.token)
    assert current is not None
    assert users.needs_touch(current, clock())
    users.touch(current)  # a request at 11 h: another 12 idle hours from here
    clock.advance(hours=11, minutes=59)
    current = users.session(signed.token)
    assert current is not None
    assert not users.needs_touch(current, current.row.last_seen_at + TOUCH_EVERY / 2)
    clock.advance(minutes=1)
    assert users.session(signed.token) is None
    assert timedelta(hours=12) == IDLE


def test_disabling_ends_every_session_and_enabling_does_not_revive_them(
    users: Users, db: Database
) -> None:
    first = users.sign_in("ada@example.com", PASSWORD, HERE)
    second = users.sign_in("ada@example.com", PASSWORD, "192.0.2.9")
    users.set_disabled("ada@example.com", True, actor=CLI)
    assert users.session(first.token) is None
    assert users.session(second.token) is None
    with pytest.raises(SignInRefused):
        users.sign_in("ada@example.com", PASSWORD, HERE)
    users.set_disabled("ADA@example.com", True, actor=CLI)  # twice: nothing more logged
    users.set_disabled("ada@example.com", False, actor=CLI)
    assert users.session(first.token) is None
    assert users.sign_in("ada@example.com", PASSWORD, HERE).token
    actions = [action for _, action, _ in activity(db)]
    assert actions == ["user.created", "user.disabled", "user.enabled"]


def test_a_password_reset_ends_sessions_and_is_logged_without_the_password(
    users: Users, db: Database
) -> None:
    signed = users.sign_in("ada@example.com", PASSWORD, HERE)
    users.reset_password("ada@example.com", "another long password", actor="ops")
    assert users.session(signed.token) is None
    entries = Activity(db).list(limit=10).items
    assert (entries[0].actor, entries[0].action) == ("ops", "user.password_reset")
    assert entries[0].after == {"email": "Ada@Example.com", "sessions_ended": 1}
    assert "another long password" not in str([e.after for e in entries])
    with pytest.raises(UnknownUser):
        users.reset_password("nobody@example.com", "another long password", actor=CLI)


def test_a_check_is_void_if_the_password_changed_before_it_is_recorded(users: Users) -> None:
    check = users.check_sign_in("ada@example.com", PASSWORD, HERE)
    assert check.user is not None
    users.reset_password("ada@example.com", "another long password", actor=CLI)
    with pytest.raises(SignInRefused):
        users.finish_sign_in(check)


def test_signing_in_again_replaces_the_browsers_session(users: Users) -> None:
    first = users.sign_in("ada@example.com", PASSWORD, HERE)
    check = users.check_sign_in("ada@example.com", PASSWORD, HERE)
    second = users.finish_sign_in(check, replacing=first.token)
    assert users.session(first.token) is None
    assert users.session(second.token) is not None


def test_expired_sessions_and_old_counters_are_pruned(
    users: Users, clock: Clock, db: Database
) -> None:
    users.sign_in("ada@example.com", PASSWORD, HERE)
    _fail(users, "someone@example.com", "192.0.2.3", 1)
    clock.advance(hours=13)
    users.sign_in("ada@example.com", PASSWORD, HERE)  # prunes the expired session
    _fail(users, "other@example.com", "192.0.2.4", 1)  # prunes the hour-old counters
    with db.read() as tx:
        sessions = tx.query("SELECT COUNT(*) FROM sessions")[0][0]
        keys = sorted(row[0] for row in tx.query("SELECT key FROM signin_throttle"))
    assert sessions == 1
    assert keys == ["address:192.0.2.4", "email:other@example.com"]


def test_failures_counted_by_one_process_block_sign_ins_in_another(
    users: Users, db: Database, clock: Clock
) -> None:
    elsewhere = Users(db, clock, hasher=CHEAP)  # another process on the same database
    _fail(users, "ada@example.com", "192.0.2.20", ACCOUNT_FREE)
    _fail(elsewhere, "ada@example.com", "192.0.2.21", 1)
    for process in (users, elsewhere):
        with pytest.raises(TooManySignIns):
            process.sign_in("ada@example.com", PASSWORD, HERE)
    clock.advance(seconds=2)
    signed = elsewhere.sign_in("ada@example.com", PASSWORD, HERE)
    assert users.session(signed.token) is not None
