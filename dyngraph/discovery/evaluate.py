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

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dyngraph.discovery.recipe import DEFAULTS

__all__ = [
    "CRITERION",
    "Candidate",
    "DiscoveryReport",
    "best",
    "compare_models",
    "discover",
    "rollout",
    "rollout_error",
]


CRITERION = (
    "smallest rollout error: the model is integrated from the first sample over "
    "the record and compared with the data, RMSE per state divided by that "
    "state's standard deviation, averaged over states (1 is no better than the "
    "mean; a diverging model scores inf); ties go to fewer terms"
)


@dataclass
class Candidate:
    """One model compared by :func:`compare_models`.

    Attributes
    ----------
    name : str
        The library and criterion in words.
    model : pysindy.SINDy
        The fitted model.
    terms : int
        Non-zero coefficients.
    rollout_error : float
        :func:`rollout_error` against the data (``inf`` if it diverged).
    """

    name: str
    model: Any
    terms: int
    rollout_error: float


def rollout(model: Any, x0: np.ndarray, t: np.ndarray, bound: float) -> np.ndarray:
    """Integrate a fitted model from ``x0`` over ``t``; NaN after a blow-up.

    The integration (LSODA) stops once a state leaves ``[-bound, bound]``;
    the samples it did not reach are NaN.
    """
    from scipy.integrate import solve_ivp

    library = model.feature_library
    coef = model.coefficients()
    powers = getattr(library, "powers_", None)

    def rhs(_: float, x: np.ndarray) -> np.ndarray:
        if powers is not None:  # a polynomial library: monomials directly
            return coef @ np.prod(x[None, :] ** powers, axis=1)
        return (np.asarray(library.transform(x[None, :])) @ coef.T)[0]

    def escaped(_: float, x: np.ndarray) -> float:
        return bound - float(np.abs(x).max())

    escaped.terminal = True  # type: ignore[attr-defined]
    out = np.full((len(t), len(x0)), np.nan)
    with np.errstate(all="ignore"):
        sol = solve_ivp(
            rhs,
            (t[0], t[-1]),
            x0,
            t_eval=t,
            method="LSODA",
            events=escaped,
            rtol=1e-6,
            atol=1e-9,
        )
    out[: sol.y.shape[1]] = sol.y.T
    return out


def rollout_error(model: Any, x: np.ndarray, t: np.ndarray) -> float:
    r"""Rollout error against the data spread.

    :math:`\frac1d\sum_k \mathrm{RMSE}_k / \mathrm{std}(x_k)` of the model
    integrated from ``x[0]`` over ``t``; ``inf`` when it diverges (leaves
    ten times the data's largest magnitude).
    """
    sim = rollout(model, x[0], t, 10 * float(np.abs(x).max()))
    if not np.isfinite(sim).all():
        return float("inf")
    rmse = np.sqrt(np.mean((sim - x) ** 2, axis=0))
    return float(np.mean(rmse / np.maximum(x.std(axis=0), np.finfo(float).tiny)))


def compare_models(
    x: np.ndarray,
    t: Any,
    names: list[str],
    *,
    degree: int = DEFAULTS.degree,
    differentiation_method: Any = None,
    seed: int = DEFAULTS.seed,
) -> list[Candidate]:
    """Fit the candidate libraries to one observed series and score their rollouts.

    Candidates: polynomial libraries of ``degree`` with and without the
    constant, each in three shapes: all monomials, no cross terms (powers of
    single states only) and cross terms without powers (``interaction_only``:
    for degree 2, :math:`x, y, xy`, the Lotka-Volterra terms); each with the
    sparsity chosen by the e-fold rule and by AICc
    (:class:`~dyngraph.discovery.selection.PathSTLSQ`). Each is scored by
    :func:`rollout_error`; :func:`best` picks among them by
    :data:`CRITERION`.
    """
    import pysindy as ps

    from dyngraph.discovery.selection import PathSTLSQ
    from dyngraph.discovery.sindy import fit_sindy

    grid = np.arange(len(x)) * float(t) if np.isscalar(t) else np.asarray(t)
    out = []
    shapes = {
        "all monomials": {},
        "no cross terms": {"include_interaction": False},
        "cross terms, no powers": {"interaction_only": True},
    }
    for bias in (True, False):
        for shape, options in shapes.items():
            for criterion in ("efold", "aicc"):
                library = ps.PolynomialLibrary(
                    degree=degree, include_bias=bias, **options
                )
                model = fit_sindy(
                    x,
                    t,
                    feature_library=library,
                    optimizer=PathSTLSQ(criterion=criterion),
                    differentiation_method=differentiation_method,
                    feature_names=names,
                    seed=seed,
                )
                name = (
                    f"degree {degree}, {'constant' if bias else 'no constant'}, "
                    f"{shape}, {criterion}"
                )
                terms = int(np.count_nonzero(model.coefficients()))
                out.append(Candidate(name, model, terms, rollout_error(model, x, grid)))
    return out


