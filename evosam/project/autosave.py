"""Autosave for the GUI: ``tick()`` from a timer on the main thread, ``flush()`` on exit.

No threads: each tick captures the state (cheap, the masks are immutable values), compares
it with what is on disk by identity, and after ``journal_after`` seconds of unsaved change
appends the changed cells to the journal (milliseconds: no PNG encoding); every
``save_after`` seconds (or when the journal grows long, or the head changed) it writes a
full save, which empties the journal. A crash loses at most about ``journal_after`` plus
the tick interval.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from evosam.errors import ProjectError
from evosam.project import journal
from evosam.project.files import why
from evosam.project.model import Project
from evosam.project.schema import MANIFEST
from evosam.project.store import save_project

MAX_RECORDS = 300  # journal records before a full save compacts them


class Autosaver:
    """Keeps the project folder ``path`` up to date with ``capture()`` (a ``Project`` of the
    current state, e.g. ``lambda: Project.capture(ref, state, head, settings)``).
    ``last`` is the project as it was last saved or loaded (None for a new folder)."""

    def __init__(
        self,
        path: str | Path,
        capture: Callable[[], Project],
        last: Project | None = None,
        journal_after: float = 1.0,
        save_after: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = Path(path)
        self.capture = capture
        self.journal_after, self.save_after, self.clock = journal_after, save_after, clock
        self._disk = last  # what the folder holds (manifest + journal)
        self._saved_head = last.head if last is not None else None
        self._save_id: str | None = None  # the manifest's id, known after our first save
        self._records = 0
        self._dirty_since: float | None = None
        self._last_save = clock()

    @property
    def dirty(self) -> bool:
        """True when the state has changes not yet on disk (at the last tick)."""
        return self._dirty_since is not None

    def tick(self) -> str | None:
        """Persist if due: returns "journal", "save" or None. Raises ProjectError (one line)
        when the folder cannot be written; the next tick tries again."""
        now = self.clock()
        current = self.capture()
        if not self._differs(current):
            self._dirty_since = None
            return None
        if self._dirty_since is None:
            self._dirty_since = now
        if self._disk is None:  # a new project folder: write it at once
            self._save(current)
            return "save"
        if now - self._dirty_since < self.journal_after:
            return None
        full_due = now - self._last_save >= self.save_after or self._records >= MAX_RECORDS
        if self._save_id is None or full_due or current.video != self._disk.video:
            self._save(current)
            return "save"
        if not self._journal_differs(current):
            return None  # only the head changed: it waits for the next full save
        self._append(current)
        return "journal"

    def flush(self) -> bool:
        """Save now if anything changed (on exit, Ctrl+S); returns whether it saved."""
        current = self.capture()
        if self._save_id is not None and not self._differs(current) and self._records == 0:
            return False
        self._save(current)
        return True

    # -- internals ---------------------------------------------------------------
    def _differs(self, cur: Project) -> bool:
        return self._disk is None or self._journal_differs(cur) or cur.head is not self._saved_head

    def _journal_differs(self, cur: Project) -> bool:
        d = self._disk
        if d is None:
            return True
        if cur.labels != d.labels or dict(cur.settings) != dict(d.settings) or len(cur.masks) != len(d.masks):
            return True
        return any(d.masks.get(k) is not v for k, v in cur.masks.items())

    def _save(self, current: Project) -> None:
        self._save_id = save_project(self.path, current)
        self._disk, self._saved_head = current, current.head
        self._records, self._dirty_since, self._last_save = 0, None, self.clock()

    def _append(self, current: Project) -> None:
        d = self._disk
        cells = [(k, v) for k, v in current.masks.items() if d.masks.get(k) is not v]
        cells += [(k, None) for k in d.masks if k not in current.masks]
        labels = current.labels if current.labels != d.labels else None
        settings = current.settings if dict(current.settings) != dict(d.settings) else None
        try:
            journal.append_record(self.path, self._save_id, self._records, cells, labels, settings)
        except OSError as exc:
            raise ProjectError(f"{self.path / journal.JOURNAL}: cannot record changes ({why(exc)})") from None
        self._disk = Project(d.video, current.labels, dict(current.masks), d.head, dict(current.settings))
        self._records += 1
        self._dirty_since = None


def has_unsaved_journal(path: str | Path) -> bool:
    """Whether a project folder holds journal records (work recovered at the next load)."""
    p = Path(path)
    return (p / MANIFEST).is_file() and (p / journal.JOURNAL).is_file() and (p / journal.JOURNAL).stat().st_size > 0
