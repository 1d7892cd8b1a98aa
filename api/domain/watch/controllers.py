"""The watch page and the player it loads: files from the web folder (VIDSTORE_WEB_DIR), where
stack/install.sh vendors hls.js from npm (web/package-lock.json). No CDN at run time."""

from __future__ import annotations

from pathlib import Path

from litestar import Controller, get
from litestar.exceptions import NotFoundException
from litestar.response import File

from api.deps import AppSettings, provide_settings
from api.params import VideoId


def _file(settings: AppSettings, relative: str, media_type: str) -> File:
    path = Path(settings.web_dir) / relative
    if not path.is_file():
        raise NotFoundException(detail=f"{relative} is missing: run stack/install.sh (npm ci in web/)")
    return File(path, media_type=media_type, content_disposition_type="inline")


class WatchController(Controller):
    include_in_schema = False
    opt = {"no_rate_limit": True}
    dependencies = {"settings": provide_settings}

    @get("/watch/{video_id:int}")
    async def page(self, settings: AppSettings, video_id: VideoId) -> File:
        return _file(settings, "watch.html", "text/html; charset=utf-8")

    @get("/static/hls.min.js")
    async def player(self, settings: AppSettings) -> File:
        return _file(settings, "node_modules/hls.js/dist/hls.min.js", "text/javascript")
