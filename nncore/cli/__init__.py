# SPDX-License-Identifier: MIT
"""The ``nncore`` command line (also ``python -m nncore``).

Subcommands, one module each: ``demo`` (train on a shipped or generated data
set and report accuracy and speed), ``train`` (a network from a CSV, TSV,
Parquet or NumPy file), ``predict`` (with a trained model), ``info``
(describe a model), ``export`` (as ONNX) and ``bench`` (a quick speed table
against other implementations). Shared: ``_util`` (errors, argument types, safe printing),
``_data`` (reading tables, through pandas), ``_meta`` (the model's metadata,
kept inside the model file, and the version-1 sidecar); the preprocessing it
describes is ``nncore._preprocess`` (NumPy only).

Exit status: 0 on success, 2 for any error (one line ``nncore: error: ...``
on stderr, never a traceback) and for a missing subcommand, 130 when
interrupted by Ctrl-C. Progress and notes go to stderr, results to stdout.

Reading data files needs pandas (``pip install 'nncore[cli]'``); it is
imported only when a command reads one, never by ``import nncore``.
"""
from __future__ import annotations

import argparse
import os
import sys

from .. import __version__
from ..exceptions import ModelFileError
from . import bench, demo, export, info, predict, train
from ._util import EXIT_ERROR, EXIT_INTERRUPTED, CommandError, memory_message, shown
from .demo import make_moons

__all__ = ["main", "build_parser", "make_moons", "CommandError"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``nncore`` command.

    Returns
    -------
    argparse.ArgumentParser
        Each subcommand's parser sets ``run``, the function that executes it.

    Examples
    --------
    >>> from nncore.cli import build_parser
    >>> args = build_parser().parse_args(["train", "data.csv", "--target", "y",
    ...                                   "--hidden", "64,32", "-o", "m.npz"])
    >>> args.hidden, args.epochs, args.batch_size, args.output, args.target
    ([64, 32], None, 1, 'm.npz', ['y'])
    """
    parser = argparse.ArgumentParser(
        prog="nncore",
        description="nncore: fast multilayer perceptrons on the CPU. Exit status: 0 "
        "on success, 2 on errors, 130 when interrupted (Ctrl-C).",
        epilog="Run 'nncore COMMAND --help' for a command's options; start with "
        "'nncore demo'.")
    parser.add_argument("--version", action="version", version=f"nncore {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (demo, train, predict, info, export, bench):
        module.add_parser(commands)
    return parser


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        return f"{shown(exc.filename)}: {exc.strerror}"
    text = " ".join(str(exc).split())
    return shown(text) or type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    """Run the ``nncore`` command line.

    Parameters
    ----------
    argv : list of str or None, default None
        Arguments without the program name; None reads ``sys.argv[1:]``.

    Returns
    -------
    int
        The exit status: 0 on success, 2 on errors (reported as one line
        ``nncore: error: ...`` on stderr) or without a subcommand (the help
        is printed), 130 when interrupted by Ctrl-C.

    Examples
    --------
    >>> from nncore.cli import main
    >>> main(["info", "no-such.model"])      # the message goes to stderr
    2
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:       # --help, --version or a usage error, printed
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_ERROR
    try:
        status: int = args.run(args)
        return status
    except KeyboardInterrupt:
        print("nncore: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of our output went away (``| head``): stop quietly, and
        # keep Python from complaining again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except MemoryError as exc:
        print(f"nncore: error: {memory_message(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except (CommandError, ModelFileError, OSError, ValueError, FloatingPointError) as exc:
        print(f"nncore: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_ERROR
