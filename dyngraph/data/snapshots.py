r"""Discrete-time views of an event stream: static graphs and snapshots.

An event stream is aggregated over a time window :math:`W` into a static
weighted adjacency matrix

.. math::

    A_{ij} = \sum_{k:\, t_k \in W,\, (s_k, d_k) = (i, j)} a_k ,

where :math:`a_k` is the event's value: :math:`1` (``"count"``), its weight
:math:`w_k` (``"weight"``) or its sign :math:`\sigma_k` (``"sign"``);
``"binary"`` reports :math:`1` for every pair with at least one event. The
undirected view counts an event in both directions,
:math:`A^{\mathrm{und}}_{ij} = A_{ij} + A_{ji}` for :math:`i \neq j`, and a
self-loop once. The sparsity pattern is always the set of pairs with at
least one event in the window, so a pair whose signs or weights sum to zero
is kept as an explicit zero.

A sequence of snapshots applies the same aggregation to consecutive
windows: fixed-width time windows or fixed event-count windows.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

import numpy as np
import scipy.sparse as sp
import torch
from torch_geometric.data import Data

if TYPE_CHECKING:  # the container calls into this module, never the reverse
    from dyngraph.data.events import EventStream

__all__ = ["snapshots", "to_static"]

Value = Literal["count", "weight", "sign", "binary"]
_VALUES = ("count", "weight", "sign", "binary")


def _event_values(stream: EventStream, value: str) -> np.ndarray:
    """Return the per-event value :math:`a_k` as float64."""
    if value not in _VALUES:
        raise ValueError(f"value must be one of {list(_VALUES)}, got {value!r}")
    if value in ("weight", "sign"):
        field = getattr(stream, value)
        if field is None:
            raise ValueError(
                f"value={value!r} needs a stream with `{value}`, but this "
                "stream has none; use value='count' or 'binary'"
            )
        return field.detach().cpu().numpy().astype(np.float64)
    return np.ones(stream.num_events, dtype=np.float64)


def _aggregate(
    group: np.ndarray,
    src: np.ndarray,
    dst: np.ndarray,
    values: np.ndarray,
    num_nodes: int,
    *,
    directed: bool,
    binary: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sum ``values`` per ``(group, row, col)``.

    Returns the distinct keys sorted by group, then row, then column, and
    their summed values (``1`` each when ``binary``). The three keys are
    packed into one ``int64`` (one sort, about twice as fast as a
    three-key ``lexsort``) unless that could overflow.
    """
    if not directed:
        off = src != dst
        group = np.concatenate([group, group[off]])
        src, dst = np.concatenate([src, dst[off]]), np.concatenate([dst, src[off]])
        values = np.concatenate([values, values[off]])
    num_groups = int(group.max()) + 1 if group.size else 1
    new = np.ones(group.shape[0], dtype=bool)
    if num_groups * num_nodes * num_nodes < 2**62:
        key = (group * num_nodes + src) * num_nodes + dst
        order = np.argsort(key, kind="stable")
        new[1:] = np.diff(key[order]) != 0
        group, src, dst = group[order], src[order], dst[order]
    else:
        order = np.lexsort((dst, src, group))
        group, src, dst = group[order], src[order], dst[order]
        new[1:] = (np.diff(group) != 0) | (np.diff(src) != 0) | (np.diff(dst) != 0)
    values = values[order]
    starts = np.flatnonzero(new)
    if binary:
        summed = np.ones(starts.shape[0])
    elif starts.size:
        summed = np.add.reduceat(values, starts)
    else:
        summed = values[:0]
    return group[starts], src[starts], dst[starts], summed


def _csr(
    row: np.ndarray, col: np.ndarray, data: np.ndarray, num_nodes: int
) -> sp.csr_matrix:
    """Build a CSR matrix from row-major sorted, distinct entries."""
    indptr = np.zeros(num_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(row, minlength=num_nodes), out=indptr[1:])
    matrix = sp.csr_matrix((data, col, indptr), shape=(num_nodes, num_nodes))
    matrix.has_sorted_indices = True
    return matrix


