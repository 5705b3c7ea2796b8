"""The ``dyngraph`` command line.

The commands come from the packages of :mod:`dyngraph.registry`, one line per
family; ``quickstart`` and the ``fit`` group are defined here.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from dyngraph.registry import command_modules

__all__ = ["build_parser", "main"]


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
    commands = parser.add_subparsers(dest="command", required=True)
    qs = commands.add_parser(
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
        help="only the data tour: skip fitting the small models",
    )
    qs.set_defaults(func=_cmd_quickstart)
    fit = commands.add_parser(
        "fit", help="fit a model family (defaults in code, --recipe FILE overrides)"
    )
    families = fit.add_subparsers(dest="family", required=True, metavar="FAMILY")
    for module in command_modules():
        module.add_parsers(commands, families)
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
