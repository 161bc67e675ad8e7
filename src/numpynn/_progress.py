"""The one progress line of the library: ``fit``'s bar, ``evaluate``, ``predict``, downloads.

``progress_line`` lays one line out to fit a width; ``Progress`` draws it: redrawn in place
in a terminal, written once at the end when the output is a file or a pipe.
"""

from __future__ import annotations

import math
import sys
import time


class Progress:
    """One progress line: ``Evaluate 12/45 [=====>....] ETA 1.2s - loss: 0.5123``.

    In a terminal it is redrawn in place at most every 0.1 s (and at the last step), fitted
    to the terminal's width (see ``progress_line``); when the output is not a terminal (a
    file, a pipe) only the last line is written, once, at ``close``. Nothing is written when
    ``verbose`` is not 1. ``fit``'s bar (``ProgbarLogger``), ``evaluate``, ``predict`` and the
    dataset downloads all draw this line, by default to standard error.

    >>> import io
    >>> out = io.StringIO()
    >>> line = Progress(1, steps=3, title="Predict", file=out)
    >>> for step in (1, 2, 3):
    ...     line.update(step)
    >>> line.close()
    >>> out.getvalue().split(" ")[:2]
    ['Predict', '3/3']
    """

    def __init__(self, verbose: int, steps: int | None, title: str, file=None):
        self.steps, self.title, self.file = steps, title, file or sys.stderr
        self.start, self.drawn, self.done, self.length = time.perf_counter(), -math.inf, 0, 0
        self.logs: dict = {}
        self.shown = verbose == 1
        self.live = self.shown and _is_terminal(self.file)

    def update(self, done: int, logs: dict | None = None) -> None:
        """``done`` steps of ``steps`` are done; ``logs`` the running values to show."""
        self.done, self.logs = done, logs or {}
        now = time.perf_counter()
        if self.live and (now - self.drawn >= 0.1 or done == self.steps):
            self.drawn = now
            self._draw(end=False)

    def close(self, logs: dict | None = None) -> None:
        """Finish the line (with ``logs`` if given) and end it with a newline."""
        self.logs = self.logs if logs is None else logs
        if self.live:
            self._draw(end=True)
        elif self.shown:
            seconds = time.perf_counter() - self.start
            line = progress_line(self.title, self.done, self.steps, seconds, self.logs)
            print(line, file=self.file, flush=True)

    def _draw(self, end: bool) -> None:
        """Rewrite the line in place (padded over a longer previous one)."""
        elapsed, steps = time.perf_counter() - self.start, self.steps
        eta = (
            None if end or not steps or not self.done else elapsed / self.done * (steps - self.done)
        )
        line = progress_line(self.title, self.done, steps, elapsed, self.logs, _columns(), eta)
        self.file.write("\r" + line.ljust(self.length) + ("\n" if end else ""))
        self.file.flush()
        self.length = len(line)


def _is_terminal(file) -> bool:
    try:
        return file.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed file
        return False


def _columns() -> int:
    """The terminal's width: $COLUMNS if set, else the size of the terminal, else 80."""
    import shutil  # only when a line is drawn in a terminal: `import numpynn` stays light

    return shutil.get_terminal_size((80, 24)).columns


def _short_number(value) -> str:
    value = float(value)
    return f"{value:.4f}" if value == 0 or 1e-3 <= abs(value) < 1e5 else f"{value:.3g}"


SHORT_NAMES = {"accuracy": "acc", "val_accuracy": "val_acc", "learning_rate": "lr"}


def _duration(seconds: float) -> str:
    return f"{seconds:.1f}s" if seconds < 60 else f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


def progress_line(title, done, steps, seconds, logs, width=None, eta=None) -> str:
    """``Epoch 3/10 12/45 [=====>....] 1.2s - loss: 0.5123 - accuracy: 0.8000`` in at most
    ``width - 1`` characters (no limit when None). To fit, the bar shrinks, the metric names
    shorten (``acc``), the bar goes, then the timing, then the step count; the values stay
    unless even that cannot fit, when the last ones make way for ``...``."""
    count = f"{done}/{steps}" if steps else f"{done}"
    timing = f"ETA {_duration(eta)}" if eta is not None else _duration(seconds)
    items = [(key, _short_number(value)) for key, value in (logs or {}).items()]
    long = " - ".join(f"{key}: {value}" for key, value in items)
    short = [f"{SHORT_NAMES.get(key, key)} {value}" for key, value in items]
    limit = math.inf if width is None else width - 1
    # (metrics, with a bar, with the step count, with the timing), best first
    layouts = [(long, 1, 1, 1), (long, 1, 1, 0), (" ".join(short), 1, 1, 1)]
    layouts += [(" ".join(short), 1, 1, 0), (long, 0, 1, 1), (long, 0, 1, 0)]
    layouts += [(" ".join(short), 0, 1, 1), (" ".join(short), 0, 1, 0), (" ".join(short), 0, 0, 0)]
    for metrics, with_bar, with_count, with_timing in layouts:
        tail = f" - {metrics}" if metrics else ""
        parts = [title] + [count] * with_count + [timing] * with_timing
        if with_bar:
            room = limit - len(" ".join(parts)) - len(tail) - 3  # " [" and "]"
            if not steps or room < 8:
                continue
            parts.insert(2, _bar(done / steps, int(min(room, 30))))
        if len(" ".join(parts)) + len(tail) <= limit:
            return " ".join(parts) + tail
    while short and len(f"{title} - {' '.join(short)} ...") > limit:
        short.pop()
    return (f"{title} - {' '.join(short)} ..." if short else title)[: int(limit)]


def _bar(fraction: float, width: int) -> str:
    """``[=====>....]`` with ``width`` characters between the brackets."""
    filled = int(round(min(max(fraction, 0.0), 1.0) * width))
    arrow = "=" * filled if filled == width else "=" * max(filled - 1, 0) + ">"
    return "[" + arrow.ljust(width, ".") + "]"
