from __future__ import annotations

from litestar.exceptions import NotAuthorizedException, TooManyRequestsException

from api import security
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
    """The user an API key belongs to. Failures are counted per client IP, so guessing keys (each
    one a fresh rate-limit identity) is itself limited. A key this process verified in the last
    minute is not looked up again (keys never change; only their HMAC is kept as the cache key)."""
    parsed = security.parse_key(token)
    pepper = state.settings.api_key_pepper
    cache_key = (parsed.user_id, security.hash_secret(pepper, parsed.secret)) if parsed else None
    if cache_key is not None and (known := state.verified_keys.get(cache_key)) is not None:
        return known
    failures_key = f"ip:{client_ip}"
    if await state.auth_failures.count(failures_key) >= state.settings.auth_failures_per_window:
        raise TooManyRequestsException(
            detail="too many failed authentications from this address",
            headers={"Retry-After": str(state.settings.rate_limit_window_seconds)},
        )
    found = None
    if parsed is not None:
        async with state.db.primary.connect() as conn:
            found = await repo.get_with_hash(conn, parsed.user_id)
    if (
        parsed is None
        or cache_key is None
        or found is None
        or not security.secret_matches(pepper, parsed.secret, found[1])
    ):
        await state.auth_failures.hit(failures_key)
        raise NotAuthorizedException(detail="invalid API key")
    state.verified_keys[cache_key] = found[0]
    return found[0]
