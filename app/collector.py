"""Python's cyclic garbage collector run on the GUI thread only.

CPython collects on whichever thread's allocation crosses the threshold. When that is a
worker thread and the garbage holds a Qt wrapper (a closed dialog, a finished job's
QObject), the QObject is destroyed there: its destructor takes a Qt mutex and then waits
for the GIL, while the GUI thread, holding the GIL, may be destroying widgets and waiting
for that mutex. The process hangs (seen once in the GUI tests, docs/benchmarks.md).
``MainThreadCollector`` switches automatic collection off and collects from a timer on
the thread that owns it, generation by generation as CPython's own thresholds say.
"""

from __future__ import annotations

import gc
import time

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 200  # how often the counts are looked at (a look costs microseconds)
LONG_LIVED_GROWTH = 1.25  # a full collection once the oldest generation grew by this factor


class MainThreadCollector(QObject):
    """Owns garbage collection for the process until ``stop`` (create it on the GUI thread,
    after the ``QApplication``). ``pauses``: the longest collection so far, in ms, per
    generation (what the GUI thread paid)."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self.pauses = [0.0, 0.0, 0.0]
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._long_lived = len(gc.get_objects(2))  # objects in the oldest generation after the last full collection
        self._timer = QTimer(self, interval=interval_ms)
        self._timer.timeout.connect(self.collect_due)
        self._timer.start()

    def collect_due(self) -> int:
        """Collect what CPython would now: generation 0 once its count is over its
        threshold, with generation 1 when that one's is too, and the whole heap only when
        its long-lived objects also grew by a quarter since the last full collection
        (CPython's rule against quadratic full collections). The number of unreachable
        objects found."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        if counts[0] <= thresholds[0]:
            return 0
        generation = 0
        if counts[1] > thresholds[1]:
            generation = 1
            if counts[2] > thresholds[2] and len(gc.get_objects(2)) > LONG_LIVED_GROWTH * self._long_lived:
                generation = 2
        started = time.perf_counter()
        found = gc.collect(generation)
        self.pauses[generation] = max(self.pauses[generation], 1000 * (time.perf_counter() - started))
        if generation == 2:
            self._long_lived = len(gc.get_objects(2))
        return found

    def stop(self) -> None:
        """Stop collecting from the timer and give collection back to CPython (as it was)."""
        self._timer.stop()
        if self._was_enabled:
            gc.enable()
