"""Subscriptions and the home feed."""

from __future__ import annotations

from tests.conftest import Api


async def test_subscribe_feed_unsubscribe(api: Api) -> None:
    alice, bob, carol = await api.user(), await api.user(), await api.user()
    bobs, carols = await api.channel(bob), await api.channel(carol)
    b1 = await api.video(bob, bobs)
    c1 = await api.video(carol, carols)
    await api.video(carol, carols, visibility="private")
    await api.video(carol, carols, visibility="unlisted")
    await api.video(bob, bobs, ready=False)
    b2 = await api.video(bob, bobs)

    for channel_id in (bobs, carols):
        put = await api.client.put(f"/v1/me/subscriptions/{channel_id}", headers=alice.auth)
        assert put.status_code == 204
    again = await api.client.put(f"/v1/me/subscriptions/{bobs}", headers=alice.auth)
    assert again.status_code == 204  # idempotent
    subs = (await api.client.get("/v1/me/subscriptions", headers=alice.auth)).json()
    assert sorted(subs["channel_ids"]) == sorted([bobs, carols])

    feed = (await api.client.get("/v1/me/feed", headers=alice.auth)).json()
    assert [v["video_id"] for v in feed["items"]] == [b2, c1, b1]  # ready + public only, newest first

    first = (await api.client.get("/v1/me/feed", params={"limit": 2}, headers=alice.auth)).json()
    rest = (
        await api.client.get(
            "/v1/me/feed", params={"limit": 2, "cursor": first["next_cursor"]}, headers=alice.auth
        )
    ).json()
    assert [v["video_id"] for v in first["items"] + rest["items"]] == [b2, c1, b1]
    assert rest["next_cursor"] is None

    gone = await api.client.delete(f"/v1/me/subscriptions/{bobs}", headers=alice.auth)
    assert gone.status_code == 204
    feed = (await api.client.get("/v1/me/feed", headers=alice.auth)).json()
    assert [v["video_id"] for v in feed["items"]] == [c1]


async def test_feed_and_subscriptions_need_a_user(api: Api) -> None:
    bob = await api.user()
    channel_id = await api.channel(bob)
    assert (await api.client.get("/v1/me/feed")).status_code == 401
    assert (await api.client.put(f"/v1/me/subscriptions/{channel_id}")).status_code == 401
    missing = await api.client.put("/v1/me/subscriptions/123456789", headers=bob.auth)
    assert missing.status_code == 404
    empty = (await api.client.get("/v1/me/feed", headers=bob.auth)).json()
    assert empty == {"items": [], "next_cursor": None}
