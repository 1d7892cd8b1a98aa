from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class UserCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name


class User(msgspec.Struct):
    user_id: int
    name: str
    created_at: datetime


class UserCreated(msgspec.Struct):
    user_id: int
    name: str
    created_at: datetime
    api_key: str  # shown once; only its hash is stored
