"""ffprobe and ffmpeg (Debian's): validate an upload, transcode it to HLS, make a thumbnail."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

# ffprobe guesses formats from content: random bytes can "be" a video (bintext). Only these count.
CONTAINERS = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm"
# (name, height, video kbit/s): two renditions, each a variant of the master playlist.
RENDITIONS = (("360p", 360, 800), ("240p", 240, 400))


class InvalidMedia(Exception):
    """The upload is not a video we can play: a permanent failure, not worth a retry."""


@dataclass(frozen=True, slots=True)
class Probe:
    duration_ms: int
    has_audio: bool


def probe(path: Path) -> Probe:
    done = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-format_whitelist",
            CONTAINERS,
            "-show_entries",
            "format=duration:stream=codec_type,codec_name",
            "-of",
            "json",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["unreadable"])[-1]
        raise InvalidMedia(f"not a video file: {reason}")
    info = json.loads(done.stdout or "{}")
    kinds = {s.get("codec_type") for s in info.get("streams", [])}
    duration = float(info.get("format", {}).get("duration") or 0)
    if "video" not in kinds or duration <= 0:
        raise InvalidMedia("no video stream with a duration")
    return Probe(duration_ms=round(duration * 1000), has_audio="audio" in kinds)


def transcode(source: Path, out: Path, media: Probe) -> list[Path]:
    """HLS in two renditions with a master playlist (out/master.m3u8), 2 s segments."""
    out.mkdir(parents=True, exist_ok=True)
    args = ["ffmpeg", "-v", "error", "-y", "-i", str(source)]
    for index, (_, height, kbps) in enumerate(RENDITIONS):
        args += ["-map", "0:v:0"] + (["-map", "0:a:0"] if media.has_audio else [])
        args += [f"-filter:v:{index}", f"scale=-2:{height}", f"-b:v:{index}", f"{kbps}k"]
    streams = " ".join(
        f"v:{i},a:{i},name:{name}" if media.has_audio else f"v:{i},name:{name}"
        for i, (name, _, _) in enumerate(RENDITIONS)
    )
    args += ["-c:v", "libx264", "-preset", "veryfast", "-g", "48", "-sc_threshold", "0"]
    args += ["-c:a", "aac", "-b:a", "96k"] if media.has_audio else []
    args += [
        "-f",
        "hls",
        "-hls_time",
        "2",
        "-hls_playlist_type",
        "vod",
        "-hls_segment_filename",
        str(out / "%v/seg_%03d.ts"),
        "-master_pl_name",
        "master.m3u8",
        "-var_stream_map",
        streams,
        str(out / "%v/index.m3u8"),
    ]
    done = subprocess.run(args, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise InvalidMedia(f"transcoding failed: {done.stderr.strip()[-300:]}")
    return sorted(p for p in out.rglob("*") if p.is_file())


def thumbnail(source: Path, out: Path, media: Probe) -> Path:
    at = min(1.0, media.duration_ms / 2000)
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-ss",
            f"{at:.2f}",
            "-i",
            str(source),
            "-frames:v",
            "1",
            "-vf",
            "scale=320:-2",
            str(out),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return out
