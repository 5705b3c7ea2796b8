r"""Conversions between :class:`EventStream` and PyG, networkx and pandas.

The ``from_*`` readers are :meth:`EventStream.from_pyg`,
:meth:`EventStream.from_networkx` and :meth:`EventStream.from_pandas`, also
exported as :func:`dyngraph.data.from_pyg` and so on; the builders here take
the class to build, so this module never imports the container.

Every conversion keeps the per-event fields ``src``, ``dst``, ``t`` and,
when present, ``sign``, ``weight``, ``msg`` and ``y`` with their dtypes, so
that ``from_x(to_x(stream))`` gives back the same stream. What each target
can and cannot hold:

===========  ============================================================
target       node count and original ids
===========  ============================================================
PyG          not stored (``TemporalData`` recomputes :math:`\max(id)+1`);
             pass ``num_nodes`` to :func:`from_pyg` to keep trailing
             isolated nodes
networkx     every node is added; original ids as node attribute
             ``node_id``
pandas       ``frame.attrs["num_nodes"]``, ``frame.attrs["node_ids"]``
             and ``frame.attrs["name"]``, plus readable ``src_id`` /
             ``dst_id`` columns
===========  ============================================================
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np
import pandas as pd
import torch
from torch_geometric.data import TemporalData

if TYPE_CHECKING:  # the container calls into this module, never the reverse
    from dyngraph.data.events import EventStream

__all__ = ["to_networkx", "to_pandas", "to_pyg"]

_OPTIONAL = ("sign", "weight", "y", "msg")


# PyG ------------------------------------------------------------------------
def to_pyg(
    stream: EventStream,
    *,
    msg_dim: int | None = None,
    integer_time: bool = False,
) -> TemporalData:
    r"""Convert a stream to :class:`torch_geometric.data.TemporalData`.

    The tensors are shared, not copied: ``src``, ``dst``, ``t`` (dtype kept,
    ``int64`` or ``float64``), and ``msg``, ``y``, ``sign``, ``weight`` as
    attributes of the same name when the stream has them. Two options give
    PyG's TGN (:class:`~torch_geometric.nn.models.tgn.TGNMemory`, its
    example ``examples/tgn.py``) what it needs: a ``msg`` on every event,
    and ``int64`` times (its ``last_update`` buffer is ``long``).

    Parameters
    ----------
    stream : EventStream
        The events.
    msg_dim : int, optional
        When the stream has no ``msg``, set ``msg`` to zeros of shape
        ``[num_events, msg_dim]`` (``float32``); when it has one, its width
        must equal ``msg_dim`` (default: ``None``, ``msg`` left as is).
    integer_time : bool
        Give ``t`` as ``int64`` (default: ``False``). Floating-point times
        must then be whole numbers (e.g. Unix seconds); rescale others
        first, since rounding would merge distinct times.

    Returns
    -------
    TemporalData
        ``TemporalData`` computes ``num_nodes`` as :math:`\max(id) + 1`, so
        isolated nodes with the largest ids are not represented; pass
        ``num_nodes`` back to :func:`from_pyg`.

    Raises
    ------
    ValueError
        When ``msg_dim`` is negative or disagrees with the stream's ``msg``,
        or ``integer_time`` is asked for times that are not whole numbers.
    """
    fields = stream.fields()
    if msg_dim is not None:
        if isinstance(msg_dim, bool) or not isinstance(msg_dim, int) or msg_dim < 0:
            raise ValueError(f"to_pyg: `msg_dim` must be an int >= 0, got {msg_dim!r}")
        msg = fields.get("msg")
        if msg is None:
            fields["msg"] = torch.zeros(
                stream.num_events, msg_dim, device=stream.t.device
            )
        elif msg.dim() != 2 or msg.size(1) != msg_dim:
            raise ValueError(
                f"to_pyg: the stream's msg has shape {tuple(msg.shape)}, not "
                f"[num_events, msg_dim={msg_dim}]; drop `msg_dim` to keep it"
            )
    if integer_time and fields["t"].is_floating_point():
        t = fields["t"]
        whole = torch.isfinite(t) & (t == torch.round(t)) & (t.abs() < 2.0**63)
        if not bool(whole.all()):
            k = int(torch.nonzero(~whole)[0])
            raise ValueError(
                f"to_pyg: integer_time=True but event {k} has time {t[k].item()!r}, "
                "not a whole number; rescale the times first (e.g. to seconds "
                "or to integer ranks) or leave integer_time=False"
            )
        fields["t"] = t.long()
    return TemporalData(**fields)


def stream_from_pyg(
    cls: type[EventStream], data: TemporalData, num_nodes: int | None = None
) -> EventStream:
    """Build ``cls`` from ``TemporalData``; see :meth:`EventStream.from_pyg`."""
    store = data.to_dict()
    missing = [key for key in ("src", "dst", "t") if store.get(key) is None]
    if missing:
        raise ValueError(
            f"from_pyg: the TemporalData has no {', '.join(missing)}; "
            "an event stream needs `src`, `dst` and `t`"
        )
    optional = {key: store[key] for key in _OPTIONAL if store.get(key) is not None}
    return cls(store["src"], store["dst"], store["t"], num_nodes=num_nodes, **optional)


# networkx -------------------------------------------------------------------
def _per_event_rows(stream: EventStream) -> dict[str, list[Any]]:
    """List the optional per-event fields, one entry per event.

    ``sign`` and ``weight`` become Python numbers; ``y`` and ``msg`` stay
    NumPy scalars or rows so that their dtype survives a round trip.
    """
    rows: dict[str, list[Any]] = {}
    for key in _OPTIONAL:
        value = getattr(stream, key)
        if value is None:
            continue
        array = value.detach().cpu().numpy()
        rows[key] = array.tolist() if key in ("sign", "weight") else list(array)
    return rows


def to_networkx(stream: EventStream) -> nx.MultiDiGraph:
    """Convert a stream to a :class:`networkx.MultiDiGraph`, one edge per event.

    Nodes ``0 .. num_nodes - 1`` are all added (isolated ones included),
    each with attribute ``node_id`` (its original id) when the stream has
    :attr:`~EventStream.node_ids`. Event :math:`k` becomes the edge
    ``(src[k], dst[k], k)``: its key is its position in the stream, so keys
    follow event order. Edge attributes: ``t`` and, when present, ``sign``
    (int), ``weight`` (float), ``y`` (a scalar, or a NumPy row for
    multi-dimensional labels) and ``msg`` (a NumPy row of features).

    Parameters
    ----------
    stream : EventStream
        The events.

    Returns
    -------
    networkx.MultiDiGraph
        ``graph.graph["name"]`` holds the stream's name when it has one.
    """
    graph = nx.MultiDiGraph()
    if stream.name is not None:
        graph.graph["name"] = stream.name
    if stream.node_ids is None:
        graph.add_nodes_from(range(stream.num_nodes))
    else:
        graph.add_nodes_from(
            (i, {"node_id": node_id})
            for i, node_id in enumerate(stream.node_ids.tolist())
        )
    src = stream.src.cpu().tolist()
    dst = stream.dst.cpu().tolist()
    times = stream.t.cpu().tolist()
    rows = _per_event_rows(stream)
    graph.add_edges_from(
        (
            src[k],
            dst[k],
            k,
            {"t": times[k], **{key: column[k] for key, column in rows.items()}},
        )
        for k in range(stream.num_events)
    )
    return graph


def _label_array(values: Sequence[Any]) -> np.ndarray:
    """Return node labels as a 1-D array; mixed or tuple labels as objects."""
    if len({type(v) for v in values}) == 1 and not isinstance(values[0], tuple):
        array = np.asarray(values)
        if array.ndim == 1:
            return array
    out = np.empty(len(values), dtype=object)
    for k, value in enumerate(values):
        out[k] = value
    return out


def stream_from_networkx(
    cls: type[EventStream], graph: nx.Graph, time_attr: str = "t"
) -> EventStream:
    """Build ``cls`` from a networkx graph; see :meth:`EventStream.from_networkx`."""
    nodes = list(graph.nodes)
    index = {node: i for i, node in enumerate(nodes)}
    if graph.is_multigraph():
        edges = list(graph.edges(keys=True, data=True))
        if all(isinstance(key, int) for _, _, key, _ in edges):
            edges.sort(key=lambda edge: edge[2])
        edges = [(u, v, attrs) for u, v, _, attrs in edges]
    else:
        edges = list(graph.edges(data=True))
    if not edges:
        raise ValueError("from_networkx: the graph has no edges (no events)")
    for u, v, attrs in edges:
        if time_attr not in attrs:
            raise ValueError(
                f"from_networkx: edge ({u!r}, {v!r}) has no attribute "
                f"{time_attr!r}; pass time_attr= the name of the edge "
                "attribute that holds the event time"
            )
    optional: dict[str, Any] = {}
    for key in _OPTIONAL:
        present = sum(key in attrs for _, _, attrs in edges)
        if present == len(edges):
            optional[key] = np.asarray([attrs[key] for _, _, attrs in edges])
        elif present:
            raise ValueError(
                f"from_networkx: {present} of {len(edges)} edges have "
                f"attribute {key!r}; give it to every edge or to none"
            )
    node_attrs = [graph.nodes[node] for node in nodes]
    if all("node_id" in attrs for attrs in node_attrs):
        node_ids: np.ndarray | None = _label_array(
            [attrs["node_id"] for attrs in node_attrs]
        )
    elif nodes == list(range(len(nodes))):
        node_ids = None
    else:
        node_ids = _label_array(nodes)
    return cls(
        np.fromiter((index[u] for u, _, _ in edges), np.int64, len(edges)),
        np.fromiter((index[v] for _, v, _ in edges), np.int64, len(edges)),
        np.asarray([attrs[time_attr] for _, _, attrs in edges]),
        num_nodes=len(nodes),
        node_ids=node_ids,
        name=graph.graph.get("name"),
        **optional,
    )


# pandas ---------------------------------------------------------------------
def _columns(name: str, value: np.ndarray) -> dict[str, np.ndarray]:
    """One column for a 1-D field, ``name_0 .. name_{F-1}`` for a 2-D one."""
    if value.ndim == 1:
        return {name: value}
    flat = value.reshape(value.shape[0], -1)
    return {f"{name}_{k}": flat[:, k] for k in range(flat.shape[1])}


def to_pandas(stream: EventStream) -> pd.DataFrame:
    """Convert a stream to a :class:`pandas.DataFrame`, one row per event.

    Columns, in order: ``src``, ``dst`` (compact ids), ``src_id``,
    ``dst_id`` (original ids, only when the stream has
    :attr:`~EventStream.node_ids`), ``t``, then ``sign``, ``weight``,
    ``y`` (``y_0 ..`` for multi-column labels) and ``msg_0 ..
    msg_{F-1}`` for the fields that are present. Dtypes are kept
    (``sign`` int8, ``weight`` and ``msg`` float32). The node count, the
    original ids (as a list) and the name go to ``frame.attrs`` so that
    :func:`from_pandas` can restore isolated nodes.

    Parameters
    ----------
    stream : EventStream
        The events.

    Returns
    -------
    pandas.DataFrame
    """
    src = stream.src.cpu().numpy()
    dst = stream.dst.cpu().numpy()
    data: dict[str, np.ndarray] = {"src": src, "dst": dst}
    if stream.node_ids is not None:
        data["src_id"] = stream.node_ids[src]
        data["dst_id"] = stream.node_ids[dst]
    data["t"] = stream.t.cpu().numpy()
    for key in _OPTIONAL:
        value = getattr(stream, key)
        if value is not None:
            data.update(_columns(key, value.detach().cpu().numpy()))
    frame = pd.DataFrame(data)
    frame.attrs["num_nodes"] = stream.num_nodes
    if stream.node_ids is not None:
        frame.attrs["node_ids"] = stream.node_ids.tolist()
    if stream.name is not None:
        frame.attrs["name"] = stream.name
    return frame


def _numbered(frame: pd.DataFrame, prefix: str) -> list[str]:
    """Columns ``prefix_0, prefix_1, ...`` of ``frame``, in numeric order."""
    pattern = re.compile(rf"{re.escape(prefix)}_(\d+)")
    found = [
        (int(match.group(1)), str(column))
        for column in frame.columns
        if (match := pattern.fullmatch(str(column)))
    ]
    return [column for _, column in sorted(found)]


def _require(frame: pd.DataFrame, columns: Sequence[str], argument: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise KeyError(
            f"from_pandas: column(s) {missing} named by `{argument}` are not "
            f"in the frame; its columns are {list(frame.columns)}"
        )


def stream_from_pandas(
    cls: type[EventStream],
    frame: pd.DataFrame,
    *,
    src: str = "src",
    dst: str = "dst",
    t: str = "t",
    sign: str | None = None,
    weight: str | None = None,
    y: str | Sequence[str] | None = None,
    msg: Sequence[str] | None = None,
    num_nodes: int | None = None,
    node_ids: Any = None,
    raw_ids: bool = False,
    name: str | None = None,
) -> EventStream:
    """Build ``cls`` from a DataFrame; see :meth:`EventStream.from_pandas`."""
    _require(frame, [src, dst, t], "src/dst/t")
    fields: dict[str, Any] = {}
    for key, column in (("sign", sign), ("weight", weight)):
        if column is None and key in frame.columns:
            column = key
        if column is not None:
            _require(frame, [column], key)
            fields[key] = frame[column].to_numpy(copy=True)
    if y is None and "y" in frame.columns:
        y = "y"
    if isinstance(y, str):
        _require(frame, [y], "y")
        fields["y"] = frame[y].to_numpy(copy=True)
    else:
        y_columns = _numbered(frame, "y") if y is None else list(y)
        if y_columns:
            _require(frame, y_columns, "y")
            fields["y"] = frame[y_columns].to_numpy(copy=True)
    msg_columns = _numbered(frame, "msg") if msg is None else list(msg)
    if msg_columns:
        _require(frame, msg_columns, "msg")
        fields["msg"] = frame[msg_columns].to_numpy(dtype=np.float32, copy=True)
    name = frame.attrs.get("name") if name is None else name
    src_values = frame[src].to_numpy(copy=True)
    dst_values = frame[dst].to_numpy(copy=True)
    integer = all(np.issubdtype(v.dtype, np.integer) for v in (src_values, dst_values))
    if raw_ids or not integer:
        if num_nodes is not None or node_ids is not None:
            raise ValueError(
                "from_pandas: num_nodes and node_ids are derived when the ids "
                f"in columns {src!r}/{dst!r} are mapped to 0..N-1; leave them "
                "unset, or pass integer id columns with raw_ids=False"
            )
        return cls.from_raw_ids(
            src_values, dst_values, frame[t].to_numpy(copy=True), name=name, **fields
        )
    return cls(
        torch.from_numpy(src_values.astype(np.int64)),
        torch.from_numpy(dst_values.astype(np.int64)),
        frame[t].to_numpy(copy=True),
        num_nodes=frame.attrs.get("num_nodes") if num_nodes is None else num_nodes,
        node_ids=frame.attrs.get("node_ids") if node_ids is None else node_ids,
        name=name,
        **fields,
    )
