"""Session and CSRF tokens: 256 random bits, URL-safe; sessions are stored only as a hash."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

SESSION_LIFETIME = timedelta(days=30)


def new_token() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> bytes:
    # A stolen copy of the sessions table cannot be replayed as cookies.
    return hashlib.sha256(token.encode()).digest()
