r"""Chronological batching of event streams, and sliding-window graph updates.

:class:`TemporalBatchLoader` cuts a stream into consecutive batches, by event
count (PyG's ``TemporalDataLoader``) or by time span, and optionally draws
negatives for each batch with a :class:`~dyngraph.data.sampling.NegativeSampler`.
Batches are views of the stream: no event data is copied on the stream's
own device.

:func:`sliding_window_updates` turns a stream into the insertions and
deletions of the undirected graph of a sliding time window, the input of a
dynamic sparsifier.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from dyngraph.data.events import EventStream
from dyngraph.data.sampling import NegativeSampler

__all__ = [
    "EdgeUpdate",
    "TemporalBatch",
    "TemporalBatchLoader",
    "sliding_window_updates",
]


@dataclass
class TemporalBatch:
    """One batch of consecutive events.

    Attributes
    ----------
    events : EventStream
        The events ``stream[start:stop]`` (a view, or a copy on the
        loader's ``device``).
    neg_dst : Tensor or None
        Negative destinations ``[B, Q]`` when the loader has a sampler.
    neg_mask : Tensor or None
        Validity of ``neg_dst`` (``[B, Q]``, ``bool``).
    start, stop : int
        Positions of the batch in the stream, e.g. to slice fixed
        negatives: ``fixed.neg_dst[batch.start:batch.stop]``.
    """

    events: EventStream
    neg_dst: Tensor | None
    neg_mask: Tensor | None
    start: int
    stop: int

    def __len__(self) -> int:
        return self.stop - self.start


def _positive_number(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a number, got {type(value).__name__}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"`{name}` must be positive and finite, got {value!r}")
    return float(value)


class TemporalBatchLoader:
    r"""Iterate over a stream in chronological batches.

    Exactly one of ``batch_size`` and ``time_span`` is given:

    * ``batch_size``: batch :math:`i` is ``stream[i*B : (i+1)*B]``, as in
      PyG's ``TemporalDataLoader``;
    * ``time_span``: batch :math:`k` holds the events with
      :math:`\lfloor (t - t_{\min}) / \Delta \rfloor = k`, i.e.
      :math:`t_{\min} + k\Delta \le t < t_{\min} + (k+1)\Delta`; empty spans
      are skipped.

    Events inside a batch keep their order, and all batches together are
    the stream.

    Parameters
    ----------
    stream : EventStream
        The events.
    batch_size : int, optional
        Events per batch.
    time_span : float, optional
        Time span :math:`\Delta` per batch, in the stream's time unit.
    neg_sampler : NegativeSampler, optional
        Draws ``neg_dst`` / ``neg_mask`` for every batch (default: none).
    drop_last : bool
        Drop a final batch with fewer than ``batch_size`` events (default:
        ``False``); only with ``batch_size``.
    device : torch.device or str, optional
        Move each batch to this device before sampling negatives (default:
        the stream's device; then batches are views, not copies).

    Examples
    --------
    >>> s = EventStream([0, 1, 2, 3, 4], [1, 2, 3, 4, 0], [0, 1, 2, 3, 4])
    >>> [len(b) for b in TemporalBatchLoader(s, 2)]
    [2, 2, 1]
    >>> [b.events.t.tolist() for b in TemporalBatchLoader(s, time_span=3)]
    [[0, 1, 2], [3, 4]]
    """

    def __init__(
        self,
        stream: EventStream,
        batch_size: int | None = None,
        *,
        time_span: float | None = None,
        neg_sampler: NegativeSampler | None = None,
        drop_last: bool = False,
        device: torch.device | str | None = None,
    ) -> None:
        if not isinstance(stream, EventStream):
            raise TypeError(
                f"`stream` must be an EventStream, got {type(stream).__name__}"
            )
        if (batch_size is None) == (time_span is None):
            raise ValueError(
                "give exactly one of `batch_size` (events per batch) and "
                "`time_span` (time per batch)"
            )
        if neg_sampler is not None and not isinstance(neg_sampler, NegativeSampler):
            raise TypeError(
                "`neg_sampler` must be a NegativeSampler, got "
                f"{type(neg_sampler).__name__}"
            )
        self.stream = stream
        self.batch_size = batch_size
        self.time_span = time_span
        self.neg_sampler = neg_sampler
        self.drop_last = drop_last
        self.device = None if device is None else torch.device(device)
        n = stream.num_events
        self._starts: Sequence[int]
        self._stops: Sequence[int]
        if batch_size is not None:
            if isinstance(batch_size, bool) or not isinstance(batch_size, int):
                raise TypeError(f"`batch_size` must be an int, got {batch_size!r}")
            if batch_size < 1:
                raise ValueError(f"`batch_size` must be positive, got {batch_size}")
            end = n - n % batch_size if drop_last else n
            self._starts = range(0, end, batch_size)
            self._stops = [min(a + batch_size, n) for a in self._starts]
        else:
            span = _positive_number("time_span", time_span)  # type: ignore[arg-type]
            if drop_last:
                raise ValueError("`drop_last` only applies to `batch_size` batches")
            t = stream.t.to(torch.float64)
            bucket = torch.floor((t - t[:1]) / span)
            cuts = (torch.nonzero(bucket[1:] != bucket[:-1]).view(-1) + 1).tolist()
            self._starts = [0, *cuts] if n else []
            self._stops = [*cuts, n] if n else []

    def __len__(self) -> int:
        return len(self._starts)

    def __iter__(self) -> Iterator[TemporalBatch]:
        stream, sampler, device = self.stream, self.neg_sampler, self.device
        move = device is not None and device != stream.device
        for start, stop in zip(self._starts, self._stops, strict=True):
            events = stream[start:stop]
            if move:
                events = events.to(device)  # type: ignore[arg-type]
            neg_dst = neg_mask = None
            if sampler is not None:
                neg_dst, neg_mask = sampler.sample(events)
            yield TemporalBatch(events, neg_dst, neg_mask, start, stop)

    def __repr__(self) -> str:
        size = (
            f"batch_size={self.batch_size}"
            if self.batch_size is not None
            else f"time_span={self.time_span}"
        )
        return f"TemporalBatchLoader({size}, num_batches={len(self)})"


@dataclass
class EdgeUpdate:
    """Change of the sliding-window graph when the window ends at ``time``.

    Attributes
    ----------
    time : float
        End :math:`T` of the window :math:`[T - w, T)`.
    insert : Tensor
        ``[2, k]`` edges :math:`(u, v)`, :math:`u < v`, present now but not
        at the previous step, sorted by :math:`(u, v)`.
    insert_weight : Tensor
        ``[k]`` number of events of each inserted edge in the window
        (``int64``).
    delete : Tensor
        ``[2, m]`` edges present at the previous step but not now.
    """

    time: float
    insert: Tensor
    insert_weight: Tensor
    delete: Tensor


def sliding_window_updates(
    stream: EventStream,
    window: float,
    step: float,
    *,
    start: float | None = None,
) -> Iterator[EdgeUpdate]:
    r"""Yield the insertions and deletions of a sliding-window graph.

    At :math:`T_k = T_0 + k\,\delta` (``step`` :math:`\delta`) the window
    graph :math:`G_k` is the undirected simple graph with an edge
    :math:`\{u, v\}`, :math:`u \ne v`, for every pair with at least one
    event (either direction) in :math:`[T_k - w, T_k)`, weighted by the
    event count :math:`c_k(u, v)`. Update :math:`k` reports
    :math:`G_k \setminus G_{k-1}` (with :math:`c_k`) and
    :math:`G_{k-1} \setminus G_k` (:math:`G_{-1} = \emptyset`), so the
    first update inserts the whole first window. Self-loops are ignored.
    Updates stop at the first :math:`T_k` past the last event, when every
    event has entered the window. Edges whose count changes but that stay
    present are not reported.

    Each step costs :math:`O(n_k \log n_k)` for the :math:`n_k` events
    entering or leaving the window, plus one :math:`O(E \log E)` pass to
    number the edges.

    Parameters
    ----------
    stream : EventStream
        The events.
    window : float
        Window length :math:`w > 0`.
    step : float
        Step :math:`\delta > 0` between consecutive window ends.
    start : float, optional
        First window end :math:`T_0` (default: the first event time plus
        ``window``, the first full window).

    Returns
    -------
    Iterator[EdgeUpdate]
        One update per :math:`T_k`, computed lazily, tensors on the
        stream's device. Arguments are checked when the function is
        called, not at the first update.
    """
    window = _positive_number("window", window)
    step = _positive_number("step", step)
    if start is not None and not math.isfinite(float(start)):
        raise ValueError(f"`start` must be finite, got {start!r}")
    if stream.num_nodes**2 >= 2**62:
        raise ValueError(f"too many nodes ({stream.num_nodes}) for int64 edge keys")
    return _window_updates(stream, window, step, start)


def _window_updates(
    stream: EventStream, window: float, step: float, start: float | None
) -> Iterator[EdgeUpdate]:
    if stream.num_events == 0:
        return
    n = stream.num_nodes
    device = stream.device
    low = torch.minimum(stream.src, stream.dst)
    high = torch.maximum(stream.src, stream.dst)
    loop = low == high
    keys, edge = torch.unique(low * n + high, return_inverse=True)
    edge = torch.where(loop, -1, edge)
    count = torch.zeros(keys.numel(), dtype=torch.long, device=device)

    t = stream.t.to(torch.float64).contiguous()
    first = float(start) if start is not None else stream.start_time + window
    num_steps = max(0, math.floor((stream.end_time - first) / step) + 1)
    ends = first + step * torch.arange(
        num_steps + 1, dtype=torch.float64, device=device
    )
    his = torch.searchsorted(t, ends).tolist()
    los = torch.searchsorted(t, ends - window).tolist()
    prev_lo = prev_hi = 0
    for time, lo, hi in zip(ends.tolist(), los, his, strict=True):
        entering = edge[prev_hi:hi]
        leaving = edge[prev_lo:lo]
        prev_lo, prev_hi = lo, hi
        changed = torch.cat([entering, leaving])
        delta = torch.cat([torch.ones_like(entering), torch.full_like(leaving, -1)])
        keep = changed >= 0
        touched, where = torch.unique(changed[keep], return_inverse=True)
        net = torch.zeros_like(touched).index_add_(0, where, delta[keep])
        old = count[touched]
        new = old + net
        count[touched] = new
        added = touched[(old == 0) & (new > 0)]
        removed = touched[(old > 0) & (new == 0)]
        yield EdgeUpdate(
            time=time,
            insert=torch.stack([keys[added] // n, keys[added] % n]),
            insert_weight=count[added],
            delete=torch.stack([keys[removed] // n, keys[removed] % n]),
        )
