"""The edge as an attacker meets it: a real nginx (njs) verifying tokens itself, in front of a real
API (granian) and the private bucket. A forgery matrix; the cache (one storage read per file, whatever
the tokens); key rotation; visibility changes taking effect within the stated bound."""

from __future__ import annotations

import base64
import http.client
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from api.domain.playback.tokens import sign_path
from tests.conftest import Api, Caller, report
from tests.live import api_server, edge, eventually, free_port

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
VISIBILITY_BOUND_SECONDS = 6  # edge cache of playability (5 s) + the API's in-process cache (1 s)


def keys_env(keys: dict[str, bytes]) -> str:
    return ",".join(f"{kid}:{base64.b64encode(key).decode()}" for kid, key in keys.items())


@dataclass
class Edge:
    url: str
    api: str
    folder: Path
    port: int

    def get(self, path: str, source: str = "127.0.0.1") -> tuple[int, bytes, dict[str, str]]:
        """The path sent byte for byte (httpx would normalise `..` and escapes away), from `source`."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10, source_address=(source, 0))
        try:
            conn.request("GET", path)
            answer = conn.getresponse()
            return answer.status, answer.read(), {k.lower(): v for k, v in answer.getheaders()}
        finally:
            conn.close()

    def storage_reads(self, key: str) -> int:
        log = self.folder / "storage.log"
        return sum(1 for line in log.read_text().splitlines() if f" {key} " in line) if log.exists() else 0


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edge]:
    port = free_port()
    env = {"VIDSTORE_PLAYBACK_KEYS": keys_env(KEYS), "VIDSTORE_CDN_BASE_URL": f"http://127.0.0.1:{port}"}
    folder = tmp_path_factory.mktemp("edge")
    with api_server(env) as api, edge(api, folder, port, env) as url:
        yield Edge(url, api, folder, port)


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


async def test_the_api_redeems_nothing(api: Api) -> None:
    """The old verifier is gone; the edge's interface needs the edge's secret and says only yes/no."""
    assert (
        await api.client.get("/v1/playback/verify", params={"path": "/x", "client_ip": "1"})
    ).status_code == 404
    owner = await api.user()
    video_id = await api.video(owner, await api.channel(owner))
    url = f"/internal/edge/videos/{video_id}/playability"
    assert (await api.client.get(url)).status_code == 401
    assert (await api.client.get(url, headers={"X-Edge-Secret": "guess"})).status_code == 401
    ok = await api.client.get(url, headers={"X-Edge-Secret": api.services.settings.edge_secret})
    assert ok.json() == {"video_id": video_id, "playable": "public"}
    assert not any(name.lower().startswith("x-upstream") for name in ok.headers)
    schema = (await api.client.get("/schema/openapi.json")).json()
    assert not [path for path in schema["paths"] if "verify" in path or "internal" in path]


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

        made_private = time.monotonic()
        patched = await api.client.patch(
            f"/v1/videos/{video_id}", json={"visibility": "private"}, headers=owner.auth
        )
        assert patched.status_code == 200

        async def refused() -> bool:
            return served.get(stranger)[0] == 404

        await eventually(refused, VISIBILITY_BOUND_SECONDS + 4, "the edge to refuse a private video")
        took = time.monotonic() - made_private
        assert served.get(mine)[0] == 200  # its owner still plays it
        # What the API tells a stranger about it matches: 404, for the video and for playback.
        assert (await web.get(f"/v1/videos/{video_id}")).status_code == 404
        assert (await web.post(f"/v1/videos/{video_id}/playback")).status_code == 404

    deleted = time.monotonic()
    assert (await api.client.delete(f"/v1/videos/{video_id}", headers=owner.auth)).status_code == 204

    async def gone() -> bool:
        return served.get(mine)[0] == 404

    await eventually(gone, VISIBILITY_BOUND_SECONDS + 4, "the edge to refuse a deleted video")
    took_delete = time.monotonic() - deleted
    report(
        f"edge: made private -> strangers' tokens refused after {took:.1f} s; deleted -> all tokens "
        f"refused after {took_delete:.1f} s (bound {VISIBILITY_BOUND_SECONDS} s)"
    )
