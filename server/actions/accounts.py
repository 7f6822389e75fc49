"""Accounts: registration, login with limits, logout, password change."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import asyncpg

from server import passwords, tokens
from server.actions import events
from server.db.queries import sessions, users
from server.db.queries.users import User
from server.errors import AppError, Conflict, InvalidInput, bad_request, rate_limited
from server.i18n import _
from server.ratelimit import LOGIN_FAILURES_PER_ACCOUNT, LOGIN_FAILURES_PER_IP, REGISTRATIONS_PER_IP, RateLimiter

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{3,32}$")
# Names no member may take; refusing them with the same words as a taken name means the
# registration answer never confirms that a particular account exists.
RESERVED_USERNAMES = frozenset(
    {
        "admin",
        "administrator",
        "kindred",
        "moderator",
        "moderators",
        "leader",
        "leaders",
        "support",
        "help",
        "root",
        "system",
        "staff",
        "team",
        "official",
        "security",
        "api",
        "www",
        "mail",
        "anonymous",
        "deleted",
    }
)
EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,185}\.[^@\s]{2,63}$")


@cache
def common_passwords() -> frozenset[str]:
    path = Path(__file__).resolve().parent.parent / "data" / "common_passwords.txt"
    return frozenset(
        line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")
    )


@dataclass(frozen=True)
class NewSession:
    token: str
    user: User


def check_username(username: str) -> str:
    username = username.strip()
    if not USERNAME_PATTERN.match(username):
        raise bad_request(_("A username has 3 to 32 letters, digits, dots, dashes or underscores."), "username")
    return username


def username_unavailable() -> AppError:
    return Conflict(_("That username is not available. Please choose another."), field="username")


def check_password(password: str, username: str = "") -> str:
    if len(password) < passwords.MIN_LENGTH:
        raise bad_request(_("Please choose a password of at least 8 characters."), "password")
    if len(password) > passwords.MAX_LENGTH:
        raise bad_request(_("A password can have at most 128 characters."), "password")
    if password.lower() in common_passwords() or (username and password.lower() == username.lower()):
        raise bad_request(_("That password is too common and easy to guess. Please choose another."), "password")
    return password


def check_display_name(display_name: str, fallback: str) -> str:
    display_name = " ".join(display_name.split())
    if not display_name:
        return fallback
    if len(display_name) > 80:
        raise bad_request(_("A display name can have at most 80 characters."), "display_name")
    return display_name


def check_email(email: str) -> str | None:
    email = email.strip()
    if not email:
        return None
    if len(email) > 254 or not EMAIL_PATTERN.match(email):
        raise bad_request(
            _("That email address does not look right (it is optional: you can leave it empty)."), "email"
        )
    return email


async def _start_session(connection: asyncpg.Connection, user: User, user_agent: str) -> NewSession:
    token = tokens.new_token()
    await sessions.create(
        connection,
        id_hash=tokens.hash_token(token),
        user_id=user.id,
        csrf_token=tokens.new_token(),
        lifetime=tokens.SESSION_LIFETIME,
        user_agent=user_agent,
    )
    return NewSession(token, user)


async def do_register(
    connection: asyncpg.Connection,
    limiter: RateLimiter,
    *,
    username: str,
    password: str,
    display_name: str = "",
    email: str = "",
    ip: str,
    user_agent: str = "",
) -> NewSession:
    username = check_username(username)
    check_password(password, username)
    clean_display = check_display_name(display_name, username)
    clean_email = check_email(email)
    if not await limiter.hit(REGISTRATIONS_PER_IP, ip):
        raise rate_limited(_("Too many new accounts from this network; please try again later."))
    async with events.unit_of_work(connection):
        if username.lower() in RESERVED_USERNAMES or username.lower().startswith("deleted-"):
            raise username_unavailable()
        user = await users.create(
            connection,
            username=username,
            display_name=clean_display,
            password_hash=passwords.hash_password(password),
            email=clean_email,
        )
        if user is None:
            raise username_unavailable()
        return await _start_session(connection, user, user_agent)


async def do_login(
    connection: asyncpg.Connection, limiter: RateLimiter, *, username: str, password: str, ip: str, user_agent: str = ""
) -> NewSession:
    """Log in; the same answer for an unknown username and a wrong password, in the same time."""
    account_key = username.strip().lower()[:64]
    if await limiter.exceeded(LOGIN_FAILURES_PER_IP, ip) or await limiter.exceeded(
        LOGIN_FAILURES_PER_ACCOUNT, account_key
    ):
        raise rate_limited(_("Too many attempts. Please wait a few minutes and try again."))
    found = await users.credentials(connection, username.strip())
    valid = passwords.verify_password(found.password_hash if found else passwords.DUMMY_HASH, password)
    if found is None or not valid:
        await limiter.hit(LOGIN_FAILURES_PER_IP, ip)
        await limiter.hit(LOGIN_FAILURES_PER_ACCOUNT, account_key)
        raise InvalidInput(_("The username or password is not right."), code="invalid_login")
    if found.password_hash and passwords.needs_rehash(found.password_hash):
        await users.set_password_hash(connection, found.id, passwords.hash_password(password))
    await limiter.reset(LOGIN_FAILURES_PER_ACCOUNT, account_key)
    user = await users.by_id(connection, found.id)
    assert user is not None
    return await _start_session(connection, user, user_agent)


async def do_logout(connection: asyncpg.Connection, session_hash: bytes) -> int | None:
    """End the session on the server; returns the user id so live sockets can be closed."""
    return await sessions.delete(connection, session_hash)


async def do_change_password(
    connection: asyncpg.Connection, user: User, *, current: str, new: str, keep_session: bytes | None
) -> None:
    if not passwords.verify_password(await users.password_hash(connection, user.id), current):
        raise bad_request(_("Your current password is not right."), "current_password")
    check_password(new, user.username)
    async with events.unit_of_work(connection):
        await users.set_password_hash(connection, user.id, passwords.hash_password(new))
        # Every other device is signed out: a changed password must lock out whoever had the old one.
        await sessions.delete_for_user(connection, user.id, keep=keep_session)
