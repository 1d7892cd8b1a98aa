"""The edge as an attacker meets it: a real nginx (njs) verifying tokens itself over the private
bucket, with a real API (granian) and worker pushing revocations to it. A forgery matrix; the cache
(one storage read per file, whatever the tokens); key rotation; visibility changes taking effect
within the stated bound, and still after the edge was down when they were made."""

from __future__ import annotations

import asyncio
import base64
import http.client
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import httpx
import pytest
import redis.asyncio

from api.domain.playback.tokens import sign_path
from tests.conftest import Api, Caller, report
from tests.live import ROOT, api_server, edge, eventually, free_port, worker

SEGMENT = b"\x47" + os.urandom(200_000)  # stands in for a 2 s MPEG-TS segment
FILES = {
    "hls/master.m3u8": b"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=900000\n360p/index.m3u8\n",
    "hls/360p/index.m3u8": b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nseg_000.ts\n#EXT-X-ENDLIST\n",
    "hls/360p/seg_000.ts": SEGMENT,
    "thumb.jpg": b"\xff\xd8 a thumbnail",
}
# Keys as a rotation leaves them: "new" signs, "old" still verifies, "gone" was dropped.
KEYS = {"new": os.urandom(32), "old": os.urandom(32)}
GONE = {"gone": os.urandom(32)}
SEG = "hls/360p/seg_000.ts"
# A visibility change's revocation reaches the edge through the outbox and the worker: a job, picked
# up at once (README: "Visibility changes take effect").
VISIBILITY_BOUND_SECONDS = 2
# This module's API and worker have a Redis prefix of their own: no other worker takes its jobs (and
# pushes them to another edge), and its worker takes no one else's. Retries are quick here.
MODULE_ENV = {"VIDSTORE_REDIS_PREFIX": "test-edge", "VIDSTORE_JOB_RETRY_BASE_SECONDS": "0.5"}


def keys_env(keys: dict[str, bytes]) -> str:
    return ",".join(f"{kid}:{base64.b64encode(key).decode()}" for kid, key in keys.items())


