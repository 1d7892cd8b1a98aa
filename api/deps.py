"""Dependency providers: the app state and the caller's identity."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotAuthorizedException

from api.caller import Caller
from api.domain.users.schemas import User
from api.domain.users.services import authenticate
from api.security import bearer_token
from api.state import AppState

# How handlers ask for what the providers below give (Litestar matches dependencies by name).
App = NamedDependency[AppState]
RequestCaller = NamedDependency[Caller]  # who sent the request: address, key header, user agent
Viewer = NamedDependency[User | None]  # the caller, or None when anonymous
CurrentUser = NamedDependency[User]  # the caller; anonymous -> 401


def provide_app(state: State) -> AppState:
    app_state: AppState = state.app
    return app_state


def provide_caller(request: Request[Any, Any, Any]) -> Caller:
    return Caller.of(request.scope)


async def provide_viewer(app: App, caller: RequestCaller) -> User | None:
    return await viewer_of(app, caller)


async def viewer_of(app: AppState, caller: Caller) -> User | None:
    """The authenticated user, or None for an anonymous request; a bad key is a 401, never anonymous."""
    if caller.authorization is None:
        return None
    token = bearer_token(caller.authorization)
    if token is None:
        raise NotAuthorizedException(detail="Authorization must be 'Bearer <api key>'")
    return await authenticate(app, token, caller.ip)


def provide_user(viewer: Viewer) -> User:
    if viewer is None:
        raise NotAuthorizedException(
            detail="this call needs an API key: Authorization: Bearer <api key>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return viewer


dependencies = {
    "app": Provide(provide_app, sync_to_thread=False),
    "caller": Provide(provide_caller, sync_to_thread=False),
    "viewer": Provide(provide_viewer),
    "user": Provide(provide_user, sync_to_thread=False),
}
