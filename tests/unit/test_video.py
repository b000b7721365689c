"""Frame reading: video files and frame folders, random access, the byte-bounded LRU, bad input."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from evosam.errors import VideoError
from evosam.video import FileVideo, FolderVideo, _image_size, open_video
from tests.conftest import shared_data


def write_mp4(path: Path, frames: list[np.ndarray], fps: float = 25.0) -> Path:
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    for f in frames:
        writer.write(f)
    writer.release()
    return path


def ramp_frames(n: int, h: int = 48, w: int = 64) -> list[np.ndarray]:
    """Frames whose mean brightness encodes their index (robust to lossy coding)."""
    return [np.full((h, w, 3), 20 + 20 * i, np.uint8) for i in range(n)]


def test_mp4_random_access_matches_sequential(tmp_path):
    path = write_mp4(tmp_path / "clip.mp4", ramp_frames(8))
    with open_video(path, cache_bytes=1) as video:  # cache too small to hold a frame: always decode
        assert (video.frame_count, video.size, video.fps) == (8, (48, 64), 25.0)
        seq = [video.frame(i).mean() for i in range(8)]
        rnd = {i: video.frame(i).mean() for i in (5, 1, 7, 0, 6)}
        assert all(abs(rnd[i] - seq[i]) < 1.0 for i in rnd)
        assert np.all(np.diff(seq) > 10)
        f = video.frame(3)
        assert f.dtype == np.uint8 and f.shape == (48, 64, 3)
        assert video.frame_name(17) == "000017"
        with pytest.raises(VideoError, match="frame 8 is outside"):
            video.frame(8)


def test_lru_stays_within_its_byte_bound(tmp_path):
    path = write_mp4(tmp_path / "clip.mp4", ramp_frames(10))
    frame_bytes = 48 * 64 * 3
    with open_video(path, cache_bytes=3 * frame_bytes) as video:
        for i in list(range(10)) + [2, 9, 4]:
            video.frame(i)
            assert video.cache_bytes <= 3 * frame_bytes


def test_frame_folder_natural_order_gray_and_16bit(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    cv2.imwrite(str(folder / "f10.png"), np.full((20, 30), 200, np.uint8))
    cv2.imwrite(str(folder / "f2.png"), np.full((20, 30), 65535, np.uint16))
    cv2.imwrite(str(folder / "f1.png"), np.full((20, 30, 3), 10, np.uint8))
    (folder / "notes.txt").write_text("ignored")
    video = open_video(folder)
    assert isinstance(video, FolderVideo) and video.frame_count == 3
    assert [p.name for p in video.files] == ["f1.png", "f2.png", "f10.png"]
    assert video.frame(1).dtype == np.uint8 and video.frame(1).max() == 255
    assert video.frame(2).shape == (20, 30, 3)
    assert video.fps == 25.0 and video.size == (20, 30) and video.frame_name(2) == "000002"
    assert len(video.fingerprint()) == 64
    with pytest.raises(VideoError, match="frame 3 is outside"):
        video.frame(3)


def test_fingerprint_changes_with_content(tmp_path):
    a = write_mp4(tmp_path / "a.mp4", ramp_frames(4))
    b = write_mp4(tmp_path / "b.mp4", ramp_frames(5))
    assert open_video(a).fingerprint() == open_video(a).fingerprint()
    assert open_video(a).fingerprint() != open_video(b).fingerprint()


def test_bad_inputs_give_one_line_naming_the_file(tmp_path):
    cases = {}
    cases["missing.mp4"] = ("no such file", tmp_path / "missing.mp4")
    (tmp_path / "empty.mp4").write_bytes(b"")
    cases["empty.mp4"] = ("empty", tmp_path / "empty.mp4")
    (tmp_path / "text.mp4").write_text("this is not a video\n" * 50)
    cases["text.mp4"] = ("decode", tmp_path / "text.mp4")
    good = write_mp4(tmp_path / "good.mp4", ramp_frames(6))
    (tmp_path / "truncated.mp4").write_bytes(good.read_bytes()[:200])
    cases["truncated.mp4"] = ("decode", tmp_path / "truncated.mp4")
    (tmp_path / "nothing").mkdir()
    cases["nothing"] = ("no image frames", tmp_path / "nothing")
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    cv2.imwrite(str(mixed / "000.png"), np.zeros((10, 10, 3), np.uint8))
    cv2.imwrite(str(mixed / "001.png"), np.zeros((12, 10, 3), np.uint8))
    cases["mixed"] = ("001.png: frame is 10x12 but 000.png is 10x10", mixed)
    cv2.VideoWriter(str(tmp_path / "zero.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (64, 48)).release()
    cases["zero.mp4"] = ("decode", tmp_path / "zero.mp4")
    broken = tmp_path / "broken"
    broken.mkdir()
    cv2.imwrite(str(broken / "000.png"), np.zeros((10, 10, 3), np.uint8))
    (broken / "001.png").write_bytes(b"not a png at all")
    cases["001.png"] = ("not a readable image", broken)
    for name, (needle, path) in cases.items():
        with pytest.raises(VideoError) as err:
            open_video(path)
        message = str(err.value)
        assert name in message and needle in message and "\n" not in message, message


def test_sequential_reads_do_not_seek(tmp_path, monkeypatch):
    path = write_mp4(tmp_path / "clip.mp4", ramp_frames(8))
    video = open_video(path, cache_bytes=1)
    assert isinstance(video, FileVideo)
    seeks: list[int] = []
    seek = video._seek
    monkeypatch.setattr(video, "_seek", lambda i: (seeks.append(i), seek(i)))
    for i in range(8):
        video.frame(i)
    video.frame(5)
    video.frame(6)
    assert seeks == [0, 5]  # frame 0 was read when opening; then only the jump back to 5
    video.close()
    with pytest.raises(VideoError, match="closed"):
        video.frame(2)


class LyingCapture:
    """Wraps a real VideoCapture but reports ``reported`` as CAP_PROP_FRAME_COUNT (composition:
    subclassing cv2.VideoCapture crashed the garbage collector)."""

    reported = 0

    def __init__(self, path: str) -> None:
        self._cap = REAL_CAPTURE(path)

    def get(self, prop: int) -> float:
        return float(self.reported) if prop == cv2.CAP_PROP_FRAME_COUNT else self._cap.get(prop)

    def __getattr__(self, name: str) -> object:
        return getattr(self._cap, name)


REAL_CAPTURE = cv2.VideoCapture


def lying_capture(reported: int) -> type:
    """A VideoCapture stand-in whose CAP_PROP_FRAME_COUNT is ``reported`` whatever the file holds."""
    return type("Lying", (LyingCapture,), {"reported": reported})


def test_frame_count_that_overstates_raises_on_the_missing_frame(tmp_path, monkeypatch):
    path = write_mp4(tmp_path / "short.mp4", ramp_frames(6))
    monkeypatch.setattr(cv2, "VideoCapture", lying_capture(10))
    video = open_video(path, cache_bytes=1)
    assert video.frame_count == 10 and video.frame(5).shape == (48, 64, 3)
    with pytest.raises(VideoError) as err:
        video.frame(8)
    assert "short.mp4" in str(err.value) and "frame 8" in str(err.value)


@pytest.mark.parametrize("reported", [0, -1])
def test_missing_frame_count_is_counted(tmp_path, monkeypatch, reported):
    path = write_mp4(tmp_path / "nocount.mp4", ramp_frames(6))
    monkeypatch.setattr(cv2, "VideoCapture", lying_capture(reported))
    with open_video(path, cache_bytes=1) as video:
        assert video.frame_count == 6
        assert [round(video.frame(i).mean() / 20) for i in (3, 0, 5)] == [4, 1, 6]


@pytest.mark.parametrize("ext", ["png", "jpg", "bmp", "tif"])
def test_image_size_from_headers_matches_decoding(tmp_path, ext):
    path = tmp_path / f"f.{ext}"
    cv2.imwrite(str(path), np.zeros((37, 53, 3), np.uint8))
    assert _image_size(path) == (37, 53)


def test_mixed_sizes_found_in_jpeg_folders(tmp_path):
    for i, h in enumerate((30, 30, 31)):
        cv2.imwrite(str(tmp_path / f"{i:03d}.jpg"), np.zeros((h, 40, 3), np.uint8))
    with pytest.raises(VideoError, match="002.jpg: frame is 40x31 but 000.jpg is 40x30"):
        open_video(tmp_path)


def test_real_laparoscopic_video():
    path = shared_data("videos", "cholecystectomy_81f.mp4")
    with open_video(path) as video:
        assert video.frame_count == 81 and video.size == (480, 854)
        last = video.frame(80)
        assert last.shape == (480, 854, 3) and last.std() > 5
