from __future__ import annotations

from cachetools import TTLCache

from api import security
from api.db import Database
from api.domain.errors import RateLimited, Unauthenticated
from api.domain.users import repositories as repo
from api.domain.users.schemas import User, UserCreated
from api.ratelimit import FixedWindow

__all__ = ["UserService"]


class UserService:
    """Users and their API keys. `auth_failures` counts failed authentications per window;
    past `failures_per_window` a failure is answered 429 instead of 401."""

    def __init__(
        self, db: Database, pepper: bytes, auth_failures: FixedWindow, failures_per_window: int
    ) -> None:
        self.db, self.pepper = db, pepper
        self.auth_failures, self.failures_per_window = auth_failures, failures_per_window
        # Keys this process verified in the last minute: (user id, HMAC of the secret) -> user.
        self.verified: TTLCache[tuple[int, bytes], User] = TTLCache(maxsize=100_000, ttl=60)

    async def create(self, name: str) -> UserCreated:
        secret = security.new_secret()
        async with self.db.primary.begin() as conn:
            user_id = await repo.insert(conn, name, security.hash_secret(self.pepper, secret))
            found = await repo.get_with_hash(conn, user_id)
        assert found is not None
        user, _ = found
        return UserCreated(
            user_id=user.user_id,
            name=user.name,
            created_at=user.created_at,
            api_key=security.format_key(user_id, secret),
        )

    async def authenticate(self, token: str, client_ip: str) -> User:
        """The user an API key belongs to. A valid key always gets through: failure limits never lock
        out a good key, so one guesser behind a shared NAT or proxy cannot lock everyone out. Failures
        are counted per client address and per user id the key names (`vs_<user_id>_...`): past the
        limit in either, a failed attempt is answered 429 instead of 401. Keys carry 256 random bits,
        so the limit is about the guesser's cost and noise, not the secret's strength; a verification
        is one primary-key lookup and an HMAC, and a key this process verified in the last minute is
        not looked up again (keys never change; only their HMAC is kept as the cache key)."""
        parsed = security.parse_key(token)
        cache_key = (parsed.user_id, security.hash_secret(self.pepper, parsed.secret)) if parsed else None
        if cache_key is not None and (known := self.verified.get(cache_key)) is not None:
            return known
        found = None
        if parsed is not None:
            async with self.db.primary.connect() as conn:
                found = await repo.get_with_hash(conn, parsed.user_id)
        if (
            parsed is not None
            and cache_key is not None
            and found is not None
            and security.secret_matches(self.pepper, parsed.secret, found[1])
        ):
            self.verified[cache_key] = found[0]
            return found[0]
        counted = [f"ip:{client_ip}"] + ([f"user:{parsed.user_id}"] if parsed else [])
        limit = self.failures_per_window
        for hits, reset in [await self.auth_failures.hit(key) for key in counted]:
            if hits > limit:
                raise RateLimited(
                    "too many failed authentications from this address or for this user", limit, reset
                )
        raise Unauthenticated("invalid API key")
