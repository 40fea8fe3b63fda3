# SPDX-License-Identifier: MIT
"""How many threads nncore's calls use, and BLAS limited to that inside them.

nncore's products run in the BLAS that SciPy loads (``scipy.linalg.
cython_blas``); its other passes run in the caller's thread. Left alone, an
OpenBLAS built with pthreads uses every core for every product, whoever else
is running: two Python threads each training a network, or a machine busy
with other work, then have more BLAS threads than cores, and OpenBLAS's
threads, which spin while they wait, fall off a cliff (a mini-batch fit
measured at 667 samples/s against 99k with one thread).

So nncore decides the BLAS threads of its own calls:

- ``threads`` (``set_num_threads``, or the ``threads`` option of a Network,
  its ``fit`` or ``forward``): the most threads a call may use; by default
  the cores this process may run on.
- While more than one nncore call is running (several Python threads), BLAS
  runs with one thread: the calls themselves are the parallelism, and the
  BLAS thread pool is shared by the whole process.
- On a busy machine, no more threads than there are idle cores: the load
  average (runnable threads over the last minute, nncore's own recent ones
  discounted) says how many cores others are using.

Rounding: OpenBLAS splits a product between its threads in a way that can
change the order of the sums, so mini-batch training and batched inference
with more than one thread may differ in the last bits from one thread.
Online training (batch 1) and the row loops are single-threaded whatever
``threads`` is. With ``threads=1``, results are bit-for-bit reproducible.

The limit is set through threadpoolctl (which finds every BLAS library
loaded and its thread controls) on entry to a call and the library's own
setting restored when the last running call leaves, so code outside nncore
sees BLAS as it left it. Changing the limit costs a few microseconds, so
calls too small for any BLAS to thread skip it (``LIMITED_WORK``).
"""
from __future__ import annotations

import math
import os
import threading
import time
from typing import Any

from . import _core, _validation

# Multiply-adds of a call below which BLAS threads are left alone. Setting
# the limit costs a few microseconds (a call into the library to read its
# setting, two more when it changes), a visible part of a smaller call; and
# OpenBLAS runs products under 65,536 multiply-adds (its SMP_THRESHOLD_MIN)
# on one thread anyway, so such a call has few products that could thread.
# Training calls are always limited.
LIMITED_WORK = 1 << 20


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):      # not Linux
        return max(1, os.cpu_count() or 1)


_default: int | None = None


def get_num_threads() -> int:
    """The threads an nncore call uses when it is not told (``set_num_threads``).

    Returns
    -------
    int
        The number set by ``set_num_threads``; otherwise the environment
        variable ``NNCORE_NUM_THREADS`` (a positive integer) if it is set;
        otherwise the cores this process may run on.

    Raises
    ------
    ValueError
        If ``NNCORE_NUM_THREADS`` is set to anything but a positive integer.

    Examples
    --------
    >>> import nncore
    >>> nncore.get_num_threads() >= 1
    True
    """
    if _default is not None:
        return _default
    variable = os.environ.get("NNCORE_NUM_THREADS", "").strip()
    if variable:
        if not variable.isdigit() or int(variable) < 1:
            raise ValueError(f"NNCORE_NUM_THREADS={variable!r}: must be a positive "
                             "integer (or unset, for the cores this process may use)")
        return int(variable)
    return available_cores()


def set_num_threads(threads: int | None) -> int:
    """Set the threads nncore's calls use when not told otherwise.

    Parameters
    ----------
    threads : int or None
        At least 1; None goes back to the default (``NNCORE_NUM_THREADS``
        if set, else the cores this process may run on). A ``threads`` given to a Network, its ``fit`` or
        ``forward`` takes precedence.

    Returns
    -------
    int
        The previous setting (as ``get_num_threads`` gave it).

    Raises
    ------
    ValueError, TypeError
        If ``threads`` is not a positive integer or None.

    Examples
    --------
    >>> import nncore
    >>> previous = nncore.set_num_threads(1)
    >>> nncore.get_num_threads()
    1
    >>> _ = nncore.set_num_threads(previous)
    """
    global _default
    previous = get_num_threads()
    _default = None if threads is None else check_threads(threads, "threads")
    return previous


def check_threads(threads: Any, name: str) -> int:
    """``threads`` as a positive int, or a ValueError/TypeError naming ``name``."""
    return _validation.check_int(threads, name, minimum=1)


def resolve(*choices: int | None) -> int:
    """The first of ``choices`` that is set, else the process's default."""
    for choice in choices:
        if choice is not None:
            return choice
    return get_num_threads()


