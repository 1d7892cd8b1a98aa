"""Configuration, read once from the environment (secrets included: nothing secret lives in code)."""

from __future__ import annotations

import base64
import os
import re
from dataclasses import dataclass
from pathlib import Path


class SettingsError(RuntimeError):
    pass


def _require(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise SettingsError(f"environment variable {name} is required")
    return value


def _listed(name: str) -> tuple[str, ...]:
    """A comma-separated variable's items, blanks dropped (unset: none)."""
    return tuple(item.strip() for item in os.environ.get(name, "").split(",") if item.strip())


def _secret(name: str, raw: str | None = None) -> bytes:
    raw = _require(name) if raw is None else raw
    try:
        key = base64.b64decode(raw, validate=True)
    except ValueError as exc:
        raise SettingsError(f"{name} must be base64") from exc
    if len(key) < 32:
        raise SettingsError(f"{name} must decode to at least 32 bytes")
    return key


def _playback_keys() -> dict[str, bytes]:
    """VIDSTORE_PLAYBACK_KEYS="id:base64[,id:base64...]": every key listed verifies, the first signs
    (README: key rotation). Unset: VIDSTORE_PLAYBACK_SIGNING_KEY alone, as key id 1."""
    listed = os.environ.get("VIDSTORE_PLAYBACK_KEYS") or "1:" + _require("VIDSTORE_PLAYBACK_SIGNING_KEY")
    keys: dict[str, bytes] = {}
    for item in listed.split(","):
        key_id, _, raw = item.strip().partition(":")
        if not re.fullmatch(r"[a-z0-9]{1,8}", key_id) or key_id in keys:
            raise SettingsError("VIDSTORE_PLAYBACK_KEYS: each key is id:base64, ids [a-z0-9]{1,8}, unique")
        keys[key_id] = _secret("VIDSTORE_PLAYBACK_KEYS", raw)
    return keys


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    replica_database_url: str
    redis_url: str
    playback_keys: dict[str, bytes]  # key id -> key; the first signs, all verify
    edge_secret: str  # the credential the API's worker presents to the edges (revocations)
    web_dir: str  # the watch page and its vendored player (web/)
    api_key_pepper: bytes
    cdn_base_url: str
    edge_urls: tuple[str, ...]  # every edge the worker pushes revocations to
    playback_ttl_seconds: int
    rate_limit_requests: int
    rate_limit_window_seconds: int
    auth_failures_per_window: int
    max_body_bytes: int
    shards: tuple[str, ...]
    flush_interval_seconds: float
    flush_lease_seconds: int
    video_cache_ttl_seconds: int
    view_dedupe_seconds: int
    max_in_flight: int
    s3_endpoint: str
    s3_access_key: str
    s3_secret_key: str
    s3_bucket: str
    s3_region: str
    max_upload_bytes: int
    upload_part_bytes: int
    upload_url_ttl_seconds: int
    job_max_attempts: int
    job_lease_seconds: float
    job_retry_base_seconds: float
    redis_prefix: str
    admission: str = "fixed"  # "fixed" (max_in_flight) or "adaptive" (api.admission.GradientLimit)
    trusted_proxies: tuple[str, ...] = ()  # peers whose X-Forwarded-For names the client (api.caller)

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ.get
        primary = _require("VIDSTORE_DATABASE_URL")
        cdn_base_url = env("VIDSTORE_CDN_BASE_URL", "http://127.0.0.1:15081").rstrip("/")
        return cls(
            database_url=primary,
            # Feeds read from replicas; without a replica URL they read the primary.
            replica_database_url=env("VIDSTORE_REPLICA_DATABASE_URL") or primary,
            redis_url=_require("VIDSTORE_REDIS_URL"),
            playback_keys=_playback_keys(),
            edge_secret=_require("VIDSTORE_EDGE_SECRET"),
            web_dir=env("VIDSTORE_WEB_DIR", str(Path(__file__).resolve().parent.parent / "web")),
            api_key_pepper=_secret("VIDSTORE_API_KEY_PEPPER"),
            cdn_base_url=cdn_base_url,
            # Locally the one edge is the CDN; production lists every edge (or the CDN's purge API).
            edge_urls=tuple(
                url.strip().rstrip("/")
                for url in env("VIDSTORE_EDGE_URLS", cdn_base_url).split(",")
                if url.strip()
            ),
            playback_ttl_seconds=int(env("VIDSTORE_PLAYBACK_TTL_SECONDS", "3600")),
            rate_limit_requests=int(env("VIDSTORE_RATE_LIMIT_REQUESTS", "1200")),
            rate_limit_window_seconds=int(env("VIDSTORE_RATE_LIMIT_WINDOW_SECONDS", "60")),
            auth_failures_per_window=int(env("VIDSTORE_AUTH_FAILURES_PER_WINDOW", "30")),
            max_body_bytes=int(env("VIDSTORE_MAX_BODY_BYTES", "65536")),
            # A fixed shard map for the flusher (e.g. "-80,80-"); empty: read it from the cluster.
            shards=_listed("VIDSTORE_SHARDS"),
            flush_interval_seconds=float(env("VIDSTORE_FLUSH_INTERVAL_SECONDS", "1.0")),
            flush_lease_seconds=int(env("VIDSTORE_FLUSH_LEASE_SECONDS", "30")),
            video_cache_ttl_seconds=int(env("VIDSTORE_VIDEO_CACHE_TTL_SECONDS", "30")),
            # A viewer's repeated views of one video within this many seconds count once (0: all count).
            view_dedupe_seconds=int(env("VIDSTORE_VIEW_DEDUPE_SECONDS", "30")),
            # Requests in flight per process before new ones are shed with 503 (views exempt).
            max_in_flight=int(env("VIDSTORE_MAX_IN_FLIGHT", "8")),
            s3_endpoint=env("VIDSTORE_S3_ENDPOINT", "http://127.0.0.1:15900"),
            s3_access_key=_require("VIDSTORE_S3_ACCESS_KEY"),
            s3_secret_key=_require("VIDSTORE_S3_SECRET_KEY"),
            s3_bucket=env("VIDSTORE_S3_BUCKET", "vidstore"),
            s3_region=env("VIDSTORE_S3_REGION", "us-east-1"),
            max_upload_bytes=int(env("VIDSTORE_MAX_UPLOAD_BYTES", str(4 * 2**30))),
            # Uploads above one part go multipart, with presigned URLs per part (S3's minimum: 5 MiB).
            upload_part_bytes=max(5 * 2**20, int(env("VIDSTORE_UPLOAD_PART_BYTES", str(64 * 2**20)))),
            upload_url_ttl_seconds=int(env("VIDSTORE_UPLOAD_URL_TTL_SECONDS", "3600")),
            job_max_attempts=int(env("VIDSTORE_JOB_MAX_ATTEMPTS", "5")),
            # A held job's lease, renewed by its worker's heartbeat (every lease/5): a job whose worker
            # stopped heartbeating is taken over once its lease has expired.
            job_lease_seconds=float(env("VIDSTORE_JOB_LEASE_SECONDS", "10")),
            job_retry_base_seconds=float(env("VIDSTORE_JOB_RETRY_BASE_SECONDS", "2")),
            redis_prefix=env("VIDSTORE_REDIS_PREFIX", "vidstore"),
            admission=env("VIDSTORE_ADMISSION", "fixed"),
            trusted_proxies=_listed("VIDSTORE_TRUSTED_PROXIES"),
        )
