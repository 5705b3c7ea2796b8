r"""Discover network dynamics :math:`\dot x_i = F(x_i) + \sum_j A_{ij} G(x_i, x_j)`.

Both unknown functions are expanded in candidate libraries,
:math:`F = \Phi(x_i)\,\xi_F` and :math:`G = \Psi(x_i, x_j)\,\xi_G`, shared by
all nodes. Every (time, node) pair gives one regression row

.. math::
    \dot x_i(t) \approx \Big[\ \Phi(x_i(t))\ ,\
    \textstyle\sum_j A_{ij}\,\Psi(x_i(t), x_j(t))\ \Big]
    \begin{bmatrix}\xi_F\\ \xi_G\end{bmatrix},

so the :math:`N` nodes pool their data into one sparse regression, solved by
any pysindy optimiser (the formulation of Gao & Yan 2022, phase one). The
coupling column is built edge-wise with :meth:`torch.Tensor.index_add`.

When the graph is unknown it is inferred in the weak form, so that noisy
data are never differentiated: with compactly supported test functions
:math:`\phi_k(t)` (polynomial bumps over sliding windows), integration by
parts turns each node equation into

.. math::
    -\int \dot\phi_k\, x_i\, dt = \int \phi_k\,\Phi(x_i)\,dt\ \xi_F
    + \sum_j A_{ij} \int \phi_k\,\Psi(x_i, x_j)\,dt\ \xi_G .

1. *Screening.* Node :math:`i` is regressed on its own terms and on the pair
   terms of every candidate source :math:`j` by ridge regression (columns
   scaled to unit RMS, ridge weight chosen by generalised cross-validation).
   Thresholded or plain least-squares coefficients are useless here: once
   the oscillators synchronise, the candidate columns are nearly collinear
   and noise drives their coefficients to large, arbitrary values. The
   screening score is the RMS of source :math:`j`'s fitted contribution.
2. *Shared coupling.* One pooled ridge regression over all nodes, with the
   screening scores as edge weights, estimates the shared :math:`\xi_G`,
   which turns each candidate pair into a single column
   :math:`g_{ij}(t) = \Psi(x_i, x_j)\,\xi_G`.
3. *Edge weights.* Node :math:`i` is regressed (ridge, GCV) on its own terms
   and on :math:`g_{ij}` for all :math:`j`; the coefficient is the estimate
   :math:`\hat A_{ij}` and the edge score :math:`s_{ij}`, ranked by
   ROC-AUC against a known graph (:func:`edge_auc`).

The graph is the set of positive scores above the threshold that splits the
scores into two groups with the largest between-group variance (Otsu), and
the shared :math:`F, G` are refitted on it.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pysindy as ps
import scipy.sparse as sp
import torch
from torch import Tensor

from dyngraph.metrics import roc_auc
from dyngraph.systems.network import Graph, NetworkDynamics, as_adjacency
from dyngraph.systems.simulate import Simulation

__all__ = ["GraphLibrary", "NetworkSINDy", "edge_auc", "format_equations"]

SelfTerm = tuple[str, Callable[[Tensor], Tensor]]
PairTerm = tuple[str, Callable[[Tensor, Tensor], Tensor]]


class GraphLibrary:
    r"""Candidate node terms :math:`\Phi(x_i)` and pair terms :math:`\Psi(x_i, x_j)`.

    Parameters
    ----------
    self_terms : sequence of (str, callable), optional
        ``(name, fn)`` with ``fn(x) -> [...]`` for node states ``x`` of shape
        ``[..., d]`` (default: :meth:`default_self_terms`).
    pair_terms : sequence of (str, callable), optional
        ``(name, fn)`` with ``fn(x_i, x_j) -> [...]`` for target and source
        states of shape ``[..., d]`` (default: :meth:`default_pair_terms`).
    dim : int
        Node state dimension :math:`d`, used by the defaults (default: ``1``).
    state_names : sequence of str, optional
        Component names used by the default term names (default: ``x`` or
        ``x0, x1, ...``).
    """

    def __init__(
        self,
        self_terms: Sequence[SelfTerm] | None = None,
        pair_terms: Sequence[PairTerm] | None = None,
        *,
        dim: int = 1,
        state_names: Sequence[str] | None = None,
    ) -> None:
        self.dim = int(dim)
        self.state_names = list(
            state_names or (["x"] if dim == 1 else [f"x{k}" for k in range(dim)])
        )
        self.self_terms = list(self_terms or self.default_self_terms())
        self.pair_terms = list(pair_terms or self.default_pair_terms())

    def default_self_terms(self, degree: int = 3) -> list[SelfTerm]:
        """Monomials of the node's components up to ``degree`` (with a constant)."""
        terms: list[SelfTerm] = [("1", lambda x: torch.ones_like(x[..., 0]))]
        for deg in range(1, degree + 1):
            for combo in itertools.combinations_with_replacement(range(self.dim), deg):
                name = " ".join(
                    f"{self.state_names[k]}_i"
                    + (f"^{combo.count(k)}" if combo.count(k) > 1 else "")
                    for k in sorted(set(combo))
                )
                terms.append((name, lambda x, c=combo: torch.prod(x[..., list(c)], -1)))
        return terms

    def default_pair_terms(self) -> list[PairTerm]:
        r"""Pair terms per component: :math:`x_j`, :math:`x_j-x_i`, :math:`x_ix_j`.

        And :math:`\sin(x_j-x_i)`; :meth:`transform` sums them over neighbours.
        """
        terms: list[PairTerm] = []
        for k, s in enumerate(self.state_names):
            terms += [
                (f"{s}_j", lambda xi, xj, k=k: xj[..., k]),
                (f"{s}_j - {s}_i", lambda xi, xj, k=k: xj[..., k] - xi[..., k]),
                (f"{s}_i {s}_j", lambda xi, xj, k=k: xi[..., k] * xj[..., k]),
                (
                    f"sin({s}_j - {s}_i)",
                    lambda xi, xj, k=k: torch.sin(xj[..., k] - xi[..., k]),
                ),
            ]
        return terms

    @property
    def self_names(self) -> list[str]:
        """Names of the node terms."""
        return [name for name, _ in self.self_terms]

    @property
    def pair_names(self) -> list[str]:
        """Names of the coupling columns, ``sum_j A_ij <pair term>``."""
        return [f"sum_j A_ij {name}" for name, _ in self.pair_terms]

    @property
    def feature_names(self) -> list[str]:
        """All column names: node terms, then coupling terms."""
        return self.self_names + self.pair_names

    def self_features(self, x: Tensor) -> Tensor:
        r""":math:`\Phi(x)` for ``x`` of shape ``[..., d]``; returns ``[..., p_F]``."""
        return torch.stack([fn(x) for _, fn in self.self_terms], -1)

    def pair_features(self, xi: Tensor, xj: Tensor) -> Tensor:
        r""":math:`\Psi(x_i, x_j)` for ``[..., d]`` inputs; returns ``[..., p_G]``."""
        xi, xj = torch.broadcast_tensors(xi, xj)
        return torch.stack([fn(xi, xj) for _, fn in self.pair_terms], -1)

    def transform(self, x: Tensor, adjacency: sp.spmatrix) -> Tensor:
        r"""Build the regression matrix for node series ``x`` of shape ``[T, N, d]``.

        Returns
        -------
        tensor, shape ``[T, N, p_F + p_G]``
            :math:`[\Phi(x_i), \sum_j A_{ij}\Psi(x_i, x_j)]` for every
            ``(t, i)``.
        """
        coo = adjacency.tocoo()
        target = torch.as_tensor(coo.row, dtype=torch.long, device=x.device)
        source = torch.as_tensor(coo.col, dtype=torch.long, device=x.device)
        weight = torch.as_tensor(coo.data, dtype=x.dtype, device=x.device)
        pair = self.pair_features(x[:, target], x[:, source]) * weight[:, None]
        coupling = torch.zeros(
            (*x.shape[:2], len(self.pair_terms)), dtype=x.dtype, device=x.device
        ).index_add(1, target, pair)
        return torch.cat([self.self_features(x), coupling], -1)


