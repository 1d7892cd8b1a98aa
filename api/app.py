"""The Litestar application: routes, dependencies, errors, rate limiting, metrics and OpenAPI."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.plugins.prometheus import PrometheusConfig

from api.admission import AdmissionControl
from api.deps import dependencies
from api.domain.channels.controllers import ChannelController
from api.domain.feeds.controllers import FeedController
from api.domain.health.controllers import HealthController, MetricsController
from api.domain.playback.controllers import PlaybackController
from api.domain.uploads.controllers import UploadController
from api.domain.users.controllers import UserController
from api.domain.videos.controllers import VideoController
from api.domain.views import ingest
from api.domain.views.controllers import ViewController
from api.errors import exception_handlers
from api.ratelimit import RateLimitMiddleware
from api.settings import Settings
from api.state import AppState


class VidstoreApp(Litestar):
    """Litestar, with view POSTs answered before its router when the setting asks for it."""

    view_fast_path = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self.view_fast_path and scope["type"] == "http" and scope["method"] == "POST":
            video_id = ingest.match(scope["path"])
            if video_id is not None:
                scope["app"] = scope["litestar_app"] = self
                await ingest.serve(self.state.app, video_id, scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings | None = None) -> VidstoreApp:
    settings = settings or Settings.from_env()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

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
            HealthController,
            MetricsController,
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
        openapi_config=OpenAPIConfig(
            title="vidstore",
            version="1.0.0",
            description="Metadata, view counts and playback authorisation for a video service.",
            path="/schema",
            render_plugins=[SwaggerRenderPlugin(), ScalarRenderPlugin()],
        ),
        debug=False,
    )
    app.view_fast_path = settings.view_fast_path
    return app
