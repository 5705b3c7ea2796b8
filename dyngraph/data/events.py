"""The event-stream container at the centre of the data layer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

__all__ = ["EventStream"]

_FIELDS = ("src", "dst", "t", "sign", "weight", "msg", "y")
_INT64_MAX = 2**63 - 1
_FLOAT32_MAX = float(np.finfo(np.float32).max)
IndexLike = int | slice | Sequence[int] | Tensor | np.ndarray


def _as_tensor(name: str, value: Any) -> Tensor:
    if isinstance(value, Tensor):
        return value.contiguous()
    try:
        return torch.as_tensor(np.ascontiguousarray(value))
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"EventStream: `{name}` must be a tensor or array-like of numbers, "
            f"got {type(value).__name__} ({exc})"
        ) from exc


def _first_bad(mask: Tensor) -> int:
    return int(torch.nonzero(mask)[0, 0])


def _check_uint64(name: str, value: Any, hint: str) -> None:
    """Refuse unsigned 64-bit values that int64 would show as negative."""
    if isinstance(value, Tensor):
        if value.dtype != getattr(torch, "uint64", None):
            return
        value = value.cpu().numpy()
    elif not isinstance(value, np.ndarray):
        return
    if value.dtype.kind == "u" and value.size and int(value.max()) > _INT64_MAX:
        i = int(np.flatnonzero(value.reshape(-1) > _INT64_MAX)[0])
        raise ValueError(
            f"EventStream: `{name}` has {int(value.reshape(-1)[i])} at event {i}, "
            f"beyond the int64 range (at most {_INT64_MAX}); {hint}"
        )


def _as_ids(name: str, value: Any) -> Tensor:
    _check_uint64(name, value, "use EventStream.from_raw_ids to map such ids to 0..N-1")
    ids = _as_tensor(name, value)
    if ids.dim() != 1:
        raise ValueError(
            f"EventStream: `{name}` must be one-dimensional with shape "
            f"[num_events], got shape {list(ids.shape)}"
        )
    if ids.is_floating_point():
        bad = ~torch.isfinite(ids) | (ids != torch.round(ids))
        if bool(bad.any()):
            i = _first_bad(bad)
            raise ValueError(
                f"EventStream: `{name}` must hold integer node ids; "
                f"event {i} has {ids[i].item()!r}"
            )
    elif ids.dtype == torch.bool or ids.is_complex():
        raise TypeError(
            f"EventStream: `{name}` must hold integer node ids, got dtype {ids.dtype}"
        )
    ids = ids.to(torch.long)
    if ids.numel() and bool((ids < 0).any()):
        i = _first_bad(ids < 0)
        raise ValueError(
            f"EventStream: `{name}` has a negative node id "
            f"{int(ids[i])} at event {i}; ids must be >= 0 (use "
            "EventStream.from_raw_ids to map arbitrary ids to 0..N-1)"
        )
    return ids


def _as_time(value: Any) -> Tensor:
    _check_uint64("t", value, "shift or rescale the times")
    t = _as_tensor("t", value)
    if t.dim() != 1:
        raise ValueError(
            "EventStream: `t` must be one-dimensional with shape "
            f"[num_events], got shape {list(t.shape)}"
        )
    if t.is_floating_point():
        t = t.to(torch.float64)
        bad = ~torch.isfinite(t)
        if bool(bad.any()):
            i = _first_bad(bad)
            raise ValueError(
                f"EventStream: `t` has {int(bad.sum())} non-finite "
                f"value(s); the first is {t[i].item()!r} at event {i}"
            )
    elif t.dtype in (torch.bool,) or t.is_complex():
        raise TypeError(f"EventStream: `t` must be numeric, got {t.dtype}")
    else:
        t = t.to(torch.long)
    return t


def _raw_ids(name: str, value: Any) -> np.ndarray:
    """Raw ids as an array; missing ids are refused, mixed types become str."""
    ids = np.asarray(value)
    if ids.ndim != 1:
        raise ValueError(
            f"EventStream.from_raw_ids: `{name}` must be one-dimensional, got "
            f"shape {list(ids.shape)}"
        )
    if ids.dtype.kind == "f":
        missing = ~np.isfinite(ids)
    elif ids.dtype.kind == "O":
        import pandas as pd

        missing = np.asarray(pd.isna(ids), dtype=bool) | np.array(
            [isinstance(x, float) and not np.isfinite(x) for x in ids], dtype=bool
        )
    else:
        missing = np.zeros(ids.shape, dtype=bool)
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        first = ids[i].item() if isinstance(ids[i], np.generic) else ids[i]
        raise ValueError(
            f"EventStream.from_raw_ids: `{name}` has {int(missing.sum())} missing "
            f"or infinite id(s); the first is {first!r} at event {i} (drop "
            "those events or fill the ids first)"
        )
    if ids.dtype.kind == "O" and ids.size:
        if all(isinstance(x, str) for x in ids):
            ids = ids.astype(str)
        elif all(
            isinstance(x, int | np.integer) and not isinstance(x, bool) for x in ids
        ):
            ids = np.array(ids.tolist())
        else:
            ids = np.array([str(x) for x in ids])
    return ids


def _compact(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values of ``raw`` and the position of each entry.

    Small non-negative integer ids (the common case) use a presence table,
    which is linear in the largest id; anything else uses ``np.unique``.
    """
    if raw.dtype.kind in "iu" and raw.size:
        lo, hi = int(raw.min()), int(raw.max())
        if lo >= 0 and hi < 4 * raw.size + 1024:
            present = np.zeros(hi + 1, dtype=bool)
            present[raw] = True
            ids = np.flatnonzero(present)
            position = np.cumsum(present) - 1
            return ids.astype(raw.dtype), position[raw]
    ids, inverse = np.unique(raw, return_inverse=True)
    return ids, inverse.reshape(-1)


