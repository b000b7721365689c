"""A synthetic endoscopic-looking sample clip with ground-truth vessel masks.

Real surgical recordings are research-only and never ship with the tool, so the default
clip is drawn by code: pink tissue with soft texture, an endoscope's dark vignette, wet
specular highlights, and branching dark-red vessel trees; a slow camera pan, zoom and
rotation plus a gentle tissue deformation move everything. One tree (the largest) is
the labelled vessel of the masks; the others are distractors.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from evosam.errors import InputError

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "assets" / "sample"


def default_sample_path() -> Path:
    """The bundled sample video ``assets/sample/sample.mp4`` (its masks in ``masks/``)."""
    return SAMPLE_DIR / "sample.mp4"


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], scale: float) -> np.ndarray:
    """Zero-mean, unit-std low-frequency noise float32 (H, W)."""
    small = rng.standard_normal((max(2, int(shape[0] / scale)), max(2, int(shape[1] / scale)))).astype(np.float32)
    big = cv2.resize(small, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)
    return (big - big.mean()) / (big.std() + 1e-6)


def _tissue(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Pink tissue float32 RGB (H, W, 3) in 0..255."""
    texture = (
        0.6 * _smooth_noise(rng, shape, 60) + 0.3 * _smooth_noise(rng, shape, 15) + 0.1 * _smooth_noise(rng, shape, 4)
    )
    base = np.array([196.0, 104.0, 100.0], np.float32)
    tint = np.array([18.0, 16.0, 12.0], np.float32)
    return np.clip(base + texture[..., None] * tint, 0, 255)


def _vessel_path(
    rng: np.random.Generator, start: np.ndarray, heading: float, length: float, step: float = 6.0
) -> np.ndarray:
    """A smooth random walk: points float (N, 2) as (x, y)."""
    pts, angle, pos = [start.copy()], heading, start.astype(np.float64).copy()
    turn = 0.0
    for _ in range(int(length / step)):
        turn = 0.8 * turn + rng.normal(0, 0.025)
        angle += turn
        pos = pos + step * np.array([np.cos(angle), np.sin(angle)])
        pts.append(pos.copy())
    return np.array(pts)


