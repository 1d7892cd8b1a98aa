"""Path parameter types shared by the controllers: ids are positive BIGINTs."""

from typing import Annotated

from litestar.params import Parameter

from api.errors import field_error
from api.pagination import MAX_ID

VideoId = Annotated[int, Parameter(ge=1, le=MAX_ID, description="video id")]
ChannelId = Annotated[int, Parameter(ge=1, le=MAX_ID, description="channel id")]


def path_id(value: int, name: str) -> int:
    """The same check as VideoId/ChannelId, for a handler that reads its path parameters itself."""
    if not 1 <= value <= MAX_ID:
        raise field_error(name, f"must be between 1 and {MAX_ID}", source="path")
    return value
