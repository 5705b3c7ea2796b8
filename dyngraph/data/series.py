r"""Observed time series of dynamical systems: the container and its CSV reader.

A :class:`TimeSeries` holds the states :math:`x(t_k) \in \mathbb{R}^d` of
one system at strictly increasing times :math:`t_0 < t_1 < \dots`. The
registry (:func:`dyngraph.data.load`) returns one for every dataset of kind
``"series"`` (e.g. ``"lynx-hare"``); :func:`read_series` reads any CSV file
with a header.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dyngraph.data.io import _NUMBER, MalformedFileError, _raw_lines, _shown

__all__ = ["TIME_COLUMNS", "TimeSeries", "read_series"]

TIME_COLUMNS = ("t", "time", "year")
"""Column names taken as the time column, case-insensitively."""


@dataclass(frozen=True)
class TimeSeries:
    """Observed states of one system over time.

    Attributes
    ----------
    t : numpy.ndarray, shape ``[T]``
        Observation times, strictly increasing.
    x : numpy.ndarray, shape ``[T, d]``
        Observed states.
    names : tuple of str
        One name per state.
    source : str
        Where the data came from: a registry name or a file path.
    time_column : str or None
        The column the times came from; ``None`` when the file had none and
        the rows were numbered ``0, 1, ...`` (also for a series rebuilt
        from the dataset cache, which does not keep it).
    """

    t: np.ndarray
    x: np.ndarray
    names: tuple[str, ...]
    source: str
    time_column: str | None = None

    @property
    def num_samples(self) -> int:
        """Number of observation times :math:`T`."""
        return int(self.t.shape[0])

    def summary(self) -> dict[str, Any]:
        """Summary statistics, keyed like :meth:`DatasetInfo.expected_stats`."""
        return {
            "name": self.source,
            "num_samples": self.num_samples,
            "num_states": int(self.x.shape[1]),
            "states": ", ".join(self.names),
            "start_time": float(self.t[0]) if self.num_samples else None,
            "end_time": float(self.t[-1]) if self.num_samples else None,
        }


def _rows(path: Path) -> Iterator[tuple[int, list[str], int | None]]:
    """Yield ``(line, fields, last comment line)`` of the non-comment lines."""
    comment = None
    for lineno, text in _raw_lines(path):
        if not text.strip():
            continue
        if text.lstrip().startswith("#"):
            comment = lineno
            continue
        try:
            fields = next(csv.reader([text], strict=True))
        except csv.Error as exc:
            raise MalformedFileError(
                path, lineno, f"not a CSV row ({exc})", "comma-separated fields"
            ) from None
        yield lineno, [field.strip() for field in fields], comment


def _number(text: str) -> float | None:
    """Return the finite value of ``text``, or ``None``."""
    if not _NUMBER.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def read_series(path: str | Path, time_column: str | None = None) -> TimeSeries:
    """Read a CSV file with a header: one column per state, optionally a time column.

    Lines starting with ``#`` (after optional spaces) and blank lines are
    skipped; a UTF-8 byte-order mark at the start of the file is dropped
    (one anywhere else is an error); gzip files are detected by their magic
    bytes. Every error names the file and its line.

    A file whose first row is all numbers has no header: it is refused,
    since its columns have no names and a reader that took the row as
    names would silently lose a sample.

    Parameters
    ----------
    path : str or pathlib.Path
        The file.
    time_column : str, optional
        Name of the time column (default: the first column named ``t``,
        ``time`` or ``year``, case-insensitively; without one the rows are
        numbered ``0, 1, ...`` and :attr:`TimeSeries.time_column` is
        ``None``).

    Raises
    ------
    ValueError
        When ``time_column`` names no column.
    MalformedFileError
        For an empty file, a missing header, a repeated column name, no
        data rows, a row with the wrong number of fields, a non-numeric, missing or
        infinite value (numbers too large for float64 included), a file
        without state columns, or a time that does not increase.
    """
    path = Path(path)
    rows = _rows(path)
    first = next(rows, None)
    if first is None:
        raise MalformedFileError(
            path,
            None,
            "not a CSV table: the file is empty or holds only comments",
            "a header and one row per time",
        )
    header_line, header, comment = first
    if all(_number(name) is not None for name in header):
        hint = (
            f"; line {comment} is a comment: if it is the header, remove its '#'"
            if comment is not None
            else ""
        )
        raise MalformedFileError(
            path,
            header_line,
            f"the first row {_shown(','.join(header))} is all numbers, so the "
            f"file has no header{hint}",
            "a header row naming the columns, e.g. 't,x,y'; add one",
        )
    repeated = next((n for k, n in enumerate(header) if n in header[:k]), None)
    if repeated is not None:
        raise MalformedFileError(
            path, header_line, f"column {repeated!r} appears twice", "distinct names"
        )
    if time_column is None:
        time_column = next((c for c in header if c.lower() in TIME_COLUMNS), None)
    elif time_column not in header:
        raise ValueError(f"{path}: no column {time_column!r}; the columns are {header}")
    states = [c for c in header if c != time_column]
    if not states:
        raise MalformedFileError(
            path,
            header_line,
            "no state columns besides the time column",
            "one column per state",
        )
    lines: list[int] = []
    table: list[list[float]] = []
    for lineno, fields, _ in rows:
        if len(fields) != len(header):
            raise MalformedFileError(
                path,
                lineno,
                f"found {len(fields)} field(s) where the header has {len(header)}",
                f"{len(header)} comma-separated fields on every line",
            )
        row = []
        for col, text in enumerate(fields):
            value = _number(text)
            if value is None:
                why = ", too large for float64" if _NUMBER.fullmatch(text) else ""
                raise MalformedFileError(
                    path,
                    lineno,
                    f"column {header[col]!r} holds {_shown(text)}{why}",
                    "a finite number",
                )
            row.append(value)
        lines.append(lineno)
        table.append(row)
    if not table:
        raise MalformedFileError(
            path,
            None,
            "the file has a header but no data rows",
            "one row per observation time",
        )
    values = np.array(table, dtype=np.float64)
    if time_column is not None:
        t = values[:, header.index(time_column)].copy()
    else:
        t = np.arange(values.shape[0], dtype=np.float64)
    step = np.flatnonzero(np.diff(t) <= 0)
    if step.size:
        row = int(step[0]) + 1
        raise MalformedFileError(
            path,
            lines[row],
            f"time {t[row]:g} in {time_column!r} follows {t[row - 1]:g}",
            "times that increase strictly",
        )
    x = values[:, [header.index(c) for c in states]]
    return TimeSeries(t, x, tuple(states), str(path), time_column)
