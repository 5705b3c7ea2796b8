"""Real time series of dynamical systems: a small checksummed registry.

``lynx-hare``
    Hudson's Bay Company pelt records of snowshoe hare and Canada lynx,
    1845-1935, in thousands of pelts (``Year,Hare,Lynx``), from the R package
    tsibbledata (``data-raw/pelt/lynxhare.csv``, GPL-3; the records themselves
    are historical facts).

Files are fetched with :func:`pooch.retrieve` and checked against their
sha256 into ``<data root>/<name>/raw/`` (the data root of
:func:`dyngraph.data.data_root`). The environment variable
``DYNGRAPH_MIRROR`` (a base URL) replaces the upstream URL by
``<base>/<name>/<file>``, as for the graph datasets.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import pooch

from dyngraph.data.datasets import data_root

__all__ = ["SERIES", "TimeSeries", "load_lynx_hare", "load_series", "read_series"]

TIME_COLUMNS = ("t", "time", "year")


@dataclass(frozen=True)
class _Entry:
    url: str
    sha256: str
    filename: str


SERIES = {
    "lynx-hare": _Entry(
        "https://raw.githubusercontent.com/tidyverts/tsibbledata/master/"
        "data-raw/pelt/lynxhare.csv",
        "e1a25f2ef4cf1334f898c9ffe208bf54d6eb1b779c1e4c197f9669f28686ee23",
        "lynxhare.csv",
    )
}


@dataclass(frozen=True)
class TimeSeries:
    """Observed states of one system over time.

    Attributes
    ----------
    t : numpy.ndarray, shape ``[T]``
        Observation times.
    x : numpy.ndarray, shape ``[T, d]``
        Observed states.
    names : tuple of str
        One name per state.
    source : str
        Where the data came from.
    """

    t: np.ndarray
    x: np.ndarray
    names: tuple[str, ...]
    source: str


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
        For a missing column, non-numeric or missing values (with the line
        number), or non-increasing times.
    """
    frame = pd.read_csv(path)
    if time_column is None:
        time_column = next(
            (c for c in frame.columns if str(c).strip().lower() in TIME_COLUMNS), None
        )
    elif time_column not in frame.columns:
        raise ValueError(
            f"{path}: no column {time_column!r}; the columns are {list(frame.columns)}"
        )
    numeric = frame.apply(pd.to_numeric, errors="coerce")
    bad = numeric.isna() | ~np.isfinite(numeric.to_numpy(dtype=np.float64))
    if bad.to_numpy().any():
        row, col = np.argwhere(bad.to_numpy())[0]
        raise ValueError(
            f"{path}, line {row + 2}: column {frame.columns[col]!r} holds "
            f"{frame.iat[row, col]!r}, not a finite number"
        )
    states = [c for c in numeric.columns if c != time_column]
    if not states:
        raise ValueError(f"{path}: no state columns besides the time column")
    t = (
        numeric[time_column].to_numpy(np.float64)
        if time_column is not None
        else np.arange(len(frame), dtype=np.float64)
    )
    if np.any(np.diff(t) <= 0):
        raise ValueError(f"{path}: the times in {time_column!r} must increase strictly")
    x = numeric[states].to_numpy(np.float64)
    return TimeSeries(t, x, tuple(str(c) for c in states), str(path))


def load_series(
    name: str, source: str | Path | None = None, *, root: str | Path | None = None
) -> TimeSeries:
    """Load a registered time series, downloading and verifying it once.

    Parameters
    ----------
    name : str
        A key of :data:`SERIES` (``"lynx-hare"``).
    source : str or pathlib.Path, optional
        A local file (read as is) or a URL to download from (checked against
        the registry's sha256) (default: ``$DYNGRAPH_MIRROR/<name>/<file>``
        when that variable is set, else the upstream URL).
    root : str or pathlib.Path, optional
        Data root (default: :func:`dyngraph.data.data_root`).

    Raises
    ------
    KeyError
        For an unknown name.
    ValueError
        When a download fails its checksum (the file is discarded).
    """
    if name not in SERIES:
        raise KeyError(f"unknown time series {name!r}; choose one of {sorted(SERIES)}")
    entry = SERIES[name]
    if source is not None and urlsplit(str(source)).scheme not in ("http", "https"):
        return read_series(source)
    mirror = os.environ.get("DYNGRAPH_MIRROR")
    if source is not None:
        url = str(source)
    elif mirror:
        url = f"{mirror.rstrip('/')}/{name}/{entry.filename}"
    else:
        url = entry.url
    path = pooch.retrieve(
        url,
        known_hash=f"sha256:{entry.sha256}",
        fname=entry.filename,
        path=data_root(root) / name / "raw",
        progressbar=False,
    )
    series = read_series(path)
    return TimeSeries(series.t, series.x, series.names, url)


def load_lynx_hare(
    source: str | Path | None = None, *, root: str | Path | None = None
) -> TimeSeries:
    """Hudson's Bay lynx-hare pelt records (thousands of pelts per year).

    ``x[:, 0]`` is hare (prey), ``x[:, 1]`` lynx (predator), ``t`` the years
    1845-1935. See :func:`load_series` for ``source`` and ``root``.
    """
    return load_series("lynx-hare", source, root=root)
