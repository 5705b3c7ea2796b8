r"""Sparse identification of single systems: a thin layer over pysindy.

SINDy (Brunton, Proctor & Kutz 2016) regresses estimated derivatives on a
library of candidate functions and keeps few of them:

.. math::
    \dot X \approx \Theta(X)\,\Xi, \qquad \Xi \text{ sparse},

with :math:`X \in \mathbb R^{m\times d}` the stacked samples,
:math:`\Theta(X) \in \mathbb R^{m\times p}` the library and
:math:`\Xi \in \mathbb R^{p\times d}` one column of coefficients per state.
:func:`fit_sindy` hands pysindy its libraries, optimisers and
differentiation objects unchanged; what it adds is input handling (our
:class:`~dyngraph.systems.Simulation` and
:class:`~dyngraph.systems.TimeSeries`, tensors, several trajectories), input
validation with clear messages, and the recovery metrics shared by the
discovery modules: :func:`coefficient_error`, :func:`support_f1` and the
ground truth of the polynomial ODE families, :func:`true_coefficients`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pysindy as ps
import torch

from dyngraph.discovery.selection import PathSTLSQ
from dyngraph.metrics import f1_scores
from dyngraph.systems.datasets import TimeSeries
from dyngraph.systems.odes import ODESystem, get_system
from dyngraph.systems.simulate import Simulation

__all__ = [
    "as_trajectories",
    "choose_form",
    "coefficient_error",
    "fit_sindy",
    "support_f1",
    "true_coefficients",
]

Times = float | np.ndarray | list[np.ndarray]


def _array(value: Any) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float64)


def as_trajectories(
    data: Any, t: Any = None, *, min_samples: int = 3
) -> tuple[list[np.ndarray], Times, list[str] | None]:
    """Normalise trajectories to pysindy's layout and validate them.

    Parameters
    ----------
    data : Simulation, TimeSeries, array, tensor or list of them
        A :class:`~dyngraph.systems.Simulation` (all its ``E * B``
        trajectories, states flattened), a
        :class:`~dyngraph.systems.TimeSeries`, an array ``[T, d]`` (one
        trajectory), ``[B, T, d]`` (several), or a list of ``[T, d]`` arrays.
    t : float, array or list of arrays, optional
        Time step, shared times ``[T]`` or one time array per trajectory;
        required unless ``data`` carries its times.
    min_samples : int
        Fewest samples accepted per trajectory (default: ``3``, what
        second-order finite differences need).

    Returns
    -------
    trajectories : list of numpy.ndarray
        ``[T_k, d]`` arrays.
    t : float, numpy.ndarray or list of numpy.ndarray
        The times, as pysindy takes them.
    names : list of str or None
        State names carried by ``data``.

    Raises
    ------
    ValueError
        For missing times, NaN or inf, too few samples or mismatched shapes.
    """
    names = None
    if isinstance(data, Simulation):
        trajs = [x.reshape(x.shape[0], -1) for x in data.trajectories()]
        t = data.t.detach().cpu().numpy() if t is None else t
        if len(data.x.shape) == 4:
            names = list(data.state_names)
    elif isinstance(data, TimeSeries):
        trajs, names = [data.x], list(data.names)
        t = data.t if t is None else t
    elif isinstance(data, list | tuple):
        trajs = [_array(x) for x in data]
    else:
        arr = _array(data)
        trajs = list(arr) if arr.ndim == 3 else [arr]
    if t is None:
        raise ValueError(
            "`t` is required: pass the time step (float) or the sample times"
        )
    for k, x in enumerate(trajs):
        if x.ndim == 1:
            trajs[k] = x = x[:, None]
        if x.ndim != 2:
            raise ValueError(
                f"trajectory {k} has shape {list(x.shape)}; each must be [T, d]"
            )
        if x.shape[1] != trajs[0].shape[1]:
            raise ValueError(
                f"trajectory {k} has {x.shape[1]} states but trajectory 0 has "
                f"{trajs[0].shape[1]}; all must have the same number"
            )
        if x.shape[0] < min_samples:
            raise ValueError(
                f"trajectory {k} has {x.shape[0]} samples; at least "
                f"{min_samples} are needed to estimate derivatives"
            )
        if not np.isfinite(x).all():
            raise ValueError(
                f"trajectory {k} has {int((~np.isfinite(x)).sum())} NaN or inf "
                "value(s); drop or interpolate them first"
            )
    times = _times(t, trajs)
    return trajs, times, names


def _times(t: Any, trajs: list[np.ndarray]) -> Times:
    if isinstance(t, int | float) and not isinstance(t, bool):
        if not t > 0:
            raise ValueError(f"the time step must be positive, got {t}")
        return float(t)
    per_traj = list(t) if isinstance(t, list | tuple) else [_array(t)] * len(trajs)
    if len(per_traj) != len(trajs):
        raise ValueError(
            f"got {len(per_traj)} time arrays for {len(trajs)} trajectories"
        )
    out = []
    for k, (tk, x) in enumerate(zip(per_traj, trajs, strict=True)):
        tk = _array(tk)
        if tk.shape != (x.shape[0],):
            raise ValueError(
                f"trajectory {k} has {x.shape[0]} samples but its times have "
                f"shape {list(tk.shape)}; pass one time per sample"
            )
        if not np.isfinite(tk).all() or np.any(np.diff(tk) <= 0):
            raise ValueError(f"the times of trajectory {k} must increase strictly")
        out.append(tk)
    return out if isinstance(t, list | tuple) else out[0]


WEAK_MIN_SAMPLES = 20
"""Fewest samples per test-function subdomain for the automatic weak form."""


@contextmanager
def _numpy_seed(seed: int) -> Iterator[None]:
    """Seed NumPy's global generator for a block and restore it afterwards.

    pysindy draws the weak-form subdomain centres (and ensemble subsamples)
    from ``np.random`` without a seed argument; this makes them a function
    of ``seed`` without leaving the caller's global state changed.
    """
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


class _Fixed(ps.BaseOptimizer):
    """An optimiser that returns given coefficients (to build a strong twin)."""

    def __init__(self, coef: np.ndarray) -> None:
        super().__init__(unbias=False)
        self.coef = coef

    def _reduce(self, x: np.ndarray, y: np.ndarray) -> None:
        self.coef_ = np.array(self.coef, dtype=np.float64)


def _shared_grid(trajs: list[np.ndarray], times: Times) -> np.ndarray | None:
    """Return the uniform time grid all trajectories share, else ``None``."""
    lengths = {x.shape[0] for x in trajs}
    if len(lengths) != 1:
        return None
    n = lengths.pop()
    if isinstance(times, float):
        return np.arange(n) * times
    grids = times if isinstance(times, list) else [times]
    if any(not np.array_equal(g, grids[0]) for g in grids):
        return None
    steps = np.diff(grids[0])
    if not np.allclose(steps, steps.mean(), rtol=1e-6, atol=0):
        return None
    return np.asarray(grids[0], dtype=np.float64)


def choose_form(
    data: Any,
    t: Any = None,
    *,
    n_subdomains: int = 100,
    differentiation_method: Any = None,
) -> tuple[bool, str]:
    r"""Choose between the weak form and finite differences, and say why.

    The weak (integral) form is used when the data allow it: one uniform
    time grid shared by every trajectory, no derivative estimator asked for,
    and at least :data:`WEAK_MIN_SAMPLES` samples in each test-function
    subdomain (pysindy's subdomains span a tenth of the record, so at least
    :math:`10\cdot` ``WEAK_MIN_SAMPLES`` samples). Integrating against test
    functions never differentiates the data, so it is far less sensitive to
    noise than finite differences, and on densely sampled clean data it is
    also more accurate (``benchmarks/discovery.py``: every noise level of
    the dysts benchmark). Finite differences are kept for short or irregular
    records, where the integrals would be too coarse.

    Returns
    -------
    weak : bool
    reason : str
        The rule as it applied, for printing.
    """
    trajs, times, _ = as_trajectories(data, t)
    if differentiation_method is not None:
        return False, "finite differences: a derivative estimator was given"
    grid = _shared_grid(trajs, times)
    if grid is None:
        return False, (
            "finite differences: the trajectories do not share one uniform time "
            "grid, which the weak form needs"
        )
    per = grid.size / 10
    if per < WEAK_MIN_SAMPLES:
        return False, (
            f"finite differences: {grid.size} samples give {per:.0f} per weak-form "
            f"subdomain, fewer than {WEAK_MIN_SAMPLES}"
        )
    return True, (
        f"weak form: {n_subdomains} test-function subdomains of about "
        f"{per:.0f} samples each (at least {WEAK_MIN_SAMPLES} needed)"
    )


def fit_sindy(
    data: Any,
    t: Any = None,
    *,
    optimizer: ps.BaseOptimizer | None = None,
    feature_library: ps.BaseFeatureLibrary | None = None,
    differentiation_method: Any = None,
    feature_names: Sequence[str] | None = None,
    threshold: float | str = "auto",
    weak: bool | None = None,
    n_subdomains: int = 100,
    seed: int = 0,
) -> ps.SINDy:
    r"""Fit a pysindy model :math:`\dot x = \Theta(x)\Xi` to one or more trajectories.

    Two formulations:

    * finite differences (strong form): regress estimated derivatives
      :math:`\dot X` on :math:`\Theta(X)`;
    * weak form: for test functions :math:`\phi_k` supported on random
      subdomains :math:`[a_k, b_k]`, regress
      :math:`-\int\dot\phi_k\,x\,dt` on :math:`\int\phi_k\,\Theta(x)\,dt`
      (integration by parts; pysindy's ``WeakPDELibrary``), so the data are
      never differentiated.

    The subdomains are drawn from NumPy's generator seeded with ``seed``
    inside the call (the global state is restored), so the same call gives
    the same coefficients. Weak-form fits are returned as a strong-form
    pysindy model with the same function library and coefficients, so
    ``predict`` and ``simulate`` work in both cases.

    Parameters
    ----------
    data, t
        Trajectories and times, as in :func:`as_trajectories`.
    optimizer : pysindy optimiser, optional
        Sparse regression; overrides ``threshold``.
    feature_library : pysindy library, optional
        Candidate terms (default: ``PolynomialLibrary(degree=2)``). A
        ``WeakPDELibrary`` selects the weak form and is re-seeded.
    differentiation_method : pysindy differentiation, optional
        Derivative estimator; giving one selects finite differences
        (default: second-order finite differences when the strong form is
        used).
    feature_names : sequence of str, optional
        State names in the printed equations (default: the names carried by
        ``data``, else ``x0, x1, ...``).
    threshold : float or "auto"
        ``"auto"`` (default): :class:`~dyngraph.discovery.selection.PathSTLSQ`,
        a path of thresholds relative to each equation's coefficient scale,
        the support chosen by its e-fold criterion; a number: a fixed
        ``STLSQ(threshold)``.
    weak : bool, optional
        Force the weak form (``True``) or finite differences (``False``)
        (default: :func:`choose_form` decides).
    n_subdomains : int
        Weak-form test functions (default: ``100``).
    seed : int
        Seed of the subdomain placement and of any randomised optimiser that
        draws from ``np.random`` (default: ``0``).

    Returns
    -------
    pysindy.SINDy
        The fitted model: ``model.print()``, ``model.equations()``,
        ``model.coefficients()``, ``model.simulate(...)``. ``model.discovery_``
        records ``form`` (``"weak"`` or ``"finite differences"``),
        ``reason``, ``selection`` and, with the automatic threshold, the
        fitted ``PathSTLSQ`` as ``model.optimizer``.

    Raises
    ------
    ValueError
        For bad trajectories (see :func:`as_trajectories`), fewer samples
        than library terms, both ``optimizer`` and a numeric ``threshold``,
        or a weak form the data cannot have.
    """
    trajs, times, names = as_trajectories(data, t)
    names = list(feature_names) if feature_names is not None else names
    if names is not None and len(names) != trajs[0].shape[1]:
        raise ValueError(
            f"got {len(names)} feature names for {trajs[0].shape[1]} states"
        )
    if optimizer is not None and threshold != "auto":
        raise ValueError("give either `optimizer` or a numeric `threshold`, not both")
    if isinstance(threshold, str) and threshold != "auto":
        raise ValueError(f"`threshold` must be a number or 'auto', got {threshold!r}")
    if not isinstance(threshold, str) and not (
        np.isfinite(threshold) and threshold >= 0
    ):
        raise ValueError(f"`threshold` must be non-negative, got {threshold!r}")
    if n_subdomains < 1:
        raise ValueError(f"`n_subdomains` must be positive, got {n_subdomains}")
    given_weak = isinstance(feature_library, ps.WeakPDELibrary)
    library = copy.deepcopy(feature_library or ps.PolynomialLibrary(degree=2))
    if given_weak:
        weak, reason = True, "weak form: a WeakPDELibrary was given"
    elif weak is None:
        weak, reason = choose_form(
            trajs,
            times,
            n_subdomains=n_subdomains,
            differentiation_method=differentiation_method,
        )
    elif weak:
        if differentiation_method is not None:
            raise ValueError(
                "`weak=True` integrates instead of differentiating: drop "
                "`differentiation_method`"
            )
        reason = "weak form: asked for (weak=True)"
    else:
        reason = "finite differences: asked for (weak=False)"
    grid = _shared_grid(trajs, times) if weak else None
    if weak and grid is None:
        raise ValueError(
            "the weak form needs every trajectory on one uniform time grid; "
            "pass weak=False for finite differences"
        )
    function_library = library.function_library if given_weak else library
    n_terms = copy.deepcopy(function_library).fit([trajs[0]]).n_output_features_
    n_samples = sum(x.shape[0] for x in trajs)
    if n_samples <= n_terms:
        raise ValueError(
            f"too few samples: {n_samples} in all for {n_terms} library terms; "
            "give more or longer trajectories, or a smaller library"
        )
    if isinstance(optimizer, PathSTLSQ):
        opt = optimizer
        selection = (
            f"automatic: relative threshold path, {optimizer.criterion} criterion"
        )
    elif optimizer is not None:
        opt, selection = optimizer, f"given optimizer {type(optimizer).__name__}"
    elif threshold == "auto":
        opt = PathSTLSQ()
        selection = "automatic: relative threshold path, e-fold criterion"
    else:
        opt = ps.STLSQ(threshold=float(threshold))
        selection = f"fixed STLSQ threshold {float(threshold):g}"
    many = len(trajs) > 1
    x_in = trajs if many else trajs[0]
    with _numpy_seed(seed):
        if weak:
            if given_weak:  # rebuilt: its subdomains were drawn unseeded
                keep = ("function_library", "derivative_order", "include_bias")
                keep += ("include_interaction", "K", "H_xt", "p", "implicit_terms")
                keep += ("differentiation_method", "diff_kwargs")
                params = {k: getattr(library, k) for k in keep}
                library = ps.WeakPDELibrary(**params, spatiotemporal_grid=grid)
            else:
                library = ps.WeakPDELibrary(
                    function_library=library, spatiotemporal_grid=grid, K=n_subdomains
                )
        model = ps.SINDy(
            optimizer=opt,
            feature_library=library,
            differentiation_method=differentiation_method,
        )
        model.fit(x_in, t=grid if weak else times, feature_names=names)
    if weak:
        model = _strong_twin(model, function_library, trajs[0], names)
    model.discovery_ = {
        "form": "weak" if weak else "finite differences",
        "reason": reason,
        "selection": selection,
        "seed": seed,
    }
    return model


def _strong_twin(
    weak_model: ps.SINDy,
    function_library: ps.BaseFeatureLibrary,
    x: np.ndarray,
    names: list[str] | None,
) -> ps.SINDy:
    """Return a strong-form model with the weak fit's coefficients (``simulate``)."""
    fitted = weak_model.optimizer
    twin = ps.SINDy(
        optimizer=_Fixed(weak_model.coefficients()),
        feature_library=copy.deepcopy(function_library),
    )
    head = x[: min(len(x), 3)]
    twin.fit(head, t=1.0, x_dot=np.zeros_like(head), feature_names=names)
    twin.optimizer = fitted
    return twin


def true_coefficients(
    system: str | ODESystem,
    feature_names: Sequence[str],
    state_names: Sequence[str] | None = None,
    params: dict[str, float] | None = None,
) -> np.ndarray:
    r"""Ground-truth :math:`\Xi^\top` of a polynomial family in a library's order.

    Parameters
    ----------
    system : str or ODESystem
        A polynomial family (see
        :meth:`~dyngraph.systems.ODESystem.polynomial_terms`).
    feature_names : sequence of str
        The library's terms as pysindy names them, e.g.
        ``model.get_feature_names()`` (``"1"``, ``"x"``, ``"x y"``,
        ``"x^2"``).
    state_names : sequence of str, optional
        The variable names used in ``feature_names`` (default: the system's).
    params : dict, optional
        Parameter overrides.

    Returns
    -------
    numpy.ndarray, shape ``[d, p]``
        As ``model.coefficients()``.

    Raises
    ------
    ValueError
        When a true term is missing from the library.
    """
    system = get_system(system)
    names = list(state_names or system.state_names)
    index = {_exponents(name, names): k for k, name in enumerate(feature_names)}
    out = np.zeros((system.dim, len(feature_names)))
    for row, terms in enumerate(system.polynomial_terms(params)):
        for powers, value in terms.items():
            if powers not in index:
                raise ValueError(
                    f"the library lacks a term of the true model ({powers} in "
                    f"{names}); enlarge it"
                )
            out[row, index[powers]] = value
    return out


def _exponents(feature: str, names: list[str]) -> tuple[int, ...] | str:
    """Exponents of a pysindy monomial name such as ``"x^2 y"``, else the name."""
    powers = [0] * len(names)
    if feature.strip() == "1":
        return tuple(powers)
    for factor in feature.split():
        base, _, exp = factor.partition("^")
        if base not in names or (exp and not exp.isdigit()):
            return feature
        powers[names.index(base)] += int(exp or 1)
    return tuple(powers)


def coefficient_error(true: Any, estimate: Any) -> float:
    r"""Normalised coefficient error.

    :math:`E = \lVert\Xi-\hat\Xi\rVert_F/\lVert\Xi\rVert_F`, as in
    Kaptanoglu et al. (2023). Shapes must match.
    """
    a, b = _array(true), _array(estimate)
    if a.shape != b.shape:
        raise ValueError(
            f"true coefficients have shape {list(a.shape)} but the estimate has "
            f"{list(b.shape)}; they must match"
        )
    norm = np.linalg.norm(a)
    if norm == 0:
        raise ValueError("the true coefficients are all zero; the error is undefined")
    return float(np.linalg.norm(a - b) / norm)


def support_f1(true: Any, estimate: Any, tol: float = 0.0) -> float:
    r"""F1 score of the recovered support.

    The estimated support is
    :math:`\{(k, j): |\hat\xi_{kj}| > \mathrm{tol}\}`, the true support
    the set of non-zero true coefficients; the score is the F1 of the
    positive class on the flattened masks (:func:`dyngraph.metrics.f1_scores`),
    ``1.0`` for exact recovery.
    """
    a, b = _array(true), _array(estimate)
    if a.shape != b.shape:
        raise ValueError(
            f"true coefficients have shape {list(a.shape)} but the estimate has "
            f"{list(b.shape)}; they must match"
        )
    mask_true = (a != 0).ravel().astype(int)
    mask_est = (np.abs(b) > tol).ravel().astype(int)
    return float(f1_scores(mask_true, mask_est, labels=[0, 1])["per_class"][1])
