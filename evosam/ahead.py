"""Embeddings of a walk through a video, computed a batch ahead of the propagation.

A propagation's prompts depend on the previous frame's mask, but its embeddings do not:
they can be computed ahead, ``batch`` frames per encoder call (on a GPU a batch keeps the
device busy), while one reader thread decodes the next batch's frames. The reader thread is
the only one that touches the video reader (OpenCV readers are not thread-safe).

    with EmbeddingsAhead(backend, video.frame, frames, batch=8) as ahead:
        session = TrackSession(backend, ahead.frame, ahead.embedding)
        ...

(``evosam.tracking.propagate_video`` does exactly this.)

Memory: two batches of frames (the current one and the next being read) and one batch of
embeddings; going back to an earlier batch can hold one more batch of frames. With a
``cache`` (the app's embedding cache), embeddings found there are used and only the missing
frames of a batch go through the encoder; new embeddings are put there.

With ``encode_ahead=False`` (keyframe embeddings, ``evosam.tracking.keyframes``: most frames
are never encoded) frames are still read a batch ahead, but ``embedding(index)`` encodes
that frame alone when asked; the previous batch's frames are kept too (a keyframe's flow
reads the frame before the one just read ahead).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from evosam.models import Embedding, PromptableModel
from evosam.models.cache import EmbeddingCache

FrameReader = Callable[[int], np.ndarray]


def default_batch(backend: PromptableModel) -> int:
    """Frames per encoder call: 8 on CUDA, 1 on the CPU (batches do not speed a CPU up)."""
    return 8 if backend.device.type == "cuda" else 1


class EmbeddingsAhead:
    """``frame(index)`` and ``embedding(index)`` for the indices of a walk (``order``), in
    batches of ``batch`` consecutive walk positions; other indices are read and embedded
    on demand. Asking out of order works (the batch holding the index is computed).
    ``cache``, ``cache_key(index)``: an embedding cache to use and fill (both or neither).
    ``encode_ahead``: False encodes only the frames asked for, one at a time."""

    def __init__(
        self,
        backend: PromptableModel,
        read_frame: FrameReader,
        order: Sequence[int],
        batch: int = 1,
        cache: EmbeddingCache | None = None,
        cache_key: Callable[[int], Hashable] | None = None,
        encode_ahead: bool = True,
    ) -> None:
        if (cache is None) != (cache_key is None):
            raise ValueError("EmbeddingsAhead needs both cache and cache_key, or neither")
        self.backend = backend
        self.batch = max(1, int(batch))
        self.encode_ahead = encode_ahead
        self._cache, self._cache_key = cache, cache_key
        self._read = read_frame
        self._order = list(order)
        self._position = {index: i for i, index in enumerate(self._order)}
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="evosam-frame-reader")
        self._pending: dict[int, Future] = {}  # batch number -> frames being read
        self._batch_no = -1
        self._frames: dict[int, np.ndarray] = {}
        self._previous: dict[int, np.ndarray] = {}  # without ``encode_ahead``: the batch before the current one
        self._embeddings: dict[int, Embedding] = {}

    def __enter__(self) -> EmbeddingsAhead:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the reader thread (a read in progress finishes first)."""
        for future in self._pending.values():
            future.cancel()
        self._reader.shutdown(wait=True)

    def frame(self, index: int) -> np.ndarray:
        """RGB uint8 (H, W, 3) of ``index``. A frame of another batch of the walk (the next
        one, read ahead) does not change the current batch: its embeddings stay."""
        batch_no = self._batch_of(index)
        if batch_no is None:
            return self._reader.submit(self._read, index).result()
        if batch_no == self._batch_no:
            return self._frames[index]
        if index in self._previous:
            return self._previous[index]
        # the first request makes its batch the current one; without ``encode_ahead`` (no
        # embeddings to keep) so does every request of a later batch
        if self._batch_no < 0 or (not self.encode_ahead and batch_no > self._batch_no):
            self._load(batch_no, embed=False)
            return self._frames[index]
        return self._read_batch(batch_no).result()[self._indices(batch_no).index(index)]

    def embedding(self, index: int) -> Embedding:
        """The embedding of ``index`` (its batch is encoded at the first request; without
        ``encode_ahead``, that frame alone, the cache's where it has one)."""
        batch_no = self._batch_of(index)
        if batch_no is None or not self.encode_ahead:
            return self._embed_all([index], {index: self.frame(index)})[index]
        self._load(batch_no, embed=True)
        return self._embeddings[index]

    def _embed_all(self, indices: list[int], frames: dict[int, np.ndarray]) -> dict[int, Embedding]:
        """Embeddings of ``indices`` (RGB ``frames`` by index): the cache's, the rest encoded in one call."""
        found = {i: self._cache.get(self._cache_key(i)) for i in indices} if self._cache is not None else {}
        missing = [i for i in indices if found.get(i) is None]
        new = dict(zip(missing, self.backend.embed_batch([frames[i] for i in missing]), strict=True))
        if self._cache is not None:
            for i, emb in new.items():
                self._cache.put(self._cache_key(i), emb)
        return {i: found.get(i) or new[i] for i in indices}

    def _batch_of(self, index: int) -> int | None:
        position = self._position.get(index)
        return None if position is None else position // self.batch

    def _indices(self, batch_no: int) -> list[int]:
        return self._order[batch_no * self.batch : (batch_no + 1) * self.batch]

    def _read_batch(self, batch_no: int) -> Future:
        if batch_no not in self._pending:
            indices = self._indices(batch_no)
            self._pending[batch_no] = self._reader.submit(lambda: [self._read(i) for i in indices])
        return self._pending[batch_no]

    def _load(self, batch_no: int, embed: bool) -> None:
        """Make ``batch_no`` the current batch (its frames, and its embeddings if ``embed``)."""
        if batch_no != self._batch_no:
            frames = self._read_batch(batch_no).result()
            self._pending = {k: f for k, f in self._pending.items() if k > batch_no}
            keep = not self.encode_ahead and batch_no == self._batch_no + 1
            self._previous = self._frames if keep else {}
            self._frames = dict(zip(self._indices(batch_no), frames, strict=True))
            self._embeddings = {}
            self._batch_no = batch_no
            if self._indices(batch_no + 1):
                self._read_batch(batch_no + 1)  # the reader decodes ahead while this batch is encoded
        if embed and not self._embeddings:
            self._embeddings = self._embed_all(list(self._frames), self._frames)