class _Blas:
    """The BLAS libraries' thread settings, shared by every nncore call.

    ``enter(threads)`` before a call's work and ``leave()`` after it, always
    in pairs; both hold one lock, so the calls of many Python threads agree
    on one setting: ``threads`` for a call running alone, 1 while calls
    overlap, and the libraries' own setting back when none runs.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._controller: list[Any] | None = None
        self._active = 0
        self._original: list[int | None] = []
        self._current = 0
        self._restoring = False     # a restore of _original under way
        # The threads nncore last ran with, and when: its own share of the
        # load average, which fades with the average's one-minute decay.
        self._last = 0
        self._last_time = 0.0

    def _room(self, want: int) -> int:
        # At most want threads, never more than the cores, and no more than
        # the cores others leave idle.
        cores = available_cores()
        try:
            load = os.getloadavg()[0]
        except (AttributeError, OSError):    # not available here (Windows)
            return min(want, cores)
        own = self._last * math.exp(-(time.monotonic() - self._last_time) / 60.0)
        idle = cores - load + own
        return max(1, min(want, int(idle + 0.5)))

    def _libraries(self) -> list[Any]:
        # The BLAS nncore calls is SciPy's: the library SciPy's wheels bundle
        # (under scipy.libs or scipy/), or, where SciPy links a shared one
        # (conda, distributions), every BLAS loaded, which then includes it.
        if self._controller is None:
            import scipy  # type: ignore[import-untyped,unused-ignore]
            from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped,unused-ignore]
            blas = ThreadpoolController().select(user_api="blas").lib_controllers
            home = os.path.dirname(os.path.abspath(scipy.__file__))
            own = [library for library in blas
                   if os.path.abspath(library.filepath).startswith((home + os.sep,
                                                                    home + ".libs" + os.sep))]
            self._controller = own or list(blas)
        return list(self._controller)

    def _set(self, libraries: list[Any], counts: list[int | None]) -> None:
        for library, count in zip(libraries, counts):
            if count is None:
                continue
            # OpenBLAS built with pthreads has one pool for the process, and
            # threadpoolctl lets only the thread that first set it change it;
            # every change here is made under this object's lock, by whichever
            # thread holds it.
            clear = getattr(library, "clear_controlling_thread", None)
            if clear is not None:
                clear(force=True)
            library.set_num_threads(count)
            if clear is not None:
                clear(force=True)

    def enter(self, threads: int) -> None:
        with self._lock:
            libraries = self._libraries()
            self._active += 1
            try:
                if self._active == 1 and self._restoring:
                    # The last restore was cut short (Ctrl-C): the libraries
                    # may still hold nncore's setting, so _original stands,
                    # and every library is set, whatever it seems to hold.
                    self._restoring = False
                    self._current = -1
                elif self._active == 1:
                    self._original = []     # nothing to restore until read
                    self._original = [library.get_num_threads() for library in libraries]
                    self._current = 0
                want = threads if self._active == 1 else 1
                if want > 1:
                    want = self._room(want)
                self._last, self._last_time = want, time.monotonic()
                if want != self._current:
                    self._set(libraries, [None if self._current == 0 and had == want
                                          else want for had in self._original])
                    self._current = want
                    _core._note_blas_threads(want)
            except BaseException:
                # Ctrl-C or an error before the call's body: no leave() will
                # follow, so undo this entry here.
                self._leave_locked()
                raise

    def leave(self) -> None:
        with self._lock:
            self._leave_locked()

    def _leave_locked(self) -> None:
        self._active -= 1
        if self._active == 0:
            # _current may be 0 (an entry undone before it set anything) or
            # -1 (unknown): then every library gets its own setting back.
            self._restoring = True
            self._set(self._libraries(), [None if had == self._current else had
                                          for had in self._original])
            self._restoring = False
            self._current = 0

    def _forked(self) -> None:
        # In a child process: none of the parent's calls runs here (their
        # threads were not forked), and one of them may have held the lock.
        # The libraries may still hold a running call's setting: the child's
        # next call puts _original back when it leaves (as after Ctrl-C).
        self._lock = threading.Lock()
        if self._active:
            self._active = 0
            self._restoring = True


_blas = _Blas()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_blas._forked)


class limit:
    """Context manager: BLAS at ``threads`` threads for a call of ``work``
    multiply-adds (left alone below LIMITED_WORK).

    >>> with limit(1, 10**6):
    ...     pass
    """

    __slots__ = ("_on", "_threads")

    def __init__(self, threads: int, work: int = LIMITED_WORK) -> None:
        self._threads = threads
        self._on = work >= LIMITED_WORK

    def __enter__(self) -> None:
        if self._on:
            _blas.enter(self._threads)

    def __exit__(self, *exc: object) -> None:
        if self._on:
            _blas.leave()
