r"""Automatic sparsity: a threshold path per equation, chosen by a criterion.

A fixed STLSQ threshold :math:`\lambda` compares coefficients in the units of
the data, so one value cannot suit a system whose coefficients are near
:math:`0.1` (it deletes true terms) and one whose coefficients are near
:math:`30` (spurious terms above :math:`0.1` survive). :class:`PathSTLSQ`
makes the threshold relative and picks it per equation.

For one equation :math:`y \approx \Theta\xi` with :math:`m` rows, the
columns and the target are scaled to unit norm,
:math:`\tilde\Theta_j = \Theta_j/\lVert\Theta_j\rVert`,
:math:`\tilde y = y/\lVert y\rVert`, so that a scaled coefficient
:math:`\tilde\xi_j = \xi_j\lVert\Theta_j\rVert/\lVert y\rVert` is the share
of the target carried by term :math:`j`. Then

1. STLSQ (ridge :math:`\alpha`, then repeatedly drop
   :math:`|\tilde\xi_j| < \lambda` and refit) runs for ``n_thresholds``
   values of :math:`\lambda` spaced geometrically from
   ``min_threshold`` :math:`\cdot\max_j|\tilde\xi^{LS}_j|` to
   :math:`\max_j|\tilde\xi^{LS}_j|`; each gives a support :math:`S`;
2. every distinct support is refitted by plain least squares, giving its
   residual :math:`\mathrm{RSS}_S`;
3. the support with the smallest score is kept. The default,
   ``criterion="efold"``, is

   .. math::
       \mathrm{score}(S) = \ln(\mathrm{RSS}_S + \epsilon) + k,
       \qquad k = |S|,

   so a term stays only if it lowers the residual by more than a factor
   :math:`e`; the floor :math:`\epsilon` (``rss_floor``, default
   :math:`10^{-8}`, a residual norm of :math:`10^{-4}` of the target) treats
   fits closer than that as exact, so that on clean data no term is kept
   for fitting quadrature or finite-difference error. This is Akaike's criterion
   :math:`m_\mathrm{eff}\ln(\mathrm{RSS}/m_\mathrm{eff}) + 2k` with
   :math:`m_\mathrm{eff} = 2` effective residuals instead of the :math:`m`
   rows: weak-form rows share data (overlapping test functions) and
   finite-difference rows share a smooth truncation error, so the rows are
   far from independent, and with the nominal :math:`m` the criterion keeps
   spurious terms that fit those correlated errors. When even the e-fold
   choice leaves more than half of the target unexplained
   (:data:`NOISE_DOMINATED`), the residual is noise rather than correlated
   error (noisy finite differences, real data), no single term can cut it
   e-fold, and the choice falls back to AICc with the nominal :math:`m`.
   ``criterion="aicc"`` is the textbook corrected AIC with the nominal :math:`m`,
   :math:`m\ln(\mathrm{RSS}_S/m) + 2k + 2k(k+1)/(m-k-1)`. On the 81
   polynomial ``dysts`` flows (``benchmarks/discovery.py``) the e-fold rule
   recovers the support far more often than AICc.

One QR factorisation :math:`\tilde\Theta = QR` serves the whole path:
:math:`\lVert\tilde y-\tilde\Theta\xi\rVert^2 = \lVert(I-QQ^\top)\tilde y
\rVert^2 + \lVert Q^\top\tilde y - R\xi\rVert^2`, so each refit is a
:math:`p\times p` problem and the path costs about as much as one least
squares fit of the full library.
"""

from __future__ import annotations

import numpy as np
import pysindy as ps

__all__ = ["CRITERIA", "PathSTLSQ"]

CRITERIA = ("efold", "aicc")
NOISE_DOMINATED = 0.5
"""e-fold choices leaving more than this share of the target fall back to AICc."""


