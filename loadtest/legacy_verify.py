"""The API as it was before issue 16, for `make bench` only: the app plus the public verifier the old
edge asked for every file (`GET /v1/playback/verify`: check the token, answer with a presigned GET).
Never served by `make run`: it redeems tokens for whoever asks."""

from __future__ import annotations

import time
from typing import Annotated, Any

from litestar import Litestar, Response, get
from litestar.datastructures import State
from litestar.exceptions import PermissionDeniedException
from litestar.params import Parameter

from api import storage
from api.app import create_app
from api.domain.playback.tokens import verify_path


@get("/v1/playback/verify", opt={"no_rate_limit": True}, include_in_schema=False)
async def verify(
    state: State,
    path: Annotated[str, Parameter(min_length=1, max_length=2048)],
    client_ip: Annotated[str, Parameter(min_length=1, max_length=64)],
) -> Response[dict[str, Any]]:
    services = state.services
    checked = verify_path(services.settings.playback_keys, path, client_ip, time.time())
    if not checked.valid or checked.video_id is None or checked.file is None:
        raise PermissionDeniedException(detail=checked.reason)
    upstream = services.store.presign_get(storage.video_prefix(checked.video_id) + checked.file, ttl=60)
    return Response({"valid": True, "file": checked.file}, headers={"X-Upstream-Url": upstream})


def create_legacy_app() -> Litestar:
    app = create_app()
    app.register(verify)
    return app
