"""Users, channels and videos: every endpoint's success and failure paths, and who may do what."""

from __future__ import annotations

from sqlalchemy import text

from tests.conftest import Api


async def test_user_gets_a_key_that_authenticates_and_is_stored_hashed(api: Api) -> None:
    alice = await api.user("alice")
    me = await api.client.get("/v1/me", headers=alice.auth)
    assert me.status_code == 200
    assert me.json()["user_id"] == alice.user_id and me.json()["name"] == "alice"
    async with api.services.db.primary.connect() as conn:
        stored = (
            await conn.execute(
                text("SELECT api_key_hash FROM users WHERE user_id = :u"), {"u": alice.user_id}
            )
        ).scalar_one()
    secret = alice.key.split("_", 2)[2]  # vs_<user id>_<secret>: the secret may hold "_" itself
    assert len(secret) == 43
    assert len(stored) == 32 and secret.encode() not in stored


async def test_me_needs_a_valid_key(api: Api) -> None:
    alice = await api.user()
    assert (await api.client.get("/v1/me")).status_code == 401
    wrong_secret = alice.key[:-4] + ("AAAA" if not alice.key.endswith("AAAA") else "BBBB")
    for header in (f"Bearer {wrong_secret}", "Bearer vs_1_short", "Basic abc", "Bearer "):
        response = await api.client.get("/v1/me", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.json()["status_code"] == 401


async def test_channel_create_get_update(api: Api) -> None:
    alice = await api.user()
    channel_id = await api.channel(alice, "Cooking")
    got = await api.client.get(f"/v1/channels/{channel_id}")
    assert got.status_code == 200
    assert got.json()["title"] == "Cooking" and got.json()["owner_id"] == alice.user_id
    patched = await api.client.patch(
        f"/v1/channels/{channel_id}", json={"description": "pasta"}, headers=alice.auth
    )
    assert patched.status_code == 200
    assert patched.json()["description"] == "pasta" and patched.json()["title"] == "Cooking"


async def test_channel_needs_auth_and_ownership(api: Api) -> None:
    alice, bob = await api.user(), await api.user()
    channel_id = await api.channel(alice)
    assert (await api.client.post("/v1/channels", json={"title": "x"})).status_code == 401
    denied = await api.client.patch(f"/v1/channels/{channel_id}", json={"title": "mine"}, headers=bob.auth)
    assert denied.status_code == 403
    assert (await api.client.get(f"/v1/channels/{channel_id}")).json()["title"] == "a channel"
    assert (await api.client.get("/v1/channels/999999999")).status_code == 404
    empty = await api.client.patch(f"/v1/channels/{channel_id}", json={}, headers=alice.auth)
    assert empty.status_code == 400


async def test_video_lifecycle(api: Api) -> None:
    alice = await api.user()
    channel_id = await api.channel(alice)
    created = await api.client.post(
        f"/v1/channels/{channel_id}/videos",
        json={"title": "First", "description": "hello"},
        headers=alice.auth,
    )
    assert created.status_code == 201
    video = created.json()
    assert video["status"] == "draft" and video["visibility"] == "private"
    assert video["channel_id"] == channel_id
    video_id = video["video_id"]

    got = await api.client.get(f"/v1/videos/{video_id}", headers=alice.auth)
    assert got.status_code == 200 and got.json()["title"] == "First"
    patched = await api.client.patch(
        f"/v1/videos/{video_id}", json={"title": "Renamed", "visibility": "public"}, headers=alice.auth
    )
    assert patched.status_code == 200
    assert patched.json()["title"] == "Renamed" and patched.json()["visibility"] == "public"

    deleted = await api.client.delete(f"/v1/videos/{video_id}", headers=alice.auth)
    assert deleted.status_code == 204
    assert (await api.client.get(f"/v1/videos/{video_id}", headers=alice.auth)).status_code == 404
    assert (await api.client.delete(f"/v1/videos/{video_id}", headers=alice.auth)).status_code == 404


async def test_video_visibility_rules(api: Api) -> None:
    alice, bob = await api.user(), await api.user()
    channel_id = await api.channel(alice)
    draft = await api.video(alice, channel_id, ready=False)
    private = await api.video(alice, channel_id, visibility="private")
    unlisted = await api.video(alice, channel_id, visibility="unlisted")
    public = await api.video(alice, channel_id, visibility="public")
    for video_id in (draft, private):  # invisible to others: 404, so existence does not leak
        assert (await api.client.get(f"/v1/videos/{video_id}")).status_code == 404
        assert (await api.client.get(f"/v1/videos/{video_id}", headers=bob.auth)).status_code == 404
        assert (await api.client.get(f"/v1/videos/{video_id}", headers=alice.auth)).status_code == 200
    for video_id in (unlisted, public):
        assert (await api.client.get(f"/v1/videos/{video_id}")).status_code == 200
    listed = await api.client.get(f"/v1/channels/{channel_id}/videos")
    assert [v["video_id"] for v in listed.json()["items"]] == [public]  # unlisted stays off lists
    own = await api.client.get(f"/v1/channels/{channel_id}/videos", headers=alice.auth)
    assert [v["video_id"] for v in own.json()["items"]] == [public, unlisted, private, draft]


async def test_only_the_owner_changes_a_video(api: Api) -> None:
    alice, bob = await api.user(), await api.user()
    channel_id = await api.channel(alice)
    video_id = await api.video(alice, channel_id)
    create = await api.client.post(f"/v1/channels/{channel_id}/videos", json={"title": "t"}, headers=bob.auth)
    assert create.status_code == 403
    patch = await api.client.patch(f"/v1/videos/{video_id}", json={"title": "x"}, headers=bob.auth)
    assert patch.status_code == 403
    assert (await api.client.delete(f"/v1/videos/{video_id}", headers=bob.auth)).status_code == 403
    assert (await api.client.delete(f"/v1/videos/{video_id}")).status_code == 401
    assert (await api.client.get(f"/v1/videos/{video_id}")).json()["title"] == "v"
    missing = await api.client.post("/v1/channels/987654321/videos", json={"title": "t"}, headers=bob.auth)
    assert missing.status_code == 404


async def test_channel_listing_pages_newest_first(api: Api) -> None:
    alice = await api.user()
    channel_id = await api.channel(alice)
    ids = [await api.video(alice, channel_id) for _ in range(5)]
    seen: list[int] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await api.client.get(f"/v1/channels/{channel_id}/videos", params=params)).json()
        seen += [v["video_id"] for v in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(ids, reverse=True)
