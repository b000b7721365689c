"""Annotation records of one clip, in plain Python (no Qt): labels, per-frame masks with
status and provenance, and the undoable state of a clip.

Masks are ``bool[H, W]`` arrays (rows = y, columns = x), stored read-only so that a
``FrameMask`` can be shared between the state, the undo stack and the canvas without
copies. Every change goes through :meth:`AnnotationState.apply`, which records the
before/after values of the changed cells; undo and redo replay those records.

``source`` (provenance) names what produced a mask: ``"litemedsam"`` (SAM alone),
``"litemedsam+head:12"`` (SAM refined by a head taught on 12 frames), ``"user"`` (drawn by
hand), ``"import"`` (read from files), or ``""`` (unknown); ``edited`` says the user painted
on it afterwards.
"""

from __future__ import annotations

import enum
import zlib
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np


class Status(enum.StrEnum):
    PROPOSED = "proposed"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Label:
    """A structure to annotate; ``color`` is (r, g, b) 0..255."""

    name: str
    color: tuple[int, int, int]

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError("a label needs a name")
        color = tuple(self.color) if isinstance(self.color, Sequence) else ()
        if len(color) != 3 or not all(isinstance(c, int | np.integer) and 0 <= c <= 255 for c in color):
            raise ValueError(f"label colour {self.color}: expected (r, g, b) in 0..255")
        object.__setattr__(self, "color", tuple(int(c) for c in color))


@dataclass(frozen=True)
class FrameMask:
    """One label's mask on one frame: ``mask`` bool (H, W), read-only once stored.
    ``edited``: the user painted on it (propagation never replaces such a mask);
    ``source``: what produced it (see the module docstring)."""

    mask: np.ndarray
    status: Status = Status.PROPOSED
    iou: float | None = None
    flags: tuple[str, ...] = ()
    edited: bool = False
    source: str = ""

    def __post_init__(self) -> None:
        m = np.asarray(self.mask)
        if m.ndim != 2:
            raise ValueError(f"mask of shape {m.shape}: expected (H, W)")
        if m.dtype != bool:
            m = m.astype(bool)
        elif m.flags.writeable:
            m = m.copy()
        m.flags.writeable = False
        object.__setattr__(self, "mask", m)
        object.__setattr__(self, "status", Status(self.status))

    @property
    def flagged(self) -> bool:
        return bool(self.flags)

    def with_status(self, status: Status) -> FrameMask:
        return FrameMask(self.mask, status, self.iou, self.flags, self.edited, self.source)

    def with_mask(self, mask: np.ndarray) -> FrameMask:
        """Same status and source, a hand-edited mask (no model IoU or flags any more)."""
        return FrameMask(mask, self.status, None, (), edited=True, source=self.source)


Key = tuple[int, str]  # (frame index, label name)
UNPACKED_KEPT = 8  # masks kept unpacked for display (the current frame and its neighbours)


@dataclass(frozen=True)
class PackedMask:
    """A ``FrameMask`` as the state and the undo stack keep it: bits packed, then zlib (a few
    KB per HD vessel mask instead of 2 MB), so a long clip with a proposal on every frame and
    unlimited undo stay small. Status and flags are readable without unpacking."""

    data: bytes
    shape: tuple[int, int]
    status: Status
    iou: float | None
    flags: tuple[str, ...]
    edited: bool
    source: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", Status(self.status))
        object.__setattr__(self, "shape", (int(self.shape[0]), int(self.shape[1])))

    @classmethod
    def pack(cls, fm: FrameMask, data: bytes | None = None) -> PackedMask:
        data = zlib.compress(np.packbits(fm.mask).tobytes(), 1) if data is None else data
        return cls(data, fm.mask.shape, fm.status, fm.iou, fm.flags, fm.edited, fm.source)

    @classmethod
    def from_mask(
        cls, mask: np.ndarray, status: Status = Status.PROPOSED, source: str = "", edited: bool = False
    ) -> PackedMask:
        """Pack a bool (H, W) mask directly (no model IoU, no flags)."""
        return cls.pack(FrameMask(mask, status, source=source, edited=edited))

    def with_status(self, status: Status) -> PackedMask:
        """The same bits with another status (no unpacking)."""
        return PackedMask(self.data, self.shape, Status(status), self.iou, self.flags, self.edited, self.source)

    @property
    def flagged(self) -> bool:
        return bool(self.flags)

    def unpack(self) -> FrameMask:
        h, w = self.shape
        bits = np.frombuffer(zlib.decompress(self.data), np.uint8)
        mask = np.unpackbits(bits, count=h * w).reshape(h, w).astype(bool)
        return FrameMask(mask, self.status, self.iou, self.flags, self.edited, self.source)


@dataclass(frozen=True)
class Change:
    """One cell of the state before and after an edit; ``None`` = no mask."""

    key: Key
    before: PackedMask | None
    after: PackedMask | None


@dataclass
class Edit:
    """One undo step: its changes in order, and a merge key (edits with the same key that
    follow each other, e.g. the frames of one propagation run, form one step)."""

    text: str
    changes: list[Change] = field(default_factory=list)
    merge_key: object | None = None


DEFAULT_COLORS: tuple[tuple[int, int, int], ...] = (
    (0, 200, 255),
    (255, 80, 200),
    (255, 200, 0),
    (120, 255, 80),
    (255, 110, 60),
    (170, 120, 255),
)


