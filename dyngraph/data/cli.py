"""The ``dyngraph datasets`` command: list, describe, download and summarise."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from dyngraph.console import table

__all__ = ["add_parsers"]


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
                    "events/edges/samples": meta.num_events
                    or meta.num_edges
                    or meta.num_samples,
                    "check": _check_kind(meta),
                    "downloaded": "yes"
                    if datasets.is_downloaded(name, root=root)
                    else "",
                }
            )
        print(table(rows, list(rows[0])))
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
        table(
            [{"statistic": k, "value": v} for k, v in stats.items()],
            ["statistic", "value"],
        )
    )
    return 0


def add_parsers(commands: Any, fit: Any) -> None:
    """Add ``datasets`` to the ``dyngraph`` commands; ``fit`` is unused."""
    ds = commands.add_parser(
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
