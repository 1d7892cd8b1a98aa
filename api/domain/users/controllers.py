from __future__ import annotations

from litestar import Controller, get, post
from litestar.params import JSONBody

from api.contract import KEY, answers
from api.deps import CurrentUser, Users
from api.domain.users.schemas import User, UserCreate, UserCreated


class UserController(Controller):
    path = "/v1"
    tags = ["users"]

    @post("/users", summary="Create a user and its API key (shown once)", responses=answers(body=True))
    async def create_user(self, users: Users, data: JSONBody[UserCreate]) -> UserCreated:
        return await users.create(data.name)

    @get("/me", summary="The authenticated user", responses=answers(401), security=KEY)
    async def me(self, user: CurrentUser) -> User:
        return user
