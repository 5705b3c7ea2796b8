r"""Observed time series of dynamical systems: the container and its CSV reader.

A :class:`TimeSeries` holds the states :math:`x(t_k) \in \mathbb{R}^d` of
one system at strictly increasing times :math:`t_0 < t_1 < \dots`. The
registry (:func:`dyngraph.data.load`) returns one for every dataset of kind
``"series"`` (e.g. ``"lynx-hare"``); :func:`read_series` reads any CSV file
with a header.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dyngraph.data.io import MalformedFileError

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
    """

    t: np.ndarray
    x: np.ndarray
    names: tuple[str, ...]
    source: str

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


def read_series(path: str | Path, time_column: str | None = None) -> TimeSeries:
    """Read a CSV file with a header: one column per state, optionally a time column.

    Parameters
    ----------
    path : str or pathlib.Path
        The file.
    time_column : str, optional
        Name of the time column (default: the first column named ``t``,
        ``time`` or ``year``, case-insensitively; without one the rows are
        numbered ``0, 1, ...``).

    Raises
    ------
    ValueError
        When ``time_column`` names no column.
    MalformedFileError
        For an empty file, a file without state columns, a non-numeric or
        missing value, or a time that does not increase; the message names
        the file and the line.
    """
    try:
        frame = pd.read_csv(path)
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
        raise MalformedFileError(
            path, None, f"not a CSV table ({exc})", "a header and one row per time"
        ) from exc
    if time_column is None:
        time_column = next(
            (c for c in frame.columns if str(c).strip().lower() in TIME_COLUMNS), None
        )
    elif time_column not in frame.columns:
        raise ValueError(
            f"{path}: no column {time_column!r}; the columns are {list(frame.columns)}"
        )
    numeric = frame.apply(pd.to_numeric, errors="coerce")
    bad = numeric.isna().to_numpy() | ~np.isfinite(numeric.to_numpy(np.float64))
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise MalformedFileError(
            path,
            int(row) + 2,
            f"column {frame.columns[col]!r} holds {frame.iat[row, col]!r}",
            "a finite number",
        )
    states = [c for c in numeric.columns if c != time_column]
    if not states:
        raise MalformedFileError(
            path, 1, "no state columns besides the time column", "one column per state"
        )
    t = (
        numeric[time_column].to_numpy(np.float64)
        if time_column is not None
        else np.arange(len(frame), dtype=np.float64)
    )
    step = np.flatnonzero(np.diff(t) <= 0)
    if step.size:
        row = int(step[0]) + 1
        raise MalformedFileError(
            path,
            row + 2,
            f"time {t[row]:g} in {time_column!r} follows {t[row - 1]:g}",
            "times that increase strictly",
        )
    x = numeric[states].to_numpy(np.float64)
    return TimeSeries(t, x, tuple(str(c) for c in states), str(path))
