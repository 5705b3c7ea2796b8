"""The ``dyngraph`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["main"]


def _table(rows: list[dict[str, Any]], columns: Sequence[str]) -> str:
    def fmt(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:,.4g}"
        if isinstance(value, int) and not isinstance(value, bool):
            return f"{value:,}"
        return "" if value is None else str(value)

    cells = [[fmt(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += [
        "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells
    ]
    return "\n".join(lines)


def _check_kind(meta: Any) -> str:
    """How a downloaded file is verified: a hash, published counts, or not."""
    if meta.sha256 or meta.content_sha256:
        return "sha256"
    return "counts" if meta.num_nodes else "none"


def _cmd_datasets(args: argparse.Namespace) -> int:
    from dyngraph.data import datasets

    root = Path(args.root) if args.root else None
    if args.action == "list":
        rows = []
        for name in datasets.list_datasets():
            meta = datasets.info(name)
            rows.append(
                {
                    "name": name,
                    "kind": meta.kind,
                    "nodes": meta.num_nodes,
                    "events/edges": meta.num_events or meta.num_edges,
                    "check": _check_kind(meta),
                    "downloaded": "yes"
                    if datasets.is_downloaded(name, root=root)
                    else "",
                }
            )
        print(_table(rows, list(rows[0])))
        print(f"\ndata root: {datasets.data_root(root)}")
        print(
            "SuiteSparse Matrix Market graphs load by name too, e.g. "
            "'suitesparse:DIMACS10/delaunay_n14'."
        )
        return 0
    if not args.name:
        print(f"dyngraph datasets {args.action}: give a dataset NAME", file=sys.stderr)
        return 2
    if args.action == "info":
        print(datasets.info(args.name).describe())
        return 0
    if args.action == "download":
        path = datasets.download(args.name, root=root, url=args.url)
        print(f"{args.name}: {path}")
        return 0
    data = datasets.load(args.name, root=root, url=args.url)
    if hasattr(data, "summary"):
        stats = data.summary()
    else:
        stats = {
            "name": args.name,
            "num_nodes": data.shape[0],
            "num_edges": data.nnz // 2,
            "edges_per_node": data.nnz / 2 / data.shape[0],
        }
    print(
        _table(
            [{"statistic": k, "value": v} for k, v in stats.items()],
            ["statistic", "value"],
        )
    )
    return 0


def _cmd_quickstart(args: argparse.Namespace) -> int:
    from dyngraph.quickstart import run_quickstart

    report = run_quickstart(
        Path(args.output), seed=args.seed, root=args.root, models=not args.no_models
    )
    print(f"\nwrote {len(report['files'])} files to {args.output}/")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of the ``dyngraph`` command."""
    parser = argparse.ArgumentParser(
        prog="dyngraph",
        description="Learning on temporal graphs and dynamical systems.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    ds = sub.add_parser(
        "datasets", help="list, describe, download and summarise datasets"
    )
    ds.add_argument("action", choices=["list", "info", "download", "stats"])
    ds.add_argument(
        "name", nargs="?", help="dataset name (see 'dyngraph datasets list')"
    )
    ds.add_argument(
        "--root",
        help="data root (default: $DYNGRAPH_DATA, ./data in a checkout, user cache)",
    )
    ds.add_argument(
        "--url", help="download from this URL instead of the upstream one (a mirror)"
    )
    ds.set_defaults(func=_cmd_datasets)

    qs = sub.add_parser(
        "quickstart", help="a tour on generated data (and real data if cached)"
    )
    qs.add_argument(
        "--output",
        default="quickstart-output",
        help="folder for plots and the summary (default: quickstart-output)",
    )
    qs.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    qs.add_argument("--root", help="data root to look for cached real datasets")
    qs.add_argument(
        "--no-models",
        action="store_true",
        help="only the data tour: skip fitting the small PiVeM and SEMBA",
    )
    qs.set_defaults(func=_cmd_quickstart)

    fit = sub.add_parser("fit", help="fit a model family from its recipe (models/)")
    families = fit.add_subparsers(dest="family", required=True, metavar="FAMILY")
    from dyngraph.models.pivem_cli import add_fit_parser as add_pivem_parser
    from dyngraph.models.semba_cli import add_fit_parser as add_semba_parser

    add_pivem_parser(families)
    add_semba_parser(families)

    from dyngraph.sparsify.cli import add_parser as add_sparsify_parser

    add_sparsify_parser(sub)

    from dyngraph.discovery.cli import add_parser as add_discover_parser

    add_discover_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``dyngraph`` command; return its exit status."""
    from dyngraph.data.datasets import DatasetError

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (DatasetError, OSError, ValueError, KeyError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"dyngraph: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
