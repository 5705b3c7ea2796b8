"""The ``dyngraph sparsify`` subcommand.

:mod:`dyngraph.registry` lists this package; ``dyngraph`` calls
:func:`add_parsers`.

Usage::

    dyngraph sparsify delaunay:16384 --stream local:0.25
    dyngraph sparsify suitesparse:DIMACS10/delaunay_n14 --stream local:0.25 --budget 35
    dyngraph sparsify path/to/graph.mtx --stream local:0.1 --plot out/
    dyngraph sparsify college-msg --stream window:604800:86400
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

__all__ = ["add_parsers", "run"]


def _load_source(spec: str, root: str | None) -> Any:
    """Load a scipy adjacency (static) or an EventStream (temporal)."""
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
    return (data, None) if sp.issparse(data) else data


def _updates(
    source: Any, stream: str, seed: int
) -> tuple[sp.csr_matrix, Iterator[tuple[str, np.ndarray, np.ndarray | None]], int]:
    """Return the initial graph, the update iterator and the update count."""
    from dyngraph.sparsify.dynamic import local_edge_stream

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

        def generate() -> Iterator[tuple[str, np.ndarray, np.ndarray | None]]:
            for update in updates:
                yield "delete", update.delete.cpu().numpy(), None
                yield (
                    "insert",
                    update.insert.cpu().numpy(),
                    update.insert_weight.cpu().numpy().astype(np.float64),
                )

        return graph, generate(), 2 * max(total, 1)
    raise ValueError(f"--stream {stream!r}: use local:FRACTION or window:WINDOW:STEP")


def run(args: argparse.Namespace) -> int:
    """Run ``dyngraph sparsify`` with parsed arguments; return the exit status."""
    from tqdm.auto import tqdm

    from dyngraph.console import table
    from dyngraph.sparsify.dynamic import DynamicSparsifier
    from dyngraph.sparsify.initial import initial_sparsifier
    from dyngraph.sparsify.spectral import condition_number

    source = _load_source(args.graph, args.root)
    points = source[1] if isinstance(source, tuple) else None
    graph, updates, total = _updates(source, args.stream, args.seed)
    n = graph.shape[0]
    h0 = initial_sparsifier(graph, off_tree=args.off_tree) if graph.nnz else None
    ds = DynamicSparsifier(
        graph,
        h0,
        budget=args.budget,
        num_walkers=args.walkers,
        repair_walkers=args.walkers,
        max_steps=args.steps,
        seed=args.seed,
    )
    history = [
        {
            "update": 0,
            "kappa": condition_number(graph, ds.sparsifier),
            "density": ds.density,
        }
    ]
    rows = [
        {
            "stage": "initial",
            "|E_G|": ds.num_graph_edges,
            "|E_H|": ds.num_sparsifier_edges,
            "edges/node": ds.density,
            "kappa": history[0]["kappa"],
        }
    ]
    added = removed = steps = 0
    for index, (kind, edges, weights) in enumerate(
        tqdm(updates, total=total, desc="sparsify", unit="batch", disable=args.quiet),
        start=1,
    ):
        if edges.shape[1] == 0:
            continue
        report = ds.insert(edges, weights) if kind == "insert" else ds.delete(edges)
        added, removed = added + report.added, removed + report.removed
        steps += report.walker_steps
        if args.kappa_every and index % args.kappa_every == 0:
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
    rows.append(
        {
            "stage": "after stream",
            "|E_G|": ds.num_graph_edges,
            "|E_H|": ds.num_sparsifier_edges,
            "edges/node": ds.density,
            "kappa": kappa,
        }
    )
    rows.append(
        {
            "stage": "rebuild, same size",
            "|E_G|": ds.num_graph_edges,
            "|E_H|": rebuilt.nnz // 2,
            "edges/node": rebuilt.nnz / 2 / n,
            "kappa": condition_number(final_graph, rebuilt),
        }
    )
    print(table(rows, ["stage", "|E_G|", "|E_H|", "edges/node", "kappa"]))
    print(
        f"\n{added:,} edges added to H, {removed:,} removed, "
        f"{steps:,} walker moves (budget K = {args.budget:g})"
    )
    if args.save:
        ds.save(args.save)
        print(f"state saved to {args.save}")
    if args.plot:
        from dyngraph.sparsify.plot import plot_history, plot_sparsifier

        out = Path(args.plot)
        out.mkdir(parents=True, exist_ok=True)
        plot_history(history).savefig(out / "sparsify_history.png", dpi=120)
        if points is not None:
            plot_sparsifier(final_graph, final_h, points).savefig(
                out / "sparsify_graph.png", dpi=120
            )
        print(f"plots written to {out}/")
    return 0


def add_parsers(commands: Any, fit: Any) -> None:
    """Add ``sparsify`` to the ``dyngraph`` commands; ``fit`` is unused."""
    parser = commands.add_parser(
        "sparsify",
        help="keep a spectral sparsifier up to date over an edge stream (dyGRASS)",
        description=(
            "Run dyGRASS over a stream of edge insertions and deletions and "
            "report the relative condition number and edges per node."
        ),
    )
    parser.add_argument(
        "graph",
        help="a registry name (e.g. suitesparse:DIMACS10/delaunay_n14, "
        "college-msg), a .mtx path, a SNAP temporal .txt path, or delaunay:N "
        "(generated)",
    )
    parser.add_argument(
        "--stream",
        default="local:0.25",
        help="local:FRACTION (insert FRACTION*|V| local edges in 10 batches, then "
        "delete 1%% of |V|) for a static graph, or window:WINDOW:STEP for a "
        "temporal dataset (default: local:0.25)",
    )
    parser.add_argument(
        "--budget", type=float, default=35.0, help="distortion budget K (default: 35)"
    )
    parser.add_argument(
        "--walkers", type=int, default=512, help="walkers per update (default: 512)"
    )
    parser.add_argument(
        "--steps", type=int, default=100, help="moves per walker (default: 100)"
    )
    parser.add_argument(
        "--off-tree",
        type=float,
        default=0.10,
        help="off-tree edges of the initial sparsifier, fraction "
        "of |V| (default: 0.10)",
    )
    parser.add_argument(
        "--kappa-every",
        type=int,
        default=0,
        help="compute kappa every N batches (default: 0, ends only)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--root", help="data root for registry datasets")
    parser.add_argument("--plot", help="folder for plots (default: none)")
    parser.add_argument("--save", help="save the final state to this file")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)