class AnnotationState:
    """Masks of a clip of ``frame_count`` frames of ``size`` (H, W), by frame and label."""

    def __init__(self, frame_count: int, size: tuple[int, int], labels: Sequence[Label] = ()) -> None:
        if frame_count < 1:
            raise ValueError("a clip needs at least one frame")
        self.frame_count = int(frame_count)
        self.size = (int(size[0]), int(size[1]))
        self.labels: list[Label] = list(labels) or [Label("vessel", DEFAULT_COLORS[0])]
        self._masks: dict[Key, PackedMask] = {}
        self._unpacked: OrderedDict[Key, FrameMask] = OrderedDict()  # the few masks on screen lately
        self._undo: list[Edit] = []
        self._redo: list[Edit] = []

    @classmethod
    def restored(
        cls, frame_count: int, size: tuple[int, int], labels: Sequence[Label], masks: Mapping[Key, PackedMask]
    ) -> AnnotationState:
        """A state holding ``masks`` (e.g. from a saved project) with empty undo/redo stacks.
        Raises ValueError for a mask outside the clip, of another label or of another size."""
        state = cls(frame_count, size, labels)
        names = {lab.name for lab in state.labels}
        for (frame, label), packed in masks.items():
            if not 0 <= frame < state.frame_count or label not in names or packed.shape != state.size:
                raise ValueError(f"mask of label {label!r} on frame {frame} does not fit the clip")
            state._masks[(int(frame), label)] = packed
        return state

    def snapshot(self) -> dict[Key, PackedMask]:
        """The current masks (immutable values, not copied): what a save needs."""
        return dict(self._masks)

    # -- labels ------------------------------------------------------------------------
    def label(self, name: str) -> Label:
        for lab in self.labels:
            if lab.name == name:
                return lab
        raise KeyError(name)

    def add_label(self, name: str) -> Label:
        """Append a label with the next free colour; raises ValueError on duplicates."""
        name = name.strip()
        if any(lab.name == name for lab in self.labels):
            raise ValueError(f"label {name!r} already exists")
        lab = Label(name, DEFAULT_COLORS[len(self.labels) % len(DEFAULT_COLORS)])
        self.labels.append(lab)
        return lab

    # -- reading -----------------------------------------------------------------------
    def get(self, frame: int, label: str) -> FrameMask | None:
        """The mask of ``label`` on ``frame``, unpacked (recent ones are kept unpacked)."""
        key = (frame, label)
        fm = self._unpacked.get(key)
        if fm is None:
            packed = self._masks.get(key)
            if packed is None:
                return None
            fm = packed.unpack()
            self._remember(key, fm)
        else:
            self._unpacked.move_to_end(key)
        return fm

    def entry(self, frame: int, label: str) -> PackedMask | None:
        """The stored (packed) mask: status, IoU and flags without unpacking."""
        return self._masks.get((frame, label))

    def entries(self, label: str) -> dict[int, PackedMask]:
        """Frame index -> packed mask, for one label."""
        return {f: m for (f, lab), m in self._masks.items() if lab == label}

    def items(self) -> Iterable[tuple[Key, PackedMask]]:
        return self._masks.items()

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    # -- editing -----------------------------------------------------------------------
    def apply(self, frame: int, label: str, value: FrameMask | None, text: str, merge_key: object = None) -> Change:
        """Set (or clear, with ``None``) one cell as an undoable edit; clears the redo stack."""
        if not 0 <= frame < self.frame_count:
            raise ValueError(f"frame {frame} is outside the clip (0..{self.frame_count - 1})")
        self.label(label)
        if value is not None and value.mask.shape != self.size:
            raise ValueError(f"mask of shape {value.mask.shape} does not match the frame {self.size}")
        key = (frame, label)
        before = self._masks.get(key)
        after = None
        if value is not None:
            shown = self._unpacked.get(key)
            same_bits = before is not None and shown is not None and shown.mask is value.mask  # e.g. confirm
            after = PackedMask.pack(value, before.data if same_bits else None)
        change = Change(key, before, after)
        self._set(key, after)
        if value is not None:
            self._remember(key, value)
        top = self._undo[-1] if self._undo else None
        if merge_key is not None and top is not None and top.merge_key == merge_key and not self._redo:
            top.changes.append(change)
        else:
            self._undo.append(Edit(text, [change], merge_key))
        self._redo.clear()
        return change

    def undo(self) -> list[Change]:
        """Revert the last edit; returns its changes (empty when there is nothing to undo)."""
        if not self._undo:
            return []
        edit = self._undo.pop()
        edit.merge_key = None  # an edit that was undone never grows again
        for ch in reversed(edit.changes):
            self._set(ch.key, ch.before)
        self._redo.append(edit)
        return edit.changes

    def redo(self) -> list[Change]:
        if not self._redo:
            return []
        edit = self._redo.pop()
        for ch in edit.changes:
            self._set(ch.key, ch.after)
        self._undo.append(edit)
        return edit.changes

    def _set(self, key: Key, value: PackedMask | None) -> None:
        self._unpacked.pop(key, None)
        if value is None:
            self._masks.pop(key, None)
        else:
            self._masks[key] = value

    def _remember(self, key: Key, fm: FrameMask) -> None:
        self._unpacked[key] = fm
        while len(self._unpacked) > UNPACKED_KEPT:
            self._unpacked.popitem(last=False)


def provenance(model_name: str, head_frames: int = 0) -> str:
    """The ``source`` of a model proposal: ``"litemedsam"`` or, once a head is taught on
    ``head_frames`` frames, ``"litemedsam+head:12"``."""
    return f"{model_name}+head:{int(head_frames)}" if head_frames > 0 else model_name
