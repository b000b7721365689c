"""``evosam bench memory``: a long video opens and scrubs with bounded memory.

Makes (or takes) a long video, opens it with the reader the app uses, then visits frames
in rounds — sequential playback, then random jumps across the whole clip — and prints the
resident memory after each round. Memory must level off at the frame cache's bound, not
grow with the number of frames visited.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from evosam.errors import InputError
from evosam.video import open_video


def rss_mb() -> float:
    """Current resident set size (Linux /proc), MB."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def make_video(path: Path, minutes: float, size: tuple[int, int], fps: float) -> int:
    """Write a synthetic mp4 (MPEG-4 part 2) of ``minutes``: a moving gradient and a frame
    counter, cheap to encode; returns the frame count."""
    w, h = size
    count = int(round(minutes * 60 * fps))
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    if not out.isOpened():
        raise InputError(f"{path}: OpenCV cannot write mp4 here")
    base = np.tile(np.linspace(40, 200, w, dtype=np.uint8), (h, 1))
    for i in range(count):
        frame = cv2.merge([np.roll(base, i % w, axis=1), base // 2, np.full_like(base, 60)])
        cv2.putText(frame, str(i), (40, h // 2), cv2.FONT_HERSHEY_SIMPLEX, 4, (255, 255, 255), 8)
        out.write(frame)
    out.release()
    return count


def scrub(path: Path, visits: int) -> dict[str, object]:
    """Open ``path`` and visit frames in rounds; RSS (MB) after opening and after each round."""
    rng = np.random.default_rng(0)
    rounds: list[tuple[str, float]] = []
    with open_video(path) as video:
        n = video.frame_count
        rounds.append(("opened", rss_mb()))
        for name, frames in (
            ("played 1", range(min(visits, n))),
            ("jumped 1", rng.integers(0, n, visits)),
            ("played 2", range(n // 2, min(n, n // 2 + visits))),
            ("jumped 2", rng.integers(0, n, visits)),
            ("jumped 3", rng.integers(0, n, visits)),
        ):
            started = time.perf_counter()
            for i in frames:
                video.frame(int(i))
            rounds.append((f"{name} ({1000 * (time.perf_counter() - started) / visits:.0f} ms/frame)", rss_mb()))
        info = {"frames": n, "size": list(video.size), "cache_mb": round(video.cache_bytes / 2**20)}
    return {**info, "rounds": rounds}


def run(args: argparse.Namespace) -> int:
    start_rss = rss_mb()
    with tempfile.TemporaryDirectory(prefix="evosam-memory-") as tmp:
        path = Path(args.video) if args.video else Path(tmp) / "long.mp4"
        if args.video is None:
            started = time.perf_counter()
            frames = make_video(path, args.minutes, tuple(args.size), args.fps)
            print(
                f"made {path.name}: {frames} frames {args.size[0]}x{args.size[1]}, "
                f"{path.stat().st_size / 2**20:.0f} MB, {time.perf_counter() - started:.0f} s"
            )
        result = scrub(path, args.visits)
    print(
        f"memory benchmark: {result['frames']} frames of {result['size'][1]}x{result['size'][0]}, "
        f"frame cache bound {result['cache_mb']} MB, RSS before opening {start_rss:.0f} MB"
    )
    for name, mb in result["rounds"]:
        print(f"{name:>32}  {mb:8.0f} MB")
    if args.json:
        peak = round(max(m for _, m in result["rounds"]))
        print(json.dumps({**result, "start_rss_mb": round(start_rss), "peak_rss_mb": peak}))
    return 0
