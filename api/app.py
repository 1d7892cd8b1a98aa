"""The Litestar application: routes, dependencies, errors, rate limiting, metrics and OpenAPI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar

from api import contract, di, logs
from api.admission import AdmissionControl
from api.bodies import check_body
from api.caller import forwarded_for
from api.deps import dependencies
from api.domain.channels.controllers import ChannelController
from api.domain.feeds.controllers import FeedController
from api.domain.health.controllers import HealthController, MetricsController
from api.domain.playback.controllers import PlaybackController
from api.domain.uploads.controllers import UploadController
from api.domain.users.controllers import UserController
from api.domain.videos.controllers import VideoController
from api.domain.views.controllers import ViewController
from api.domain.watch.controllers import WatchController
from api.errors import exception_handlers
from api.http_metrics import HttpMetrics
from api.ratelimit_middleware import RateLimitMiddleware
from api.settings import Settings
from api.wiring import Services


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    logs.configure("api")
    di.resolve_in_order()  # see api/di.py: Litestar's task per dependency costs more than ours

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with Services.opened(settings) as services:
            app.state.services = services  # read by the providers in api.deps, nothing else
            yield

    app = Litestar(
        route_handlers=[
            UserController,
            ChannelController,
            VideoController,
            UploadController,
            FeedController,
            ViewController,
            PlaybackController,
            WatchController,
            HealthController,
            MetricsController,
            contract.docs_assets(),
        ],
        dependencies=dependencies,
        exception_handlers=exception_handlers,
        middleware=[
            *([forwarded_for(settings.trusted_proxies)] if settings.trusted_proxies else []),
            logs.request_ids,  # X-Request-ID: taken or set, returned, logged, put in jobs
            HttpMetrics(app_name="vidstore"),  # every route's counters and latency histogram
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
    return app
