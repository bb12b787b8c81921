"""Progress of long work on stderr, so a user knows what the tool is doing and for how long.

On a terminal: a bar (or a count, where the total is unknown) redrawn in place. Otherwise (a
log, a CI job): a line now and then (every ``LINE_EVERY`` seconds) and one at the end of work
that printed any. ``lstm-hw --quiet`` (``set_quiet``) silences all of it; results and warnings
are not progress and still appear.
"""
from __future__ import annotations

import sys
import threading
import time
from contextlib import contextmanager

LINE_EVERY = 10.0     # seconds between progress lines when stderr is not a terminal
REDRAW_EVERY = 0.1    # seconds between redraws of a terminal's bar
_quiet = False


def set_quiet(quiet: bool) -> None:
    global _quiet
    _quiet = quiet


def _is_terminal(stream) -> bool:
    return bool(getattr(stream, "isatty", None) and stream.isatty())


class Progress:
    """``label: [#####.....] 45/99 settings, 3.2 s, ~4 s left`` on a terminal; the same
    without the bar as a line every LINE_EVERY seconds elsewhere. total None: a count only.
    enabled: None (on unless quiet), True (on, even when quiet) or False."""

    def __init__(self, total: int | None, what: str, label: str = "", stream=None,
                 enabled: bool | None = None):
        self.total, self.what, self.label, self.done = total, what, label, 0
        self.stream = stream or sys.stderr
        self.enabled = (not _quiet) if enabled is None else enabled
        self.terminal = _is_terminal(self.stream)
        self.start = time.perf_counter()
        self.last = self.start          # when the last line was shown
        self.shown = False
        self.note = ""

    def update(self, n: int = 1, note: str = "") -> None:
        """n more done; note: what is being done now (shown after the figures)."""
        self.done += n
        self.note = note or self.note
        if not self.enabled:
            return
        now = time.perf_counter()
        finished = self.total is not None and self.done >= self.total
        if now - self.last < (REDRAW_EVERY if self.terminal else LINE_EVERY) and not \
                (self.terminal and finished):
            return
        self.last = now
        self._show(now)

    def _text(self, now: float, bar: bool) -> str:
        spent = now - self.start
        head = f"{self.label}: " if self.label else ""
        if self.total is None:
            figures = f"{self.done:,} {self.what}, {spent:.1f} s"
        else:
            left = spent / self.done * (self.total - self.done) if self.done else 0.0
            figures = (f"{self.done:,}/{self.total:,} {self.what}, {spent:.1f} s"
                       + (f", ~{left:.0f} s left" if 0 < self.done < self.total else ""))
            if bar:
                filled = int(30 * min(self.done, self.total) / max(self.total, 1))
                figures = f"[{'#' * filled}{'.' * (30 - filled)}] {figures}"
        return head + figures + (f" ({self.note})" if self.note else "")

    def _show(self, now: float) -> None:
        if self.terminal:   # \r and erase to the end: the line is redrawn in place
            self.stream.write("\r" + self._text(now, bar=True) + "\x1b[K")
        else:
            self.stream.write(self._text(now, bar=False) + "\n")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        """Finish the bar's line; elsewhere, a last line if any was shown."""
        if not (self.enabled and self.shown):
            return
        if self.terminal:
            self._show(time.perf_counter())
            self.stream.write("\n")
        else:
            self.stream.write(self._text(time.perf_counter(), bar=False) + ", done\n")
        self.stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@contextmanager
def slow_step(message: str, after: float = 1.0, stream=None):
    """Say ``message`` (then how long it took) on stderr if the work inside takes longer than
    ``after`` seconds: a first compile says so, a cached one stays silent."""
    stream = stream or sys.stderr
    if _quiet:
        yield
        return
    start = time.perf_counter()
    said = threading.Event()

    def say() -> None:
        stream.write(f"{message}...\n")
        stream.flush()
        said.set()

    timer = threading.Timer(after, say)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        timer.join()
        if said.is_set():
            stream.write(f"{message}: done in {time.perf_counter() - start:.1f} s\n")
            stream.flush()
