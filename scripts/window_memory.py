"""The annotator window's resident memory while a long video is scrubbed (issue 6: < 2 GB).

Opens VIDEO in the real window (offscreen Qt, LiteMedSAM on the CPU, the idle prefetcher on:
it embeds the frame where the playhead rests and three after it), seeks to ``--seeks`` random
frames per round, resting ``--rest`` seconds on each and ``--stop`` seconds on every
``--stop-every``-th (long enough for the prefetcher to embed: the embedding cache fills to its
bound), then plays for ``--play`` seconds, and prints the window's resident memory after each
step. A long 1080p video: ``evosam bench memory
--minutes 10`` makes one (or any recording).

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/window_memory.py VIDEO [--rounds 4]
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import evosam  # noqa: E402, F401  - first, as in main.py (limits OpenBLAS's idle spinning)

# isort: split
import numpy as np  # noqa: E402
import torch  # noqa: E402, F401  - before PySide6, as in main.py
from PySide6.QtWidgets import QApplication  # noqa: E402
from window_driver import run_events  # noqa: E402

from app.budget import EMBEDDING_CACHE_BYTES  # noqa: E402
from app.heap import map_large_buffers  # noqa: E402
from app.main_window import MainWindow, open_source  # noqa: E402
from evosam.bench.memory import rss_mb  # noqa: E402
from evosam.models import load_model  # noqa: E402
from evosam.models.cache import EmbeddingCache  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seeks", type=int, default=150, help="random seeks per round (default 150)")
    parser.add_argument("--rest", type=float, default=0.03, help="seconds on each seek (default 0.03)")
    parser.add_argument("--stop", type=float, default=4.0, help="seconds on every --stop-every-th seek (default 4)")
    parser.add_argument("--stop-every", type=int, default=15, help="(default 15: 10 stops per round of 150)")
    parser.add_argument("--malloc-default", action="store_true", help="leave glibc's mmap threshold dynamic")
    parser.add_argument("--play", type=float, default=20.0, help="seconds of playback at the end (default 20)")
    args = parser.parse_args()
    if not args.malloc_default:
        map_large_buffers()  # as app.entry does
    _app = QApplication(sys.argv[:1])  # kept alive while the window runs
    cache = EmbeddingCache(EMBEDDING_CACHE_BYTES)  # the app's bound
    win = MainWindow(lambda: load_model("litemedsam", device="cpu"), cache=cache)
    win.set_video(open_source(args.video), args.video)
    win.resize(1400, 900)
    win.show()
    run_events(600, lambda: win.controller.idle() and "LiteMedSAM" in win.model_info.text())
    rows = [("video opened, model loaded", rss_mb())]
    rng = np.random.default_rng(0)
    n = win.player.frame_count
    for r in range(1, args.rounds + 1):
        for k, i in enumerate(rng.integers(0, n, args.seeks)):
            win.player.seek(int(i))
            run_events(args.stop if k % args.stop_every == args.stop_every - 1 else args.rest)
        cached = f"{len(cache)} embeddings, {cache.nbytes / 2**20:.0f} MB"
        rows.append((f"{r * args.seeks} random seeks ({cached})", rss_mb()))
    win.player.play()
    run_events(args.play)
    win.player.pause()
    rows.append((f"{args.play:.0f} s of playback", rss_mb()))
    run_events(120, lambda: win.controller.idle())
    print(f"window memory: {args.video}, {n} frames, {win.model_info.text()}")
    for text, mb in rows:
        print(f"{text:>50}  {mb:7.0f} MB")
    win.close()


if __name__ == "__main__":
    main()
