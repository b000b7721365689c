import numpy as np
import pytest

from evosam.masks import box_iou, dice, expand_box, iou, mask_box, prompt_box


def test_mask_box_uses_x_for_columns_and_y_for_rows():
    m = np.zeros((10, 20), bool)
    m[2:5, 7:12] = True  # rows 2..4, columns 7..11
    assert mask_box(m) == (7, 2, 11, 4)
    assert mask_box(np.zeros((3, 3), bool)) is None


def test_prompt_box_grows_tiny_masks_and_stays_in_frame():
    m = np.zeros((10, 10), bool)
    m[0, 0] = True
    x0, y0, x1, y1 = prompt_box(m, margin=0.0, min_side=4)
    assert (x0, y0) == (0, 0) and x1 >= 2 and y1 >= 2 and x1 <= 9 and y1 <= 9


def test_expand_box_margin():
    assert expand_box((10, 10, 19, 19), 0.1, (100, 100)) == pytest.approx((9, 9, 20, 20))


def test_dice_and_iou():
    a = np.zeros((4, 4), bool)
    b = np.zeros((4, 4), bool)
    assert dice(a, b) == 1.0 and iou(a, b) == 1.0
    a[:2] = True
    b[1:3] = True
    assert dice(a, b) == pytest.approx(0.5)
    assert iou(a, b) == pytest.approx(1 / 3)
    assert box_iou((0, 0, 2, 2), (1, 1, 3, 3)) == pytest.approx(1 / 7)
