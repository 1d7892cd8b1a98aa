"""Dependency providers: the app state and the caller's identity."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotAuthorizedException

from api.domain.users.schemas import User
from api.domain.users.services import authenticate
from api.security import bearer_token
from api.state import AppState

# How handlers ask for what the providers below give (Litestar matches dependencies by name).
App = NamedDependency[AppState]
Viewer = NamedDependency[User | None]  # the caller, or None when anonymous
CurrentUser = NamedDependency[User]  # the caller; anonymous -> 401


def provide_app(state: State) -> AppState:
    app_state: AppState = state.app
    return app_state


async def provide_viewer(request: Request[Any, Any, Any], app: App) -> User | None:
    client_ip = request.client.host if request.client else "unknown"
    return await viewer_of(app, request.headers.get("authorization"), client_ip)


async def viewer_of(app: AppState, authorization: str | None, client_ip: str) -> User | None:
    """The authenticated user, or None for an anonymous request; a bad key is a 401, never anonymous."""
    if authorization is None:
        return None
    token = bearer_token(authorization)
    if token is None:
        raise NotAuthorizedException(detail="Authorization must be 'Bearer <api key>'")
    return await authenticate(app, token, client_ip)


def provide_user(viewer: Viewer) -> User:
    if viewer is None:
        raise NotAuthorizedException(
            detail="this call needs an API key: Authorization: Bearer <api key>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return viewer


dependencies = {
    "app": Provide(provide_app, sync_to_thread=False),
    "viewer": Provide(provide_viewer),
    "user": Provide(provide_user, sync_to_thread=False),
}
