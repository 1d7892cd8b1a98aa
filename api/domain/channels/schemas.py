from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

Title = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Description = Annotated[str, msgspec.Meta(max_length=5000)]


class ChannelCreate(msgspec.Struct, forbid_unknown_fields=True):
    title: Title
    description: Description = ""


class ChannelUpdate(msgspec.Struct, forbid_unknown_fields=True):
    title: Title | msgspec.UnsetType = msgspec.UNSET
    description: Description | msgspec.UnsetType = msgspec.UNSET


class Channel(msgspec.Struct):
    channel_id: int
    owner_id: int
    title: str
    description: str
    created_at: datetime
    updated_at: datetime
