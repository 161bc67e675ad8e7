"""Option values and errors shared by every command.

Exit codes: 0 success; 2 a usage error (a ``UsageError``, or argparse's own), printed under
the command's usage line; 1 a failure while running (a missing or malformed file, data not
available), printed as one line, never a traceback (``NUMPYNN_TRACEBACK=1`` shows one for a
failure numpynn does not foresee); 130 interrupted.
"""

from __future__ import annotations

import argparse
import math
import os
import sys

MAX_UNITS = 65_536  # per hidden layer


class UsageError(Exception):
    """A command line that cannot work: exit code 2."""


# --- option values (argparse turns an ArgumentTypeError into a usage error, exit 2) -------------


def number(text: str) -> float | None:
    """``text`` as a float, or None when it is not a number."""
    try:
        return float(text)
    except ValueError:
        return None


def whole_number(low: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {low}, got {text}")
        return value

    return parse


def real_number(valid, expected: str):
    def parse(text: str) -> float:
        value = number(text)
        if value is None or not valid(value):  # NaN fails every comparison
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    return parse


learning_rate = real_number(lambda v: 0 < v < math.inf, "a number > 0 such as 0.001")
fraction = real_number(lambda v: 0 <= v < 1, "a fraction in [0, 1) such as 0.1")


def hidden_sizes(text: str) -> tuple[int, ...]:
    parts = text.split(",")
    if not all(part.strip().isdigit() for part in parts):
        raise argparse.ArgumentTypeError(
            f"expected layer sizes separated by commas, such as 256,128; got {text!r}"
        )
    sizes = tuple(int(part) for part in parts)
    if not all(1 <= size <= MAX_UNITS for size in sizes):
        raise argparse.ArgumentTypeError(
            f"each layer size must lie between 1 and {MAX_UNITS:,}; got {text}"
        )
    return sizes


def thread_count(text: str):
    return text if text == "auto" else whole_number(1)(text)


# --- errors -------------------------------------------------------------------------------------


def run_command(args) -> int:
    """Run the parsed command ``args.command``; its failures become a message and an exit code."""
    name = f"numpynn {args.name}"
    try:
        return args.command(args)
    except UsageError as error:
        args.parser.print_usage(sys.stderr)
        print(f"{name}: error: {error}", file=sys.stderr)
        return 2
    except (OSError, ValueError, ImportError, FloatingPointError) as error:
        print(f"{name}: error: {error}", file=sys.stderr)
    except MemoryError:
        print(
            f"{name}: error: out of memory; try smaller --hidden or --batch-size", file=sys.stderr
        )
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # a failure numpynn does not foresee: one line, not a traceback
        if os.environ.get("NUMPYNN_TRACEBACK"):
            raise
        print(
            f"{name}: unexpected {type(error).__name__}: {error}\n(please report it; "
            "NUMPYNN_TRACEBACK=1 shows where it happened)",
            file=sys.stderr,
        )
    return 1
