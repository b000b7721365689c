"""The app's memory budget (no Qt here: ``app.entry`` reads it before Qt loads).

Issue 6 asks for the window under 2 GB of resident memory on a long 1080p video. Measured with
``scripts/window_memory.py`` (LiteMedSAM on OpenVINO, 10-minute 1080p video, random seeks and
stops until every cache is full): 512 MB of embeddings and 256 + 64 + 64 MB of frames reached
2.6-2.9 GB (2.4 GB with ``app.heap``'s fixed mmap threshold); these bounds, 1.92 GB. An
embedding costs 0.6-0.9 s of encoder to recompute, a 1080p frame about 25 ms of decoding at a
random seek and 3 ms in sequence, so the frame caches give way first.
"""

from __future__ import annotations

EMBEDDING_CACHE_BYTES = 256 * 2**20  # 64 embeddings of 256 x 64 x 64 float32 (LiteMedSAM, SAM ViT-B)
GUI_FRAME_CACHE_BYTES = 128 * 2**20  # frames shown (scrubbing back and forth): 21 of 1080p RGB
WORKER_FRAME_CACHE_BYTES = 32 * 2**20  # the model worker's and the read-ahead's: each frame read about once
