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

import numpy as np

from dyngraph.data.datasets import list_datasets
from dyngraph.systems.datasets import load_series, read_series
from dyngraph.systems.odes import get_system, list_systems
from dyngraph.systems.simulate import simulate

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
            "t/time/year column."
        ),
    )
    parser.add_argument("name", nargs="?", help="system or dataset name")
    parser.add_argument("--file", help="CSV file of observed states")
    parser.add_argument(
        "--dt", type=float, help="time step when the file has no time column"
    )
    parser.add_argument(
        "--degree", type=int, default=2, help="polynomial library degree (default: 2)"
    )
    parser.add_argument(
        "--no-bias", action="store_true", help="leave the constant term out"
    )
    parser.add_argument(
        "--threshold", type=float, default=0.1, help="STLSQ threshold (default: 0.1)"
    )
    parser.add_argument(
        "--smooth",
        type=int,
        help="Savitzky-Golay window for smoothed derivatives (default: none)",
    )
    parser.add_argument(
        "--noise",
        type=float,
        default=0.0,
        help="relative measurement noise for simulated systems (default: 0)",
    )
    parser.add_argument(
        "--t-end", type=float, default=10.0, help="simulated time span (default: 10)"
    )
    parser.add_argument(
        "--step",
        type=float,
        default=0.002,
        help="simulated sample step (default: 0.002)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--root", help="data root for downloaded datasets")
    parser.add_argument("--url", help="download the dataset from this URL (a mirror)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Execute ``dyngraph discover``; returns the exit status."""
    import pysindy as ps

    from dyngraph.discovery.sindy import (
        coefficient_error,
        fit_sindy,
        support_f1,
        true_coefficients,
    )

    if (args.name is None) == (args.file is None):
        raise ValueError("dyngraph discover: give either a NAME or --file, not both")
    library = ps.PolynomialLibrary(degree=args.degree, include_bias=not args.no_bias)
    diff = (
        ps.SmoothedFiniteDifference(
            smoother_kws={"window_length": args.smooth, "polyorder": 2}
        )
        if args.smooth
        else None
    )
    truth = None
    if args.file is not None or args.name in list_datasets("series"):
        series = (
            read_series(args.file)
            if args.file is not None
            else load_series(args.name, args.url, root=args.root)
        )
        t: Any = series.t
        if args.file is not None and args.dt is not None:
            t = args.dt
        data, names = series.x, list(series.names)
        print(f"data: {series.source} ({series.x.shape[0]} samples, states {names})")
    else:
        system = get_system(args.name)
        grid = np.arange(0.0, args.t_end, args.step)
        sim = simulate(system, grid, noise=args.noise, seed=args.seed)
        data, t, names = sim, None, list(system.state_names)
        print(
            f"simulated {system.name} ({system.description}) with "
            f"{len(grid)} samples, noise {args.noise:g}"
        )
        truth = system if system.terms is not None else None
    model = fit_sindy(
        data,
        t,
        feature_library=library,
        optimizer=ps.STLSQ(threshold=args.threshold),
        differentiation_method=diff,
        feature_names=names,
    )
    print(
        "\n".join(
            f"({n})' = {eq}" for n, eq in zip(names, model.equations(4), strict=True)
        )
    )
    if truth is not None and not (truth.name == "duffing" and truth.params["gamma"]):
        true = true_coefficients(truth, model.get_feature_names())
        print(
            f"coefficient error {coefficient_error(true, model.coefficients()):.3g}, "
            f"support F1 {support_f1(true, model.coefficients()):.3f}"
        )
    return 0
