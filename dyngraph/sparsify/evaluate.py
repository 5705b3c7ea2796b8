r"""The stream experiment: keep a sparsifier up to date and measure its quality.

:func:`stream_experiment` builds the initial sparsifier :math:`H^{(0)}` of a
graph :math:`G^{(0)}`, applies a stream of edge insertions and deletions to
a :class:`DynamicSparsifier`, and reports the relative condition number

.. math::

    \kappa(L_G, L_H) = \lambda_{\max}(L_H^{+} L_G) / \lambda_{\min}(L_H^{+} L_G)

and the edges per node of :math:`H` at the start, at the end, and for an
initial sparsifier rebuilt from scratch on the final graph with the same
number of edges (what a full recomputation would give). ``dyngraph
sparsify`` is this function plus printing.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from dyngraph.data.events import EventStream
from dyngraph.sparsify.dynamic import DynamicSparsifier, local_edge_stream
from dyngraph.sparsify.initial import initial_sparsifier
from dyngraph.sparsify.recipe import DEFAULTS
from dyngraph.sparsify.spectral import condition_number

__all__ = ["STAGE_COLUMNS", "StreamReport", "load_source", "stream_experiment"]

Update = tuple[str, np.ndarray, np.ndarray | None]

STAGE_COLUMNS = ("stage", "|E_G|", "|E_H|", "edges/node", "kappa")
"""Keys of each row of :attr:`StreamReport.stages`."""


@dataclass
class StreamReport:
    r"""What :func:`stream_experiment` measured.

    Attributes
    ----------
    stages : list of dict
        One row per stage (``"initial"``, ``"after stream"``, ``"rebuild,
        same size"``) keyed by :data:`STAGE_COLUMNS`: edges of :math:`G`
        and :math:`H`, edges of :math:`H` per node, :math:`\kappa`.
    history : list of dict
        ``{"update", "kappa", "density"}`` at the start, every
        ``kappa_every`` updates, and at the end (``update="end"``).
    added, removed : int
        Edges added to and removed from :math:`H` over the stream.
    walker_steps : int
        Walker moves spent over the stream.
    budget : float
        The distortion budget :math:`K` used.
    sparsifier : DynamicSparsifier
        The final state (``.graph``, ``.sparsifier``, ``.save(path)``).
    points : numpy.ndarray or None
        Node coordinates when the graph has them (Delaunay graphs).
    """

    stages: list[dict[str, Any]]
    history: list[dict[str, Any]]
    added: int
    removed: int
    walker_steps: int
    budget: float
    sparsifier: DynamicSparsifier
    points: np.ndarray | None = field(default=None, repr=False)

    def stage(self, name: str) -> dict[str, Any]:
        """Return the row of one stage, by name."""
        for row in self.stages:
            if row["stage"] == name:
                return row
        raise KeyError(
            f"no stage {name!r}; the stages are {[r['stage'] for r in self.stages]}"
        )


def load_source(spec: str, root: str | Path | None = None) -> Any:
    """Load a graph for :func:`stream_experiment` from a command-line spec.

    Parameters
    ----------
    spec : str
        ``delaunay:N`` (generated, seed 0), a ``.mtx``/``.mtx.gz`` file, a
        SNAP temporal ``.txt`` file, or a registry name (see
        :func:`dyngraph.data.list_datasets`).
    root : str or pathlib.Path, optional
        Data root for registry names.

    Returns
    -------
    tuple or EventStream
        ``(adjacency, points or None)`` for a static graph, an
        :class:`EventStream` for a temporal one.
    """
    from dyngraph.data import delaunay_graph, load, read_matrix_market

    if spec.startswith("delaunay:"):
        try:
            n = int(spec.split(":", 1)[1])
        except ValueError:
            raise ValueError(
                f"GRAPH {spec!r}: expected delaunay:N with N an int"
            ) from None
        return delaunay_graph(n, seed=0)
    path = Path(spec)
    if path.suffix in {".mtx", ".gz", ".txt"} and not path.exists():
        raise ValueError(f"GRAPH {spec}: no such file")
    if path.suffix in {".mtx", ".gz"} and path.exists():
        return read_matrix_market(path), None
    if path.suffix == ".txt" and path.exists():
        from dyngraph.data.io import read_snap_temporal

        return read_snap_temporal(path)
    data = load(spec, root=root)
    if sp.issparse(data):
        return data, None
    if not isinstance(data, EventStream):
        raise ValueError(
            f"GRAPH {spec!r} is a {type(data).__name__}, not a graph or an event stream"
        )
    return data


def _updates(
    source: Any, stream: str, seed: int
) -> tuple[sp.csr_matrix, Iterator[Update], int]:
    """Return the initial graph, the update iterator and the update count."""
    kind, _, rest = stream.partition(":")
    if kind == "local":
        if not isinstance(source, tuple):
            raise ValueError("--stream local:F needs a static GRAPH (matrix)")
        try:
            fraction = float(rest)
        except ValueError:
            raise ValueError(f"--stream {stream!r}: expected local:FRACTION") from None
        graph = source[0]
        batches = local_edge_stream(graph, insert_fraction=fraction, seed=seed)
        return graph, ((k, e, None) for k, e in batches), len(batches)
    if kind == "window":
        from dyngraph.data import sliding_window_updates

        if isinstance(source, tuple):
            raise ValueError("--stream window:W:S needs a temporal GRAPH (events)")
        try:
            window, step = (float(x) for x in rest.split(":"))
        except ValueError:
            raise ValueError(
                f"--stream {stream!r}: expected window:WINDOW:STEP (time units)"
            ) from None
        updates = sliding_window_updates(source, window, step)
        first = next(updates)
        n = source.num_nodes
        e = first.insert.cpu().numpy()
        w = first.insert_weight.cpu().numpy().astype(np.float64)
        upper = sp.coo_matrix((w, (e[0], e[1])), shape=(n, n))
        graph = (upper + upper.T).tocsr()
        total = math.ceil((float(source.t[-1]) - float(source.t[0]) - window) / step)

        def generate() -> Iterator[Update]:
            for update in updates:
                yield "delete", update.delete.cpu().numpy(), None
                yield (
                    "insert",
                    update.insert.cpu().numpy(),
                    update.insert_weight.cpu().numpy().astype(np.float64),
                )

        return graph, generate(), 2 * max(total, 1)
    raise ValueError(f"--stream {stream!r}: use local:FRACTION or window:WINDOW:STEP")


def _row(stage: str, graph_edges: int, h_edges: int, n: int, kappa: float) -> dict:
    values = (stage, graph_edges, h_edges, h_edges / n, kappa)
    return dict(zip(STAGE_COLUMNS, values, strict=True))


def stream_experiment(
    source: Any,
    stream: str = DEFAULTS.stream,
    *,
    budget: float = DEFAULTS.budget,
    num_walkers: int = DEFAULTS.num_walkers,
    max_steps: int = DEFAULTS.max_steps,
    off_tree: float = DEFAULTS.off_tree,
    kappa_every: int = DEFAULTS.kappa_every,
    seed: int = DEFAULTS.seed,
    progress: bool = False,
) -> StreamReport:
    r"""Run dyGRASS over an edge stream and measure :math:`\kappa` and density.

    Parameters
    ----------
    source : str, scipy.sparse matrix, tuple or EventStream
        A spec for :func:`load_source`, a symmetric adjacency, an
        ``(adjacency, points)`` pair, or an event stream.
    stream : str
        ``"local:F"``: insert :math:`F |V|` local edges in 10 batches, then
        delete 1 % of :math:`|V|` (:func:`local_edge_stream`; static graphs);
        ``"window:W:S"``: a sliding window of width ``W`` moved by ``S``
        time units over an event stream (default: ``"local:0.25"``).
    budget : float
        Distortion budget :math:`K` (default: ``35``).
    num_walkers : int
        Walkers per update, for insertions and for repairs (default: ``512``).
    max_steps : int
        Moves per walker (default: ``100``).
    off_tree : float
        Off-tree edges of the initial sparsifier, as a fraction of
        :math:`|V|` (default: ``0.10``).
    kappa_every : int
        Also compute :math:`\kappa` every this many updates (default: ``0``,
        at the ends only; each one costs a generalised eigenvalue solve).
    seed : int
        Seed of the stream and of the walks (default: ``0``).
    progress : bool
        Show a progress bar (default: ``False``).

    Returns
    -------
    StreamReport
    """
    from tqdm.auto import tqdm

    if isinstance(source, str):
        source = load_source(source)
    elif sp.issparse(source):
        source = (sp.csr_matrix(source), None)
    points = source[1] if isinstance(source, tuple) else None
    graph, updates, total = _updates(source, stream, seed)
    n = graph.shape[0]
    h0 = initial_sparsifier(graph, off_tree=off_tree) if graph.nnz else None
    ds = DynamicSparsifier(
        graph,
        h0,
        budget=budget,
        num_walkers=num_walkers,
        repair_walkers=num_walkers,
        max_steps=max_steps,
        seed=seed,
    )
    kappa0 = condition_number(graph, ds.sparsifier)
    history = [{"update": 0, "kappa": kappa0, "density": ds.density}]
    stages = [_row("initial", ds.num_graph_edges, ds.num_sparsifier_edges, n, kappa0)]
    added = removed = steps = 0
    batches = tqdm(
        updates, total=total, desc="sparsify", unit="batch", disable=not progress
    )
    for index, (kind, edges, weights) in enumerate(batches, start=1):
        if edges.shape[1] == 0:
            continue
        report = ds.insert(edges, weights) if kind == "insert" else ds.delete(edges)
        added, removed = added + report.added, removed + report.removed
        steps += report.walker_steps
        if kappa_every and index % kappa_every == 0:
            history.append(
                {
                    "update": index,
                    "density": ds.density,
                    "kappa": condition_number(ds.graph, ds.sparsifier),
                }
            )
    final_graph, final_h = ds.graph, ds.sparsifier
    kappa = condition_number(final_graph, final_h)
    history.append({"update": "end", "kappa": kappa, "density": ds.density})
    rebuilt = (
        initial_sparsifier(final_graph, num_edges=max(ds.num_sparsifier_edges, n - 1))
        if final_graph.nnz
        else final_h
    )
    stages.append(
        _row("after stream", ds.num_graph_edges, ds.num_sparsifier_edges, n, kappa)
    )
    stages.append(
        _row(
            "rebuild, same size",
            ds.num_graph_edges,
            rebuilt.nnz // 2,
            n,
            condition_number(final_graph, rebuilt),
        )
    )
    return StreamReport(stages, history, added, removed, steps, budget, ds, points)
