"""The head's image filters: the fast nested line detector and top-hat equal their definitions, Hessian
channels see dark lines, and the bank is standardised, deterministic (also computed from several
threads at once) and shaped as stated."""

from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest

from evosam.head.features import FeatureConfig, filter_bank
from evosam.head.filters import _line_offsets, black_tophat, green_levels, hessian_channels, line_responses, unit


def reference_line_response(img: np.ndarray, length: int, n_angles: int) -> np.ndarray:
    """The definition, one correlation per angle: mean along the line minus the window mean."""
    r = length // 2
    best = None
    for k in range(n_angles):
        kernel = np.zeros((2 * r + 1, 2 * r + 1), np.float32)
        for dy, dx, _ in _line_offsets(r, float(np.pi * k / n_angles)):
            kernel[r + dy, r + dx] = 1.0
        mean = cv2.filter2D(img, -1, kernel / kernel.sum(), borderType=cv2.BORDER_REFLECT_101)
        best = mean if best is None else np.maximum(best, mean)
    return best - cv2.blur(img, (length, length), borderType=cv2.BORDER_REFLECT_101)


@pytest.mark.parametrize("shape", [(50, 60), (2300, 61)])  # the second spans several row strips
def test_nested_line_detector_equals_the_definition(shape):
    rng = np.random.default_rng(0)
    img = cv2.GaussianBlur(rng.random(shape).astype(np.float32), (0, 0), 1.5)
    lengths = (5, 9, 15)
    out = np.empty((3, *shape), np.float32)
    line_responses(img, lengths, 12, out)
    for k, length in enumerate(lengths):
        np.testing.assert_allclose(out[k], reference_line_response(img, length, 12), atol=1e-5)


@pytest.mark.parametrize("size", [5, 21])
def test_tophat_on_levels_equals_the_float_definition(size):
    """The closing runs on uint8 levels; it must equal OpenCV's black top-hat of the float image."""
    rng = np.random.default_rng(3)
    rgb = cv2.GaussianBlur(rng.integers(0, 255, (70, 90, 3), dtype=np.uint8), (0, 0), 2.0)
    levels = green_levels(rgb, clahe=True)
    green = unit(levels)
    out = np.empty_like(green)
    black_tophat(levels, green, size, out)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    expected = cv2.morphologyEx(green, cv2.MORPH_BLACKHAT, kernel)
    assert expected.max() > 0.05  # the crop has dark details of this size
    np.testing.assert_array_equal(out, expected)


def test_line_detector_and_hessian_see_a_thin_dark_line():
    img = np.full((41, 41), 0.8, np.float32)
    img[20, :] = 0.2  # a dark horizontal vessel, one pixel wide
    lines = np.empty((1, 41, 41), np.float32)
    line_responses(1.0 - img, (15,), 12, lines)
    assert lines[0, 20, 20] > 0.4 and abs(lines[0, 10, 20]) < 0.05
    hess = np.empty((4, 41, 41), np.float32)
    hessian_channels(img, 1.0, hess)
    # across a dark valley the curvature is strongly positive: the larger eigenvalue peaks on it
    assert hess[2, 20, 20] > 5 * abs(hess[2, 10, 20]) and hess[2, 20, 20] > 0.05


def test_bank_is_standardised_deterministic_and_channels_first():
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 255, (37, 45, 3), dtype=np.uint8)
    config = FeatureConfig()
    bank = filter_bank(rgb, config)
    assert bank.shape == (2 * config.n_bank, 37, 45) and bank.dtype == np.float32
    flat = bank[: config.n_bank].reshape(config.n_bank, -1)
    np.testing.assert_allclose(flat.mean(1), 0, atol=1e-4)
    np.testing.assert_allclose(flat.std(1), 1, atol=1e-3)
    np.testing.assert_array_equal(filter_bank(rgb, config), bank)
    tiny = filter_bank(rgb[:10, :12], config)  # too small to halve: the fine bank repeated
    np.testing.assert_array_equal(tiny[: config.n_bank], tiny[config.n_bank :])


def test_bank_is_the_same_when_threads_compute_banks_at_once():
    """The bank's pool threads are shared by every caller (the GUI's teaching and model
    workers may both compute features): concurrent banks must equal sequential ones."""
    rng = np.random.default_rng(2)
    crops = [rng.integers(0, 255, (90 + 7 * i, 120 - 5 * i, 3), dtype=np.uint8) for i in range(6)]
    config = FeatureConfig()
    alone = [filter_bank(c, config) for c in crops]
    with ThreadPoolExecutor(max_workers=4) as callers:
        together = list(callers.map(lambda c: filter_bank(c, config), crops))
    for a, b in zip(alone, together, strict=True):
        np.testing.assert_array_equal(a, b)
