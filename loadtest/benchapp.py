"""An app variant for the benchmark's equal-work comparison: the view route through Litestar's router
making the same single Redis call per view as the fast path. As served (`VIDSTORE_VIEW_FAST_PATH=0`)
the router's rate-limit middleware makes a call of its own before the view's script; here that
route opts out of it, so fast path and router differ only in the framework's per-request work."""

from __future__ import annotations

from api.app import VidstoreApp, create_app
from api.domain.views.controllers import ViewController
from api.ratelimit import RateLimitMiddleware


def routed_one_redis_call() -> VidstoreApp:
    ViewController.record_view.opt[RateLimitMiddleware.exclude_opt_key] = True
    app = create_app()
    app.view_fast_path = False
    return app
