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
from pathlib import Path
from typing import Any

from dyngraph.sparsify.recipe import DEFAULTS

__all__ = ["add_parsers", "run"]


def run(args: argparse.Namespace) -> int:
    """Run ``dyngraph sparsify`` with parsed arguments; return the exit status."""
    from dyngraph.console import table
    from dyngraph.sparsify.evaluate import STAGE_COLUMNS, load_source, stream_experiment

    report = stream_experiment(
        load_source(args.graph, args.root),
        args.stream,
        budget=args.budget,
        num_walkers=args.walkers,
        max_steps=args.steps,
        off_tree=args.off_tree,
        kappa_every=args.kappa_every,
        seed=args.seed,
        progress=not args.quiet,
    )
    print(table(report.stages, list(STAGE_COLUMNS)))
    print(
        f"\n{report.added:,} edges added to H, {report.removed:,} removed, "
        f"{report.walker_steps:,} walker moves (budget K = {report.budget:g})"
    )
    if args.save:
        report.sparsifier.save(args.save)
        print(f"state saved to {args.save}")
    if args.plot:
        from dyngraph.sparsify.plot import plot_history, plot_sparsifier

        out = Path(args.plot)
        out.mkdir(parents=True, exist_ok=True)
        plot_history(report.history).savefig(out / "sparsify_history.png", dpi=120)
        if report.points is not None:
            final = report.sparsifier
            plot_sparsifier(final.graph, final.sparsifier, report.points).savefig(
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
    d = DEFAULTS
    parser.add_argument(
        "--stream",
        default=d.stream,
        help="local:FRACTION (insert FRACTION*|V| local edges in 10 batches, then "
        "delete 1%% of |V|) for a static graph, or window:WINDOW:STEP for a "
        f"temporal dataset (default: {d.stream})",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=d.budget,
        help=f"distortion budget K (default: {d.budget:g})",
    )
    parser.add_argument(
        "--walkers",
        type=int,
        default=d.num_walkers,
        help=f"walkers per update (default: {d.num_walkers})",
    )
    parser.add_argument(
        "--steps",
        type=int,
        default=d.max_steps,
        help=f"moves per walker (default: {d.max_steps})",
    )
    parser.add_argument(
        "--off-tree",
        type=float,
        default=d.off_tree,
        help="off-tree edges of the initial sparsifier, fraction "
        f"of |V| (default: {d.off_tree:g})",
    )
    parser.add_argument(
        "--kappa-every",
        type=int,
        default=d.kappa_every,
        help=f"compute kappa every N batches (default: {d.kappa_every}, ends only)",
    )
    parser.add_argument(
        "--seed", type=int, default=d.seed, help=f"random seed (default: {d.seed})"
    )
    parser.add_argument("--root", help="data root for registry datasets")
    parser.add_argument("--plot", help="folder for plots (default: none)")
    parser.add_argument("--save", help="save the final state to this file")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)
