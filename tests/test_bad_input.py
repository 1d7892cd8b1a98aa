"""Bad input gets a 4xx JSON error naming the problem: never a 500, never a half-written change."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import text

from tests.conftest import Api, Caller, error_fields

TOO_BIG = 2**63


@pytest.fixture(scope="module")
async def owner(api: Api) -> tuple[Caller, int, int]:
    alice = await api.user()
    channel_id = await api.channel(alice)
    return alice, channel_id, await api.video(alice, channel_id)


async def rows(api: Api, table: str) -> int:
    async with api.services.db.primary.connect() as conn:
        return int((await conn.execute(text(f"SELECT COUNT(*) FROM {table}"))).scalar_one())


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 101}, "title"),
        ({"title": 5}, "title"),
        ({"title": None}, "title"),
        ({"title": "ok", "description": "d" * 5001}, "description"),
        ({"title": "ok", "visibility": "secret"}, "visibility"),
        ({"title": "ok", "status": "ready"}, "status"),  # unknown (and not client-settable)
        ({"title": "ok", "owner_id": 1}, "owner_id"),
        ({}, "title"),
    ],
)
async def test_bad_video_bodies_name_the_field(
    api: Api, owner: tuple[Caller, int, int], body: dict[str, object], field: str
) -> None:
    alice, channel_id, _ = owner
    before = await rows(api, "videos")
    response = await api.client.post(f"/v1/channels/{channel_id}/videos", json=body, headers=alice.auth)
    assert response.status_code == 400, response.text
    assert field in response.text
    assert await rows(api, "videos") == before


@pytest.mark.parametrize(
    "raw", [b"{", b"[]", b'"title"', b"{'title': 'x'}", b"\xff\xfe", b'{"title": "a", "title": }']
)
async def test_malformed_json_is_400(api: Api, owner: tuple[Caller, int, int], raw: bytes) -> None:
    alice, channel_id, _ = owner
    response = await api.client.post(
        f"/v1/channels/{channel_id}/videos",
        content=raw,
        headers={**alice.auth, "Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["status_code"] == 400


async def test_bad_patch_bodies(api: Api, owner: tuple[Caller, int, int]) -> None:
    alice, channel_id, video_id = owner
    for body, field in (({"title": ""}, "title"), ({"visibility": 1}, "visibility"), ({"nope": 1}, "nope")):
        response = await api.client.patch(f"/v1/videos/{video_id}", json=body, headers=alice.auth)
        assert response.status_code == 400 and field in response.text, body
    channel = await api.client.patch(
        f"/v1/channels/{channel_id}", json={"title": "y" * 101}, headers=alice.auth
    )
    assert channel.status_code == 400 and "title" in channel.text
    assert (await api.client.get(f"/v1/videos/{video_id}")).json()["title"] == "v"


@pytest.mark.parametrize(
    "path",
    [
        "/v1/videos/0",
        "/v1/videos/-1",
        f"/v1/videos/{TOO_BIG}",
        "/v1/videos/99999999999999999999999",
        "/v1/channels/0",
        f"/v1/channels/{TOO_BIG}/videos",
        f"/v1/videos/{TOO_BIG}/views",
    ],
)
async def test_bad_ids_are_4xx(api: Api, path: str) -> None:
    response = await api.client.get(path)
    assert 400 <= response.status_code < 500, (path, response.status_code)
    assert response.json()["status_code"] == response.status_code


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": -5}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "djE6LTU"}, "cursor"),  # "v1:-5"
        ({"cursor": "djE6OTk5OTk5OTk5OTk5OTk5OTk5OTk5"}, "cursor"),  # beyond BIGINT
        ({"cursor": "x" * 65}, "cursor"),
    ],
)
async def test_bad_page_parameters_name_the_field(
    api: Api, owner: tuple[Caller, int, int], params: dict[str, str | int], field: str
) -> None:
    alice, channel_id, _ = owner
    for url in (f"/v1/channels/{channel_id}/videos", "/v1/me/feed"):
        response = await api.client.get(url, params=params, headers=alice.auth)
        assert response.status_code == 400, (url, params, response.text)
        assert field in error_fields(response) or field in response.json()["detail"]


async def test_oversized_body_is_413_and_writes_nothing(api: Api, owner: tuple[Caller, int, int]) -> None:
    alice, channel_id, _ = owner
    before = await rows(api, "videos")
    size = api.services.settings.max_body_bytes
    response = await api.client.post(
        f"/v1/channels/{channel_id}/videos",
        json={"title": "t", "description": "d" * size},
        headers=alice.auth,
    )
    assert response.status_code == 413
    assert response.json()["status_code"] == 413
    assert await rows(api, "videos") == before


async def test_bad_playback_input(api: Api, owner: tuple[Caller, int, int]) -> None:
    _, _, video_id = owner
    bad_body = await api.client.post(f"/v1/videos/{video_id}/playback", json={"bind_ip": "yes"})
    assert bad_body.status_code == 400 and "bind_ip" in bad_body.text
    unknown = await api.client.post(f"/v1/videos/{video_id}/playback", json={"ttl": 99999})
    assert unknown.status_code == 400 and "ttl" in unknown.text
    # Paths at the edge (long, malformed, traversal): tests/test_edge.py's forgery matrix.


async def test_user_names_are_checked(api: Api) -> None:
    before = await rows(api, "users")
    for body in ({"name": ""}, {"name": "n" * 101}, {"name": ["a"]}, {"nom": "a"}):
        response = await api.client.post("/v1/users", json=body)
        assert response.status_code == 400, body
    assert await rows(api, "users") == before


async def test_deeply_nested_json_is_400_before_anything_else(api: Api) -> None:
    deep = b"[" * 1000 + b"]" * 1000
    for path in ("/v1/users", "/v1/channels", "/v1/videos/1/playback", "/v1/videos/1/upload"):
        response = await api.client.post(path, content=deep, headers={"Content-Type": "application/json"})
        assert response.status_code == 400, (path, response.text)
        assert response.json()["extra"][0]["key"] == "body"
    nested_inside = b'{"parts": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    alice = await api.user()
    response = await api.client.post(
        "/v1/videos/1/upload/complete",
        content=nested_inside,
        headers={**alice.auth, "Content-Type": "application/json"},
    )
    assert response.status_code == 400 and "parts" in response.json()["detail"], response.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"content_type": "video/mp4", "size_bytes": "10"}, "size_bytes"),  # no string-to-int coercion
        ({"content_type": "video/mp4", "size_bytes": 10.5}, "size_bytes"),
        ({"content_type": "video/mp4", "size_bytes": True}, "size_bytes"),
        ({"content_type": "video/mp4"}, "size_bytes"),  # missing
        ({"content_type": "video/mp4", "size_bytes": 0}, "size_bytes"),
        ({"content_type": "video/mp4", "size_bytes": 10, "extra": 1}, "extra"),  # unknown: named
    ],
)
async def test_wrong_types_are_refused_and_named(
    api: Api, owner: tuple[Caller, int, int], body: dict[str, object], field: str
) -> None:
    alice, channel_id, _ = owner
    draft = await api.video(alice, channel_id, ready=False, settle=False)
    response = await api.client.post(f"/v1/videos/{draft}/upload", json=body, headers=alice.auth)
    assert response.status_code == 400, response.text
    assert error_fields(response) == {field} and response.json()["detail"].startswith(f"{field}: ")


async def test_numbers_out_of_range_are_named(api: Api, owner: tuple[Caller, int, int]) -> None:
    alice, channel_id, _ = owner
    draft = await api.video(alice, channel_id, ready=False, settle=False)
    response = await api.client.post(
        f"/v1/videos/{draft}/upload",
        content=b'{"content_type": "video/mp4", "size_bytes": 1e400}',
        headers={**alice.auth, "Content-Type": "application/json"},
    )
    assert response.status_code == 400 and error_fields(response) == {"size_bytes"}, response.text


async def test_integral_numbers_are_integers(api: Api, owner: tuple[Caller, int, int]) -> None:
    """JSON Schema counts 5.0 as an integer; the API takes what its document allows."""
    alice, channel_id, _ = owner
    draft = await api.video(alice, channel_id, ready=False, settle=False)
    response = await api.client.post(
        f"/v1/videos/{draft}/upload",
        json={"content_type": "video/mp4", "size_bytes": 10.0},
        headers=alice.auth,
    )
    assert response.status_code == 201, response.text


async def test_playback_body_types_are_strict(api: Api, owner: tuple[Caller, int, int]) -> None:
    _, _, video_id = owner
    response = await api.client.post(f"/v1/videos/{video_id}/playback", json={"bind_ip": 1})
    assert response.status_code == 400 and error_fields(response) == {"bind_ip"}
    assert (await api.client.post(f"/v1/videos/{video_id}/playback")).status_code == 200  # optional body


async def test_json_in_another_content_type_is_415(api: Api) -> None:
    before = await rows(api, "users")
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "application/xml"):
        response = await api.client.post(
            "/v1/users", content=b'{"name": "x"}', headers={"Content-Type": content_type}
        )
        assert response.status_code == 415 and content_type in response.json()["detail"]
    assert await rows(api, "users") == before


async def test_parameter_errors_name_the_field_in_detail(api: Api) -> None:
    response = await api.client.get("/v1/channels/1/videos", params={"limit": "ten"})
    assert response.status_code == 400 and response.json()["detail"].startswith("limit: ")
    response = await api.client.get(f"/v1/videos/{TOO_BIG}")
    assert response.status_code == 400 and response.json()["detail"].startswith("video_id: ")


async def test_timestamps_are_rfc3339_utc(api: Api, owner: tuple[Caller, int, int]) -> None:
    alice, channel_id, video_id = owner
    for path in ("/v1/me", f"/v1/channels/{channel_id}", f"/v1/videos/{video_id}"):
        body = (await api.client.get(path, headers=alice.auth)).json()
        for name in ("created_at", "updated_at"):
            if name in body:
                assert body[name].endswith("Z"), (path, body[name])
                datetime.fromisoformat(body[name])


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/v1/videos/2", "DELETE, GET, OPTIONS, PATCH"),
        ("/v1/channels/2", "GET, OPTIONS, PATCH"),
        ("/v1/videos/2/views", "GET, OPTIONS, POST"),
        ("/v1/me/subscriptions/2", "DELETE, OPTIONS, PUT"),
    ],
)
async def test_options_and_405_name_every_method(api: Api, path: str, allowed: str) -> None:
    options = await api.client.options(path)
    assert options.status_code == 204 and options.headers["Allow"] == allowed
    refused = await api.client.request("TRACE", path)
    assert refused.status_code == 405
    assert sorted(refused.headers["Allow"].split(", ")) == allowed.split(", ")