class EventStream:
    r"""A continuous-time stream of (possibly signed, weighted) events.

    Event :math:`k` is a directed interaction
    :math:`(s_k, d_k, t_k)` with optional sign :math:`\sigma_k\in\{-1,+1\}`,
    weight :math:`w_k`, feature vector (``msg``) and label ``y``. Events are
    kept sorted by time; events sharing a time keep their input order
    (stable sort), so the stream is a deterministic function of its input.

    The field names follow :class:`torch_geometric.data.TemporalData`
    (``src``, ``dst``, ``t``, ``msg``, ``y``); unlike ``TemporalData`` the
    node count is stored, not recomputed as ``max(id) + 1``, and the mapping
    back to the original node ids is kept in :attr:`node_ids`.

    Slicing with an integer or a slice and :meth:`window` return *views*
    that share memory with the parent; indexing with a list, array or
    tensor of positions returns a copy (in time order of the positions).

    Parameters
    ----------
    src, dst : array-like of int, shape ``[num_events]``
        Source and destination node ids in ``0 .. num_nodes - 1``.
    t : array-like, shape ``[num_events]``
        Event times. Integer times stay ``int64``; others become
        ``float64`` (Unix seconds with fractions survive).
    sign : array-like, optional
        Event signs, each ``-1`` or ``+1`` (stored as ``int8``).
    weight : array-like, optional
        Event weights (stored as ``float32``), e.g. a rating.
    msg : array-like, optional
        Edge features with shape ``[num_events, num_features]``.
    y : array-like, optional
        Event labels with first dimension ``num_events``.
    num_nodes : int, optional
        Number of nodes; defaults to ``max(id) + 1``. Nodes that never
        appear in an event are allowed.
    node_ids : array-like, optional
        Original id of every node (length ``num_nodes``).
    name : str, optional
        Name used in ``repr`` and by plots.
    assume_sorted : bool
        Skip the sort-by-time check (default: ``False``).

    Raises
    ------
    ValueError
        On an empty stream, length mismatches, negative or non-integer ids,
        unsigned ids or times beyond int64, non-finite times, signs other
        than :math:`\pm 1`, NaN or infinite weights, features (``msg``) or
        float labels (``y``), float64 weights or features that overflow
        float32, or ids beyond ``num_nodes``. The message names the field,
        the value and the first offending event.

    Examples
    --------
    >>> s = EventStream([0, 1, 2], [1, 2, 0], [3.0, 1.0, 2.0])
    >>> s.t.tolist()
    [1.0, 2.0, 3.0]
    >>> s.window(1.5, 3.0).num_events
    1
    """

    src: Tensor
    dst: Tensor
    t: Tensor
    sign: Tensor | None
    weight: Tensor | None
    msg: Tensor | None
    y: Tensor | None

    def __init__(
        self,
        src: Any,
        dst: Any,
        t: Any,
        *,
        sign: Any = None,
        weight: Any = None,
        msg: Any = None,
        y: Any = None,
        num_nodes: int | None = None,
        node_ids: Any = None,
        name: str | None = None,
        assume_sorted: bool = False,
    ) -> None:
        src_t = _as_ids("src", src)
        dst_t = _as_ids("dst", dst)
        t_t = _as_time(t)
        n = src_t.numel()
        if n == 0:
            raise ValueError(
                "EventStream: the stream is empty (no events); "
                "check the input file or the filter that produced it"
            )
        fields: dict[str, Tensor | None] = {"src": src_t, "dst": dst_t, "t": t_t}
        fields["sign"] = self._check_sign(sign)
        fields["weight"] = self._check_weight(weight)
        fields["msg"] = self._check_msg(msg)
        fields["y"] = self._check_y(y)
        for key, value in fields.items():
            if value is not None and value.shape[0] != n:
                raise ValueError(
                    f"EventStream: `{key}` has {value.shape[0]} entries but "
                    f"`src` has {n}; every per-event field needs one entry "
                    "per event"
                )
        max_id = int(torch.maximum(src_t.max(), dst_t.max()))
        if num_nodes is None:
            num_nodes = len(node_ids) if node_ids is not None else max_id + 1
        num_nodes = int(num_nodes)
        if max_id >= num_nodes:
            field = "src" if int(src_t.max()) == max_id else "dst"
            raise ValueError(
                f"EventStream: `{field}` has node id {max_id} but "
                f"num_nodes={num_nodes}; ids must be < num_nodes"
            )
        if node_ids is not None:
            node_ids = np.asarray(node_ids)
            if node_ids.shape != (num_nodes,):
                raise ValueError(
                    "EventStream: `node_ids` must have one entry per node "
                    f"({num_nodes}), got shape {node_ids.shape}"
                )
        if not assume_sorted and n > 1 and bool((t_t[1:] < t_t[:-1]).any()):
            perm = torch.argsort(t_t, stable=True)
            fields = {k: None if v is None else v[perm] for k, v in fields.items()}
        self._set(fields, num_nodes, node_ids, name)

    @staticmethod
    def _check_sign(sign: Any) -> Tensor | None:
        if sign is None:
            return None
        s = _as_tensor("sign", sign)
        bad = (s != 1) & (s != -1)
        if bool(bad.any()):
            i = _first_bad(bad)
            raise ValueError(
                f"EventStream: `sign` must be -1 or +1; event {i} has "
                f"{s[i].item()!r} (derive signs with torch.sign and drop "
                "or relabel zeros first)"
            )
        return s.to(torch.int8)

    @staticmethod
    def _first_value(value: Tensor, bad: Tensor) -> tuple[int, Any]:
        """Return the first event with a ``bad`` entry and that entry's value."""
        i = _first_bad(bad.reshape(bad.shape[0], -1).any(dim=1))
        return i, value[i].reshape(-1)[bad[i].reshape(-1)][0].item()

    @staticmethod
    def _to_float32(name: str, value: Tensor) -> Tensor:
        """``value`` as float32; NaN, infinity and overflow are refused."""
        if value.is_floating_point():
            bad = ~torch.isfinite(value)
            if bool(bad.any()):
                i, first = EventStream._first_value(value, bad)
                raise ValueError(
                    f"EventStream: `{name}` is not finite at event {i} "
                    f"({first!r}); {int(bad.sum())} value(s) are NaN or infinite"
                )
            if value.dtype == torch.float64:
                over = value.abs() > _FLOAT32_MAX
                if bool(over.any()):
                    i, first = EventStream._first_value(value, over)
                    raise ValueError(
                        f"EventStream: `{name}` overflows float32 at event {i}: "
                        f"{first!r} is beyond +-{_FLOAT32_MAX:.7g}, the largest "
                        "float32; rescale it"
                    )
        return value.to(torch.float32)

    @staticmethod
    def _check_weight(weight: Any) -> Tensor | None:
        if weight is None:
            return None
        w = _as_tensor("weight", weight)
        if w.dim() == 0:
            w = w.reshape(1)
        return EventStream._to_float32("weight", w)

    @staticmethod
    def _check_msg(msg: Any) -> Tensor | None:
        if msg is None:
            return None
        m = _as_tensor("msg", msg)
        if m.dim() == 0:
            m = m.reshape(1)
        m = EventStream._to_float32("msg", m)
        return m.unsqueeze(-1) if m.dim() == 1 else m

    @staticmethod
    def _check_y(y: Any) -> Tensor | None:
        if y is None:
            return None
        labels = _as_tensor("y", y)
        if labels.dim() == 0:
            labels = labels.reshape(1)
        if labels.is_floating_point():
            bad = ~torch.isfinite(labels)
            if bool(bad.any()):
                i, first = EventStream._first_value(labels, bad)
                raise ValueError(
                    f"EventStream: `y` is not finite at event {i} ({first!r}); "
                    "drop or fill the missing labels first"
                )
        return labels

    def _set(
        self,
        fields: dict[str, Tensor | None],
        num_nodes: int,
        node_ids: np.ndarray | None,
        name: str | None,
    ) -> None:
        for key in _FIELDS:
            setattr(self, key, fields.get(key))
        self.num_nodes = num_nodes
        self.node_ids = node_ids
        self.name = name

    @classmethod
    def _view(
        cls, parent: EventStream, fields: dict[str, Tensor | None]
    ) -> EventStream:
        out = cls.__new__(cls)
        out._set(fields, parent.num_nodes, parent.node_ids, parent.name)
        return out

    @classmethod
    def from_raw_ids(
        cls,
        src: Any,
        dst: Any,
        t: Any,
        **kwargs: Any,
    ) -> EventStream:
        """Build a stream from arbitrary hashable or integer node ids.

        The distinct ids of ``src`` and ``dst`` together are sorted and
        mapped to ``0 .. N-1``; :attr:`node_ids` keeps the originals, so
        ``stream.node_ids[stream.src]`` gives back the raw sources.
        Integer ids of any 64-bit size (beyond int32, and unsigned ids
        beyond int64, included) are supported.

        Ids that mix strings with numbers (an object array from pandas, or
        a ``src`` of numbers with a ``dst`` of strings) are all converted
        with :func:`str`, so ``1`` and ``"1"`` are the same node and
        :attr:`node_ids` holds strings. Missing ids (``NaN``, ``None``) are
        refused.

        Parameters
        ----------
        src, dst : array-like
            Raw node ids (integers or strings).
        t : array-like
            Event times.
        **kwargs
            Passed on to :class:`EventStream` (``sign``, ``weight`` ...).

        Raises
        ------
        ValueError
            On a missing or infinite id (naming the field and the first
            event), length mismatches, or as :class:`EventStream`.
        """
        src_a, dst_a = _raw_ids("src", src), _raw_ids("dst", dst)
        if (src_a.dtype.kind in "US") != (dst_a.dtype.kind in "US"):
            src_a, dst_a = src_a.astype(str), dst_a.astype(str)
        if src_a.shape != dst_a.shape:
            raise ValueError(
                f"EventStream: `src` has {src_a.shape[0]} entries but `dst` "
                f"has {dst_a.shape[0]}"
            )
        ids, inverse = _compact(np.concatenate([src_a, dst_a]))
        n = src_a.shape[0]
        return cls(
            torch.from_numpy(inverse[:n].astype(np.int64)),
            torch.from_numpy(inverse[n:].astype(np.int64)),
            t,
            num_nodes=len(ids),
            node_ids=ids,
            **kwargs,
        )

    @property
    def num_events(self) -> int:
        """Number of events."""
        return int(self.src.shape[0])

    def __len__(self) -> int:
        return self.num_events

    @property
    def edge_index(self) -> Tensor:
        """``[2, num_events]`` tensor of (src, dst) pairs (a new tensor)."""
        return torch.stack([self.src, self.dst], dim=0)

    @property
    def is_signed(self) -> bool:
        """Whether events carry signs."""
        return self.sign is not None

    @property
    def is_weighted(self) -> bool:
        """Whether events carry weights."""
        return self.weight is not None

    @property
    def device(self) -> torch.device:
        """Device of the event tensors."""
        return self.src.device

    @property
    def start_time(self) -> float:
        """Time of the first event."""
        return self.t[0].item()

    @property
    def end_time(self) -> float:
        """Time of the last event."""
        return self.t[-1].item()

    def fields(self) -> dict[str, Tensor]:
        """Return the per-event tensors that are present, by name."""
        return {k: v for k in _FIELDS if (v := getattr(self, k)) is not None}

    def __getitem__(self, idx: IndexLike) -> EventStream:
        """Select events: a view for ``int``/``slice``, a copy otherwise."""
        if isinstance(idx, int):
            if not -self.num_events <= idx < self.num_events:
                raise IndexError(
                    f"event index {idx} is out of range for a stream of "
                    f"{self.num_events} events"
                )
            idx = slice(idx, idx + 1 if idx != -1 else None)
        if isinstance(idx, slice):
            if idx.step is not None and idx.step <= 0:
                raise ValueError("EventStream slices need a positive step")
            return self._view(self, {k: v[idx] for k, v in self.fields().items()})
        index = torch.as_tensor(np.asarray(idx) if not isinstance(idx, Tensor) else idx)
        index = index.to(self.device)
        if index.dtype == torch.bool:
            if index.shape != (self.num_events,):
                raise IndexError(
                    f"boolean mask has shape {list(index.shape)}, expected "
                    f"[{self.num_events}]"
                )
            index = torch.nonzero(index).view(-1)
        else:
            index = index.long().view(-1)
            if index.numel() > 1 and bool((index[1:] < index[:-1]).any()):
                index = torch.sort(index).values
        return self._view(
            self, {k: v.index_select(0, index) for k, v in self.fields().items()}
        )

    def _time_position(self, time: float, side: str) -> int:
        if self.t.is_floating_point():
            value = torch.tensor([float(time)], dtype=self.t.dtype)
        else:
            value = torch.tensor([int(np.ceil(time))], dtype=self.t.dtype)
        return int(torch.searchsorted(self.t, value.to(self.device), side=side))

    def window(
        self, start: float | None = None, end: float | None = None
    ) -> EventStream:
        """Return a view of the events with ``start <= t < end``.

        Parameters
        ----------
        start, end : float, optional
            Window bounds in the stream's time unit; ``None`` leaves that
            side open.
        """
        lo = 0 if start is None else self._time_position(start, "left")
        hi = self.num_events if end is None else self._time_position(end, "left")
        return self[lo : max(lo, hi)]

    def to(self, device: torch.device | str) -> EventStream:
        """Move every per-event tensor to ``device``."""
        return self._view(self, {k: v.to(device) for k, v in self.fields().items()})

    def active_nodes(self) -> Tensor:
        """Sorted ids of the nodes that take part in at least one event."""
        return torch.unique(torch.cat([self.src, self.dst]))

    def degree(self, directed: bool = False) -> Tensor:
        """Event counts per node (``[num_nodes]``); in+out unless ``directed``.

        With ``directed=True`` returns ``[2, num_nodes]``: out- and
        in-degrees.
        """
        out_deg = torch.bincount(self.src, minlength=self.num_nodes)
        in_deg = torch.bincount(self.dst, minlength=self.num_nodes)
        return torch.stack([out_deg, in_deg]) if directed else out_deg + in_deg

    def summary(self) -> dict[str, Any]:
        """Summary statistics: counts, time range, sign balance, self-loops."""
        pairs = torch.unique(self.src * self.num_nodes + self.dst)
        out: dict[str, Any] = {
            "name": self.name,
            "num_nodes": self.num_nodes,
            "num_active_nodes": int(self.active_nodes().numel()),
            "num_events": self.num_events,
            "num_static_edges": int(pairs.numel()),
            "num_unique_times": int(torch.unique(self.t).numel()),
            "start_time": self.start_time,
            "end_time": self.end_time,
            "num_self_loops": int((self.src == self.dst).sum()),
        }
        if self.sign is not None:
            out["num_positive"] = int((self.sign > 0).sum())
            out["num_negative"] = int((self.sign < 0).sum())
            out["positive_fraction"] = out["num_positive"] / self.num_events
        if self.weight is not None:
            out["weight_min"] = float(self.weight.min())
            out["weight_max"] = float(self.weight.max())
        return out

    def __repr__(self) -> str:
        parts = [f"num_nodes={self.num_nodes}"]
        for key, value in self.fields().items():
            parts.append(f"{key}={list(value.shape)}")
        head = f"EventStream[{self.name}]" if self.name else "EventStream"
        return f"{head}({', '.join(parts)})"

    # conversions -----------------------------------------------------------
    def to_pyg(self, *, msg_dim: int | None = None, integer_time: bool = False) -> Any:
        """Convert to :class:`torch_geometric.data.TemporalData`.

        ``sign`` and ``weight`` become attributes of the same name; when the
        stream has no ``msg``, ``msg`` is left unset unless ``msg_dim`` asks
        for zeros of that width, and ``integer_time=True`` gives ``int64``
        times, as PyG's TGN needs (see :func:`dyngraph.data.to_pyg`).
        """
        from dyngraph.data.convert import to_pyg

        return to_pyg(self, msg_dim=msg_dim, integer_time=integer_time)

    @classmethod
    def from_pyg(cls, data: Any, num_nodes: int | None = None) -> EventStream:
        r"""Build a stream from :class:`torch_geometric.data.TemporalData`.

        Parameters
        ----------
        data : TemporalData
            Must hold ``src``, ``dst`` and ``t``; ``msg``, ``y``, ``sign`` and
            ``weight`` are read when present, other attributes are ignored.
        num_nodes : int, optional
            Number of nodes (default: :math:`\max(id) + 1`).

        Returns
        -------
        EventStream
            Sorted by time (stable), like every stream.

        Raises
        ------
        ValueError
            When ``src``, ``dst`` or ``t`` is missing.
        """
        from dyngraph.data.convert import stream_from_pyg

        return stream_from_pyg(cls, data, num_nodes=num_nodes)

    def to_networkx(self) -> Any:
        """Convert to a :class:`networkx.MultiDiGraph` with one edge per event."""
        from dyngraph.data.convert import to_networkx

        return to_networkx(self)

    @classmethod
    def from_networkx(cls, graph: Any, time_attr: str = "t") -> EventStream:
        """Build a stream from a networkx graph whose edges carry event times.

        Every edge is one event (for multigraphs, every key). Nodes are
        relabelled ``0 .. N-1`` in the graph's node order. The original ids are
        kept in :attr:`~EventStream.node_ids`: the ``node_id`` node attribute
        when every node has one (as written by :func:`to_networkx`), otherwise
        the node labels; when those are exactly ``0 .. N-1`` in order,
        ``node_ids`` stays ``None``. An undirected edge ``(u, v)`` becomes one
        event in the orientation networkx reports it. Edge attributes
        ``sign``, ``weight``, ``msg`` and ``y`` are read when every edge has
        them. Edges of a multigraph whose keys are all integers are taken in
        key order, so events with equal times keep the order of
        :func:`to_networkx`.

        Parameters
        ----------
        graph : networkx.Graph
            Any networkx graph class.
        time_attr : str
            Edge attribute holding the event time (default: ``"t"``).

        Returns
        -------
        EventStream

        Raises
        ------
        ValueError
            When the graph has no edges, when an edge lacks ``time_attr``, or
            when an optional attribute is present on some edges only.
        """
        from dyngraph.data.convert import stream_from_networkx

        return stream_from_networkx(cls, graph, time_attr=time_attr)

    def to_scipy(self, value: str = "count", directed: bool = True) -> Any:
        """Aggregate into a scipy CSR adjacency; see :func:`to_static`."""
        from dyngraph.data.snapshots import to_static

        return to_static(self, value=value, directed=directed)

    def to_pandas(self) -> Any:
        """Convert to a :class:`pandas.DataFrame` with one row per event."""
        from dyngraph.data.convert import to_pandas

        return to_pandas(self)

    @classmethod
    def from_pandas(cls, frame: Any, **options: Any) -> EventStream:
        r"""Build a stream from a :class:`pandas.DataFrame`, one row per event.

        Parameters
        ----------
        frame : pandas.DataFrame
            The events.
        **options
            Keyword-only, as follows.
        src, dst, t : str
            Columns of the source, destination and time (default: ``"src"``,
            ``"dst"``, ``"t"``).
        sign, weight : str, optional
            Columns of signs and weights (default: the column ``"sign"`` /
            ``"weight"`` when the frame has one, else none).
        y : str or sequence of str, optional
            Label column(s) (default: ``"y"`` when present, else ``y_0, y_1,
            ...`` when present, else none).
        msg : sequence of str, optional
            Feature columns, in order (default: ``msg_0, msg_1, ...`` when
            present; pass ``[]`` for none).
        num_nodes : int, optional
            Node count (default: ``frame.attrs["num_nodes"]`` when set, as by
            :func:`to_pandas`, else :math:`\max(id) + 1`).
        node_ids : array-like, optional
            Original node ids (default: ``frame.attrs["node_ids"]`` when set).
        raw_ids : bool
            Map the ``src``/``dst`` values to ``0 .. N-1`` with
            :meth:`EventStream.from_raw_ids` (default: ``False``; non-integer
            columns such as strings are always mapped). The mapping sets the
            node count and the original ids itself.
        name : str, optional
            Stream name (default: ``frame.attrs["name"]`` when set).

        Returns
        -------
        EventStream

        Raises
        ------
        KeyError
            When a named column is missing; the message lists the columns.
        ValueError
            When ``num_nodes`` or ``node_ids`` is given for ids that are mapped.
        """
        from dyngraph.data.convert import stream_from_pandas

        return stream_from_pandas(cls, frame, **options)
