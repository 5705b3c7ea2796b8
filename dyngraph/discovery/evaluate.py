r"""Discover the equations of a named system, a registered series or a CSV file.

:func:`discover` is what ``dyngraph discover`` runs: it simulates a built-in
system (:func:`dyngraph.systems.get_system`) or loads observed data, fits
:math:`\dot x = \Theta(x)\Xi` with :func:`~dyngraph.discovery.fit_sindy`, and,
when the true equations are known, scores the recovered coefficients
(:func:`~dyngraph.discovery.coefficient_error`,
:func:`~dyngraph.discovery.support_f1`). The command prints the
:class:`DiscoveryReport`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dyngraph.discovery.recipe import DEFAULTS

__all__ = ["DiscoveryReport", "discover"]


@dataclass
class DiscoveryReport:
    """What :func:`discover` found.

    Attributes
    ----------
    model : pysindy.SINDy
        The fitted model (``.equations()``, ``.coefficients()``,
        ``.simulate(...)``).
    names : list of str
        State names, one per equation.
    data : str
        Where the data came from, with its size.
    coefficient_error, support_f1 : float or None
        Recovery of the true coefficients (``None`` when they are unknown).
    """

    model: Any
    names: list[str]
    data: str
    coefficient_error: float | None = None
    support_f1: float | None = None

    def equations(self, precision: int = 4) -> list[str]:
        """Return one ``(name)' = ...`` line per state."""
        rhs = self.model.equations(precision)
        return [f"({n})' = {eq}" for n, eq in zip(self.names, rhs, strict=True)]


def discover(
    name: str | None = None,
    *,
    file: str | Path | None = None,
    dt: float | None = None,
    degree: int = DEFAULTS.degree,
    include_bias: bool = DEFAULTS.include_bias,
    threshold: float = DEFAULTS.threshold,
    smooth: int | None = DEFAULTS.smooth,
    noise: float = DEFAULTS.noise,
    t_end: float = DEFAULTS.t_end,
    step: float = DEFAULTS.step,
    seed: int = DEFAULTS.seed,
    root: str | Path | None = None,
    url: str | None = None,
) -> DiscoveryReport:
    """Fit a sparse ODE to a named system, a registered series or a CSV file.

    Parameters
    ----------
    name : str, optional
        A built-in system (simulated here; see
        :func:`dyngraph.systems.list_systems`) or a registered series
        (``dyngraph.data.list_datasets("series")``). Give ``name`` or
        ``file``, not both.
    file : str or pathlib.Path, optional
        A CSV file with a header, one column per state and optionally a
        ``t``/``time``/``year`` column (:func:`dyngraph.data.read_series`).
    dt : float, optional
        Time step of a ``file`` without a time column. Without ``dt`` such
        a file's rows are taken one time unit apart, and
        :attr:`DiscoveryReport.data` says ``dt = 1 assumed``. A file with a
        time column takes its times from it, so ``dt`` is refused there.
    degree : int
        Degree of the polynomial library (default: ``2``).
    include_bias : bool
        Include the constant term (default: ``True``).
    threshold : float
        STLSQ threshold (default: ``0.1``).
    smooth : int, optional
        Savitzky-Golay window of smoothed finite differences (default: plain
        finite differences).
    noise : float
        Relative measurement noise of simulated systems (default: ``0``).
    t_end, step : float
        Span and sample step of simulated systems (default: ``10``,
        ``0.002``).
    seed : int
        Seed of the simulated noise (default: ``0``).
    root : str or pathlib.Path, optional
        Data root for registered series.
    url : str, optional
        Download the series from this URL (a mirror; checked).

    Returns
    -------
    DiscoveryReport

    Raises
    ------
    ValueError
        When neither or both of ``name`` and ``file`` are given, when
        ``dt`` is given with a name or with a file that has a time column,
        or when ``dt`` is not a positive finite number.
    KeyError
        For an unknown name.
    dyngraph.data.MalformedFileError
        For a ``file`` that :func:`dyngraph.data.read_series` refuses.
    """
    import pysindy as ps

    from dyngraph.data.datasets import list_datasets
    from dyngraph.discovery.sindy import (
        coefficient_error,
        fit_sindy,
        support_f1,
        true_coefficients,
    )
    from dyngraph.systems.datasets import load_series, read_series
    from dyngraph.systems.odes import get_system
    from dyngraph.systems.simulate import simulate

    if (name is None) == (file is None):
        raise ValueError("dyngraph discover: give either a NAME or --file, not both")
    if dt is not None:
        if file is None:
            raise ValueError(
                "dyngraph discover: --dt applies to --file only; a named system "
                "or dataset has its own times (use --step for simulated ones)"
            )
        if not (np.isfinite(dt) and dt > 0):
            raise ValueError(f"dyngraph discover: --dt must be positive, got {dt!r}")
    library = ps.PolynomialLibrary(degree=degree, include_bias=include_bias)
    diff = (
        ps.SmoothedFiniteDifference(
            smoother_kws={"window_length": smooth, "polyorder": 2}
        )
        if smooth
        else None
    )
    truth = None
    if file is not None or name in list_datasets("series"):
        series = (
            read_series(file) if file is not None else load_series(name, url, root=root)
        )
        t: Any = series.t
        data, names = series.x, list(series.names)
        times = ""
        if file is not None and series.time_column is not None and dt is not None:
            raise ValueError(
                f"dyngraph discover: --dt {dt:g} conflicts with the time column "
                f"{series.time_column!r} of {file}; drop --dt to use the column, "
                "or remove the column to use --dt"
            )
        if file is not None and series.time_column is None:
            t = 1.0 if dt is None else float(dt)
            times = (
                "; no time column, dt = 1 assumed (pass --dt)"
                if dt is None
                else f"; no time column, dt = {dt:g}"
            )
        where = f"{series.source} ({series.x.shape[0]} samples, states {names}{times})"
    else:
        system = get_system(name)
        grid = np.arange(0.0, t_end, step)
        data = simulate(system, grid, noise=noise, seed=seed)
        t, names = None, list(system.state_names)
        where = (
            f"simulated {system.name} ({system.description}) with "
            f"{len(grid)} samples, noise {noise:g}"
        )
        truth = system if system.terms is not None else None
    model = fit_sindy(
        data,
        t,
        feature_library=library,
        optimizer=ps.STLSQ(threshold=threshold),
        differentiation_method=diff,
        feature_names=names,
    )
    report = DiscoveryReport(model, names, where)
    # forced Duffing has a time-dependent term no polynomial library holds
    if truth is not None and not (truth.name == "duffing" and truth.params["gamma"]):
        true = true_coefficients(truth, model.get_feature_names())
        report.coefficient_error = coefficient_error(true, model.coefficients())
        report.support_f1 = support_f1(true, model.coefficients())
    return report