def _node_series(data: Any, t: Any) -> tuple[list[np.ndarray], np.ndarray | float]:
    """Node trajectories ``[T, N, d]`` and their times."""
    if isinstance(data, Simulation):
        trajs = data.trajectories()
        t = data.t.detach().cpu().numpy() if t is None else t
    elif isinstance(data, list | tuple):
        trajs = [np.asarray(_np(x), dtype=np.float64) for x in data]
    else:
        arr = np.asarray(_np(data), dtype=np.float64)
        trajs = list(arr) if arr.ndim == 4 else [arr]
    if t is None:
        raise ValueError("`t` is required: pass the time step or the sample times")
    for k, x in enumerate(trajs):
        if x.ndim == 2:
            trajs[k] = x = x[..., None]
        if x.ndim != 3 or x.shape[1:] != trajs[0].shape[1:]:
            raise ValueError(
                f"node series {k} has shape {list(x.shape)}; each must be "
                f"[T, N, d] with the same N and d (series 0: "
                f"{list(trajs[0].shape)})"
            )
        if x.shape[0] < 3:
            raise ValueError(
                f"node series {k} has {x.shape[0]} samples; at least 3 are needed "
                "to estimate derivatives"
            )
        if not np.isfinite(x).all():
            raise ValueError(
                f"node series {k} has {int((~np.isfinite(x)).sum())} NaN or inf "
                "value(s); drop or interpolate them first"
            )
    if not isinstance(t, int | float):
        t = np.asarray(_np(t), dtype=np.float64)
        if t.shape != (trajs[0].shape[0],):
            raise ValueError(
                f"the series have {trajs[0].shape[0]} samples but `t` has shape "
                f"{list(t.shape)}; pass one time per sample"
            )
    return trajs, t


