# SPDX-License-Identifier: MIT
"""Reading DATA files into a table of named columns.

CSV and TSV go through pandas (with pyarrow's parser where pyarrow is
installed): the delimiter is sniffed from the first lines (or given with
``--delimiter``), a UTF-8 byte-order mark and CRLF line endings are handled,
quoted fields and pandas' NA markers (empty, ``NA``, ``nan``, ``NULL``, ...)
are understood, and ``--no-header`` names the columns by position. ``.npy``
and ``.npz`` files are read by NumPy without pickles, Parquet by pandas.

Every table's columns have string names: the header's, or ``"0"``, ``"1"``,
... by position (NumPy arrays, ``--no-header``). A column is chosen by name,
or else by an integer index (negative counts from the end).

pandas is imported only here, and only when a table is read: ``import
nncore`` never needs it (see `require_pandas`).
"""
from __future__ import annotations

import codecs
import csv
import importlib
import os
import stat
import zipfile
from typing import Any

import numpy as np

from ._util import CommandError, quoted, say, shown, size_text, stage

# A file this large gets a note on stderr before it is read.
LARGE_FILE_BYTES = 32 << 20
# The delimiter is sniffed from this much of the start of a CSV file.
SNIFF_BYTES = 1 << 16
SNIFF_LINES = 50
DELIMITERS = (",", ";", "\t", "|")
PARQUET_SUFFIXES = (".parquet", ".pq")
# What a .npy file and a ZIP archive (.npz) start with.
_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = b"PK\x03\x04"


def require_pandas() -> Any:
    """pandas, or a CommandError that says how to install it."""
    try:
        return importlib.import_module("pandas")
    except ImportError as exc:
        raise CommandError(
            f"reading data files needs pandas, which is not installed ({exc}); "
            "pip install 'nncore[cli]' (or pip install pandas)") from None


def has_pyarrow() -> bool:
    try:
        importlib.import_module("pyarrow")
    except ImportError:
        return False
    return True


class Table:
    """A DATA file's columns, before any is chosen as feature or target.

    Attributes
    ----------
    path : str
    frame : pandas.DataFrame
        Columns with string names, one row per sample.
    positional : bool
        Whether the names are positions ("0", "1", ...), not a header's.
    first_line : int or None
        The file line of the first row (CSV), for messages; None for arrays.
    default_target : str or None
        The target when --target is not given (``y`` of an .npz with X and y).
    """

    def __init__(self, path: str, frame: Any, positional: bool,
                 first_line: int | None = None, default_target: str | None = None):
        self.path = path
        self.frame = frame
        self.positional = positional
        self.first_line = first_line
        self.default_target = default_target

    @property
    def names(self) -> list[str]:
        return [str(name) for name in self.frame.columns]

    @property
    def n_rows(self) -> int:
        return int(self.frame.shape[0])

    def where(self, row: int) -> str:
        """Where row ``row`` (0-based) is in the file, for messages."""
        if self.first_line is not None:
            return f"line {self.first_line + row}"
        return f"row {row}"

    def column(self, spec: str, option: str = "--target") -> str:
        """The name of the column ``spec`` names: a name, else an integer index."""
        names = self.names
        if spec in names:
            return spec
        try:
            index = int(spec)
        except ValueError:
            if self.positional:
                raise CommandError(f"{shown(self.path)} has no column names: {option} "
                                   f"takes column indices, got {quoted(spec)}") from None
            shown_names = ", ".join(quoted(name) for name in names[:20])
            more = ", ..." if len(names) > 20 else ""
            raise CommandError(f"{shown(self.path)} has no column {quoted(spec)} "
                               f"(columns: {shown_names}{more})") from None
        if not -len(names) <= index < len(names):
            raise CommandError(f"{shown(self.path)} has no column {index}: it has "
                               f"{len(names)} columns (indices 0..{len(names) - 1})")
        return names[index % len(names)]


