"""GUI test fixtures: offscreen Qt, a tiny synthetic clip, a main window on the real LiteMedSAM."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from gui_clip import write_clip  # noqa: E402  (tests/gui is on sys.path)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "fresh_embeddings: the window starts with an empty embedding cache (timing-sensitive tests)"
    )


@pytest.fixture(autouse=True)
def collect_closed_windows(qapp):
    """After each GUI test (its windows closed), collect the Python garbage here, on the main
    thread. Left to a later collection that happens to run on a worker thread (the next
    test's), a closed window's QObject is destroyed there; its destructor takes a Qt mutex and
    then waits for the GIL, while the main thread, holding the GIL, destroys widgets and waits
    for that mutex: a deadlock (one full run hung so, for 10 minutes, in the window fixture)."""
    yield
    import gc

    qapp.processEvents()
    gc.collect()


@pytest.fixture(autouse=True)
def own_user_folders(tmp_path_factory, monkeypatch) -> Path:
    """Each GUI test its own settings and data folders (``EVOSAM_HOME``): the recent list and
    the untitled autosaves, which a window resumes when it opens a clip of the same content,
    are the test's own. The cache (the model converted for OpenVINO) and the checkpoints
    stay the session's."""
    from evosam.paths import fresh_home

    home = fresh_home(tmp_path_factory.mktemp("home"))  # without symlinks, a test converts the model again
    monkeypatch.setenv("EVOSAM_HOME", str(home))
    return home


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    """The GUI tests' clip: FRAMES frames (``write_clip``)."""
    return write_clip(tmp_path / "clip")


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
    from evosam.models.cache import EmbeddingCache

    cache = EmbeddingCache(64 * 2**20) if request.node.get_closest_marker("fresh_embeddings") else embeddings
    win = open_window(qtbot, litemedsam, clip, cache)
    yield win
    win.close()


@pytest.fixture
def window_on(qtbot, litemedsam, embeddings):
    """``window_on(clip, cache=None)``: a main window like ``window``'s on another clip (closed at
    the end); ``cache``: its own embedding cache instead of the session's."""
    opened = []

    def make(clip: Path, cache=None):
        opened.append(open_window(qtbot, litemedsam, clip, embeddings if cache is None else cache))
        return opened[-1]

    yield make
    for win in opened:
        win.close()


def open_window(qtbot, model, clip: Path, cache):
    """A shown main window on ``clip`` with ``model`` loaded and no background prefetch."""
    from app.main_window import MainWindow, open_source

    win = MainWindow(lambda: model, prefetch_ms=0, cache=cache)
    qtbot.addWidget(win)
    win.set_video(open_source(clip), clip)
    win.resize(900, 600)
    win.show()
    qtbot.waitExposed(win)
    qtbot.waitUntil(win.controller.idle, timeout=30000)  # model loaded, video opened in the worker
    assert "LiteMedSAM" in win.model_info.text()
    return win
