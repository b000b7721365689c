"""Embeddings a batch ahead of a propagation: ``SamBackend.embed_batch`` gives ``embed``'s
results, ``EmbeddingsAhead`` reads frames on one thread, batches the walk and propagates to
the same masks as embedding frame by frame."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from evosam.ahead import EmbeddingsAhead, default_batch
from evosam.masks import dice
from evosam.models import load_model
from evosam.propagate import propagate
from evosam.sample import default_sample_path
from evosam.video import open_video
from tests.unit.test_cli import assert_one_line_error, run_cli


@pytest.fixture(scope="module")
def sample():
    """The bundled clip (open) and its ground-truth masks of frames 0..4."""
    import cv2

    path = default_sample_path()
    masks = [cv2.imread(str(path.parent / "masks" / f"{i:06d}.png"), cv2.IMREAD_UNCHANGED) > 0 for i in range(5)]
    with open_video(path) as video:
        yield video, masks


def test_a_batch_gives_the_single_frame_embeddings(sample):
    """PyTorch encodes the batch in one call (OpenVINO frame by frame): same features."""
    video, _ = sample
    backend = load_model("litemedsam", device="cpu", runtime="torch", half=False)
    frames = [video.frame(0), video.frame(3)[:200, :300]]  # sizes may differ
    batch = backend.embed_batch(frames)
    assert backend.embed_batch([]) == []
    for frame, emb in zip(frames, batch, strict=True):
        single = backend.embed(frame)
        assert emb.frame_size == single.frame_size and emb.input_size == single.input_size
        assert emb.features.shape == (1, 256, 64, 64) and emb.features.is_contiguous()
        np.testing.assert_allclose(emb.features.numpy(), single.features.numpy(), atol=2e-4)


class Recorder:
    """The real backend, with a note of every encoder call's batch size and of the threads
    that read frames."""

    def __init__(self, backend, video) -> None:
        self.backend, self.video = backend, video
        self.batches: list[int] = []
        self.reader_threads: set[str] = set()

    def read(self, index: int) -> np.ndarray:
        self.reader_threads.add(threading.current_thread().name)
        return self.video.frame(index)

    def embed_batch(self, frames):
        self.batches.append(len(frames))
        return self.backend.embed_batch(frames)

    def __getattr__(self, name):
        return getattr(self.backend, name)


def test_the_walk_is_embedded_in_batches_and_read_on_one_thread(litemedsam, sample):
    video, masks = sample
    rec = Recorder(litemedsam, video)
    walk = range(1, 5)
    with EmbeddingsAhead(rec, rec.read, walk, batch=3) as ahead:
        got = list(propagate(litemedsam, ahead.frame, ahead.embedding, walk, masks[0]))
        assert ahead.embedding(0).frame_size == (360, 640)  # outside the walk: read and embedded on demand
        assert ahead.embedding(2).frame_size == (360, 640)  # back to an earlier batch: computed again
    assert rec.batches == [3, 1, 1, 3]
    assert len(rec.reader_threads) == 1 and threading.current_thread().name not in rec.reader_threads
    plain = list(propagate(litemedsam, video.frame, lambda i: litemedsam.embed(video.frame(i)), walk, masks[0]))
    for a, b in zip(got, plain, strict=True):
        assert a.index == b.index and dice(a.mask, b.mask) >= 0.99


def test_batch_defaults_and_bad_values(litemedsam, tmp_path):
    assert default_batch(litemedsam) == 1  # the CPU: batches gain nothing there
    proc = run_cli(
        "propagate",
        str(default_sample_path()),
        "--box",
        "1",
        "1",
        "20",
        "20",
        "--start",
        "0",
        "--batch",
        "0",
        "--out",
        str(tmp_path / "o"),
    )
    assert_one_line_error(proc, "--batch 0")


def test_a_cache_is_used_and_filled(litemedsam, sample):
    """With the app's embedding cache: cached frames skip the encoder, the others are put there."""
    from evosam.models.cache import EmbeddingCache

    video, _ = sample
    rec = Recorder(litemedsam, video)
    cache = EmbeddingCache(64 * 2**20)
    known = litemedsam.embed(video.frame(2))
    cache.put(("clip", 2), known)
    with pytest.raises(ValueError, match="both cache and cache_key"):
        EmbeddingsAhead(rec, rec.read, range(1, 5), 3, cache=cache)
    with EmbeddingsAhead(rec, rec.read, range(1, 5), 3, cache, lambda i: ("clip", i)) as ahead:
        assert ahead.embedding(2) is known
        assert ahead.embedding(4) is not None and ahead.embedding(0) is not None  # next batch; outside the walk
    assert rec.batches == [2, 1, 1]  # frames 1 and 3 (2 was cached), then 4, then 0
    assert all(("clip", i) in cache for i in range(5))
