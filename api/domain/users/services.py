from __future__ import annotations

from api import security
from api.domain.errors import RateLimited, Unauthenticated
from api.domain.users import repositories as repo
from api.domain.users.schemas import User, UserCreated
from api.state import AppState


async def create_user(state: AppState, name: str) -> UserCreated:
    secret = security.new_secret()
    async with state.db.primary.begin() as conn:
        user_id = await repo.insert(conn, name, security.hash_secret(state.settings.api_key_pepper, secret))
        found = await repo.get_with_hash(conn, user_id)
    assert found is not None
    user, _ = found
    return UserCreated(
        user_id=user.user_id,
        name=user.name,
        created_at=user.created_at,
        api_key=security.format_key(user_id, secret),
    )


async def authenticate(state: AppState, token: str, client_ip: str) -> User:
    """The user an API key belongs to. A valid key always gets through: failure limits never lock
    out a good key, so one guesser behind a shared NAT or proxy cannot lock everyone out. Failures
    are counted per client address and per user id the key names (`vs_<user_id>_...`): past the
    limit in either, a failed attempt is answered 429 instead of 401. Keys carry 256 random bits,
    so the limit is about the guesser's cost and noise, not the secret's strength; a verification
    is one primary-key lookup and an HMAC, and a key this process verified in the last minute is
    not looked up again (keys never change; only their HMAC is kept as the cache key)."""
    parsed = security.parse_key(token)
    pepper = state.settings.api_key_pepper
    cache_key = (parsed.user_id, security.hash_secret(pepper, parsed.secret)) if parsed else None
    if cache_key is not None and (known := state.verified_keys.get(cache_key)) is not None:
        return known
    found = None
    if parsed is not None:
        async with state.db.primary.connect() as conn:
            found = await repo.get_with_hash(conn, parsed.user_id)
    if (
        parsed is not None
        and cache_key is not None
        and found is not None
        and security.secret_matches(pepper, parsed.secret, found[1])
    ):
        state.verified_keys[cache_key] = found[0]
        return found[0]
    counted = [f"ip:{client_ip}"] + ([f"user:{parsed.user_id}"] if parsed else [])
    limit = state.settings.auth_failures_per_window
    for hits, reset in [await state.auth_failures.hit(key) for key in counted]:
        if hits > limit:
            raise RateLimited(
                "too many failed authentications from this address or for this user", limit, reset
            )
    raise Unauthenticated("invalid API key")