def read_table(path: str, delimiter: str | None = None, header: bool = True) -> Table:
    r"""Read DATA: CSV/TSV, ``.npy``, ``.npz`` or Parquet, by extension.

    Parameters
    ----------
    path : str
    delimiter : str or None
        The CSV field separator; None sniffs it (``,``, ``;``, tab or ``|``).
    header : bool
        Whether a CSV file's first line names the columns.

    Raises
    ------
    CommandError
        For a file that is malformed, empty, not a regular file, or of a kind
        whose reader is not installed.
    OSError
        For a missing or unreadable file.

    Examples
    --------
    >>> import os, tempfile
    >>> from nncore.cli._data import read_table
    >>> path = os.path.join(tempfile.mkdtemp(), "data.csv")
    >>> with open(path, "w") as stream:
    ...     _ = stream.write("a;b;label\n1;2;cat\n3;4;dog\n")
    >>> table = read_table(path)
    >>> table.names, table.frame["label"].tolist()
    (['a', 'b', 'label'], ['cat', 'dog'])
    """
    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):
        raise CommandError(f"{shown(path)}: not a regular file (a folder, device or "
                           "pipe); give a data file")
    described = f"reading {shown(path)} ({size_text(info.st_size)})"
    if info.st_size >= LARGE_FILE_BYTES:
        say(f"{described} ...")
    suffix = os.path.splitext(path)[1].lower()
    with stage(described):
        if suffix == ".npy":
            return _array_table(path, _load_numpy(path, _NPY_MAGIC), "the array")
        if suffix == ".npz":
            return _read_npz(path)
        if suffix in PARQUET_SUFFIXES:
            return _read_parquet(path)
        return _read_csv(path, delimiter, header, tab=suffix == ".tsv")


def _load_numpy(path: str, magic: bytes) -> Any:
    with open(path, "rb") as stream:
        if stream.read(len(magic)) != magic:
            kind = "a .npy file" if magic == _NPY_MAGIC else "an .npz archive"
            raise CommandError(f"{shown(path)}: not {kind} (it does not start like one)")
    try:
        return np.load(path, allow_pickle=False)
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise CommandError(f"{shown(path)}: not a readable NumPy file ({exc})") from exc


def _frame_of(array: Any, names: list[str]) -> Any:
    pd = require_pandas()
    return pd.DataFrame({name: array[:, j] for j, name in enumerate(names)})


def _array_table(path: str, array: Any, what: str) -> Table:
    if array.ndim != 2 or array.dtype.kind not in "biuf":
        raise CommandError(f"{shown(path)}: {what} must be 2-D and numeric (rows are "
                           f"samples), got shape {array.shape} of dtype {array.dtype}")
    if array.shape[0] == 0:
        raise CommandError(f"{shown(path)}: {what} has no rows")
    names = [str(j) for j in range(array.shape[1])]
    return Table(path, _frame_of(array, names), positional=True)


def _read_npz(path: str) -> Table:
    archive = _load_numpy(path, _ZIP_MAGIC)
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise CommandError(f"{shown(path)}: not an .npz archive")
    with archive:
        members = sorted(archive.files)
        try:
            if "X" in members and set(members) <= {"X", "y"}:
                table = _array_table(path, archive["X"], "member X")
                if "y" not in members:
                    return table
                y = archive["y"]
                if y.ndim != 1 or y.shape[0] != table.n_rows:
                    raise CommandError(f"{shown(path)}: member y must be 1-D with one "
                                       f"value per row of X ({table.n_rows}), got shape "
                                       f"{y.shape}")
                if y.dtype.kind not in "biufU":
                    raise CommandError(f"{shown(path)}: member y must hold numbers or "
                                       f"strings, got dtype {y.dtype}")
                table.frame["y"] = y
                table.default_target = "y"
                return table
            if len(members) == 1:
                return _array_table(path, archive[members[0]], f"member {members[0]}")
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
            raise CommandError(f"{shown(path)}: damaged .npz archive ({exc})") from exc
    raise CommandError(f"{shown(path)}: expected members X and y, or a single 2-D array; "
                       f"found {', '.join(members) or 'no members'}")


def _read_parquet(path: str) -> Table:
    pd = require_pandas()
    if not has_pyarrow():
        raise CommandError(f"{shown(path)}: reading Parquet needs pyarrow, which is not "
                           "installed; pip install pyarrow")
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        if isinstance(exc, (FileNotFoundError, PermissionError)):
            raise
        raise CommandError(f"{shown(path)}: not a readable Parquet file "
                           f"({' '.join(str(exc).split())})") from exc
    frame.columns = [str(name) for name in frame.columns]
    if frame.shape[0] == 0:
        raise CommandError(f"{shown(path)}: no rows")
    return Table(path, frame.reset_index(drop=True), positional=False)


