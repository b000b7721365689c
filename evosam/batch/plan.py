"""Which frames each keyframe's propagation covers: every frame goes to its nearest keyframe."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Run:
    """One propagation from ``keyframe`` through ``frames`` (a range that starts next to the
    keyframe and walks forward, step 1, or backward, step -1; possibly empty)."""

    keyframe: int
    frames: range


def plan_runs(keyframes: list[int], frame_count: int) -> list[Run]:
    """Forward and backward runs from each of the sorted, distinct ``keyframes`` that meet
    halfway between neighbours (a frame exactly halfway goes to the earlier keyframe); the
    first keyframe also runs back to frame 0, the last on to the clip's end. Together with the
    keyframes themselves the runs cover ``0..frame_count - 1`` once each."""
    if not keyframes or list(keyframes) != sorted(set(keyframes)):
        raise ValueError(f"keyframes {keyframes}: expected sorted distinct indices")
    if keyframes[0] < 0 or keyframes[-1] >= frame_count:
        raise ValueError(f"keyframes {keyframes}: outside 0..{frame_count - 1}")
    runs = []
    for i, key in enumerate(keyframes):
        first = 0 if i == 0 else (keyframes[i - 1] + key) // 2 + 1
        last = frame_count - 1 if i == len(keyframes) - 1 else (key + keyframes[i + 1]) // 2
        runs.append(Run(key, range(key + 1, last + 1)))
        runs.append(Run(key, range(key - 1, first - 1, -1)))
    return runs