def _weak_operators(
    times: np.ndarray, half: int, power: int = 4
) -> tuple[np.ndarray, np.ndarray]:
    r"""Quadrature of test functions over sliding windows.

    Parameters
    ----------
    times : numpy.ndarray, shape ``[T]``
        Sample times (any increasing grid).
    half : int
        Half-width of each window in samples; windows start every
        ``max(1, half // 2)`` samples.
    power : int
        Exponent :math:`p` of the bump :math:`\phi(u) = (1 - u^2)^p` on
        :math:`u \in [-1, 1]` (default: ``4``).

    Returns
    -------
    value, slope : numpy.ndarray, shape ``[K, T]``
        ``value @ f`` approximates :math:`\int \phi_k f\,dt` and
        ``slope @ x`` approximates :math:`-\int \dot\phi_k x\,dt`
        (trapezoidal rule), which equals :math:`\int \phi_k \dot x\,dt`.
    """
    n = len(times)
    half = max(1, min(half, (n - 1) // 2))
    quad = np.zeros(n)
    quad[1:] += np.diff(times) / 2
    quad[:-1] += np.diff(times) / 2
    starts = np.arange(0, n - 2 * half, max(1, half // 2))
    value = np.zeros((len(starts), n))
    slope = np.zeros((len(starts), n))
    for k, a in enumerate(starts):
        span = slice(a, a + 2 * half + 1)
        lo, hi = times[a], times[a + 2 * half]
        u = (2 * times[span] - lo - hi) / (hi - lo)
        value[k, span] = (1 - u**2) ** power * quad[span]
        dphi = -2 * power * u * (1 - u**2) ** (power - 1) * 2 / (hi - lo)
        slope[k, span] = -dphi * quad[span]
    return value, slope


def _weak_rows(
    library: GraphLibrary,
    trajs: list[np.ndarray],
    times: np.ndarray | float,
    half: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Weak-form regression rows of every trajectory, stacked.

    Returns node terms ``[K, N, p_F]``, pair terms ``[K, N, N, p_G]`` and
    targets ``[K, N, d]``. The pair terms are those of every ordered pair:
    entry ``[k, i, j]`` is
    :math:`\int \phi_k \Psi(x_i, x_j)\,dt`.
    """
    phi, psi, target = [], [], []
    for traj in trajs:
        grid = (
            np.arange(traj.shape[0]) * times
            if isinstance(times, int | float)
            else times
        )
        value, slope = _weak_operators(grid, half)
        x = torch.from_numpy(traj)
        phi.append(np.einsum("kt,tip->kip", value, library.self_features(x).numpy()))
        pair = library.pair_features(x[:, :, None], x[:, None, :]).numpy()
        psi.append(np.einsum("kt,tijp->kijp", value, pair))
        target.append(np.einsum("kt,tid->kid", slope, traj))
    return np.concatenate(phi), np.concatenate(psi), np.concatenate(target)


def _ridge_gcv(
    theta: np.ndarray, target: np.ndarray, floor: float = 1e-6
) -> np.ndarray:
    r"""Ridge regression with its weight chosen by generalised cross-validation.

    Columns are scaled to unit RMS; with the SVD :math:`\Theta = USV^\top`,
    the ridge fit is :math:`\xi = V\,\mathrm{diag}(s/(s^2+\lambda))\,U^\top y`
    and :math:`\lambda` minimises
    :math:`\mathrm{GCV} = n\,\lVert y - \hat y\rVert^2 / (n - \mathrm{df})^2`,
    :math:`\mathrm{df} = \sum s^2/(s^2+\lambda)`, over a log grid from
    ``floor`` to :math:`10^2` times :math:`s_1^2` (four points per decade).
    GCV under-regularises nearly collinear designs, so ``floor`` caps the
    effective condition number at :math:`\mathrm{floor}^{-1/2}`.

    Returns
    -------
    numpy.ndarray, shape ``[p]``
        Coefficients in the original column units.
    """
    scale = np.sqrt(np.mean(theta**2, axis=0))
    scale[scale == 0] = 1.0
    u, s, vt = np.linalg.svd(theta / scale, full_matrices=False)
    if s.size == 0 or s[0] == 0:
        return np.zeros(theta.shape[1])
    proj = u.T @ target
    rest = float(target @ target - proj @ proj)
    best, best_shrink = np.inf, s * 0
    low = np.log10(floor)
    for lam in np.logspace(low, 2, int(4 * (2 - low)) + 1) * s[0] ** 2:
        shrink = s**2 / (s**2 + lam)
        rss = rest + float(np.sum(((1 - shrink) * proj) ** 2))
        gcv = len(target) * rss / max(len(target) - shrink.sum(), 1e-12) ** 2
        if gcv < best:
            best, best_shrink = gcv, shrink
    return (vt.T @ (best_shrink / s * proj)) / scale


def _split_threshold(scores: np.ndarray) -> float:
    """Threshold splitting the positive scores into two groups (Otsu).

    Maximises the between-group variance of the off-diagonal positive scores;
    returns ``0`` when fewer than two distinct positive scores exist.
    """
    values = np.sort(scores[scores > 0])
    if values.size < 2 or values[0] == values[-1]:
        return 0.0
    n = values.size
    cum = np.cumsum(values)
    low = np.arange(1, n)
    mean_low = cum[:-1] / low
    mean_high = (cum[-1] - cum[:-1]) / (n - low)
    between = low * (n - low) * (mean_high - mean_low) ** 2
    k = int(np.argmax(between))
    return float((values[k] + values[k + 1]) / 2)


def _np(value: Any) -> Any:
    return value.detach().cpu().numpy() if isinstance(value, Tensor) else value


def format_equations(
    coef: np.ndarray, names: Sequence[str], lhs: Sequence[str], precision: int = 3
) -> list[str]:
    """Equations ``(lhs)' = c1 term1 + c2 term2`` from coefficients ``[d, p]``."""
    out = []
    for row, target in zip(coef, lhs, strict=True):
        terms = [
            f"{c:.{precision}f}" + ("" if name == "1" else f" {name}")
            for c, name in zip(row, names, strict=True)
            if round(c, precision) != 0
        ]
        out.append(f"({target})' = " + (" + ".join(terms) if terms else "0"))
    return out


def edge_auc(true_adjacency: Graph, scores: Any) -> float:
    """ROC-AUC of edge scores against a known graph, self-pairs excluded."""
    truth = as_adjacency(true_adjacency).toarray() != 0
    scores = np.asarray(_np(scores), dtype=np.float64)
    if scores.shape != truth.shape:
        raise ValueError(
            f"scores have shape {list(scores.shape)} but the graph is "
            f"{list(truth.shape)}"
        )
    off = ~np.eye(truth.shape[0], dtype=bool)
    return roc_auc(truth[off].astype(int), scores[off])


class NetworkSINDy:
    r"""Sparse regression of shared node and coupling laws on a graph.

    Fits :math:`\dot x_i = \Phi(x_i)\xi_F + \sum_j A_{ij}\Psi(x_i,x_j)\xi_G`
    (see the module documentation), on a known graph or inferring it.

    Parameters
    ----------
    library : GraphLibrary, optional
        Candidate terms (default: ``GraphLibrary()`` for scalar node states).
    optimizer : pysindy optimiser, optional
        Sparse regression, copied before each fit (default:
        ``STLSQ(threshold=0.05)``).
    differentiation_method : pysindy differentiation, optional
        Derivative estimator applied along time (default: second-order
        finite differences).
    window : int
        Half-width, in samples, of the weak-form test functions used to
        infer an unknown graph; windows overlap by half (default: ``12``).

    Attributes
    ----------
    coef_ : numpy.ndarray, shape ``[d, p_F + p_G]``
        Coefficients, one row per node component.
    feature_names_ : list of str
        Column names.
    adjacency_ : scipy.sparse.csr_matrix
        The graph used (given, or inferred).
    edge_scores_ : numpy.ndarray or None
        :math:`s_{ij}`, the estimated :math:`A_{ij}` (target :math:`i`,
        source :math:`j`), when the graph was inferred.
    """

    def __init__(
        self,
        library: GraphLibrary | None = None,
        optimizer: ps.BaseOptimizer | None = None,
        differentiation_method: Any = None,
        *,
        window: int = 12,
    ) -> None:
        if window < 1:
            raise ValueError(f"`window` must be a positive integer, got {window}")
        self.library = library
        self.optimizer = optimizer
        self.differentiation_method = differentiation_method
        self.window = int(window)

    def _library(self, dim: int, state_names: Sequence[str] | None) -> GraphLibrary:
        library = self.library or GraphLibrary(dim=dim, state_names=state_names)
        if library.dim != dim:
            raise ValueError(
                f"the library is for {library.dim}-dimensional node states but "
                f"the data have {dim}"
            )
        return library

    def _regress(self, theta: np.ndarray, target: np.ndarray) -> np.ndarray:
        opt = copy.deepcopy(self.optimizer or ps.STLSQ(threshold=0.05))
        return np.asarray(opt.fit(theta, target).coef_)

    def _derivative(self, x: np.ndarray, t: np.ndarray | float) -> np.ndarray:
        diff = self.differentiation_method or ps.FiniteDifference()
        flat = x.reshape(x.shape[0], -1)
        return np.asarray(diff(flat, t)).reshape(x.shape)

    def fit(
        self,
        x: Any,
        t: Any = None,
        graph: Graph | None = None,
        *,
        state_names: Sequence[str] | None = None,
    ) -> NetworkSINDy:
        """Fit to node series.

        Parameters
        ----------
        x : Simulation, array or list
            A network :class:`~dyngraph.systems.Simulation`, an array
            ``[T, N, d]`` (``[T, N]`` for scalar states) or ``[B, T, N, d]``,
            or a list of ``[T, N, d]`` arrays.
        t : float or array, optional
            Time step or sample times ``[T]`` (default: those of a
            simulation).
        graph : graph, optional
            The known coupling graph (see
            :func:`~dyngraph.systems.as_adjacency`); ``None`` infers it.
        state_names : sequence of str, optional
            Names of the node components in the equations (default: those
            of a simulation, else the library's).

        Returns
        -------
        NetworkSINDy
            ``self``.
        """
        trajs, times = _node_series(x, t)
        num_nodes, dim = trajs[0].shape[1:]
        if isinstance(x, Simulation) and state_names is None:
            state_names = x.state_names
        library = self._library(dim, state_names)
        self.state_names_ = list(state_names or library.state_names)
        derivs = [self._derivative(traj, times) for traj in trajs]
        n_rows = sum(traj.shape[0] for traj in trajs) * num_nodes
        if n_rows <= len(library.feature_names):
            raise ValueError(
                f"too few samples: {n_rows} node-time rows for "
                f"{len(library.feature_names)} library terms"
            )
        self.edge_scores_ = None
        if graph is None:
            self.edge_scores_ = self._infer_scores(library, trajs, times)
            adjacency = sp.csr_matrix(
                (self.edge_scores_ > _split_threshold(self.edge_scores_)).astype(
                    np.float64
                )
            )
        else:
            adjacency = as_adjacency(graph)
            if adjacency.shape[0] != num_nodes:
                raise ValueError(
                    f"the graph has {adjacency.shape[0]} nodes but the data have "
                    f"{num_nodes}; pass the graph the series were recorded on"
                )
        theta = np.concatenate(
            [library.transform(torch.from_numpy(a), adjacency).numpy() for a in trajs]
        ).reshape(-1, len(library.feature_names))
        target = np.concatenate(derivs).reshape(-1, dim)
        self.coef_ = self._regress(theta, target)
        self.adjacency_ = adjacency
        self.feature_names_ = library.feature_names
        self.library_ = library
        return self

    def _infer_scores(
        self, library: GraphLibrary, trajs: list[np.ndarray], times: np.ndarray | float
    ) -> np.ndarray:
        """Estimated :math:`A_{ij}` from weak-form regressions (module docs)."""
        phi, psi, target = _weak_rows(library, trajs, times, self.window)
        n_rows, num_nodes, n_self = phi.shape
        dim = target.shape[-1]
        # 1. screening: per node, ridge over every candidate source's pair terms
        screen = np.zeros((num_nodes, num_nodes))
        for i in range(num_nodes):
            others = np.delete(np.arange(num_nodes), i)
            pairs = psi[:, i, others]
            theta = np.concatenate([phi[:, i], pairs.reshape(n_rows, -1)], axis=1)
            for c in range(dim):
                xi_g = _ridge_gcv(theta, target[:, i, c])[n_self:]
                part = np.einsum("kjp,jp->kj", pairs, xi_g.reshape(len(others), -1))
                screen[i, others] += np.mean(part**2, axis=0)
        screen = np.sqrt(screen)
        # 2. shared coupling law, pooled over nodes with the screening weights
        weight = screen / screen.max() if screen.max() > 0 else screen
        coupling = np.einsum("ij,kijp->kip", weight, psi)
        theta = np.concatenate([phi, coupling], -1).reshape(n_rows * num_nodes, -1)
        xi_g = np.stack(
            [
                _ridge_gcv(theta, target[..., c].reshape(-1))[n_self:]
                for c in range(dim)
            ],
            axis=-1,
        )
        g = psi @ xi_g  # [K, N, N, d]: g_ij in the weak form
        # 3. one weight per candidate edge, per node
        scores = np.zeros((num_nodes, num_nodes))
        eye = np.eye(dim)
        for i in range(num_nodes):
            others = np.delete(np.arange(num_nodes), i)
            own = np.einsum("kp,cd->kcpd", phi[:, i], eye).reshape(n_rows * dim, -1)
            cand = g[:, i, others].transpose(0, 2, 1).reshape(n_rows * dim, -1)
            coef = _ridge_gcv(
                np.concatenate([own, cand], axis=1),
                target[:, i].reshape(-1),
            )
            scores[i, others] = coef[own.shape[1] :]
        return scores

    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise RuntimeError("this NetworkSINDy is not fitted yet; call fit() first")

    def coefficients(self) -> np.ndarray:
        """Coefficients ``[d, p_F + p_G]`` (rows: node components)."""
        self._check_fitted()
        return self.coef_

    def equations(self, precision: int = 3) -> list[str]:
        """Return the discovered laws, one string per node component."""
        self._check_fitted()
        lhs = [f"{s}_i" for s in self.state_names_]
        return format_equations(self.coef_, self.feature_names_, lhs, precision)

    def print(self, precision: int = 3) -> None:
        """Print :meth:`equations`."""
        print("\n".join(self.equations(precision)))

    def predict(self, x: Any) -> np.ndarray:
        r"""Predict :math:`\dot x` for node states ``[T, N, d]``."""
        self._check_fitted()
        arr = torch.as_tensor(np.asarray(_np(x), dtype=np.float64))
        if arr.dim() == 2:
            arr = arr[..., None]
        theta = self.library_.transform(arr, self.adjacency_).numpy()
        return theta @ self.coef_.T

    def to_dynamics(self, x0: Any = None) -> NetworkDynamics:
        """Return the fitted model as :class:`~dyngraph.systems.NetworkDynamics`."""
        self._check_fitted()
        n_self = len(self.library_.self_terms)
        xi_f = torch.from_numpy(self.coef_[:, :n_self].T.copy())
        xi_g = torch.from_numpy(self.coef_[:, n_self:].T.copy())
        library = self.library_
        return NetworkDynamics(
            self.adjacency_,
            lambda x, p: library.self_features(x) @ xi_f.to(x),
            lambda xi, xj, p: library.pair_features(xi, xj) @ xi_g.to(xi),
            dim=library.dim,
            name="discovered",
            state_names=tuple(self.state_names_),
            x0=x0,
        )
