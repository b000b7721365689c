import numpy as np
import pytest

from evosam.masks import box_iou, dice, expand_box, iou, mask_box, prompt_box, speck_share, without_specks


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


def test_specks_and_pinholes_go_solid_objects_stay():
    mask = np.zeros((60, 80), bool)
    mask[10:40, 10:50] = True  # 1200 px
    mask[20, 20] = False  # a pinhole
    mask[50:52, 60:62] = True  # a 4 px speck
    mask[0:2, 0:2] = True  # a speck at the border
    share = speck_share(mask, 0.01)
    assert share == pytest.approx(8 / mask.sum())
    clean = without_specks(mask, 0.01)
    expected = np.zeros_like(mask)
    expected[10:40, 10:50] = True
    np.testing.assert_array_equal(clean, expected)
    np.testing.assert_array_equal(without_specks(mask, 0.0), mask)  # 0: unchanged
    assert np.isnan(speck_share(np.zeros_like(mask), 0.01)) and not without_specks(np.zeros_like(mask), 0.01).any()
    # a hole open to the image border is background, not a pinhole
    edge = np.ones((20, 20), bool)
    edge[0:2, 5:7] = False
    np.testing.assert_array_equal(without_specks(edge, 0.05), edge)
    # pieces as large as the fraction stay: a vessel tree's fragments at a smaller fraction
    tree = np.zeros((60, 80), bool)
    tree[30, 5:75] = True
    tree[10:14, 40] = True  # a 4 px fragment, 5 % of the tree
    assert without_specks(tree, 0.05)[10:14, 40].all() and not without_specks(tree, 0.06)[10:14, 40].any()
