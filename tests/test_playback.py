"""Playback authorisation: signed, expiring URLs that cover one video's prefix (the Python reference
of the check the edge makes; tests/test_edge.py holds the edge to it), and who gets one."""

from __future__ import annotations

import base64
import time
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.domain.playback.services import revocation
from api.domain.playback.tokens import sign_path, verify_path
from api.settings import Settings, SettingsError
from tests.conftest import Api

KEYS = {"1": b"k" * 32}


def test_token_covers_every_file_of_its_video_until_expiry() -> None:
    path = sign_path(KEYS, 42, "hls/master.m3u8", expires=1_000, client_ip=None)
    assert path.startswith("/videos/42/1000.any.pub.1.")
    token_prefix = path.rsplit("/", 2)[0]
    for file in ("hls/master.m3u8", "hls/720p/index.m3u8", "hls/720p/seg_00001.ts", "thumb.jpg"):
        verdict = verify_path(KEYS, f"{token_prefix}/{file}", "203.0.113.9", now=999)
        assert verdict.valid and verdict.video_id == 42 and verdict.file == file
    assert verify_path(KEYS, path, "1.2.3.4", now=1_000).reason == "token expired"


def test_tampered_tokens_are_refused() -> None:
    path = sign_path(KEYS, 42, "hls/master.m3u8", expires=2_000, client_ip="198.51.100.7")
    _, _, vid, token, file = path.split("/", 4)
    expires, scope, audience, kid, sig = token.split(".")
    assert verify_path(KEYS, path, "198.51.100.7", now=1_000).valid
    rest = f"{audience}.{kid}.{sig}/{file}"
    refused = {
        "other ip": (path, "198.51.100.8"),
        "other video": (f"/videos/43/{token}/{file}", "198.51.100.7"),
        "id prefix": (f"/videos/{vid}0/{token}/{file}", "198.51.100.7"),
        "longer expiry": (f"/videos/{vid}/{int(expires) + 1}.{scope}.{rest}", "198.51.100.7"),
        "scope dropped": (f"/videos/{vid}/{expires}.any.{rest}", "198.51.100.7"),
        "audience raised": (path.replace(".pub.", ".own."), "198.51.100.7"),
        "forged": (f"/videos/{vid}/{expires}.{scope}.{audience}.{kid}.{'A' * 43}/{file}", "198.51.100.7"),
        "other key": (sign_path({"1": b"x" * 32}, 42, file, 2_000, "198.51.100.7"), "198.51.100.7"),
        "retired key": (sign_path({"0": b"k" * 32}, 42, file, 2_000, "198.51.100.7"), "198.51.100.7"),
        "traversal": (f"/videos/{vid}/{token}/../../44/{file}", "198.51.100.7"),
        "no file": (f"/videos/{vid}/{token}/", "198.51.100.7"),
    }
    for name, (candidate, ip) in refused.items():
        assert not verify_path(KEYS, candidate, ip, now=1_000).valid, name


@given(st.binary(min_size=32, max_size=32), st.integers(1, 2**63 - 1), st.integers(1, 10**11))
def test_any_single_bit_flip_in_the_signature_is_refused(key: bytes, video_id: int, expires: int) -> None:
    keys = {"a1": key}
    path = sign_path(keys, video_id, "a.ts", expires, None)
    _, _, vid, token, file = path.split("/")
    head, sig = token.rsplit(".", 1)
    raw = bytearray(base64.urlsafe_b64decode(sig + "="))
    raw[video_id % 32] ^= 1 << (expires % 8)
    flipped = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    assert verify_path(keys, path, "", now=0).valid
    assert not verify_path(keys, f"/videos/{vid}/{head}.{flipped}/{file}", "", now=0).valid


def test_rotation_keys_come_from_one_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    new, old = base64.b64encode(b"n" * 32).decode(), base64.b64encode(b"o" * 32).decode()
    monkeypatch.setenv("VIDSTORE_PLAYBACK_KEYS", f"2:{new},1:{old}")
    keys = Settings.from_env().playback_keys
    assert list(keys) == ["2", "1"] and keys["2"] == b"n" * 32  # the first signs
    assert ".2." in sign_path(keys, 1, "a.ts", 10, None)
    for bad in (f"2:{new},2:{old}", f"Two:{new}", "2:c2hvcnQ=", new):
        monkeypatch.setenv("VIDSTORE_PLAYBACK_KEYS", bad)
        with pytest.raises(SettingsError):
            Settings.from_env()


async def test_playback_grant(api: Api) -> None:
    alice = await api.user()
    video_id = await api.video(alice, await api.channel(alice))
    before = int(time.time())
    grant = await api.client.post(f"/v1/videos/{video_id}/playback")
    assert grant.status_code == 200
    body = grant.json()
    url = urlsplit(body["url"])
    assert body["url"].startswith(api.services.settings.cdn_base_url + f"/videos/{video_id}/")
    assert url.path.endswith("/hls/master.m3u8") and not url.query  # the token lives in the path
    ttl = api.services.settings.playback_ttl_seconds
    assert before + ttl <= body["expires_at"] <= int(time.time()) + ttl
    verdict = verify_path(api.services.settings.playback_keys, url.path, "10.0.0.1", time.time())
    assert verdict.valid and verdict.audience == "pub" and verdict.file == "hls/master.m3u8"

    bound = await api.client.post(f"/v1/videos/{video_id}/playback", json={"bind_ip": True})
    path = urlsplit(bound.json()["url"]).path
    assert ".ip." in path
    assert verify_path(api.services.settings.playback_keys, path, "192.0.2.10", time.time()).valid
    assert not verify_path(api.services.settings.playback_keys, path, "10.9.9.9", time.time()).valid


async def test_playback_rules_match_what_strangers_are_told(api: Api) -> None:
    alice, bob = await api.user(), await api.user()
    channel_id = await api.channel(alice)
    private = await api.video(alice, channel_id, visibility="private")
    unlisted = await api.video(alice, channel_id, visibility="unlisted")
    draft = await api.video(alice, channel_id, visibility="public", ready=False)
    for video_id in (private, draft):  # GET /v1/videos/{id} is 404 for these: so is playback
        for caller in ({}, bob.auth):
            assert (await api.client.get(f"/v1/videos/{video_id}", headers=caller)).status_code == 404
            grant = await api.client.post(f"/v1/videos/{video_id}/playback", headers=caller)
            assert grant.status_code == 404
    own = await api.client.post(f"/v1/videos/{private}/playback", headers=alice.auth)
    assert own.status_code == 200 and ".own." in own.json()["url"]  # plays while private
    assert (await api.client.post(f"/v1/videos/{unlisted}/playback")).status_code == 200
    not_ready = await api.client.post(f"/v1/videos/{draft}/playback", headers=alice.auth)
    assert not_ready.status_code == 409
    assert (await api.client.post("/v1/videos/77777777777/playback")).status_code == 404


async def test_what_the_edges_refuse_follows_the_video(api: Api) -> None:
    """The revocation the worker pushes to the edges (api.cdn), read from each video's state."""
    alice = await api.user()
    channel_id = await api.channel(alice)
    cases = {
        await api.video(alice, channel_id, visibility="public"): "none",
        await api.video(alice, channel_id, visibility="unlisted"): "none",
        await api.video(alice, channel_id, visibility="private"): "pub",  # its owner's tokens play
        await api.video(alice, channel_id, ready=False): "none",  # no token was ever signed for it
        77777777777: "all",  # gone: every token refused
    }
    for video_id, expected in cases.items():
        assert revocation(await api.services.videos.latest(video_id)) == expected, video_id
