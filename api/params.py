"""Path and query parameter types shared by the controllers: ids are positive BIGINTs; pages are
1-100 items, continued by an opaque cursor."""

from typing import Annotated

from litestar.params import Parameter

from api.domain.errors import InvalidInput
from api.pagination import MAX_ID

# Litestar publishes ge/le as floats, and 2^63-1 is no float: the document gets the exact integers.
ID_BOUNDS = {"minimum": 1, "maximum": MAX_ID}
VideoId = Annotated[int, Parameter(ge=1, le=MAX_ID, description="video id", schema_extra=ID_BOUNDS)]
ChannelId = Annotated[int, Parameter(ge=1, le=MAX_ID, description="channel id", schema_extra=ID_BOUNDS)]
PageLimit = Annotated[int, Parameter(ge=1, le=100, description="page size (1-100)")]
Cursor = Annotated[str | None, Parameter(max_length=64, description="next_cursor of the previous page")]


def path_id(value: int, name: str) -> int:
    """The same check as VideoId/ChannelId, for a handler that reads its path parameters itself."""
    if not 1 <= value <= MAX_ID:
        raise InvalidInput(name, f"must be between 1 and {MAX_ID}", source="path")
    return value
