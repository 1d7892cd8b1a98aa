"""A client generated from the served OpenAPI document (openapi-python-client) runs the README
walkthrough against the real server, worker and edge: what an app developer would build first."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.live import ROOT, full_stack, until


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with full_stack(tmp_path_factory.mktemp("edge")) as url:
        yield url


@pytest.fixture(scope="module")
def sdk(server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The generated package, imported from where it was generated."""
    folder = tmp_path_factory.mktemp("client")
    bin_dir = Path(sys.executable).parent
    args = [str(bin_dir / "openapi-python-client"), "generate", "--url", f"{server}/schema/openapi.json"]
    args += ["--meta", "none", "--output-path", str(folder / "vidstore_client"), "--fail-on-warning"]
    done = subprocess.run(
        args,
        env=os.environ | {"PATH": f"{bin_dir}:{os.environ['PATH']}"},  # it formats with ruff
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    sys.path.insert(0, str(folder))
    try:
        package = importlib.import_module("vidstore_client")
        importlib.import_module("vidstore_client.models")
        yield package
    finally:
        sys.path.remove(str(folder))
        for name in [n for n in sys.modules if n.startswith("vidstore_client")]:
            del sys.modules[name]


def call(sdk: Any, module: str, client: Any, *args: Any, **kwargs: Any) -> Any:
    """One operation through the generated code; an ErrorBody (a 4xx/5xx) fails the test."""
    group, name = module.split(".")
    operation = importlib.import_module(f"vidstore_client.api.{group}.{name}")
    answer = operation.sync_detailed(*args, client=client, **kwargs)
    assert answer.parsed is not None and not isinstance(answer.parsed, sdk.models.ErrorBody), (
        module,
        answer.status_code,
        answer.content,
    )
    return answer.parsed


def test_generated_client_runs_the_walkthrough(server: str, sdk: Any, tmp_path: Path) -> None:
    models = sdk.models
    anonymous = sdk.Client(base_url=server)
    user = call(sdk, "users.create_user", anonymous, body=models.UserCreate(name="alice"))
    alice = sdk.AuthenticatedClient(base_url=server, token=user.api_key)
    assert call(sdk, "users.me", alice).user_id == user.user_id
    assert user.created_at.tzinfo is not None  # RFC 3339 with its offset, parsed as such

    channel = call(sdk, "channels.create_channel", alice, body=models.ChannelCreate(title="Cooking"))
    public = models.VideoCreateVisibility("public")
    video = call(
        sdk,
        "videos.create_video",
        alice,
        channel.channel_id,
        body=models.VideoCreate(title="Pasta", visibility=public),
    )
    assert video.status == models.VideoOutStatus("draft")

    clip = tmp_path / "clip.mp4"
    ffmpeg = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=duration=5:size=640x360:rate=25"]
    ffmpeg += ["-f", "lavfi", "-i", "sine=duration=5", "-shortest", str(clip)]
    subprocess.run(ffmpeg, check=True, timeout=120)
    data = clip.read_bytes()
    mp4 = models.UploadRequestContentType("video/mp4")
    grant = call(
        sdk,
        "uploads.start_upload",
        alice,
        video.video_id,
        body=models.UploadRequest(content_type=mp4, size_bytes=len(data)),
    )
    stored = httpx.put(grant.url, content=data, headers=grant.headers.additional_properties)
    assert stored.status_code == 200, stored.text
    done = call(sdk, "uploads.complete_upload", alice, video.video_id, body=models.UploadComplete())
    assert done.status == models.VideoOutStatus("processing")

    # As the README polls: anonymously, so the video is visible (200) once it is ready and public.
    get_video = importlib.import_module("vidstore_client.api.videos.get_video")

    def visible() -> Any:
        seen = get_video.sync_detailed(video.video_id, client=anonymous)
        assert seen.status_code in (200, 404), seen
        return seen if seen.status_code == 200 else None

    seen = until(visible, 180, "the video to be ready and visible", every=0.5)
    assert (seen.parsed.status.value, seen.parsed.duration_ms) == ("ready", 5000)

    views = [call(sdk, "views.record_view", c, video.video_id) for c in (anonymous, anonymous, alice)]
    assert [v.counted for v in views] == [True, False, True]  # the anonymous repeat counts once
    subprocess.run([sys.executable, "-m", "api.cli", "flush", "--once"], cwd=ROOT, check=True, timeout=120)
    count = call(sdk, "views.view_count", anonymous, video.video_id)
    assert (count.views, count.flushed, count.buffered) == (2, 2, 0)

    playback = call(sdk, "playback.playback", anonymous, video.video_id)
    manifest = httpx.get(playback.url)
    assert manifest.status_code == 200 and manifest.text.startswith("#EXTM3U"), manifest.text
