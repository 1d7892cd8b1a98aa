"""ffprobe and ffmpeg (Debian's): validate an upload, transcode it to HLS, make a thumbnail.

Every child dies with its worker: it asks the kernel for SIGKILL when its parent goes
(PR_SET_PDEATHSIG, set between fork and exec), so a SIGKILLed worker leaves no ffmpeg running on
its own. A run is also stopped when its job's lease is lost (`abort`), so a job taken over by another
worker is not transcoded twice at once."""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)

# ffprobe guesses formats from content: random bytes can "be" a video (bintext). Only these count.
CONTAINERS = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm"
# (name, height, video kbit/s): two renditions, each a variant of the master playlist.
RENDITIONS = (("360p", 360, 800), ("240p", 240, 400))


class InvalidMedia(Exception):
    """The upload is not a video we can play: a permanent failure, not worth a retry."""


class Aborted(Exception):
    """The run was stopped because its job is no longer this worker's."""


def _die_with(parent: int) -> None:
    """In the child before exec: SIGKILL when the parent dies (and at once if it already has).
    The signal follows the forking thread: the worker forks from a thread that lives as long as
    the job."""
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)


def run(args: list[str], timeout: float, abort: threading.Event | None = None) -> tuple[int, str, str]:
    """Run a media tool to completion: (exit code, stdout, stderr). Killed on timeout
    (TimeoutExpired) or when `abort` is set (Aborted)."""
    parent = os.getpid()
    deadline = time.monotonic() + timeout
    with subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: _die_with(parent),  # only prctl and getppid run there
    ) as child:
        while True:
            try:
                out, err = child.communicate(timeout=0.2)
                return child.returncode, out, err
            except subprocess.TimeoutExpired:
                if abort is not None and abort.is_set():
                    child.kill()
                    child.communicate()
                    raise Aborted(f"{args[0]} stopped: the job's lease was lost") from None
                if time.monotonic() > deadline:
                    child.kill()
                    child.communicate()
                    raise


@dataclass(frozen=True, slots=True)
class Probe:
    duration_ms: int
    has_audio: bool


def probe(path: Path, abort: threading.Event | None = None) -> Probe:
    code, out, err = run(
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
        60,
        abort,
    )
    if code != 0:
        reason = (err.strip().splitlines() or ["unreadable"])[-1]
        raise InvalidMedia(f"not a video file: {reason}")
    info = json.loads(out or "{}")
    kinds = {s.get("codec_type") for s in info.get("streams", [])}
    duration = float(info.get("format", {}).get("duration") or 0)
    if "video" not in kinds or duration <= 0:
        raise InvalidMedia("no video stream with a duration")
    return Probe(duration_ms=round(duration * 1000), has_audio="audio" in kinds)


def transcode(source: Path, out: Path, media: Probe, abort: threading.Event | None = None) -> list[Path]:
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
    code, _, err = run(args, 3600, abort)
    if code != 0:
        raise InvalidMedia(f"transcoding failed: {err.strip()[-300:]}")
    return sorted(p for p in out.rglob("*") if p.is_file())


def thumbnail(source: Path, out: Path, media: Probe, abort: threading.Event | None = None) -> Path:
    at = min(1.0, media.duration_ms / 2000)
    code, _, err = run(
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
        120,
        abort,
    )
    if code != 0:
        raise subprocess.CalledProcessError(code, "ffmpeg thumbnail", stderr=err)
    return out
