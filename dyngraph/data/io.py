"""Readers for temporal edge lists and Matrix Market graphs.

Every reader detects gzip compression from the file's first bytes (never
from its suffix) and fails with :class:`MalformedFileError` naming the file
and the first offending line. A UTF-8 byte-order mark (``EF BB BF``) at the
very start of a file is skipped, as by every reader of the same file; one
anywhere else (a file appended to another) is an error naming its line.
Numbers too long for 64 bits, however many digits, are errors naming the
line, never Python's integer-conversion limit.

The generic reader is :func:`read_events`. The dataset formats of the
registry (:mod:`dyngraph.data.datasets`) each have a reader here:

=========================== ===============================================
reader                      format
=========================== ===============================================
:func:`read_snap_signed`    SNAP ``SRC,TGT,RATING,TIME`` (Bitcoin OTC/Alpha)
:func:`read_snap_temporal`  SNAP ``SRC TGT T`` (CollegeMsg, email-Eu-core)
:func:`read_wiki_rfa`       SNAP wiki-RfA multi-line vote records
:func:`read_jodie`          JODIE csv (Wikipedia, Reddit, MOOC, LastFM)
:func:`read_matrix_market`  Matrix Market graphs (SuiteSparse, DIMACS10)
=========================== ===============================================
"""

from __future__ import annotations

import gzip
import io
import math
import re
import tarfile
import zlib
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
import pandas as pd
import scipy.io
import scipy.sparse

from dyngraph.data.events import EventStream

__all__ = [
    "ROLES",
    "MalformedFileError",
    "is_gzip",
    "read_events",
    "read_jodie",
    "read_matrix_market",
    "read_snap_signed",
    "read_snap_temporal",
    "read_wiki_rfa",
]

ROLES = ("src", "dst", "t", "weight", "sign", "label", "msg", "skip")
"""Column roles understood by :func:`read_events`."""

_GZIP_MAGIC = b"\x1f\x8b"
_INT = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_NON_FINITE = re.compile(r"[+-]?(?:nan|inf|infinity)", re.IGNORECASE)
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_BOM = "\ufeff"
_BOM_BYTES = b"\xef\xbb\xbf"
_STREAM_ERRORS = (OSError, EOFError, zlib.error)
_PARSE_ERRORS = (ValueError, OverflowError, *_STREAM_ERRORS)


class MalformedFileError(ValueError):
    """A data file that cannot be read as the requested format.

    The message reads ``"<path>:<line>: <what is wrong> (expected <...>)"``;
    when no single line is at fault (an empty file, a truncated archive) the
    ``:<line>`` part is left out.

    Attributes
    ----------
    path : pathlib.Path
        The offending file.
    line : int or None
        1-based number of the first offending line, or ``None``.
    """

    def __init__(
        self, path: str | Path, line: int | None, problem: str, expected: str
    ) -> None:
        self.path = Path(path)
        self.line = line
        where = f"{path}" if line is None else f"{path}:{line}"
        super().__init__(f"{where}: {problem} (expected {expected})")