# ---------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------

def _sample_lines(path: str) -> list[str]:
    """The first lines of the file as text, for sniffing and the header."""
    with open(path, "rb") as stream:
        start = stream.read(SNIFF_BYTES)
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        text = decoder.decode(start, final=len(start) < SNIFF_BYTES)
    except UnicodeDecodeError as exc:
        raise CommandError(f"{shown(path)}: not a UTF-8 text file ({exc.reason} at byte "
                           f"{exc.start}); CSV, TSV, .npy, .npz and Parquet files are "
                           "read") from None
    lines = text.splitlines()
    if len(start) == SNIFF_BYTES and lines:
        lines.pop()             # probably cut short
    return [line for line in lines if line.strip()][:SNIFF_LINES]


def sniff_delimiter(lines: list[str]) -> str:
    """The delimiter that splits every sampled line into the same number of
    fields, the most fields winning; a comma when none splits them.

    Examples
    --------
    >>> from nncore.cli._data import sniff_delimiter
    >>> sniff_delimiter(["a;b;c", "1,5;2;3"]), sniff_delimiter(['"x,y"\\tz', "1\\t2"])
    (';', '\\t')
    """
    best, best_fields = ",", 1
    for candidate in DELIMITERS:
        counts = {len(row) for row in csv.reader(lines, delimiter=candidate)}
        if len(counts) == 1:
            (fields,) = counts
            if fields > best_fields:
                best, best_fields = candidate, fields
    return best


def _read_csv(path: str, delimiter: str | None, header: bool, tab: bool) -> Table:
    pd = require_pandas()
    lines = _sample_lines(path)
    if not lines:
        raise CommandError(f"{shown(path)}: empty file")
    if delimiter is None:
        delimiter = "\t" if tab and "\t" in lines[0] else sniff_delimiter(lines)
    first = next(csv.reader(lines[:1], delimiter=delimiter))
    names: list[str] | None = None
    drop_index = False
    if header:
        names = [name.strip() for name in first]
        seen: set[str] = set()
        for j, name in enumerate(names):
            if not name:
                if j == 0 and len(names) > 1:
                    drop_index = True       # pandas' to_csv() writes its index so
                    continue
                raise CommandError(f"{shown(path)}, line 1: column {j} has no name; name "
                                   "it in the header row, or use --no-header")
            if name in seen:
                raise CommandError(f"{shown(path)}, line 1: column {quoted(name)} "
                                   "appears twice in the header")
            seen.add(name)
        if 2 * sum(_is_number(name) for name in names) > len(names):
            say(f"note: most names in the first line of {shown(path)} are numbers: if "
                "the file has no header row, use --no-header")
        if len(lines) < 2:
            raise CommandError(f"{shown(path)}: no data rows after the header")
    options: dict[str, Any] = {"sep": delimiter, "encoding": "utf-8-sig",
                               "header": 0 if header else None, "skip_blank_lines": True}
    if has_pyarrow():
        options["engine"] = "pyarrow"
    if names is not None:
        # The header's own names (stripped), not pandas' mangled ones.
        options["names"] = ["" if drop_index and j == 0 else name
                            for j, name in enumerate(names)]
        options["header"] = 0
    try:
        frame = pd.read_csv(path, **options)
    except UnicodeDecodeError as exc:
        raise CommandError(f"{shown(path)}: not a UTF-8 text file ({exc.reason} at byte "
                           f"{exc.start})") from None
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise CommandError(f"{shown(path)}: malformed CSV "
                           f"({shown(' '.join(str(exc).split()))})") from None
    if frame.shape[0] == 0:
        raise CommandError(f"{shown(path)}: no data rows")
    if names is None:
        frame.columns = [str(j) for j in range(frame.shape[1])]
    if drop_index:
        say(f"note: the first column of {shown(path)} has no name and is taken for a "
            "row index (as pandas' to_csv() writes it): not used")
        frame = frame.iloc[:, 1:]
    return Table(path, frame, positional=not header, first_line=2 if header else 1)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