@dataclass
class Edge:
    url: str
    api: str
    folder: Path
    port: int
    env: dict[str, str]

    def get(self, path: str, source: str = "127.0.0.1") -> tuple[int, bytes, dict[str, str]]:
        """The path sent byte for byte (httpx would normalise `..` and escapes away), from `source`."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10, source_address=(source, 0))
        try:
            conn.request("GET", path)
            answer = conn.getresponse()
            return answer.status, answer.read(), {k.lower(): v for k, v in answer.getheaders()}
        finally:
            conn.close()

    def down(self) -> None:
        subprocess.run(["bash", "stack/edge-down.sh", str(self.folder)], cwd=ROOT, check=True)

    def up(self) -> None:
        """Start the edge again after `down` (same folder, port and environment)."""
        up = ["bash", "stack/edge-up.sh", str(self.folder), str(self.port)]
        subprocess.run(up, cwd=ROOT, env=os.environ | self.env, check=True, capture_output=True)

    def storage_reads(self, key: str) -> int:
        log = self.folder / "storage.log"
        return sum(1 for line in log.read_text().splitlines() if f" {key} " in line) if log.exists() else 0


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edge]:
    port = free_port()
    env = {"VIDSTORE_PLAYBACK_KEYS": keys_env(KEYS), "VIDSTORE_CDN_BASE_URL": f"http://127.0.0.1:{port}"}
    env |= MODULE_ENV
    folder = tmp_path_factory.mktemp("edge")
    with api_server(env) as api, edge(folder, port, env) as url, worker(env):
        yield Edge(url, api, folder, port, env)


async def hls_video(api: Api, owner: Caller, visibility: str = "public") -> int:
    """A ready video whose files are in the bucket (written directly: no transcode needed here)."""
    video_id = await api.video(owner, await api.channel(owner), visibility=visibility)
    for name, body in FILES.items():
        api.services.store.client.put_object(
            Bucket=api.services.store.bucket, Key=f"videos/{video_id}/{name}", Body=body
        )
    return video_id


def token_of(path: str) -> str:
    return path.split("/")[3]


def resign(path: str, **fields: str) -> str:
    """The path with some token fields replaced (the signature left as it was)."""
    _, _, vid, token, file = path.split("/", 4)
    expires, scope, audience, kid, sig = token.split(".")
    parts = {"vid": vid, "expires": expires, "scope": scope, "audience": audience, "kid": kid, "sig": sig}
    parts |= fields
    return "/videos/{vid}/{expires}.{scope}.{audience}.{kid}.{sig}/".format(**parts) + file


async def test_forgery_matrix(api: Api, served: Edge) -> None:
    owner = await api.user()
    video_id = await hls_video(api, owner)
    other_id = await hls_video(api, owner)
    later = int(time.time()) + 600

    def sign(vid: int = video_id, file: str = SEG, ip: str | None = None, **kw: str) -> str:
        return sign_path(KEYS | GONE, vid, file, later, ip, **kw)  # type: ignore[arg-type]

    good = sign()
    bound = sign(ip="127.0.0.1")
    _, _, _, token, _ = good.split("/", 4)
    sig = token.rsplit(".", 1)[1]
    flipped = sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:]
    long_file = "/".join(["a" * 90] * 30)
    expected: dict[str, tuple[str, str, int, str]] = {
        # name: (path, client address, status, what the body says)
        "valid": (good, "127.0.0.1", 200, ""),
        "valid, bound to this address": (bound, "127.0.0.1", 200, ""),
        "valid, signed with the previous key": (sign(key_id="old"), "127.0.0.1", 200, ""),
        "expired": (sign_path(KEYS, video_id, SEG, int(time.time()) - 1, None), "127.0.0.1", 403, "expired"),
        "flipped signature": (resign(good, sig=flipped), "127.0.0.1", 403, "signature"),
        "longer expiry": (resign(good, expires=str(later + 1)), "127.0.0.1", 403, "signature"),
        "other video": (good.replace(f"/{video_id}/", f"/{other_id}/", 1), "127.0.0.1", 403, "signature"),
        f"/videos/{video_id}/ token on /videos/{video_id}3/": (
            good.replace(f"/{video_id}/", f"/{video_id}3/", 1),
            "127.0.0.1",
            403,
            "signature",
        ),
        f"/videos/{video_id}3/ token on /videos/{video_id}/": (
            sign(int(f"{video_id}3")).replace(f"/{video_id}3/", f"/{video_id}/", 1),
            "127.0.0.1",
            403,
            "signature",
        ),
        "scope swap ip -> any": (resign(bound, scope="any"), "127.0.0.1", 403, "signature"),
        "scope swap any -> ip": (resign(good, scope="ip"), "127.0.0.1", 403, "signature"),
        "audience swap pub -> own": (resign(good, audience="own"), "127.0.0.1", 403, "signature"),
        "other address": (bound, "127.0.0.2", 403, "signature"),
        "bound to another address": (sign(ip="203.0.113.50"), "127.0.0.1", 403, "signature"),
        "rotated-out key": (sign(key_id="gone"), "127.0.0.1", 403, "retired key"),
        "key id swapped": (resign(sign(key_id="old"), kid="new"), "127.0.0.1", 403, "signature"),
        "traversal to another video": (
            good.replace(SEG, f"../../{other_id}/{token}/{SEG}"),
            "127.0.0.1",
            400,
            "malformed",
        ),
        "traversal inside the prefix": (good.replace(SEG, "hls/../thumb.jpg"), "127.0.0.1", 400, "malformed"),
        "traversal out of videos/": (good.replace(SEG, "../../../uploads/1/source"), "127.0.0.1", 404, ""),
        "encoded slashes": (good.replace(SEG, "hls%2F360p%2Fseg_000.ts"), "127.0.0.1", 400, "malformed"),
        "encoded dots": (good.replace(SEG, "%2e%2e/%2e%2e/x"), "127.0.0.1", 400, "malformed"),
        "double slash": (good.replace(SEG, "hls//360p/seg_000.ts"), "127.0.0.1", 400, "malformed"),
        "query string": (good + "?x=1", "127.0.0.1", 400, "malformed"),
        "no file": (good.replace(SEG, ""), "127.0.0.1", 400, "malformed"),
        "short signature": (resign(good, sig=sig[:-1]), "127.0.0.1", 400, "malformed"),
        "3,000-byte path": (good.replace(SEG, long_file), "127.0.0.1", 400, "malformed"),
    }
    failures = []
    for name, (path, source, status, says) in expected.items():
        got, body, _ = served.get(path, source)
        if got != status or says.encode() not in body:
            failures.append(f"{name}: {got} {body[:80]!r}, expected {status} {says!r}")
    assert not failures, "\n".join(failures)
    got, body, _ = served.get(good)
    assert body == SEGMENT
    huge, _, _ = served.get(good.replace(SEG, "x" * 20_000))
    assert 400 <= huge < 500, huge  # past nginx's request-line buffer: 414, never a 5xx
    report(f"edge forgery matrix: {len(expected) + 1} forged or malformed requests refused, none served")


async def test_nothing_redeems_tokens_and_only_the_api_revokes(api: Api, served: Edge) -> None:
    """The old verifier and the playability interface are gone; the edge's revocation interface
    needs the edge's secret, a PUT and one of three words."""
    assert (
        await api.client.get("/v1/playback/verify", params={"path": "/x", "client_ip": "1"})
    ).status_code == 404
    owner = await api.user()
    video_id = await api.video(owner, await api.channel(owner))
    assert (await api.client.get(f"/internal/edge/videos/{video_id}/playability")).status_code == 404
    schema = (await api.client.get("/schema/openapi.json")).json()
    assert not [path for path in schema["paths"] if "verify" in path or "internal" in path]
    secret = api.services.settings.edge_secret
    url = f"{served.url}/_edge/videos/{video_id}/revocation"
    async with httpx.AsyncClient() as web:
        refused = {
            "no secret": (await web.put(url, content="all")).status_code,
            "a guess": (await web.put(url, content="all", headers={"X-Edge-Secret": "guess"})).status_code,
            "a longer guess": (
                await web.put(url, content="all", headers={"X-Edge-Secret": secret + "x"})
            ).status_code,
            "a GET": (await web.get(url, headers={"X-Edge-Secret": secret})).status_code,
            "another word": (
                await web.put(url, content="some", headers={"X-Edge-Secret": secret})
            ).status_code,
        }
    assert refused == {
        "no secret": 401,
        "a guess": 401,
        "a longer guess": 401,
        "a GET": 405,
        "another word": 400,
    }
    assert not list((served.folder / "revoked").iterdir())  # nothing written by any of them


