"""Object storage through the S3 API (boto3), so production points at S3, GCS or any S3 server by
configuration alone. Video bytes never pass through the API: clients upload to presigned URLs, the
edge reads through presigned URLs. Calls that do I/O are blocking; async code runs them in a thread.

Layout in the bucket: `uploads/{video_id}/source` (what the owner uploaded; never served) and
`videos/{video_id}/...` (HLS renditions and the thumbnail: what the edge serves with a token).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.client import Config
from botocore.exceptions import ClientError

UPLOADS, VIDEOS = "uploads/", "videos/"  # the bucket's two trees, each one folder per video id


def upload_prefix(video_id: int) -> str:
    return f"{UPLOADS}{video_id}/"


def source_key(video_id: int) -> str:
    return upload_prefix(video_id) + "source"


def video_prefix(video_id: int) -> str:
    return f"{VIDEOS}{video_id}/"


def prefixes(video_id: int) -> tuple[str, str]:
    """Everything stored for a video: its upload and what is played."""
    return upload_prefix(video_id), video_prefix(video_id)


def manifest_key(video_id: int) -> str:
    """The HLS master playlist the worker writes and playback URLs point at."""
    return video_prefix(video_id) + "hls/master.m3u8"


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    size: int


class ObjectStore:
    def __init__(self, endpoint: str, access_key: str, secret_key: str, bucket: str, region: str) -> None:
        self.bucket = bucket
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            region_name=region,
            config=Config(
                signature_version="s3v4", s3={"addressing_style": "path"}, retries={"mode": "standard"}
            ),
        )

    def ensure_bucket(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError:
            self.client.create_bucket(Bucket=self.bucket)

    # Presigning is local computation (no request is sent).
    def presign_put(self, key: str, content_type: str, size: int, ttl: int) -> str:
        """A PUT URL bound to this type and exact size: S3 refuses any other body."""
        params = {"Bucket": self.bucket, "Key": key, "ContentType": content_type, "ContentLength": size}
        return str(self.client.generate_presigned_url("put_object", Params=params, ExpiresIn=ttl))

    def presign_part(self, key: str, upload_id: str, part_number: int, size: int, ttl: int) -> str:
        params = {
            "Bucket": self.bucket,
            "Key": key,
            "UploadId": upload_id,
            "PartNumber": part_number,
            "ContentLength": size,
        }
        return str(self.client.generate_presigned_url("upload_part", Params=params, ExpiresIn=ttl))

    def presign_get(self, key: str, ttl: int) -> str:
        params = {"Bucket": self.bucket, "Key": key}
        return str(self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=ttl))

    # Requests.
    def create_multipart(self, key: str, content_type: str) -> str:
        created = self.client.create_multipart_upload(Bucket=self.bucket, Key=key, ContentType=content_type)
        return str(created["UploadId"])

    def complete_multipart(self, key: str, upload_id: str, parts: list[tuple[int, str]]) -> None:
        self.client.complete_multipart_upload(
            Bucket=self.bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etag} for n, etag in parts]},
        )

    def head(self, key: str) -> ObjectInfo | None:
        try:
            found = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return ObjectInfo(size=int(found["ContentLength"]))

    def download(self, key: str, path: str) -> None:
        self.client.download_file(self.bucket, key, path)

    def upload(self, path: str, key: str, content_type: str) -> None:
        self.client.upload_file(path, self.bucket, key, ExtraArgs={"ContentType": content_type})

    def keys(self, prefix: str) -> Iterator[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        for page in pages:
            for item in page.get("Contents", []):
                yield str(item["Key"])

    def delete_prefix(self, prefix: str) -> int:
        deleted = 0
        batch: list[str] = []
        for key in [*self.keys(prefix), None]:
            if key is not None:
                batch.append(key)
            if batch and (key is None or len(batch) == 1000):
                objects = [{"Key": k} for k in batch]
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": objects, "Quiet": True})
                deleted += len(batch)
                batch = []
        return deleted
