# SPDX-License-Identifier: MIT
"""What every command shares: the one-line error, argument types, safe
printing of names that come from files, output-path checks, and the stage a
command is in (so that running out of memory says what was too big)."""
from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

# Shared with the preprocessing, which names columns and values in its errors.
from .._preprocess import listed as listed
from .._preprocess import plural as plural
from .._preprocess import quoted as quoted
from .._preprocess import shown as shown

EXIT_ERROR = 2
EXIT_INTERRUPTED = 130


class CommandError(Exception):
    """An error a command reports as one line ``nncore: error: ...`` (exit status 2)."""


# ---------------------------------------------------------------------------
# Printing
# ---------------------------------------------------------------------------

def say(text: str, file: IO[str] | None = None) -> None:
    """A progress note or a warning: to stderr (results go to stdout)."""
    print(text, file=file if file is not None else sys.stderr, flush=True)


def size_text(n_bytes: int) -> str:
    for factor, unit in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if n_bytes >= factor:
            return f"{n_bytes / factor:.1f} {unit}"
    return f"{n_bytes} bytes"


# ---------------------------------------------------------------------------
# What the command is doing, for the out-of-memory message
# ---------------------------------------------------------------------------

_stage: list[str] = []
# The innermost stage a MemoryError went through, kept after the blocks exit.
_failed: list[str] = []


@contextmanager
def stage(what: str) -> Iterator[None]:
    """Name what the command does inside the block (``reading data.csv
    (192 MiB)``): a MemoryError raised there is reported with it."""
    _stage.append(what)
    try:
        yield
    except MemoryError:
        if not _failed:
            _failed.append(what)
        raise
    finally:
        _stage.pop()


def memory_message(exc: MemoryError) -> str:
    """One line for a MemoryError: what was too big, and what to do."""
    what = (_failed or _stage or ["running the command"])[-1]
    _failed.clear()
    detail = " ".join(str(exc).split())
    detail = f" ({detail})" if detail else ""
    return (f"out of memory while {what}{detail}: use a smaller file (fewer rows or "
            "columns), fewer or smaller --hidden layers, --dtype float32 or a smaller "
            "--batch-size, or a machine with more memory")


# ---------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------

def check_output(path: str, option: str, inputs: list[tuple[str, str]]) -> None:
    """Refuse an output path that cannot be written or that is one of the
    ``inputs`` (pairs of what and path): writing it would destroy the input."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise CommandError(f"{option} {shown(path)}: is a folder; give a file name")
    if not os.path.isdir(folder):
        raise CommandError(f"{option} {shown(path)}: the folder {shown(folder)} does "
                           "not exist")
    if not os.access(folder, os.W_OK):
        raise CommandError(f"{option} {shown(path)}: the folder {shown(folder)} is not "
                           "writable")
    for what, source in inputs:
        if same_file(path, source):
            raise CommandError(f"{option} {shown(path)} is the same file as the {what} "
                               f"{shown(source)}: writing it would destroy the "
                               f"{what}; choose another name")


def same_file(a: str, b: str) -> bool:
    """Whether both paths exist and are one file (hard links and symbolic links
    included)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


# ---------------------------------------------------------------------------
# Argument types
# ---------------------------------------------------------------------------

def hidden_sizes(text: str) -> list[int]:
    parts = [part.strip() for part in text.split(",")]
    if not any(parts):
        raise argparse.ArgumentTypeError(
            "expected sizes like 32 or 64,32, got nothing (for a network without a "
            "hidden layer, --hidden 0)")
    if parts == ["0"]:
        return []
    try:
        sizes = [int(part) for part in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected sizes like 32 or 64,32, got {text!r}") from None
    if any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError("hidden layer sizes must be positive "
                                         "(--hidden 0 alone: no hidden layer)")
    return sizes


def _int_at_least(text: str, minimum: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"expected {what}, got {value}")
    return value


def positive_int(text: str) -> int:
    return _int_at_least(text, 1, "a positive integer")


def seed(text: str) -> int:
    return _int_at_least(text, 0, "a non-negative integer")


def non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text}")
    return value


def unit_interval(text: str) -> float:
    """A number in [0, 1] (momentum)."""
    value = non_negative(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text}")
    return value


def fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number in [0, 1), got {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text}")
    return value


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not 0 < value <= 60:
        raise argparse.ArgumentTypeError(f"expected seconds in (0, 60], got {text}")
    return value


def names(text: str) -> list[str]:
    """A comma-separated list of column names (or indices)."""
    items = [item.strip() for item in text.split(",")]
    if not all(items):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated column names, got {text!r}")
    return items


class Once(argparse.Action):
    """Store the value, but refuse the option given twice (argparse would
    silently keep the last)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        if getattr(namespace, self.dest, None) is not None:
            parser.error(f"{option_string} given twice: name several columns in one, "
                         f"comma-separated ({option_string} a,b,c)")
        setattr(namespace, self.dest, values)
