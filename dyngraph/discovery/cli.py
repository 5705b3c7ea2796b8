"""The ``dyngraph discover`` subcommand: equations from a named system or a file.

:mod:`dyngraph.registry` lists this package; ``dyngraph`` calls
:func:`add_parsers`.

Examples::

    dyngraph discover lorenz --noise 0.01
    dyngraph discover lynx-hare --smooth 7 --no-bias
    dyngraph discover --file data.csv --dt 0.1
"""

from __future__ import annotations

import argparse
from typing import Any

from dyngraph.data.datasets import list_datasets
from dyngraph.discovery.recipe import DEFAULTS
from dyngraph.systems.odes import list_systems

__all__ = ["add_parsers", "run"]


def add_parsers(commands: Any, fit: Any) -> None:
    """Add ``discover`` to the ``dyngraph`` commands; ``fit`` is unused."""
    parser = commands.add_parser(
        "discover",
        help="discover equations (SINDy) from a named system, a dataset or a CSV file",
        description=(
            "Fit a sparse ODE with pysindy and print it. NAME is a built-in "
            f"system ({', '.join(list_systems())}), simulated here, or a "
            f"dataset ({', '.join(list_datasets('series'))}); --file reads a "
            "CSV with a header, one column per state and optionally a "
            "t/time/year column ('#' lines are comments)."
        ),
    )
    d = DEFAULTS
    parser.add_argument("name", nargs="?", help="system or dataset name")
    parser.add_argument("--file", help="CSV file of observed states")
    parser.add_argument(
        "--dt",
        type=float,
        help=(
            "time step of a --file without a time column (default: 1, said in "
            "the output); refused when the file has a t/time/year column"
        ),
    )
    parser.add_argument(
        "--degree",
        type=int,
        default=d.degree,
        help=f"polynomial library degree (default: {d.degree})",
    )
    parser.add_argument(
        "--no-bias",
        action="store_true",
        default=not d.include_bias,
        help="leave the constant term out",
    )
    parser.add_argument(
        "--threshold",
        type=_threshold,
        default=d.threshold,
        help=(
            "STLSQ threshold, or 'auto' for the relative threshold path chosen "
            f"per equation (default: {d.threshold})"
        ),
    )
    form = parser.add_mutually_exclusive_group()
    form.add_argument(
        "--weak",
        dest="weak",
        action="store_const",
        const=True,
        default=d.weak,
        help="force the weak (integral) form",
    )
    form.add_argument(
        "--finite-differences",
        dest="weak",
        action="store_const",
        const=False,
        help="force finite-difference derivatives (default: the weak form when "
        "every test-function subdomain holds at least 20 samples)",
    )
    parser.add_argument(
        "--no-compare",
        action="store_true",
        help="observed data: fit one library instead of comparing candidates",
    )
    parser.add_argument(
        "--smooth",
        type=int,
        default=d.smooth,
        help="Savitzky-Golay window for smoothed derivatives (default: none)",
    )
    parser.add_argument(
        "--noise",
        type=float,
        default=d.noise,
        help=f"relative measurement noise for simulated systems (default: {d.noise:g})",
    )
    parser.add_argument(
        "--t-end",
        type=float,
        default=d.t_end,
        help=f"simulated time span (default: {d.t_end:g})",
    )
    parser.add_argument(
        "--step",
        type=float,
        default=d.step,
        help=f"simulated sample step (default: {d.step:g})",
    )
    parser.add_argument(
        "--seed", type=int, default=d.seed, help=f"random seed (default: {d.seed})"
    )
    parser.add_argument("--root", help="data root for downloaded datasets")
    parser.add_argument("--url", help="download the dataset from this URL (a mirror)")
    parser.set_defaults(func=run)


def _threshold(text: str) -> float | str:
    if text == "auto":
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a number or 'auto', got {text!r}"
        ) from None


def run(args: argparse.Namespace) -> int:
    """Execute ``dyngraph discover``; returns the exit status."""
    from dyngraph.discovery.evaluate import discover

    report = discover(
        args.name,
        file=args.file,
        dt=args.dt,
        degree=args.degree,
        include_bias=not args.no_bias,
        threshold=args.threshold,
        weak=args.weak,
        compare=not args.no_compare,
        smooth=args.smooth,
        noise=args.noise,
        t_end=args.t_end,
        step=args.step,
        seed=args.seed,
        root=args.root,
        url=args.url,
    )
    print(f"data: {report.data}")
    print(f"derivatives: {report.form}")
    print(f"sparsity: {report.selection}")
    if report.candidates:
        from dyngraph.discovery.evaluate import best

        chosen = best(report.candidates)
        print(f"candidates compared ({report.criterion}):")
        width = max(len(c.name) for c in report.candidates)
        print(f"  {'library, criterion':{width}s}  terms  rollout error / data spread")
        for c in report.candidates:
            mark = "  <- chosen" if c is chosen else ""
            print(f"  {c.name:{width}s}  {c.terms:5d}  {c.rollout_error:.3g}{mark}")
        print(f"chosen: {chosen.name}")
    print("\n".join(report.equations(4)))
    if report.coefficient_error is not None:
        print(
            f"coefficient error {report.coefficient_error:.3g}, "
            f"support F1 {report.support_f1:.3f}"
        )
    return 0
