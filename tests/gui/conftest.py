"""GUI test fixtures: offscreen Qt, a tiny synthetic clip, a main window on the real LiteMedSAM."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from gui_clip import FRAMES, HEIGHT, WIDTH, blob_mask  # noqa: E402  (tests/gui is on sys.path)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "fresh_embeddings: the window starts with an empty embedding cache (timing-sensitive tests)"
    )


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    """A folder of FRAMES PNG frames, HEIGHT x WIDTH: dark red tissue with a bright moving blob."""
    folder = tmp_path / "clip"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(FRAMES):
        rgb = np.empty((HEIGHT, WIDTH, 3), np.uint8)
        rgb[:] = (90, 25, 30)
        rgb = np.clip(rgb + rng.normal(0, 6, rgb.shape), 0, 255).astype(np.uint8)
        rgb[blob_mask(i)] = (235, 225, 200)
        cv2.imwrite(str(folder / f"{i:05d}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return folder


@pytest.fixture(scope="session")
def embeddings():
    """Embeddings shared by the windows of all GUI tests: every test's clip has the same content
    (fingerprint), so each frame is embedded once per session. Results are the same either way."""
    from evosam.models.cache import EmbeddingCache

    return EmbeddingCache(64 * 2**20)


@pytest.fixture
def window(qtbot, litemedsam, clip, embeddings, request):
    """A shown main window on ``clip``, with the model loaded and no background prefetch.
    Tests marked ``fresh_embeddings`` get an empty cache (to time real model work)."""
    from app.main_window import MainWindow, open_source
    from evosam.models.cache import EmbeddingCache

    cache = EmbeddingCache(64 * 2**20) if request.node.get_closest_marker("fresh_embeddings") else embeddings
    win = MainWindow(lambda: litemedsam, prefetch_ms=0, cache=cache)
    qtbot.addWidget(win)
    win.set_video(open_source(clip), clip)
    win.resize(900, 600)
    win.show()
    qtbot.waitExposed(win)
    qtbot.waitUntil(lambda: not win._jobs, timeout=30000)  # model loaded, video opened in the worker
    assert "LiteMedSAM" in win.model_info.text()
    yield win
    win.close()
