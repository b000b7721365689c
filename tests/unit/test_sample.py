"""The synthetic sample clip: generator and the committed assets."""

import cv2
import numpy as np

from evosam.sample import default_sample_path, make_sample_clip
from evosam.video import open_video


def test_generated_clip_reads_back_with_a_mask_per_frame(tmp_path):
    video_path = make_sample_clip(tmp_path, n_frames=6, size=(120, 200), seed=2)
    with open_video(video_path) as video:
        assert video.frame_count == 6 and video.size == (120, 200)
        frame = video.frame(5)
        assert frame.std() > 5  # a textured scene, not a flat colour
    masks = sorted((tmp_path / "masks").glob("*.png"))
    assert [m.name for m in masks] == [f"{i:06d}.png" for i in range(6)]
    for m in masks:
        a = cv2.imread(str(m), cv2.IMREAD_UNCHANGED)
        assert a.shape == (120, 200) and set(np.unique(a)) == {0, 255}
    assert not list(tmp_path.glob(".*tmp*")) and not list((tmp_path / "masks").glob(".*"))


def test_generator_is_deterministic(tmp_path):
    a = make_sample_clip(tmp_path / "a", n_frames=2, size=(60, 100), seed=5).parent / "masks" / "000001.png"
    b = make_sample_clip(tmp_path / "b", n_frames=2, size=(60, 100), seed=5).parent / "masks" / "000001.png"
    assert a.read_bytes() == b.read_bytes()


def test_committed_sample_opens():
    path = default_sample_path()
    with open_video(path) as video:
        assert video.frame_count == 75 and video.size == (360, 640)
    masks = sorted((path.parent / "masks").glob("*.png"))
    assert len(masks) == 75
    for m in (masks[0], masks[-1]):
        mask = cv2.imread(str(m), cv2.IMREAD_UNCHANGED) > 0
        assert 0.01 < mask.mean() < 0.2  # a vessel tree: thin, but findable
        rows, cols = np.nonzero(mask)
        assert np.ptp(cols) > 0.4 * 640 and np.ptp(rows) > 0.3 * 360  # spans a box worth drawing