def _draw_tree(
    canvas: np.ndarray,
    rng: np.random.Generator,
    start: tuple[float, float] | np.ndarray,
    heading: float,
    length: float,
    width: float,
    depth: int,
) -> None:
    """Draw a branching vessel (tapering segments, points as (x, y)) into a float32 (H, W) canvas.

    ``heading`` is in radians, ``length`` and ``width`` in pixels; ``depth`` levels of branches.
    """
    path = _vessel_path(rng, np.asarray(start, float), heading, length)
    n = len(path)
    for i in range(n - 1):
        w = max(1.5, width * (1.0 - 0.5 * i / n))
        p0, p1 = path[i], path[i + 1]
        cv2.line(
            canvas,
            (int(p0[0] * 4), int(p0[1] * 4)),
            (int(p1[0] * 4), int(p1[1] * 4)),
            1.0,
            thickness=max(1, int(round(w))),
            lineType=cv2.LINE_AA,
            shift=2,
        )
    if depth > 0:
        for _ in range(rng.integers(2, 4)):
            k = int(rng.integers(n // 5, max(n // 5 + 1, 4 * n // 5)))
            side = rng.choice([-1.0, 1.0])
            local = np.arctan2(*(path[min(k + 1, n - 1)] - path[k])[::-1])
            _draw_tree(
                canvas,
                rng,
                path[k],
                local + side * rng.uniform(0.5, 1.0),
                length * rng.uniform(0.35, 0.55),
                width * 0.6,
                depth - 1,
            )


def _scene(rng: np.random.Generator, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """A large still scene: RGB float32 (H, W, 3) and the labelled vessel's coverage float32 (H, W)."""
    h, w = shape
    rgb = _tissue(rng, shape)
    label = np.zeros(shape, np.float32)
    _draw_tree(label, rng, (0.24 * w, 0.5 * h), rng.uniform(-0.2, 0.2), 0.55 * w, 9.0, 2)
    others = np.zeros(shape, np.float32)
    for _ in range(4):
        start = (rng.uniform(0.1, 0.9) * w, rng.uniform(0.1, 0.9) * h)
        _draw_tree(others, rng, start, rng.uniform(0, 2 * np.pi), 0.3 * w, 3.5, 1)
    others = np.clip(others - label, 0, 1)
    blood = np.array([120.0, 22.0, 34.0], np.float32)
    faint = np.array([165.0, 60.0, 70.0], np.float32)
    soft = cv2.GaussianBlur(label, (0, 0), 0.8)[..., None]
    rgb = rgb * (1 - 0.9 * soft) + blood * 0.9 * soft
    soft_o = cv2.GaussianBlur(others, (0, 0), 0.8)[..., None]
    rgb = rgb * (1 - 0.7 * soft_o) + faint * 0.7 * soft_o
    return rgb, label


def _camera(t: float, shape: tuple[int, int], scene_shape: tuple[int, int]) -> np.ndarray:
    """2x3 affine from scene to frame at time ``t`` in 0..1: slow pan, zoom and rotation."""
    h, w = shape
    sh, sw = scene_shape
    centre = (sw / 2 + 0.06 * sw * np.sin(2 * np.pi * 0.7 * t), sh / 2 + 0.04 * sh * np.sin(2 * np.pi * 0.5 * t + 1))
    m = cv2.getRotationMatrix2D(centre, 6.0 * np.sin(2 * np.pi * 0.4 * t), 1.0 + 0.08 * np.sin(np.pi * t))
    m[:, 2] += np.array([w / 2 - centre[0], h / 2 - centre[1]])
    return m


def _render(
    scene: np.ndarray, label: np.ndarray, t: float, shape: tuple[int, int], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """One frame RGB uint8 (H, W, 3) and its mask bool (H, W)."""
    h, w = shape
    m = _camera(t, shape, scene.shape[:2])
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    wobble_x = 3.0 * np.sin(gy / 40.0 + 6.0 * t)
    wobble_y = 3.0 * np.cos(gx / 55.0 + 4.0 * t)
    inv = cv2.invertAffineTransform(m)
    map_x = (inv[0, 0] * (gx + wobble_x) + inv[0, 1] * (gy + wobble_y) + inv[0, 2]).astype(np.float32)
    map_y = (inv[1, 0] * (gx + wobble_x) + inv[1, 1] * (gy + wobble_y) + inv[1, 2]).astype(np.float32)
    rgb = cv2.remap(scene, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    mask = cv2.remap(label, map_x, map_y, cv2.INTER_LINEAR, borderValue=0) >= 0.5
    rgb = _light(rgb, shape, t)
    rgb += rng.normal(0, 2.0, rgb.shape).astype(np.float32)
    return np.clip(rgb, 0, 255).astype(np.uint8), mask


def _light(rgb: np.ndarray, shape: tuple[int, int], t: float) -> np.ndarray:
    """Endoscope lighting: bright centre, dark vignette, two moving specular highlights."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = np.hypot((xx - w / 2) / (0.62 * w), (yy - h / 2) / (0.62 * h))
    light = np.clip(1.15 - 0.9 * r**2.2, 0.05, 1.15)
    rgb = rgb * light[..., None]
    spec = np.zeros(shape, np.float32)
    for cx, cy, sx, sy in ((0.62, 0.35, 14, 6), (0.33, 0.58, 9, 4)):
        centre = (int(w * cx + 12 * np.sin(4 * t)), int(h * cy + 6 * np.cos(3 * t)))
        cv2.ellipse(spec, centre, (sx, sy), 25, 0, 360, 1.0, -1, cv2.LINE_AA)
    spec = cv2.GaussianBlur(spec, (0, 0), 2.5)[..., None]
    return rgb * (1 - spec) + 255.0 * spec


def make_sample_clip(
    out_dir: Path, n_frames: int = 75, size: tuple[int, int] = (360, 640), fps: float = 25.0, seed: int = 2
) -> Path:
    """Write ``out_dir/sample.mp4`` and ``out_dir/masks/000000.png`` ... (0/255); return the video path.

    Files are written under temporary names and moved into place, so a crash leaves no
    half-written clip.
    """
    if n_frames < 1:
        raise InputError(f"n_frames must be at least 1, got {n_frames}")
    out_dir = Path(out_dir)
    (out_dir / "masks").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    h, w = size
    scene, label = _scene(rng, (int(h * 1.5), int(w * 1.5)))
    tmp_video = out_dir / ".sample.tmp.mp4"
    writer = cv2.VideoWriter(str(tmp_video), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    if not writer.isOpened():
        raise InputError(f"{tmp_video}: OpenCV cannot write mp4 here")
    try:
        for i in range(n_frames):
            rgb, mask = _render(scene, label, i / max(1, n_frames - 1), size, rng)
            writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
            _write_mask(out_dir / "masks" / f"{i:06d}.png", mask)
        writer.release()
        _check_readable(tmp_video, n_frames, size)
    except BaseException:
        writer.release()
        tmp_video.unlink(missing_ok=True)
        raise
    video = out_dir / "sample.mp4"
    os.replace(tmp_video, video)
    return video


def _write_mask(path: Path, mask: np.ndarray) -> None:
    """Write a bool (H, W) mask as a 0/255 PNG under a temp name, then move it into place."""
    tmp = path.with_name(f".{path.stem}.tmp.png")
    if not cv2.imwrite(str(tmp), np.where(mask, 255, 0).astype(np.uint8)):
        raise InputError(f"{tmp}: OpenCV could not write the mask")
    os.replace(tmp, path)


def _check_readable(video: Path, n_frames: int, size: tuple[int, int]) -> None:
    """The written clip must decode back to ``n_frames`` frames of ``size`` (H, W)."""
    cap = cv2.VideoCapture(str(video))
    shapes = []
    try:
        ok, frame = cap.read()
        while ok:
            shapes.append(frame.shape[:2])
            ok, frame = cap.read()
    finally:
        cap.release()
    if len(shapes) != n_frames or any(s != tuple(size) for s in shapes):
        raise InputError(
            f"{video}: reads back as {len(shapes)} frames of {set(shapes) or 'no size'}, "
            f"not {n_frames} of {tuple(size)} (no working mp4v encoder?)"
        )
