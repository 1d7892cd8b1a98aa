"""Path parameter types shared by the controllers: ids are positive BIGINTs."""

from typing import Annotated

from litestar.params import Parameter

from api.pagination import MAX_ID

VideoId = Annotated[int, Parameter(ge=1, le=MAX_ID, description="video id")]
ChannelId = Annotated[int, Parameter(ge=1, le=MAX_ID, description="channel id")]
