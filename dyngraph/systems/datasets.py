"""Real time series of dynamical systems, from the one dataset registry.

The series are registered in :mod:`dyngraph.data.datasets` like every other
dataset (``dyngraph datasets list`` shows them with kind ``series``) and
loaded, verified and cached by :func:`dyngraph.data.load`. These two
functions are the shortcuts a dynamical-systems user reaches for.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from dyngraph.data.datasets import UnknownDatasetError, info, list_datasets, load
from dyngraph.data.series import TimeSeries, read_series

__all__ = ["TimeSeries", "load_lynx_hare", "load_series", "read_series"]


def load_series(
    name: str, source: str | Path | None = None, *, root: str | Path | None = None
) -> TimeSeries:
    """Load a registered time series, downloading and verifying it once.

    Parameters
    ----------
    name : str
        A dataset of kind ``"series"`` (``dyngraph.data.list_datasets("series")``).
    source : str or pathlib.Path, optional
        A local file (read as is, no checksum) or a URL to download from
        (checked against the registry's sha256) (default: the registry's
        upstream URL, or ``$DYNGRAPH_MIRROR/<name>/<file>`` when set).
    root : str or pathlib.Path, optional
        Data root (default: :func:`dyngraph.data.data_root`).

    Raises
    ------
    UnknownDatasetError
        For a name that is not a registered series.
    ChecksumError
        When a downloaded file fails its checksum (the file is discarded).
    """
    entry = info(name)
    if entry.kind != "series":
        raise UnknownDatasetError(
            f"dataset {entry.name!r} is of kind {entry.kind!r}, not a time series; "
            f"the series are {', '.join(list_datasets('series'))}"
        )
    if source is not None and urlsplit(str(source)).scheme not in ("http", "https"):
        return read_series(source)
    series = load(entry.name, root=root, url=None if source is None else str(source))
    assert isinstance(series, TimeSeries)
    return series


def load_lynx_hare(
    source: str | Path | None = None, *, root: str | Path | None = None
) -> TimeSeries:
    """Hudson's Bay lynx-hare pelt records (thousands of pelts per year).

    ``x[:, 0]`` is hare (prey), ``x[:, 1]`` lynx (predator), ``t`` the years
    1845-1935. See :func:`load_series` for ``source`` and ``root``.
    """
    return load_series("lynx-hare", source, root=root)
