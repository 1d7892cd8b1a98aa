"""The watch page in a real browser: Debian's chromium, headless, driven by Playwright (no browser
download). A clip is uploaded and transcoded by the worker, then the page asks the API for a playback
URL, hls.js plays it through the edge, one view is posted and the count shown. A tampered URL fails."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, Request, Route, async_playwright

from tests.conftest import base_settings, report
from tests.live import api_server, edge, free_port, worker
from tests.test_media_e2e import Stack, make_clip

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
VIDEO = "document.getElementById('video')"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    edge_port = free_port()
    env = {"VIDSTORE_CDN_BASE_URL": f"http://127.0.0.1:{edge_port}", "VIDSTORE_VIEW_DEDUPE_SECONDS": "30"}
    folder = tmp_path_factory.mktemp("edge")
    with api_server(env) as api, edge(folder, edge_port) as edge_url, worker(env) as process:
        user = httpx.post(f"{api}/v1/users", json={"name": "creator"}).json()
        stack = Stack(api, edge_url, base_settings(), process, env, key=user["api_key"])
        stack.channel_id = httpx.post(
            f"{api}/v1/channels", json={"title": "Clips"}, headers=stack.auth
        ).json()["channel_id"]
        yield stack


@pytest.fixture(scope="module")
def video_id(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> int:
    clip = make_clip(tmp_path_factory.mktemp("clip") / "clip.mp4", seconds=8, bitrate="600k")
    video_id = stack.video("watch me")
    assert stack.wait_status(video_id, lambda: stack.upload(video_id, clip)) == "ready"
    return video_id


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"]
        )
        try:
            yield launched
        finally:
            await launched.close()


def count_view_posts(page: Page) -> list[str]:
    posts: list[str] = []

    def seen(request: Request) -> None:
        if request.method == "POST" and request.url.endswith("/views"):
            posts.append(request.url)

    page.on("request", seen)
    return posts


async def test_the_watch_page_plays_both_renditions_and_counts_one_view(
    stack: Stack, video_id: int, browser: Browser
) -> None:
    page = await browser.new_page()
    posts = count_view_posts(page)
    await page.goto(f"{stack.api}/watch/{video_id}")
    await page.wait_for_function("window.watch && window.watch.views === 1", timeout=60_000)
    start = await page.evaluate(f"{VIDEO}.currentTime")
    await page.wait_for_function(f"{VIDEO}.currentTime > {start} + 1", timeout=30_000)
    played = await page.evaluate(f"{VIDEO}.currentTime")
    assert await page.text_content("#views") == "1"

    # Both renditions: hls.js is switched to each level and loads a segment of it through the edge.
    levels = await page.evaluate("hls.levels.map((level) => level.height)")
    assert sorted(levels) == [240, 360], levels
    for level in range(len(levels)):
        await page.evaluate(f"hls.currentLevel = {level}")
        await page.wait_for_function(f"window.watch.levels.includes({level})", timeout=30_000)

    # Pausing and playing again from the start posts no second view.
    await page.evaluate(f"{VIDEO}.pause(); {VIDEO}.currentTime = 0; {VIDEO}.play()")
    await page.wait_for_function(f"{VIDEO}.currentTime > 0.5 && !{VIDEO}.paused", timeout=30_000)
    assert len(posts) == 1, posts
    async with httpx.AsyncClient() as client:
        views = (await client.get(f"{stack.api}/v1/videos/{video_id}/views")).json()
    assert views["views"] == 1
    assert await page.evaluate("window.watch.error") is None
    report(f"watch page: chromium played {played:.1f} s of HLS through the edge, both renditions, 1 view")


async def test_a_tampered_url_does_not_play(stack: Stack, video_id: int, browser: Browser) -> None:
    page = await browser.new_page()
    posts = count_view_posts(page)

    async def tamper(route: Route) -> None:
        answer = await route.fetch()
        body = await answer.json()
        token = body["url"].split("/")[-3]
        body["url"] = body["url"].replace(token, token[:-1] + ("A" if token[-1] != "A" else "B"))
        await route.fulfill(response=answer, body=json.dumps(body))

    await page.route("**/playback", tamper)
    await page.goto(f"{stack.api}/watch/{video_id}")
    await page.wait_for_function("window.watch && window.watch.error", timeout=30_000)
    assert "manifestLoad" in await page.evaluate("window.watch.error")
    assert await page.evaluate(f"{VIDEO}.currentTime") == 0
    assert posts == []
    assert "cannot play" in (await page.text_content("#status") or "")


def test_the_player_is_vendored_not_fetched_from_a_cdn() -> None:
    web = Path(__file__).resolve().parent.parent / "web"
    page = (web / "watch.html").read_text()
    assert '<script src="/static/hls.min.js">' in page and "https://" not in page
    assert (web / "node_modules/hls.js/dist/hls.min.js").is_file()  # npm ci in stack/install.sh
