"""A dependency-free progress bar for long imports, drawn only when stderr is a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["ProgressBar", "terminal_progress"]


class ProgressBar:
    """Redraws one line (``label [#####.....]  52%  5200/10000 rows``) on a terminal stream.

    Parameters
    ----------
    label : str
        Shown before the bar.
    stream : text stream, optional
        Where to draw; defaults to ``sys.stderr``.
    width : int
        Characters of the bar itself.
    min_interval : float
        Seconds between redraws (the final state is always drawn).
    """

    def __init__(
        self,
        label: str,
        *,
        stream: TextIO | None = None,
        width: int = 30,
        min_interval: float = 0.1,
    ) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.min_interval = min_interval
        self._last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        finished = done >= total
        if not finished and now - self._last < self.min_interval:
            return
        self._last = now
        frac = 1.0 if total <= 0 else min(done / total, 1.0)
        filled = round(frac * self.width)
        bar = "#" * filled + "." * (self.width - filled)
        self.stream.write(f"\r{self.label} [{bar}] {frac * 100:3.0f}%  {done}/{total} rows")
        if finished:
            self.stream.write("\n")
        self.stream.flush()


def terminal_progress(label: str, stream: TextIO | None = None) -> ProgressBar | None:
    """A :class:`ProgressBar` when ``stream`` (default stderr) is a terminal, else ``None``."""
    stream = stream if stream is not None else sys.stderr
    isatty = getattr(stream, "isatty", None)
    if isatty is not None and isatty():
        return ProgressBar(label, stream=stream)
    return None
