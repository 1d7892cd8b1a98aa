"""Playback authorisation: signed, expiring URLs that cover one video's prefix, and their verifier."""

from __future__ import annotations

import base64
import time
from urllib.parse import urlsplit

from hypothesis import given
from hypothesis import strategies as st

from api.domain.playback.tokens import sign_path, verify_path
from tests.conftest import Api

KEY = b"k" * 32


def test_token_covers_every_file_of_its_video_until_expiry() -> None:
    path = sign_path(KEY, 42, "hls/master.m3u8", expires=1_000, client_ip=None)
    assert path.startswith("/videos/42/1000.any.")
    token_prefix = path.rsplit("/", 2)[0]
    for file in ("hls/master.m3u8", "hls/720p/index.m3u8", "hls/720p/seg_00001.ts", "thumb.jpg"):
        verdict = verify_path(KEY, f"{token_prefix}/{file}", "203.0.113.9", now=999)
        assert verdict.valid and verdict.video_id == 42 and verdict.file == file
    assert verify_path(KEY, path, "1.2.3.4", now=1_000).reason == "token expired"


def test_tampered_tokens_are_refused() -> None:
    path = sign_path(KEY, 42, "hls/master.m3u8", expires=2_000, client_ip="198.51.100.7")
    _, _, vid, token, file = path.split("/", 4)
    expires, scope, sig = token.split(".")
    assert verify_path(KEY, path, "198.51.100.7", now=1_000).valid
    refused = {
        "other ip": (path, "198.51.100.8"),
        "other video": (f"/videos/43/{token}/{file}", "198.51.100.7"),
        "longer expiry": (f"/videos/{vid}/{int(expires) + 1}.{scope}.{sig}/{file}", "198.51.100.7"),
        "scope dropped": (f"/videos/{vid}/{expires}.any.{sig}/{file}", "198.51.100.7"),
        "forged": (f"/videos/{vid}/{expires}.{scope}.{'A' * 43}/{file}", "198.51.100.7"),
        "other key": (sign_path(b"x" * 32, 42, file, 2_000, "198.51.100.7"), "198.51.100.7"),
        "traversal": (f"/videos/{vid}/{token}/../../44/{file}", "198.51.100.7"),
        "no file": (f"/videos/{vid}/{token}/", "198.51.100.7"),
    }
    for name, (candidate, ip) in refused.items():
        assert not verify_path(KEY, candidate, ip, now=1_000).valid, name


@given(st.binary(min_size=32, max_size=32), st.integers(1, 2**63 - 1), st.integers(1, 10**11))
def test_any_single_bit_flip_in_the_signature_is_refused(key: bytes, video_id: int, expires: int) -> None:
    path = sign_path(key, video_id, "a.ts", expires, None)
    _, _, vid, token, file = path.split("/")
    head, sig = token.rsplit(".", 1)
    raw = bytearray(base64.urlsafe_b64decode(sig + "="))
    raw[video_id % 32] ^= 1 << (expires % 8)
    flipped = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    assert verify_path(key, path, "", now=0).valid
    assert not verify_path(key, f"/videos/{vid}/{head}.{flipped}/{file}", "", now=0).valid


async def test_playback_grant_and_verify_endpoint(api: Api) -> None:
    alice = await api.user()
    video_id = await api.video(alice, await api.channel(alice))
    before = int(time.time())
    grant = await api.client.post(f"/v1/videos/{video_id}/playback")
    assert grant.status_code == 200
    body = grant.json()
    url = urlsplit(body["url"])
    assert body["url"].startswith(api.state.settings.cdn_base_url + f"/videos/{video_id}/")
    assert url.path.endswith("/hls/master.m3u8") and not url.query  # the token lives in the path
    ttl = api.state.settings.playback_ttl_seconds
    assert before + ttl <= body["expires_at"] <= int(time.time()) + ttl

    ok = await api.client.get("/v1/playback/verify", params={"path": url.path, "client_ip": "10.0.0.1"})
    assert ok.status_code == 200
    assert ok.json() == {
        "valid": True,
        "video_id": video_id,
        "expires_at": body["expires_at"],
        "file": "hls/master.m3u8",
    }
    segment = url.path.replace("master.m3u8", "360p/seg_003.ts")
    assert (
        await api.client.get("/v1/playback/verify", params={"path": segment, "client_ip": "x"})
    ).is_success
    other = url.path.replace(f"/videos/{video_id}/", f"/videos/{video_id + 1}/")
    bad = await api.client.get("/v1/playback/verify", params={"path": other, "client_ip": "10.0.0.1"})
    assert bad.status_code == 403 and "signature" in bad.json()["detail"]


async def test_ip_bound_and_expired_urls_are_refused_by_the_endpoint(api: Api) -> None:
    from api.domain.playback import services as playback

    alice = await api.user()
    video_id = await api.video(alice, await api.channel(alice))
    bound = await api.client.post(f"/v1/videos/{video_id}/playback", json={"bind_ip": True})
    path = urlsplit(bound.json()["url"]).path
    assert ".ip." in path
    for ip, status in (("192.0.2.10", 200), ("10.9.9.9", 403)):
        response = await api.client.get("/v1/playback/verify", params={"path": path, "client_ip": ip})
        assert response.status_code == status, ip

    old = await playback.grant(api.state, video_id, None, None, now=time.time() - 2 * 86_400)
    expired = await api.client.get(
        "/v1/playback/verify", params={"path": urlsplit(old.url).path, "client_ip": "1.1.1.1"}
    )
    assert expired.status_code == 403 and expired.json()["detail"] == "token expired"


async def test_playback_rules(api: Api) -> None:
    alice, bob = await api.user(), await api.user()
    channel_id = await api.channel(alice)
    private = await api.video(alice, channel_id, visibility="private")
    unlisted = await api.video(alice, channel_id, visibility="unlisted")
    draft = await api.video(alice, channel_id, visibility="public", ready=False)
    assert (await api.client.post(f"/v1/videos/{private}/playback")).status_code == 403
    assert (await api.client.post(f"/v1/videos/{private}/playback", headers=bob.auth)).status_code == 403
    assert (await api.client.post(f"/v1/videos/{private}/playback", headers=alice.auth)).status_code == 200
    assert (await api.client.post(f"/v1/videos/{unlisted}/playback")).status_code == 200
    not_ready = await api.client.post(f"/v1/videos/{draft}/playback", headers=alice.auth)
    assert not_ready.status_code == 409
    assert (await api.client.post("/v1/videos/77777777777/playback")).status_code == 404
