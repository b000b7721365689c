"""Point prompts: local add/remove for box-only models (the bundled LiteMedSAM), refusals."""

import cv2
import numpy as np
import pytest

from evosam.errors import InputError
from evosam.models import Points
from evosam.points import component_at, local_box, refine_with_points


def two_blobs() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """RGB (120, 200, 3) dark tissue with two bright discs; their masks bool (120, 200)."""
    rgb = np.full((120, 200, 3), (90, 25, 30), np.uint8)
    a, b = np.zeros((120, 200), np.uint8), np.zeros((120, 200), np.uint8)
    cv2.circle(a, (50, 60), 22, 1, -1)
    cv2.circle(b, (150, 60), 22, 1, -1)
    rgb[(a | b) > 0] = (235, 225, 200)
    return rgb, a > 0, b > 0


def test_component_at_and_local_box():
    _, a, b = two_blobs()
    both = a | b
    assert np.array_equal(component_at(both, 150, 60), b)
    assert not component_at(both, 100, 60).any()  # between the blobs
    near = local_box(150, 60, 20, both.shape)
    assert near == (140.0, 50.0, 160.0, 70.0)
    piece = component_at(both, 150, 60, near)
    assert piece.sum() == 21 * 21 and not (piece & ~b).any()
    assert local_box(2, 3, 20, both.shape)[:2] == (0.0, 0.0)


def test_box_only_model_points_act_locally(litemedsam):
    assert not litemedsam.spec.point_prompts
    rgb, a, b = two_blobs()
    emb = litemedsam.embed(rgb)
    box = (25.0, 35.0, 75.0, 85.0)
    added = refine_with_points(litemedsam, emb, box, Points(np.array([[150.0, 60.0]]), np.array([1])), a)
    assert (added & a).sum() == a.sum()  # what was there stays
    new = added & ~a
    assert new[60, 150] and new.sum() > 50 and (new & b).sum() / new.sum() > 0.9  # a piece of the other disc
    removed = refine_with_points(litemedsam, emb, box, Points(np.array([[50.0, 60.0]]), np.array([0])), a)
    assert not removed[60, 50] and removed.sum() < a.sum() and not (removed & ~a).any()
    outside = refine_with_points(litemedsam, emb, box, Points(np.array([[100.0, 10.0]]), np.array([0])), a)
    assert np.array_equal(outside, a)  # a negative point off the mask changes nothing


def test_points_outside_the_frame_are_refused(litemedsam):
    rgb, a, _ = two_blobs()
    emb = litemedsam.embed(rgb)
    with pytest.raises(InputError, match="outside the 200x120 frame"):
        refine_with_points(litemedsam, emb, None, Points(np.array([[250.0, 10.0]]), np.array([1])), a)
    with pytest.raises(InputError, match="no points"):
        refine_with_points(litemedsam, emb, None, Points(np.zeros((0, 2)), np.zeros(0, np.int64)), a)


def test_point_trained_models_get_the_points_with_the_box():
    from evosam.models.registry import load_model

    # Random weights: they do not matter here
    backend = load_model("mobilesam_vit_t", random_init=True, device="cpu", runtime="torch")
    assert backend.spec.point_prompts
    emb = backend.embed(np.full((90, 160, 3), 80, np.uint8))
    pts = Points(np.array([[30.0, 30.0], [50.0, 40.0]]), np.array([1, 0]))
    expected = backend.predict(emb, box=(10, 10, 60, 50), points=pts).mask
    got = refine_with_points(backend, emb, (10, 10, 60, 50), pts, None)
    assert np.array_equal(got, expected)