class _FieldError(Exception):
    """A bad field, before the line number is known."""

    def __init__(self, problem: str, expected: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.expected = expected


def is_gzip(path: str | Path) -> bool:
    """Whether ``path`` starts with the gzip magic bytes ``1f 8b``."""
    with open(path, "rb") as handle:
        return handle.read(2) == _GZIP_MAGIC


def _open_binary(path: Path) -> IO[bytes]:
    return gzip.open(path, "rb") if is_gzip(path) else open(path, "rb")


# --------------------------------------------------------------------------
# line-by-line scan: the slow path that names the first offending line


def _shown(text: str, limit: int = 40) -> str:
    """``repr`` of ``text``, shortened when it is longer than ``limit``."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[: limit // 2]!r}... ({len(text)} characters)"


def _bom_error(path: Path, line: int) -> MalformedFileError:
    return MalformedFileError(
        path,
        line,
        "a UTF-8 byte-order mark (U+FEFF) inside the file",
        "a byte-order mark only at the very start of the file; was another "
        "file appended to this one? Remove the mark (the bytes EF BB BF)",
    )


def _raw_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Yield ``(line number, text)``; bad UTF-8 or gzip data is an error.

    A byte-order mark at the start of line 1 is dropped; one anywhere else
    is an error naming its line.
    """
    lineno = 0
    with _open_binary(path) as handle:
        lines = iter(handle)
        while True:
            try:
                raw = next(lines)
            except StopIteration:
                return
            except _STREAM_ERRORS as exc:
                raise MalformedFileError(
                    path,
                    lineno + 1,
                    f"the compressed stream is corrupt or truncated ({exc})",
                    "a complete gzip file",
                ) from exc
            lineno += 1
            try:
                text = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as exc:
                raise MalformedFileError(
                    path, lineno, "the line is not valid UTF-8 text", "UTF-8"
                ) from exc
            if _BOM in text:
                if lineno == 1 and text.startswith(_BOM):
                    text = text[1:]
                if _BOM in text:
                    raise _bom_error(path, lineno)
            yield lineno, text


def _data_lines(
    path: Path, comment: str | None, delimiter: str | None, header: bool
) -> Iterator[tuple[int, str, list[str]]]:
    """Yield ``(line number, text, fields)`` of the data lines of a table.

    Blank lines, the header and text after the comment character are left
    out, as :func:`pandas.read_csv` does.
    """
    header_pending = header
    for lineno, text in _raw_lines(path):
        if comment is not None and comment in text:
            text = text[: text.index(comment)]
        if not text.strip():
            continue
        if header_pending:
            header_pending = False
            continue
        yield lineno, text, text.split(delimiter)


def _empty_error(path: Path, header: bool) -> MalformedFileError:
    what = "only comments and a header" if header else "only comments"
    return MalformedFileError(
        path,
        None,
        f"the file holds no events: it is empty or holds {what}",
        "at least one data line",
    )


def _fits_int64(text: str) -> bool:
    """Whether the number ``text`` lies in the int64 range (any length)."""
    return _INT64_MIN <= Decimal(text) <= _INT64_MAX


def _to_int(role: str, text: str) -> int:
    text = text.strip()
    if not _NUMBER.fullmatch(text):
        raise _FieldError(
            f"{role} {_shown(text)} is not an integer node id",
            "an integer id; pass id_type='str' for other ids",
        )
    if not _fits_int64(text):
        raise _FieldError(
            f"{role} {_shown(text)} does not fit in 64 bits",
            "an id between -2**63 and 2**63 - 1; pass id_type='str' for others",
        )
    value = Decimal(text)
    if value != value.to_integral_value():
        raise _FieldError(
            f"{role} {_shown(text)} is not an integer node id",
            "an integer id; pass id_type='str' for other ids",
        )
    return int(value)


def _to_number(role: str, text: str) -> float:
    text = text.strip()
    if _NON_FINITE.fullmatch(text):
        raise _FieldError(f"{role} is {text!r}, which is not finite", "a finite number")
    if not _NUMBER.fullmatch(text):
        raise _FieldError(
            f"{role} {_shown(text)} is not a number", "an integer or decimal number"
        )
    if _INT.fullmatch(text) and not _fits_int64(text):
        raise _FieldError(
            f"{role} {_shown(text)} does not fit in 64 bits",
            "an integer between -2**63 and 2**63 - 1",
        )
    value = float(text)
    if not math.isfinite(value):
        raise _FieldError(
            f"{role} {_shown(text)} is too large for a 64-bit float",
            "a magnitude below 1.8e308",
        )
    return value


def _overflows_float32(values: np.ndarray | np.floating) -> np.ndarray | bool:
    """Where finite float64 ``values`` become infinite as float32."""
    with np.errstate(over="ignore"):
        return np.isinf(np.asarray(values).astype(np.float32))


def _check_field(role: str, text: str, id_type: str, sign_from_weight: bool) -> Any:
    """Validate one field; return its value (ids) or ``None``."""
    if role in ("src", "dst"):
        if id_type == "int":
            return _to_int(role, text)
        if not text.strip():
            raise _FieldError(f"{role} is empty", "a non-empty node id")
        return text.strip()
    if role == "skip":
        return None
    value = _to_number("feature" if role == "msg" else role, text)
    if role == "sign" and value not in (-1.0, 1.0):
        raise _FieldError(f"sign {text.strip()!r} is neither -1 nor +1", "-1 or +1")
    if role in ("weight", "msg") and _overflows_float32(np.float64(value)):
        raise _FieldError(
            f"{'feature' if role == 'msg' else role} {_shown(text.strip())} "
            "overflows float32, in which it is stored",
            f"a magnitude up to {_FLOAT32_MAX:.7g}; rescale the column",
        )
    if role == "weight" and sign_from_weight and value == 0.0:
        raise _FieldError(
            "weight 0 has no sign",
            "a non-zero weight, since sign_from_weight=True takes the sign from it",
        )
    return None


def _describe(columns: Sequence[str], delimiter: str | None) -> str:
    sep = "whitespace" if delimiter is None else repr(delimiter)
    names = ", ".join(columns)
    if "msg" in columns:
        return (
            f"at least {len(columns)} fields ({names}, one field per feature) "
            f"separated by {sep}"
        )
    return f"{len(columns)} fields ({names}) separated by {sep}"


def _scan(
    path: Path,
    columns: Sequence[str],
    *,
    delimiter: str | None,
    comment: str | None,
    header: bool,
    id_type: str,
    sign_from_weight: bool,
    self_loops: str,
) -> None:
    """Check every line; raise :class:`MalformedFileError` at the first bad one."""
    width: int | None = None
    found = False
    for lineno, _, fields in _data_lines(path, comment, delimiter, header):
        found = True
        if width is None:
            if len(fields) < len(columns) or (
                "msg" not in columns and len(fields) != len(columns)
            ):
                raise MalformedFileError(
                    path,
                    lineno,
                    f"found {len(fields)} field(s)",
                    _describe(columns, delimiter),
                )
            width = len(fields)
        elif len(fields) != width:
            raise MalformedFileError(
                path,
                lineno,
                f"found {len(fields)} field(s) where the first data line has {width}",
                f"{width} fields on every line",
            )
        roles = _expand_roles(columns, width)
        ids = {}
        try:
            for role, text in zip(roles, fields, strict=True):
                value = _check_field(role, text, id_type, sign_from_weight)
                if role in ("src", "dst"):
                    ids[role] = value
        except _FieldError as exc:
            raise MalformedFileError(path, lineno, exc.problem, exc.expected) from None
        if self_loops == "error" and ids["src"] == ids["dst"]:
            raise MalformedFileError(
                path,
                lineno,
                f"self-loop: src and dst are both {ids['src']!r}",
                "src != dst with self_loops='error'; use 'keep' or 'drop'",
            )
    if not found:
        raise _empty_error(path, header)


# --------------------------------------------------------------------------
# fast path: pandas' C parser with explicit dtypes


def _expand_roles(columns: Sequence[str], width: int) -> list[str]:
    """One role per column; a trailing ``msg`` takes every remaining column."""
    if "msg" not in columns:
        return list(columns)
    return [*columns[:-1], *["msg"] * (width - len(columns) + 1)]


def _check_options(
    columns: Sequence[str],
    delimiter: str | None,
    comment: str | None,
    sign_from_weight: bool,
    self_loops: str,
    duplicates: str,
) -> None:
    for option, value in (("delimiter", delimiter), ("comment", comment)):
        if value is not None and len(value) != 1:
            raise ValueError(
                f"read_events: {option} must be one character (or None), got {value!r}"
            )
    unknown = [c for c in columns if c not in ROLES]
    if unknown:
        raise ValueError(
            f"read_events: unknown column role(s) {unknown}; use one of {ROLES}"
        )
    for role in ("src", "dst", "t"):
        if columns.count(role) != 1:
            raise ValueError(
                f"read_events: `columns` must name {role!r} exactly once, "
                f"got {tuple(columns)}"
            )
    for role in ("weight", "sign", "label", "msg"):
        if columns.count(role) > 1:
            raise ValueError(f"read_events: {role!r} may appear only once")
    if "msg" in columns and columns[-1] != "msg":
        raise ValueError(
            "read_events: 'msg' must be the last column role (it takes every "
            "remaining column)"
        )
    if sign_from_weight and ("weight" not in columns or "sign" in columns):
        raise ValueError(
            "read_events: sign_from_weight=True needs a 'weight' column and no "
            "'sign' column"
        )
    if self_loops not in ("keep", "drop", "error"):
        raise ValueError(
            f"read_events: self_loops must be 'keep', 'drop' or 'error', got "
            f"{self_loops!r}"
        )
    if duplicates not in ("keep", "drop"):
        raise ValueError(
            f"read_events: duplicates must be 'keep' or 'drop', got {duplicates!r}"
        )


def _frame_to_table(
    frame: pd.DataFrame,
    roles: list[str],
    id_type: str,
    sign_from_weight: bool,
    self_loops: str,
) -> dict[str, np.ndarray] | None:
    """Columns by role, or ``None`` when any value is out of place."""
    if frame.shape[1] != len(roles):
        return None
    table: dict[str, np.ndarray] = {}
    for index, role in enumerate(roles):
        if role in ("msg", "skip"):
            continue
        column = frame.iloc[:, index]
        if role in ("src", "dst") and id_type == "str":
            table[role] = column.to_numpy(dtype=str)
        else:
            table[role] = column.to_numpy(copy=True)
    if "msg" in roles:
        table["msg"] = frame.iloc[:, roles.index("msg") :].to_numpy(
            dtype=np.float32, copy=True
        )
    for role, values in table.items():
        if role in ("src", "dst"):
            if values.dtype.kind == "U" and bool((values == "").any()):
                return None
            if values.dtype.kind == "U" and bool(
                (np.char.find(values, _BOM) >= 0).any()
            ):
                return None  # a byte-order mark inside the file
        elif values.dtype.kind not in "if":
            return None
        elif values.dtype.kind == "f" and not bool(np.isfinite(values).all()):
            return None
    if "weight" in table and bool(_overflows_float32(table["weight"]).any()):
        return None
    if "sign" in table:
        if not bool(np.isin(table["sign"], (-1.0, 1.0)).all()):
            return None
        table["sign"] = table["sign"].astype(np.int8)
    if sign_from_weight and not bool((table["weight"] != 0).all()):
        return None
    if self_loops == "error" and bool((table["src"] == table["dst"]).any()):
        return None
    return table


def _read_table(
    path: Path,
    columns: Sequence[str],
    *,
    delimiter: str | None,
    comment: str | None,
    header: bool,
    id_type: str,
    sign_from_weight: bool,
    self_loops: str,
) -> dict[str, np.ndarray]:
    """Parse a delimited table into arrays keyed by column role."""
    if id_type not in ("int", "str"):
        raise ValueError(f"id_type must be 'int' or 'str', got {id_type!r}")
    options = {
        "delimiter": delimiter,
        "comment": comment,
        "header": header,
        "id_type": id_type,
        "sign_from_weight": sign_from_weight,
        "self_loops": self_loops,
    }
    lines = _data_lines(path, comment, delimiter, header)
    first = next(lines, None)
    lines.close()
    if first is None:
        raise _empty_error(path, header)
    first_line, text, fields = first
    width = len(fields)
    if width < len(columns) or ("msg" not in columns and width != len(columns)):
        _scan(path, columns, **options)
    roles = _expand_roles(columns, width)
    id_dtype: Any = np.int64 if id_type == "int" else str
    forced = {
        "src": id_dtype,
        "dst": id_dtype,
        "weight": np.float64,
        "sign": np.float64,
        "msg": np.float32,
    }
    dtype = {i: forced[r] for i, r in enumerate(roles) if r in forced}
    if delimiter is not None:
        separators = [delimiter]
    elif text == " ".join(fields) and id_type == "int":
        # a single space parses twice as fast as a regex; numeric fields
        # cannot hide stray whitespace, so any mismatch fails and falls back
        separators = [" ", r"\s+"]
    else:
        separators = [r"\s+"]
    compression = "gzip" if is_gzip(path) else None
    failure = "a value out of place"
    for sep in separators:
        try:
            with np.errstate(over="ignore"):  # a float32 overflow is found below
                frame = pd.read_csv(
                    path,
                    sep=sep,
                    header=None,
                    skiprows=first_line - 1,  # comments, blanks and the header
                    comment=comment,
                    dtype=dtype,
                    na_filter=False,
                    engine="c",
                    low_memory=False,
                    compression=compression,
                )
        except _PARSE_ERRORS as exc:
            failure = str(exc)
            continue
        table = _frame_to_table(frame, roles, id_type, sign_from_weight, self_loops)
        if table is not None:
            return table
    _scan(path, columns, **options)
    raise MalformedFileError(
        path,
        None,
        f"the file could not be parsed ({failure})",
        _describe(columns, delimiter),
    )


def _apply(table: dict[str, np.ndarray], keep: np.ndarray) -> dict[str, np.ndarray]:
    return {role: values[keep] for role, values in table.items()}


def _duplicated(table: dict[str, np.ndarray]) -> np.ndarray:
    """Mask of rows equal in every field to an earlier row."""
    frame = pd.DataFrame({k: v for k, v in table.items() if v.ndim == 1})
    if "msg" in table:
        features = pd.DataFrame(table["msg"]).add_prefix("msg")
        frame = pd.concat([frame, features], axis=1)
    return frame.duplicated(keep="first").to_numpy()


def read_events(
    path: str | Path,
    *,
    columns: Sequence[str] = ("src", "dst", "t"),
    delimiter: str | None = None,
    comment: str | None = "%",
    header: bool = False,
    sign_from_weight: bool = False,
    self_loops: Literal["keep", "drop", "error"] = "keep",
    duplicates: Literal["keep", "drop"] = "keep",
    id_type: Literal["int", "str"] = "int",
    name: str | None = None,
) -> EventStream:
    r"""Read a delimited text file of timed events into an :class:`EventStream`.

    Each data line is one event; ``columns`` gives the role of each field:

    ========== ===========================================================
    role       meaning
    ========== ===========================================================
    ``src``    source node id (required)
    ``dst``    destination node id (required)
    ``t``      event time, integer or decimal (required)
    ``weight`` event weight (stored as ``float32``)
    ``sign``   event sign, ``-1`` or ``+1``
    ``label``  event label, becomes :attr:`EventStream.y`
    ``msg``    last role only: every remaining field is a feature
    ``skip``   ignored
    ========== ===========================================================

    Integer node ids (any 64-bit value, beyond int32 and 2**53 too) or, with
    ``id_type="str"``, arbitrary strings are mapped to ``0 .. N-1`` by
    :meth:`EventStream.from_raw_ids`; the originals stay in
    :attr:`EventStream.node_ids`. Gzip files are detected by their magic
    bytes, whatever their name.

    Normalisations, all documented and tested: unsorted times are sorted
    stably (events at equal times keep their file order); duplicate events
    are kept unless ``duplicates="drop"``; self-loops are kept unless
    ``self_loops`` says otherwise; blank lines and text after the
    ``comment`` character are ignored; ``\r\n`` line ends are accepted.

    The happy path is a single :func:`pandas.read_csv` call (C engine,
    explicit dtypes, no NA detection) plus vectorised checks. When anything
    is wrong the file is scanned line by line and the first offending line
    is reported.

    Parameters
    ----------
    path : str or pathlib.Path
        The file, plain or gzip-compressed.
    columns : sequence of str
        Role of each field (default: ``("src", "dst", "t")``).
    delimiter : str, optional
        Field separator; ``None`` means any run of whitespace
        (default: ``None``).
    comment : str, optional
        Character starting a comment (default: ``"%"``).
    header : bool
        Skip the first non-comment line (default: ``False``).
    sign_from_weight : bool
        Derive ``sign`` as the sign of ``weight``; a zero weight is then an
        error (default: ``False``).
    self_loops : {"keep", "drop", "error"}
        What to do with events whose source is their destination
        (default: ``"keep"``).
    duplicates : {"keep", "drop"}
        ``"drop"`` keeps only the first of events equal in every field
        (default: ``"keep"``).
    id_type : {"int", "str"}
        ``"int"`` requires integer ids and reports anything else as an
        error; ``"str"`` accepts any non-empty text (default: ``"int"``).
    name : str, optional
        Name of the stream (default: ``None``).

    Returns
    -------
    EventStream
        The events, sorted by time.

    Raises
    ------
    MalformedFileError
        On a wrong number of fields, a non-numeric id or time, a NaN or
        infinite value, a sign other than :math:`\pm 1`, a self-loop with
        ``self_loops="error"``, bad UTF-8, a corrupt gzip stream, or a file
        without data lines. The message names the file and the first
        offending line.
    ValueError
        On an invalid ``columns`` specification, or when every event was
        dropped.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "events.txt"
    >>> _ = path.write_text("% src dst t\n10 20 5\n20 10 3\n")
    >>> stream = read_events(path)
    >>> stream.t.tolist(), stream.node_ids.tolist()
    ([3, 5], [10, 20])
    """
    path = Path(path)
    columns = tuple(columns)
    _check_options(
        columns, delimiter, comment, sign_from_weight, self_loops, duplicates
    )
    table = _read_table(
        path,
        columns,
        delimiter=delimiter,
        comment=comment,
        header=header,
        id_type=id_type,
        sign_from_weight=sign_from_weight,
        self_loops=self_loops,
    )
    if self_loops == "drop":
        table = _apply(table, table["src"] != table["dst"])
    if duplicates == "drop":
        table = _apply(table, ~_duplicated(table))
    if table["src"].shape[0] == 0:
        raise ValueError(
            f"{path}: every event is a self-loop and self_loops='drop' removed them all"
        )
    if sign_from_weight:
        table["sign"] = np.sign(table["weight"]).astype(np.int8)
    return EventStream.from_raw_ids(
        table["src"],
        table["dst"],
        table["t"],
        sign=table.get("sign"),
        weight=table.get("weight"),
        msg=table.get("msg"),
        y=table.get("label"),
        name=name,
    )


# --------------------------------------------------------------------------
# registry formats


def read_snap_signed(path: str | Path, *, name: str | None = None) -> EventStream:
    """Read a SNAP signed rating network (``soc-sign-bitcoin*.csv``).

    Format: no header, one rating per line, ``SOURCE,TARGET,RATING,TIME``
    with an integer rating in ``-10 .. 10`` (never 0) and TIME in Unix
    seconds, possibly with decimals.

    Parameters
    ----------
    path : str or pathlib.Path
        The csv file, plain or gzip-compressed.
    name : str, optional
        Name of the stream.

    Returns
    -------
    EventStream
        ``weight`` = rating, ``sign`` = sign of the rating, ``t`` = TIME
        (``float64`` when the file has decimals).

    Raises
    ------
    MalformedFileError
        As :func:`read_events`, and for a rating that is not an integer in
        ``-10 .. 10`` or is 0; the message names the file and the line.
    """
    path = Path(path)
    stream = read_events(
        path,
        columns=("src", "dst", "weight", "t"),
        delimiter=",",
        comment=None,
        sign_from_weight=True,
        name=name,
    )
    rating = stream.weight
    assert rating is not None  # the weight column is always read
    if bool(((rating.abs() > _RATING_MAX) | (rating != rating.round())).any()):
        _rating_scan(path)
    return stream


_RATING_MAX = 10


def _rating_scan(path: Path) -> None:
    """Raise at the first line whose rating is not an integer in -10 .. 10."""
    for lineno, _, fields in _data_lines(path, None, ",", False):
        text = fields[2].strip()
        value = Decimal(text)
        if abs(value) > _RATING_MAX or value != value.to_integral_value():
            raise MalformedFileError(
                path,
                lineno,
                f"rating {_shown(text)} is outside -10 .. 10 or not an integer",
                "an integer rating from -10 to 10 (not 0), as in SNAP's Bitcoin "
                "OTC and Alpha files",
            )
    raise MalformedFileError(  # pragma: no cover - the stream had such a rating
        path, None, "a rating is outside -10 .. 10", "ratings from -10 to 10"
    )


def read_snap_temporal(path: str | Path, *, name: str | None = None) -> EventStream:
    """Read a SNAP temporal network (``SRC TGT T`` per line).

    Used for CollegeMsg and email-Eu-core-temporal (and its departments).
    Fields are separated by whitespace; lines starting with ``%`` are
    comments (some redistributed copies add them). Times are integers
    (Unix seconds for CollegeMsg, seconds from an anonymised origin for
    email-Eu-core); unsorted times are sorted stably, self-loops are kept.

    Parameters
    ----------
    path : str or pathlib.Path
        The file, plain or gzip-compressed.
    name : str, optional
        Name of the stream.

    Returns
    -------
    EventStream
        Unsigned, unweighted events.
    """
    return read_events(path, columns=("src", "dst", "t"), comment="%", name=name)


def read_jodie(path: str | Path, *, name: str | None = None) -> EventStream:
    """Read a JODIE interaction csv (Wikipedia, Reddit, MOOC, LastFM).

    Format: one header line, then
    ``user_id,item_id,timestamp,state_label,feature_1,...,feature_F``.
    Users and items are numbered separately in the file, so the graph is
    made bipartite: users become ``0 .. U-1`` (sorted raw ids) and items
    ``U .. U+I-1``; :attr:`EventStream.node_ids` holds each node's raw user
    or item id (a node ``< U`` is a user).

    Parameters
    ----------
    path : str or pathlib.Path
        The csv file, plain or gzip-compressed.
    name : str, optional
        Name of the stream.

    Returns
    -------
    EventStream
        ``t`` = timestamp, ``y`` = state label, ``msg`` = the ``F`` features
        (``float32``).
    """
    path = Path(path)
    table = _read_table(
        path,
        ("src", "dst", "t", "label", "msg"),
        delimiter=",",
        comment=None,
        header=True,
        id_type="int",
        sign_from_weight=False,
        self_loops="keep",
    )
    users, src = np.unique(table["src"], return_inverse=True)
    items, dst = np.unique(table["dst"], return_inverse=True)
    return EventStream(
        src.reshape(-1),
        dst.reshape(-1) + users.shape[0],
        table["t"],
        msg=table["msg"],
        y=table["label"],
        num_nodes=users.shape[0] + items.shape[0],
        node_ids=np.concatenate([users, items]),
        name=name,
    )


_RFA_RECORD = re.compile(
    r"^SRC:(.*)\nTGT:(.*)\nVOT:(.*)\nRES:(.*)\nYEA:.*\nDAT:(.*)\nTXT:", re.MULTILINE
)
_RFA_KEYS = ("SRC:", "TGT:", "VOT:", "RES:", "YEA:", "DAT:", "TXT:")
_RFA_DATE_FORMATS = ("%H:%M, %d %B %Y", "%H:%M, %d %b %Y")


def _rfa_scan(path: Path) -> None:
    """Find the first line that breaks the wiki-RfA record layout."""
    position = 0  # index into _RFA_KEYS of the next expected key
    for lineno, text in _raw_lines(path):
        if not text.strip():
            if 0 < position < len(_RFA_KEYS):
                raise MalformedFileError(
                    path,
                    lineno,
                    f"the record ends before its {_RFA_KEYS[position]} line",
                    "the 7 lines SRC:, TGT:, VOT:, RES:, YEA:, DAT:, TXT:",
                )
            position = 0
            continue
        if position == len(_RFA_KEYS):
            continue  # the comment of a TXT: field went on over several lines
        if not text.startswith(_RFA_KEYS[position]):
            raise MalformedFileError(
                path,
                lineno,
                f"found {text[:20]!r}",
                f"a line starting with {_RFA_KEYS[position]}",
            )
        if _RFA_KEYS[position] in ("VOT:", "RES:") and text[4:].strip() not in (
            "-1",
            "0",
            "1",
        ):
            raise MalformedFileError(
                path, lineno, f"{text[:3]} is {text[4:]!r}", "-1, 0 or 1"
            )
        position += 1
    if position not in (0, len(_RFA_KEYS)):
        raise MalformedFileError(
            path, None, "the last record is incomplete", "7 lines per record"
        )


def read_wiki_rfa(path: str | Path, *, name: str | None = None) -> EventStream:
    r"""Read SNAP's Wikipedia Requests-for-Adminship votes (``wiki-RfA.txt``).

    Format: one record per vote, records separated by blank lines::

        SRC:Steel1943
        TGT:BDD
        VOT:1
        RES:1
        YEA:2013
        DAT:23:13, 19 April 2013
        TXT:'''Support''' as co-nom.

    ``SRC`` votes on ``TGT``; ``VOT`` is ``1`` (support), ``-1`` (oppose) or
    ``0`` (neutral); ``RES`` is the election result (``1`` won, ``-1``
    lost); ``DAT`` is the UTC time of the vote, written like
    ``19:53, 25 January 2013`` (abbreviated months such as ``Jan`` are
    accepted too). A comment that runs over several lines is tolerated.

    Records are **dropped** when the vote is neutral (a sign must be
    :math:`\pm 1`), when ``SRC`` or ``TGT`` is empty, or when ``DAT`` is
    empty or in neither date format: such votes have no sign, no voter or
    no time. So the stream is smaller than SNAP's 198,275 votes.

    Parameters
    ----------
    path : str or pathlib.Path
        The file, plain or gzip-compressed.
    name : str, optional
        Name of the stream.

    Returns
    -------
    EventStream
        ``sign`` = vote, ``y`` = election result (``int64``), ``t`` = Unix
        seconds (``int64``, minute resolution); node ids are user names.

    Raises
    ------
    MalformedFileError
        When a record breaks the layout above or a vote or result is not
        ``-1``, ``0`` or ``1``; names the file and line.
    """
    path = Path(path)
    with _open_binary(path) as handle:
        try:
            text = handle.read().decode("utf-8").replace("\r\n", "\n")
        except (UnicodeDecodeError, *_STREAM_ERRORS):
            _rfa_scan(path)  # names the line with the bad bytes
            raise
    text = text.removeprefix(_BOM)
    if _BOM in text:
        _rfa_scan(path)  # names the line with the byte-order mark
    records = _RFA_RECORD.findall(text)
    starts = len(re.findall(r"^SRC:", text, re.MULTILINE))
    if not records or len(records) != starts:
        _rfa_scan(path)
        if not records:
            raise _empty_error(path, header=False)
    frame = pd.DataFrame(records, columns=["src", "dst", "vote", "result", "date"])
    frame = frame.apply(lambda column: column.str.strip())
    valid = {"-1", "0", "1"}
    if not (frame["vote"].isin(valid).all() and frame["result"].isin(valid).all()):
        _rfa_scan(path)
    when = pd.to_datetime(frame["date"], format=_RFA_DATE_FORMATS[0], errors="coerce")
    for fmt in _RFA_DATE_FORMATS[1:]:
        missing = when.isna()
        when[missing] = pd.to_datetime(
            frame.loc[missing, "date"], format=fmt, errors="coerce"
        )
    keep = (
        (frame["vote"] != "0")
        & (frame["src"] != "")
        & (frame["dst"] != "")
        & when.notna()
    ).to_numpy()
    if not keep.any():
        raise MalformedFileError(
            path,
            None,
            "no record has a non-neutral vote, both users and a date",
            "at least one usable vote",
        )
    seconds = (when[keep] - pd.Timestamp(0)) // pd.Timedelta(seconds=1)
    return EventStream.from_raw_ids(
        frame["src"].to_numpy(dtype=str)[keep],
        frame["dst"].to_numpy(dtype=str)[keep],
        seconds.to_numpy(dtype=np.int64, copy=True),
        sign=frame["vote"].to_numpy(dtype=np.int8)[keep],
        y=frame["result"].to_numpy(dtype=np.int64)[keep],
        name=name,
    )


def _matrix_member(path: Path, archive: tarfile.TarFile) -> IO[bytes]:
    """Return the ``.mtx`` member of a SuiteSparse archive (``<name>/<name>.mtx``)."""
    members = [
        m for m in archive.getmembers() if m.isfile() and m.name.endswith(".mtx")
    ]
    stem = path.name.split(".")[0]
    preferred = [m for m in members if Path(m.name).name == f"{stem}.mtx"]
    chosen = preferred or members
    if len(chosen) != 1:
        raise MalformedFileError(
            path,
            None,
            f"the archive holds {len(members)} .mtx files "
            f"{[m.name for m in members][:5]} and none is named {stem}.mtx",
            "a SuiteSparse archive with <name>/<name>.mtx",
        )
    handle = archive.extractfile(chosen[0])
    assert handle is not None  # regular files always extract
    return handle


def _mtx_lines(data: bytes) -> Iterator[tuple[int, list[bytes]]]:
    """``(line number, fields)`` of the entry lines of a Matrix Market file."""
    size_seen = False
    for lineno, raw in enumerate(io.BytesIO(data), start=1):
        fields = raw.split()
        if not fields or fields[0].startswith(b"%"):
            continue
        if size_seen:
            yield lineno, fields
        size_seen = True


def _entry_line(data: bytes, row: int, col: int) -> int | None:
    """Line of the first entry ``(row, col)`` or ``(col, row)`` (0-based)."""
    wanted = {(row + 1, col + 1), (col + 1, row + 1)}
    for lineno, fields in _mtx_lines(data):
        head = fields[:2]
        if len(head) == 2 and all(f.isdigit() and len(f) < 20 for f in head):
            if (int(head[0]), int(head[1])) in wanted:
                return lineno
    return None


def _overflow_line(data: bytes) -> int | None:
    """First line holding an integer beyond 64 bits."""
    for lineno, raw in enumerate(io.BytesIO(data), start=1):
        for field in raw.split():
            text = field.decode("ascii", "replace")
            if _INT.fullmatch(text) and not _fits_int64(text):
                return lineno
    return None


_MTX_EXPECTED = (
    "a weighted adjacency: non-negative real, integer or pattern entries, or "
    "a Laplacian (off-diagonals <= 0, each diagonal entry at least the sum of "
    "its row's off-diagonal magnitudes), read as its adjacency"
)


def _is_laplacian(matrix: scipy.sparse.csr_matrix) -> bool:
    """Symmetric, off-diagonals <= 0, diagonal >= the row's |off-diagonals|."""
    scale = max(1.0, float(abs(matrix).max()))
    if matrix.nnz and abs(matrix - matrix.T).max() > 1e-12 * scale:
        return False
    diagonal = matrix.diagonal()
    off = matrix - scipy.sparse.diags(diagonal)
    if off.nnz and off.data.max() > 0:
        return False
    off_sum = -np.asarray(off.sum(axis=1)).ravel()
    return bool((diagonal >= off_sum - 1e-9 * np.maximum(off_sum, 1.0)).all())


def _as_adjacency(
    path: Path, data: bytes, matrix: Any, field: str, symmetry: str
) -> scipy.sparse.csr_matrix:
    """Turn what :func:`scipy.io.mmread` read into a weighted adjacency."""
    if field == "complex" or symmetry == "hermitian":
        raise MalformedFileError(
            path,
            None,
            f"the matrix is {field} {symmetry}: complex values are no edge weights",
            "a real, integer or pattern matrix; for weights |a_ij| read it with "
            "scipy.io.mmread and take abs()",
        )
    if symmetry == "skew-symmetric":
        raise MalformedFileError(
            path,
            None,
            "the matrix is skew-symmetric (a_ji = -a_ij), which no weighted "
            "adjacency is",
            "a general, symmetric or pattern matrix; for weights |a_ij| use "
            "abs(scipy.io.mmread(path))",
        )
    adjacency = scipy.sparse.csr_matrix(matrix, dtype=np.float64)
    adjacency.sum_duplicates()
    adjacency.sort_indices()
    if field == "pattern":
        adjacency.data[:] = 1.0
        return adjacency
    coo = adjacency.tocoo()

    def refuse(mask: np.ndarray, problem: str, expected: str) -> None:
        k = int(np.flatnonzero(mask)[0])
        row, col, value = int(coo.row[k]), int(coo.col[k]), float(coo.data[k])
        raise MalformedFileError(
            path,
            _entry_line(data, row, col),
            f"entry ({row + 1}, {col + 1}) is {value:g}: {problem}",
            expected,
        )

    finite = np.isfinite(coo.data)
    if not finite.all():
        refuse(~finite, "not a finite number", "finite edge weights")
    if (coo.data < 0).any():
        if _is_laplacian(adjacency):
            off = adjacency - scipy.sparse.diags(adjacency.diagonal())
            off = scipy.sparse.csr_matrix(-off)
            off.eliminate_zeros()
            off.sort_indices()
            return off
        refuse(
            coo.data < 0,
            f"{int((coo.data < 0).sum())} entries are negative and the matrix "
            "is not a Laplacian",
            f"{_MTX_EXPECTED}; for signed weights take abs() or the positive "
            "part of scipy.io.mmread(path) yourself",
        )
    return adjacency


def read_matrix_market(path: str | Path) -> scipy.sparse.csr_matrix:
    r"""Read a square Matrix Market graph as a CSR adjacency matrix.

    Accepts a plain ``.mtx``, a gzip-compressed one, or a SuiteSparse
    ``.tar.gz`` archive (the member ``<name>/<name>.mtx`` is read, where
    ``<name>`` is the archive's file name up to its first dot). Symmetric
    files (undirected graphs such as DIMACS10) store one triangle; the
    result holds both. A ``general`` file that is not symmetric is kept as
    the adjacency of a directed graph.

    Files in other conventions are converted as follows, or refused:

    * ``pattern`` (no values): every edge gets weight 1;
    * a Laplacian :math:`L = D - A` (symmetric, off-diagonals :math:`\le 0`,
      each diagonal entry at least the sum of its row's off-diagonal
      magnitudes, so grounded and regularised Laplacians such as many
      SuiteSparse problems too) becomes its adjacency :math:`A`: the
      off-diagonals negated, the diagonal dropped;
    * other negative entries, ``skew-symmetric``, ``complex`` and
      ``hermitian`` files, and NaN or infinite entries are refused: they
      have no unambiguous reading as edge weights.

    Parameters
    ----------
    path : str or pathlib.Path
        The file.

    Returns
    -------
    scipy.sparse.csr_matrix
        ``[num_nodes, num_nodes]`` float64 adjacency with sorted indices.

    Raises
    ------
    MalformedFileError
        When the file is not valid Matrix Market (with the line number
        where the reader found it), the matrix is not square, or its
        convention is refused as above (with the entry and its line).
    """
    path = Path(path)
    data = b""
    try:
        if tarfile.is_tarfile(path):
            with tarfile.open(path) as archive:
                data = _matrix_member(path, archive).read()
        else:
            with _open_binary(path) as handle:
                data = handle.read()
        data = data.removeprefix(_BOM_BYTES)
        if _BOM_BYTES in data:
            raise _bom_error(path, data.count(b"\n", 0, data.index(_BOM_BYTES)) + 1)
        _, _, _, _, field, symmetry = scipy.io.mminfo(io.BytesIO(data))
        matrix = scipy.io.mmread(io.BytesIO(data))
    except OverflowError as exc:
        reason = re.sub(r"^Line \d+: ", "", str(exc))
        raise MalformedFileError(
            path,
            _overflow_line(data),
            f"a number does not fit in 64 bits ({reason})",
            "integers between -2**63 and 2**63 - 1",
        ) from exc
    except (ValueError, *_STREAM_ERRORS, tarfile.TarError) as exc:
        if isinstance(exc, MalformedFileError):
            raise
        found = re.match(r"Line (\d+): (.*)", str(exc))
        raise MalformedFileError(
            path,
            int(found.group(1)) if found else None,
            found.group(2) if found else str(exc),
            "a Matrix Market coordinate file",
        ) from exc
    rows, cols = matrix.shape
    if rows != cols:
        raise MalformedFileError(
            path,
            None,
            f"the matrix is {rows} x {cols}, not square",
            "a square adjacency matrix",
        )
    return _as_adjacency(path, data, matrix, field, symmetry)
