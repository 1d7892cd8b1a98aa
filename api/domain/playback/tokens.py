"""Signed playback URLs. The token sits in the path so that every relative URI an HLS player resolves
(variant playlists, segments) carries it:

    {cdn}/videos/{video_id}/{expires}.{scope}.{signature}/{file}

signature = base64url(HMAC-SHA256(key, "v1|{expires}|{scope}|/videos/{video_id}/|{ip}")), where scope
is "ip" (bound to the client's address) or "any" (ip empty). One token covers every file under that
video's prefix, and nothing else, until it expires. Verification compares in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

_PATH = re.compile(r"/videos/([1-9][0-9]{0,18})/([0-9]{1,12})\.(ip|any)\.([A-Za-z0-9_-]{43})/(.+)")


def _signature(key: bytes, video_id: int, expires: int, scope: str, ip: str) -> str:
    message = f"v1|{expires}|{scope}|/videos/{video_id}/|{ip if scope == 'ip' else ''}".encode()
    return base64.urlsafe_b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode().rstrip("=")


def sign_path(key: bytes, video_id: int, file: str, expires: int, client_ip: str | None) -> str:
    scope = "ip" if client_ip else "any"
    token = f"{expires}.{scope}.{_signature(key, video_id, expires, scope, client_ip or '')}"
    return f"/videos/{video_id}/{token}/{file.lstrip('/')}"


@dataclass(frozen=True, slots=True)
class Verdict:
    valid: bool
    reason: str  # "ok", or why it was refused
    video_id: int | None = None
    expires: int | None = None
    file: str | None = None


def verify_path(key: bytes, path: str, client_ip: str, now: float) -> Verdict:
    match = _PATH.fullmatch(path)
    if match is None:
        return Verdict(False, "malformed playback path")
    video_id, expires, scope, signature, file = (
        int(match.group(1)),
        int(match.group(2)),
        match.group(3),
        match.group(4),
        match.group(5),
    )
    if any(part in ("", ".", "..") for part in file.split("/")):
        return Verdict(False, "malformed playback path")
    expected = _signature(key, video_id, expires, scope, client_ip)
    # Compare before looking at the expiry, so timing says nothing about which check failed.
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        return Verdict(False, "signature does not match this video, address or expiry")
    if now >= expires:
        return Verdict(False, "token expired", video_id, expires)
    return Verdict(True, "ok", video_id, expires, file)
