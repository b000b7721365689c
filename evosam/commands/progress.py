"""One progress line on stderr for long commands: ``frame 12/80  3.1 frames/s  22 s left``.

The line is redrawn in place (``\\r``) only when the stream is a terminal. On a pipe or a log
file nothing is printed, so scripts reading stdout, or the one-line error on stderr, see
exactly what they saw before.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TextIO, TypeVar

T = TypeVar("T")


def format_seconds(seconds: float) -> str:
    """``'22 s'``, ``'3 min 05 s'`` or ``'1 h 02 min'`` (rounded to whole seconds)."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class Progress:
    """A ``progress(done, total)`` callable (the exporters' signature) drawing one status line.

    ``label``: what one item is (``"frame"``); ``unit``: its plural in the rate (default
    ``label + "s"``); ``stream``: default ``sys.stderr``; ``enabled``: default whether the
    stream is a terminal. Redraws at most every ``interval`` seconds, and always at the last
    item; ``close()`` (or leaving a ``with`` block) ends the line. ``clock``: seconds, for tests.
    """

    def __init__(
        self,
        total: int,
        label: str = "item",
        unit: str | None = None,
        *,
        stream: TextIO | None = None,
        enabled: bool | None = None,
        interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = total
        self.label = label
        self.unit = unit if unit is not None else f"{label}s"
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = _is_tty(self.stream) if enabled is None else enabled
        self.interval = interval
        self.done = 0
        self._clock = clock
        self._start = clock()
        self._drawn_at: float | None = None
        self._width = 0

    def __call__(self, done: int, total: int | None = None) -> None:
        self.update(done, total)

    def update(self, done: int, total: int | None = None) -> None:
        """``done`` items of ``total`` (default: the total given before) are finished."""
        if total is not None:
            self.total = total
        self.done = done
        if not self.enabled:
            return
        now = self._clock()
        last = self.total > 0 and done >= self.total
        if self._drawn_at is not None and now - self._drawn_at < self.interval and not last:
            return
        self._drawn_at = now
        self._draw(self.line(now))

    def line(self, now: float | None = None) -> str:
        """The status text (no ``\\r``): count, rate and time left (or time taken at the end)."""
        elapsed = (self._clock() if now is None else now) - self._start
        parts = [f"{self.label} {self.done}/{self.total}"]
        if self.done > 0 and elapsed > 0:
            rate = self.done / elapsed
            parts.append(f"{rate:.1f} {self.unit}/s" if rate >= 1 else f"{rate:.2f} {self.unit}/s")
            if self.done < self.total:
                parts.append(f"{format_seconds((self.total - self.done) / rate)} left")
            else:
                parts.append(f"took {format_seconds(elapsed)}")
        return "  ".join(parts)

    def _draw(self, text: str) -> None:
        pad = " " * max(0, self._width - len(text))  # blank what a longer line left behind
        self._width = len(text)
        self.stream.write(f"\r{text}{pad}")
        self.stream.flush()

    def close(self) -> None:
        """End the line (a newline) if one was drawn; safe to call twice."""
        if self._drawn_at is not None:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn_at = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def track(items: Iterable[T], total: int, label: str = "item", unit: str | None = None) -> Iterator[T]:
    """Yield ``items``, counting each one on a ``Progress`` line on stderr (terminal only)."""
    with Progress(total, label, unit) as bar:
        for i, item in enumerate(items, 1):
            yield item
            bar.update(i)