class PathSTLSQ(ps.BaseOptimizer):
    r"""STLSQ over a path of relative thresholds, the support chosen by a criterion.

    Parameters
    ----------
    n_thresholds : int
        Thresholds on the path (default: ``40``).
    min_threshold : float
        Smallest threshold, relative to the largest scaled least-squares
        coefficient (default: ``1e-6``).
    criterion : {"efold", "aicc"}
        How the support is chosen (default: ``"efold"``; see the module).
    rss_floor : float
        Residual (on the unit-norm target) below which fits count as exact
        in the e-fold score (default: ``1e-8``).
    alpha : float
        Ridge weight of the thresholding steps, on unit-norm columns
        (default: ``1e-8``). The kept terms are refitted without it.
    max_iter : int
        Thresholding iterations per threshold (default: ``20``).

    Attributes
    ----------
    coef_ : numpy.ndarray, shape ``[n_targets, n_features]``
        The chosen coefficients, in the units of the data.
    path_ : list of list of dict
        Per target, the distinct supports found on the path:
        ``{"threshold", "support", "k", "rss", "score"}``, ``rss`` on the
        unit-norm target.
    fallbacks_ : int
        Equations whose e-fold choice fell back to AICc.
    threshold_ : numpy.ndarray, shape ``[n_targets]``
        The smallest relative threshold that gave the chosen support.
    """

    def __init__(
        self,
        n_thresholds: int = 40,
        min_threshold: float = 1e-6,
        criterion: str = "efold",
        rss_floor: float = 1e-8,
        alpha: float = 1e-8,
        max_iter: int = 20,
    ) -> None:
        super().__init__(max_iter=max_iter, unbias=False)
        if criterion not in CRITERIA:
            raise ValueError(
                f"criterion must be one of {list(CRITERIA)}, got {criterion!r}"
            )
        if n_thresholds < 1:
            raise ValueError(f"n_thresholds must be at least 1, got {n_thresholds}")
        if not 0 < min_threshold < 1:
            raise ValueError(f"min_threshold must be in (0, 1), got {min_threshold}")
        if alpha < 0:
            raise ValueError(f"alpha must be non-negative, got {alpha}")
        self.n_thresholds = n_thresholds
        self.min_threshold = min_threshold
        if rss_floor < 0:
            raise ValueError(f"rss_floor must be non-negative, got {rss_floor}")
        self.criterion = criterion
        self.rss_floor = rss_floor
        self.alpha = alpha

    def _reduce(self, x: np.ndarray, y: np.ndarray) -> None:
        scale = np.linalg.norm(x, axis=0)
        live = scale > 0
        xn = x[:, live] / scale[live]
        q, r = np.linalg.qr(xn)
        coef = np.zeros((y.shape[1], x.shape[1]))
        self.path_, thresholds = [], []
        self.fallbacks_ = 0
        for i in range(y.shape[1]):
            norm = np.linalg.norm(y[:, i])
            if norm == 0:
                self.path_.append([])
                thresholds.append(np.nan)
                continue
            target = y[:, i] / norm
            b = q.T @ target
            floor = float(np.sum((target - q @ b) ** 2))
            xi, path, lam = self._select(r, b, floor, x.shape[0])
            row = np.zeros(live.sum())
            row[: len(xi)] = xi
            coef[i, live] = row * norm / scale[live]
            self.path_.append(path)
            thresholds.append(lam)
        self.coef_ = coef
        self.threshold_ = np.asarray(thresholds)

    def _select(
        self, r: np.ndarray, b: np.ndarray, floor: float, m: int
    ) -> tuple[np.ndarray, list[dict], float]:
        p = r.shape[1]
        full = _ridge(r, b, np.arange(p), self.alpha)
        top = float(np.abs(full).max())
        if top == 0:
            return np.zeros(p), [], np.nan
        lams = np.geomspace(self.min_threshold * top, top, self.n_thresholds)
        found: dict[tuple[int, ...], float] = {}
        for lam in lams:
            support = self._stlsq(r, b, full, lam)
            found.setdefault(tuple(support), float(lam))
        path, best = [], None
        for support, lam in found.items():
            s = np.array(support, dtype=int)
            xi = np.zeros(p)
            if s.size:
                xi[s] = np.linalg.lstsq(r[:, s], b, rcond=None)[0]
            rss = max(floor + float(np.sum((b - r @ xi) ** 2)), np.finfo(float).tiny)
            entry = {
                "threshold": lam,
                "support": list(support),
                "k": int(s.size),
                "rss": rss,
                "score": self._score(rss, s.size, m),
            }
            path.append(entry)
            if best is None or entry["score"] < best[0]["score"]:
                best = (entry, xi)
        assert best is not None
        if self.criterion == "efold" and best[0]["rss"] > NOISE_DOMINATED:
            # residuals dominated by noise, not by correlated error: AICc
            for entry in path:
                entry["score"] = _aicc(entry["rss"], entry["k"], m)
            choice = min(path, key=lambda e: e["score"])
            xi = np.zeros(p)
            s = np.array(choice["support"], dtype=int)
            if s.size:
                xi[s] = np.linalg.lstsq(r[:, s], b, rcond=None)[0]
            self.fallbacks_ += 1
            return xi, path, choice["threshold"]
        return best[1], path, best[0]["threshold"]

    def _stlsq(
        self, r: np.ndarray, b: np.ndarray, start: np.ndarray, lam: float
    ) -> np.ndarray:
        support = np.flatnonzero(np.abs(start) >= lam)
        for _ in range(self.max_iter):
            if support.size == 0:
                break
            xi = _ridge(r, b, support, self.alpha)
            keep = np.abs(xi[support]) >= lam
            if keep.all():
                break
            support = support[keep]
        return support

    def _score(self, rss: float, k: int, m: int) -> float:
        if self.criterion == "efold":
            return float(np.log(rss + self.rss_floor) + k)
        return _aicc(rss, k, m)


def _aicc(rss: float, k: int, m: int) -> float:
    correction = 2 * k * (k + 1) / (m - k - 1) if m - k - 1 > 0 else np.inf
    return float(m * np.log(rss / m) + 2 * k + correction)


def _ridge(
    r: np.ndarray, b: np.ndarray, support: np.ndarray, alpha: float
) -> np.ndarray:
    """Ridge fit of ``b ~ r[:, support]``, as a full-length coefficient vector."""
    rs = r[:, support]
    gram = rs.T @ rs + alpha * np.eye(support.size)
    out = np.zeros(r.shape[1])
    out[support] = np.linalg.solve(gram, rs.T @ b)
    return out
