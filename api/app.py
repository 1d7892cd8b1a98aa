"""The Litestar application: routes, dependencies, errors, rate limiting, metrics and OpenAPI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar
from litestar.plugins.prometheus import PrometheusConfig

from api import contract, logs, view_fast_path
from api.admission import AdmissionControl
from api.bodies import check_body
from api.deps import dependencies
from api.domain.channels.controllers import ChannelController
from api.domain.feeds.controllers import FeedController
from api.domain.health.controllers import HealthController, MetricsController
from api.domain.playback.controllers import EdgeController, PlaybackController
from api.domain.uploads.controllers import UploadController
from api.domain.users.controllers import UserController
from api.domain.videos.controllers import VideoController
from api.domain.views.controllers import ViewController
from api.domain.watch.controllers import WatchController
from api.errors import exception_handlers
from api.ratelimit_middleware import RateLimitMiddleware
from api.settings import Settings
from api.state import AppState


class VidstoreApp(Litestar):
    """Litestar, with view POSTs answered before its router when the setting asks for it."""

    view_fast_path = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            send = logs.bind(scope, send)  # X-Request-ID: taken or set, returned, logged, put in jobs
        if self.view_fast_path and scope["type"] == "http" and scope["method"] == "POST":
            video_id = view_fast_path.match(scope["path"])
            if video_id is not None:
                scope["app"] = scope["litestar_app"] = self
                await view_fast_path.serve(self.state.app, video_id, scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings | None = None) -> VidstoreApp:
    settings = settings or Settings.from_env()
    logs.configure("api")

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        state = AppState.create(settings)
        app.state.app = state
        try:
            yield
        finally:
            await state.close()

    prometheus = PrometheusConfig(
        app_name="vidstore", prefix="vidstore_http", group_path=True, exclude=["^/metrics", "^/health"]
    )
    app = VidstoreApp(
        route_handlers=[
            UserController,
            ChannelController,
            VideoController,
            UploadController,
            FeedController,
            ViewController,
            PlaybackController,
            EdgeController,
            WatchController,
            HealthController,
            MetricsController,
            contract.docs_assets(),
        ],
        dependencies=dependencies,
        exception_handlers=exception_handlers,
        middleware=[
            prometheus.middleware,
            AdmissionControl(settings.max_in_flight, adaptive=settings.admission == "adaptive"),
            RateLimitMiddleware(),
        ],
        lifespan=[lifespan],
        request_max_body_size=settings.max_body_bytes,
        before_request=check_body,  # strict JSON bodies: 400 naming the field, 415, bounded depth
        openapi_config=contract.openapi_config(
            title="vidstore",
            version="1.0.0",
            description="Metadata, view counts and playback authorisation for a video service.",
            path="/schema",
        ),
        debug=False,
    )
    contract.finish(app, settings)
    app.view_fast_path = settings.view_fast_path
    return app
