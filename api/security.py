"""API keys: `vs_<user_id>_<secret>`. The user id routes the lookup to one shard; only
HMAC-SHA256(pepper, secret) is stored, and it is compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

_KEY = re.compile(r"vs_([1-9][0-9]{0,18})_([A-Za-z0-9_-]{43})")


@dataclass(frozen=True, slots=True)
class ParsedKey:
    user_id: int
    secret: str


def new_secret() -> str:
    return secrets.token_urlsafe(32)  # 43 characters, 256 bits


def format_key(user_id: int, secret: str) -> str:
    return f"vs_{user_id}_{secret}"


def parse_key(key: str) -> ParsedKey | None:
    match = _KEY.fullmatch(key)
    if match is None:
        return None
    return ParsedKey(user_id=int(match.group(1)), secret=match.group(2))


def hash_secret(pepper: bytes, secret: str) -> bytes:
    return hmac.new(pepper, secret.encode(), hashlib.sha256).digest()


def secret_matches(pepper: bytes, secret: str, stored_hash: bytes) -> bool:
    return hmac.compare_digest(hash_secret(pepper, secret), stored_hash)


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None