async def test_one_storage_read_per_file_whatever_the_tokens(api: Api, served: Edge) -> None:
    owner = await api.user()
    video_id = await hls_video(api, owner)
    now = int(time.time())
    key = f"videos/{video_id}/{SEG}"
    plays = 40
    caches = []
    for viewer in range(plays):  # every viewer has a token of their own
        status, body, headers = served.get(sign_path(KEYS, video_id, SEG, now + 600 + viewer, None))
        assert status == 200 and body == SEGMENT
        caches.append(headers.get("x-cache"))
    assert served.storage_reads(key) == 1, served.storage_reads(key)
    assert caches[0] == "MISS" and set(caches[1:]) == {"HIT"}
    _, _, headers = served.get(sign_path(KEYS, video_id, "hls/master.m3u8", now + 600, None))
    assert headers["cache-control"] == "max-age=5"  # playlists: seconds; segments: a day
    assert headers["access-control-allow-origin"] == "*"
    report(f"edge cache: {plays} viewers' tokens for one segment -> {served.storage_reads(key)} storage read")


async def test_visibility_changes_take_effect_within_the_bound(api: Api, served: Edge) -> None:
    owner = await api.user()
    video_id = await hls_video(api, owner)
    async with httpx.AsyncClient(base_url=served.api) as web:
        stranger = (await web.post(f"/v1/videos/{video_id}/playback")).json()["url"]
        mine = (await web.post(f"/v1/videos/{video_id}/playback", headers=owner.auth)).json()["url"]
        stranger, mine = stranger.removeprefix(served.url), mine.removeprefix(served.url)
        assert ".pub." in stranger and ".own." in mine
        assert served.get(stranger)[0] == served.get(mine)[0] == 200

        async def stranger_refused() -> bool:
            return served.get(stranger)[0] == 404

        async def stranger_plays() -> bool:
            return served.get(stranger)[0] == 200

        made_private = time.monotonic()
        patch = {"visibility": "private"}
        assert (await web.patch(f"/v1/videos/{video_id}", json=patch, headers=owner.auth)).status_code == 200
        await eventually(stranger_refused, VISIBILITY_BOUND_SECONDS, "the edge to refuse a private video")
        took = time.monotonic() - made_private
        assert served.get(mine)[0] == 200  # its owner still plays it
        # What the API tells a stranger about it matches: 404, for the video and for playback.
        assert (await web.get(f"/v1/videos/{video_id}")).status_code == 404
        assert (await web.post(f"/v1/videos/{video_id}/playback")).status_code == 404

        patch = {"visibility": "public"}
        assert (await web.patch(f"/v1/videos/{video_id}", json=patch, headers=owner.auth)).status_code == 200
        await eventually(stranger_plays, VISIBILITY_BOUND_SECONDS, "the edge to play a public video again")

        deleted = time.monotonic()
        assert (await web.delete(f"/v1/videos/{video_id}", headers=owner.auth)).status_code == 204

        async def gone() -> bool:
            return served.get(mine)[0] == 404

        await eventually(gone, VISIBILITY_BOUND_SECONDS, "the edge to refuse a deleted video")
        took_delete = time.monotonic() - deleted
    report(
        f"edge: made private -> strangers' tokens refused after {took:.2f} s; deleted -> all tokens "
        f"refused after {took_delete:.2f} s (bound {VISIBILITY_BOUND_SECONDS} s; no API request per file)"
    )


