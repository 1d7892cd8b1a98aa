"""Signed playback URLs. The token sits in the path so that every relative URI an HLS player resolves
(variant playlists, segments) carries it:

    {cdn}/videos/{video_id}/{expires}.{scope}.{audience}.{key_id}.{signature}/{file}

signature = base64url(HMAC-SHA256(key[key_id],
                      "v2|{key_id}|{expires}|{scope}|{audience}|/videos/{video_id}/|{ip}"))

- scope "ip" binds the token to the client's address (ip = that address), "any" does not (ip empty);
- audience "pub" plays while the video is public or unlisted, "own" (minted for its owner) also
  while it is private;
- key_id names the key, so two keys verify during a rotation (the first listed signs).

One token covers every file under that video's prefix, and nothing else, until it expires. The edge
(stack/edge/edge.js) is the verifier that serves traffic; `verify_path` here is the same check in
Python, the reference the tests hold the edge to.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Literal

Audience = Literal["pub", "own"]

# The edge's pattern too (edge.js): file names are 1-4 plain segments, none starting with a dot.
_PATH = re.compile(
    r"/videos/([1-9][0-9]{0,18})/([0-9]{1,12})\.(any|ip)\.(pub|own)\.([a-z0-9]{1,8})\.([A-Za-z0-9_-]{43})"
    r"/((?:[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}/){0,3}[A-Za-z0-9_][A-Za-z0-9_.-]{0,99})"
)
KEY_ID = re.compile(r"[a-z0-9]{1,8}")


def signature(
    key: bytes, key_id: str, video_id: int, expires: int, scope: str, audience: str, ip: str
) -> str:
    message = f"v2|{key_id}|{expires}|{scope}|{audience}|/videos/{video_id}/|{ip if scope == 'ip' else ''}"
    digest = hmac.new(key, message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def sign_path(
    keys: dict[str, bytes],
    video_id: int,
    file: str,
    expires: int,
    client_ip: str | None,
    audience: Audience = "pub",
    key_id: str | None = None,
) -> str:
    """A playback path signed with `key_id` (by default the first key: the one that signs)."""
    kid = key_id or next(iter(keys))
    scope = "ip" if client_ip else "any"
    sig = signature(keys[kid], kid, video_id, expires, scope, audience, client_ip or "")
    return f"/videos/{video_id}/{expires}.{scope}.{audience}.{kid}.{sig}/{file.lstrip('/')}"


@dataclass(frozen=True, slots=True)
class TokenCheck:
    valid: bool
    reason: str  # "ok", or why it was refused
    video_id: int | None = None
    audience: str | None = None
    file: str | None = None


def verify_path(keys: dict[str, bytes], path: str, client_ip: str, now: float) -> TokenCheck:
    match = _PATH.fullmatch(path)
    if match is None:
        return TokenCheck(False, "malformed playback path")
    vid, expires, scope, audience, kid, sig, file = match.groups()
    key = keys.get(kid)
    if key is None:
        return TokenCheck(False, "unknown or retired key")
    expected = signature(key, kid, int(vid), int(expires), scope, audience, client_ip)
    # Compare before looking at the expiry, so timing says nothing about which check failed.
    if not hmac.compare_digest(expected.encode(), sig.encode()):
        return TokenCheck(False, "signature does not match this video, address or expiry")
    if now >= int(expires):
        return TokenCheck(False, "token expired")
    return TokenCheck(True, "ok", int(vid), audience, file)