def best(candidates: list[Candidate]) -> Candidate:
    r"""Return the candidate :data:`CRITERION` picks.

    Models with no terms (:math:`\dot x = 0`, the state frozen at ``x[0]``)
    are a reference, not a discovery: they are chosen only when every
    candidate is empty.
    """
    pool = [c for c in candidates if c.terms] or candidates
    return min(pool, key=lambda c: (c.rollout_error, c.terms))


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
    form : str
        How derivatives entered the fit and why (from
        :func:`~dyngraph.discovery.sindy.choose_form`).
    selection : str
        How the sparsity was chosen.
    candidates : list of Candidate
        For observed data, every library compared (empty otherwise).
    criterion : str
        How the chosen candidate was picked (empty without candidates).
    """

    model: Any
    names: list[str]
    data: str
    coefficient_error: float | None = None
    support_f1: float | None = None
    form: str = ""
    selection: str = ""
    candidates: list[Candidate] = field(default_factory=list)
    criterion: str = ""

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
    threshold: float | str = DEFAULTS.threshold,
    weak: bool | None = DEFAULTS.weak,
    compare: bool = DEFAULTS.compare,
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
    threshold : float or "auto"
        A fixed STLSQ threshold, or ``"auto"`` (default): the relative
        threshold path of :class:`~dyngraph.discovery.selection.PathSTLSQ`.
    weak : bool, optional
        Force the weak form or finite differences (default: the rule of
        :func:`~dyngraph.discovery.sindy.choose_form`).
    compare : bool
        For observed series, fit every candidate of :func:`compare_models`
        and keep the best by :data:`CRITERION` (default: ``True``); ignored
        when ``include_bias=False`` or a numeric ``threshold`` is given,
        which ask for one library.
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
        column = (
            f"time column {series.time_column!r}, "
            if series.time_column is not None
            else ""
        )
        where = (
            f"{series.source} ({series.x.shape[0]} samples, {column}"
            f"states {names}{times})"
        )
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
    if (
        truth is None
        and compare
        and include_bias
        and threshold == "auto"
        and weak is None
    ):
        candidates = compare_models(
            data, t, names, degree=degree, differentiation_method=diff, seed=seed
        )
        model = best(candidates).model
    else:
        candidates = []
        model = fit_sindy(
            data,
            t,
            feature_library=library,
            threshold=threshold,
            weak=weak,
            differentiation_method=diff,
            feature_names=names,
            seed=seed,
        )
    report = DiscoveryReport(
        model,
        names,
        where,
        form=model.discovery_["reason"],
        selection=model.discovery_["selection"],
        candidates=candidates,
        criterion=CRITERION if candidates else "",
    )
    # forced Duffing has a time-dependent term no polynomial library holds
    if truth is not None and not (truth.name == "duffing" and truth.params["gamma"]):
        true = true_coefficients(truth, model.get_feature_names())
        report.coefficient_error = coefficient_error(true, model.coefficients())
        report.support_f1 = support_f1(true, model.coefficients())
    return report
