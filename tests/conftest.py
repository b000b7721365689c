"""Shared fixtures: the real bundled model (loaded once) and the shared data folder."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# User settings, data and checkpoints of the tests never touch (nor read) the real user folders.
if "EVOSAM_HOME" not in os.environ:
    os.environ["EVOSAM_HOME"] = tempfile.mkdtemp(prefix="evosam-test-home-")
    atexit.register(shutil.rmtree, os.environ["EVOSAM_HOME"], True)

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("EVOSAM_SHARED_DATA", REPO.parent / "shared" / "data"))


def shared_data(*parts: str) -> Path:
    """Path under ../shared/data; skips the test with a clear message when absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared test data not found at {path} (see ../shared/data/SOURCES.md)")
    return path


@pytest.fixture(scope="session")
def litemedsam():
    """The real bundled LiteMedSAM on the CPU, shared by all tests of a session."""
    from evosam.models import load_model

    return load_model("litemedsam", device="cpu")


@pytest.fixture(scope="session")
def chole_frame():
    """A CholecSeg8k frame (480, 854, 3) RGB uint8 and its label image (480, 854): 21 liver,
    22 gallbladder, 31 grasper."""
    import cv2

    from evosam.imageio import read_rgb

    root = shared_data("cholecseg8k_clip")
    frame = read_rgb(root / "frames" / "000561.png")
    labels = cv2.imread(str(root / "masks" / "000561.png"), cv2.IMREAD_UNCHANGED)
    return frame, labels