async def test_a_revocation_made_while_the_edge_is_down_arrives_when_it_is_back(
    api: Api, served: Edge
) -> None:
    """The push fails while the edge is down; the job is retried (backoff) until the edge takes it,
    and revocations already taken survive the restart (revoked/ is on the edge's disk)."""
    owner = await api.user()
    kept, video_id = await hls_video(api, owner), await hls_video(api, owner)
    client = redis.asyncio.Redis.from_url(api.services.settings.redis_url)
    async with httpx.AsyncClient(base_url=served.api) as web:
        urls = {}
        for vid in (kept, video_id):
            urls[vid] = (await web.post(f"/v1/videos/{vid}/playback")).json()["url"].removeprefix(served.url)
        private = {"visibility": "private"}
        assert (await web.patch(f"/v1/videos/{kept}", json=private, headers=owner.auth)).status_code == 200

        async def refused(vid: int) -> bool:
            return served.get(urls[vid])[0] == 404

        await eventually(partial(refused, kept), VISIBILITY_BOUND_SECONDS, "the first revocation")
        await asyncio.to_thread(served.down)
        assert (
            await web.patch(f"/v1/videos/{video_id}", json=private, headers=owner.auth)
        ).status_code == 200

        async def retry_scheduled() -> bool:  # the push failed, and the job waits for its next attempt
            delayed = await client.zrange(f"{MODULE_ENV['VIDSTORE_REDIS_PREFIX']}:jobs:delayed", 0, -1)
            return any(
                b'"sync_edges"' in job and f'"video_id": {video_id},'.encode() in job for job in delayed
            )

        await eventually(retry_scheduled, 10, "the failed push to be scheduled for a retry")
        await asyncio.to_thread(served.up)
        assert await refused(kept)  # taken before the restart: still refused after it
        await eventually(partial(refused, video_id), 10, "the retried push to reach the edge")
    await client.aclose()
