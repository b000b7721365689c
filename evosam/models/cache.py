"""Bounded LRU of embeddings keyed by (video id, frame index), limited in bytes."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from evosam.models.types import Embedding


class EmbeddingCache:
    """Least-recently-used embeddings whose total ``nbytes`` never exceeds ``max_bytes``.

    Thread-safe for lookups from the GUI thread while the model worker inserts.
    """

    def __init__(self, max_bytes: int = 512 * 2**20) -> None:
        self.max_bytes = int(max_bytes)
        self._items: OrderedDict[Hashable, Embedding] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def nbytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items

    def get(self, key: Hashable) -> Embedding | None:
        with self._lock:
            emb = self._items.get(key)
            if emb is not None:
                self._items.move_to_end(key)
            return emb

    def put(self, key: Hashable, emb: Embedding) -> None:
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old.nbytes
            if emb.nbytes > self.max_bytes:
                return
            self._items[key] = emb
            self._bytes += emb.nbytes
            while self._bytes > self.max_bytes:
                _, evicted = self._items.popitem(last=False)
                self._bytes -= evicted.nbytes

    def get_or_compute(self, key: Hashable, compute: Callable[[], Embedding], keep: bool = True) -> Embedding:
        """The cached embedding of ``key``, else ``compute()``'s, cached unless ``keep`` is
        False (a caller walking over frames the cache let go, in order, would otherwise evict
        each next one it needs: an LRU under a scan)."""
        emb = self.get(key)
        if emb is None:
            emb = compute()
            if keep:
                self.put(key, emb)
        return emb