def _numpy_events(
    stream: EventStream, value: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    return (
        stream.src.cpu().numpy(),
        stream.dst.cpu().numpy(),
        stream.t.cpu().numpy().astype(np.float64),
        _event_values(stream, value),
    )


def to_static(
    stream: EventStream,
    value: Value = "count",
    directed: bool = True,
    *,
    start: float | None = None,
    end: float | None = None,
) -> sp.csr_matrix:
    r"""Aggregate the events of a time window into a static adjacency matrix.

    .. math::

        A_{ij} = \sum_{k:\ \mathrm{start} \le t_k < \mathrm{end},\
        (s_k, d_k) = (i, j)} a_k,
        \qquad a_k \in \{1,\ w_k,\ \sigma_k\},

    symmetrised as :math:`A_{ij} + A_{ji}` (self-loops once) when
    ``directed=False``; see the module documentation.

    Parameters
    ----------
    stream : EventStream
        The events.
    value : {"count", "weight", "sign", "binary"}
        What each entry holds: the number of events, the summed weights,
        the summed signs, or 1 for every pair with an event (default:
        ``"count"``).
    directed : bool
        Keep the direction of events (default: ``True``).
    start, end : float, optional
        Half-open window ``[start, end)``; ``None`` leaves a side open.

    Returns
    -------
    scipy.sparse.csr_matrix
        ``float64``, shape ``[num_nodes, num_nodes]``, sorted indices, no
        duplicates.

    Raises
    ------
    ValueError
        For an unknown ``value``, or ``"weight"``/``"sign"`` on a stream
        without weights/signs.
    """
    window = stream.window(start, end)
    src, dst, _, values = _numpy_events(window, value)
    _, row, col, data = _aggregate(
        np.zeros_like(src),
        src,
        dst,
        values,
        stream.num_nodes,
        directed=directed,
        binary=value == "binary",
    )
    return _csr(row, col, data, stream.num_nodes)


def snapshots(
    stream: EventStream,
    *,
    window: float | None = None,
    num_snapshots: int | None = None,
    events_per_snapshot: int | None = None,
    value: Value = "count",
    directed: bool = True,
    start: float | None = None,
    end: float | None = None,
    format: Literal["pyg", "scipy"] = "pyg",
) -> list[Data] | list[sp.csr_matrix]:
    r"""Cut a stream into consecutive windows and aggregate each one.

    Give exactly one of

    * ``window`` :math:`w`: boundaries :math:`b_k = \mathrm{start} + k w`,
      :math:`k = 0..K` with :math:`K = \lceil (\mathrm{end} -
      \mathrm{start}) / w \rceil`;
    * ``num_snapshots`` :math:`K`: :math:`K` equal windows,
      :math:`b_k = \mathrm{start} + k (\mathrm{end} - \mathrm{start}) / K`;
    * ``events_per_snapshot`` :math:`m`: consecutive chunks of :math:`m`
      events in time order (the last chunk may be shorter).

    In the two time modes snapshot :math:`k` holds the events with
    :math:`b_k \le t < b_{k+1}`, the last one also those at
    :math:`t = b_K`, and empty windows give empty snapshots, so the
    sequence is equally spaced in time. Each snapshot is aggregated as in
    :func:`to_static`.

    Parameters
    ----------
    stream : EventStream
        The events.
    window : float, optional
        Width of each time window, in the stream's time unit.
    num_snapshots : int, optional
        Number of equal-width time windows.
    events_per_snapshot : int, optional
        Number of events per snapshot.
    value : {"count", "weight", "sign", "binary"}
        Aggregated edge value, as in :func:`to_static` (default:
        ``"count"``).
    directed : bool
        Keep the direction of events (default: ``True``); the undirected
        view lists both ``(i, j)`` and ``(j, i)``.
    start, end : float, optional
        Time range :math:`[\mathrm{start}, \mathrm{end}]` to cut (default:
        the first and last event times). In event-count mode the events
        outside the range are dropped first.
    format : {"pyg", "scipy"}
        ``"pyg"``: :class:`torch_geometric.data.Data` objects with
        ``edge_index`` ``[2, E_k]``, ``edge_weight`` ``[E_k]`` (float32,
        the aggregated value), ``num_nodes``, ``t_start`` and ``t_end``;
        the tensors of all snapshots are views into two tensors made once.
        ``"scipy"``: ``float64`` CSR matrices (default: ``"pyg"``).

    Returns
    -------
    list
        One entry per snapshot, in time order (none in event-count mode
        when no event lies in the range). For time windows
        ``t_start, t_end`` are :math:`b_k, b_{k+1}`; for event-count
        windows they are the times of the chunk's first and last event
        (events sharing a time may fall in different chunks).

    Raises
    ------
    ValueError
        When not exactly one of the three modes is given, a mode's
        argument is not positive, ``end < start``, or ``format`` or
        ``value`` is unknown.
    """
    modes = {
        "window": window,
        "num_snapshots": num_snapshots,
        "events_per_snapshot": events_per_snapshot,
    }
    given = [name for name, arg in modes.items() if arg is not None]
    if len(given) != 1:
        raise ValueError(
            "snapshots: give exactly one of window=, num_snapshots= or "
            f"events_per_snapshot=; got {given or 'none'}"
        )
    for name in ("num_snapshots", "events_per_snapshot"):
        arg = modes[name]
        if arg is not None and (int(arg) != arg or arg < 1):
            raise ValueError(f"{name} must be a positive integer, got {arg!r}")
    if format not in ("pyg", "scipy"):
        raise ValueError(f"format must be 'pyg' or 'scipy', got {format!r}")
    src, dst, times, values = _numpy_events(stream, value)
    start = float(times[0]) if start is None else float(start)
    end = float(times[-1]) if end is None else float(end)
    if end < start:
        raise ValueError(f"snapshots: end={end} is before start={start}")
    keep = (times >= start) & (times <= end)
    src, dst, times, values = src[keep], dst[keep], times[keep], values[keep]
    if events_per_snapshot is not None:
        per = int(events_per_snapshot)
        count = math.ceil(times.shape[0] / per)
        group = np.arange(times.shape[0]) // per
        first = np.arange(count) * per
        last = np.minimum(first + per, times.shape[0]) - 1
        t_start, t_end = times[first], times[last]
    else:
        if window is not None:
            if not window > 0:
                raise ValueError(f"window must be positive, got {window}")
            count = max(1, math.ceil((end - start) / window))
            bounds = start + window * np.arange(count + 1, dtype=np.float64)
        else:
            if not end > start:
                raise ValueError(
                    f"num_snapshots needs end > start, got start={start}, "
                    f"end={end}; pass start=/end= or use events_per_snapshot"
                )
            assert num_snapshots is not None  # exactly one mode was given
            count = int(num_snapshots)
            bounds = np.linspace(start, end, count + 1)
        group = np.searchsorted(bounds, times, side="right") - 1
        group = np.minimum(group, count - 1)
        t_start, t_end = bounds[:-1], bounds[1:]
    n = stream.num_nodes
    group, row, col, data = _aggregate(
        group, src, dst, values, n, directed=directed, binary=value == "binary"
    )
    sizes = np.bincount(group, minlength=count).tolist()
    if format == "scipy":
        cuts = np.cumsum(sizes)[:-1]
        return [
            _csr(r, c, d, n)
            for r, c, d in zip(
                np.split(row, cuts),
                np.split(col, cuts),
                np.split(data, cuts),
                strict=True,
            )
        ]
    edge_index = torch.from_numpy(np.stack([row, col]).astype(np.int64))
    edge_weight = torch.from_numpy(data.astype(np.float32))
    return [
        Data(
            edge_index=ei,
            edge_weight=ew,
            num_nodes=n,
            t_start=float(t0),
            t_end=float(t1),
        )
        for ei, ew, t0, t1 in zip(
            torch.split(edge_index, sizes, dim=1),
            torch.split(edge_weight, sizes),
            t_start,
            t_end,
            strict=True,
        )
    ]
