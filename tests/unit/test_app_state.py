"""app.state's brush: a pure function on bool (H, W) masks (no Qt, no model)."""

from __future__ import annotations

from app.state import paint_stroke


def test_paint_stroke_paints_and_erases_without_touching_input():
    m = paint_stroke(None, (20, 30), [(2, 10), (20, 10)], 2, True)
    assert m[10, 2:21].all() and not m[0].any()
    erased = paint_stroke(m, (20, 30), [(10, 5), (10, 15)], 1, False)
    assert not erased[10, 9:12].any() and erased[10, 3] and m[10, 10]
