r"""Model-error discovery: the sparse term an imperfect model is missing.

The truth is :math:`\dot x = f(t, x) + h(x)`; the model :math:`f` is known,
the correction :math:`h` is not. It is expanded in a library,
:math:`h(x) = \Theta(x)\,\xi` with :math:`\xi` sparse, and fitted to one of
two targets:

* ``"increment"`` (MEDIDA, Mojgani, Chattopadhyay & Hassanzadeh 2022):
  advance the model one step from each observation and compare with the
  next one,

  .. math::
      y_k = \frac{x_{k+1} - \mathcal M_f(x_k;\ t_k \to t_{k+1})}
      {t_{k+1} - t_k} \approx \tfrac12\big(h(x_k) + h(x_{k+1})\big),

  with :math:`\mathcal M_f` one classical Runge-Kutta step of the model
  (the trapezoidal average of the library over the step removes the
  first-order bias of regressing on :math:`x_k` alone); no derivative of
  the data is estimated.
* ``"derivative"``: :math:`y_k = \widehat{\dot x}(t_k) - f(t_k, x_k)` with
  a pysindy differentiation method.

Then :math:`y \approx \Theta(x)\,\xi` is solved by a pysindy optimiser
(``ps.WrappedOptimizer(sklearn.linear_model.ARDRegression())`` gives the
sparse Bayesian variant). Increments amplify measurement noise by
:math:`1/\Delta t`; smooth or assimilate noisy data first.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pysindy as ps
import torch
from torch import Tensor

from dyngraph.discovery.network import format_equations
from dyngraph.discovery.sindy import as_trajectories
from dyngraph.systems.odes import ODESystem

__all__ = ["ModelErrorSINDy"]

Model = ODESystem | Callable[[Tensor, Tensor], Tensor]
TARGETS = ("increment", "derivative")


def _rk4_step(
    f: Callable[[Tensor, Tensor], Tensor], t: Tensor, x: Tensor, h: Tensor
) -> Tensor:
    """One classical Runge-Kutta step per row, with per-row times and steps."""
    h = h[:, None]
    k1 = f(t, x)
    k2 = f(t + h[:, 0] / 2, x + h * k1 / 2)
    k3 = f(t + h[:, 0] / 2, x + h * k2 / 2)
    k4 = f(t + h[:, 0], x + h * k3)
    return x + h * (k1 + 2 * k2 + 2 * k3 + k4) / 6


class ModelErrorSINDy:
    r"""Find a sparse correction :math:`h = \Theta(x)\xi` to an imperfect model.

    Parameters
    ----------
    model : ODESystem or callable
        The imperfect model :math:`f`: an
        :class:`~dyngraph.systems.ODESystem` (with its default parameters),
        or ``f(t, x) -> dx`` on tensors ``x`` of shape ``[m, d]``.
    feature_library : pysindy library, optional
        Candidate correction terms (default:
        ``PolynomialLibrary(degree=3)``).
    optimizer : pysindy optimiser, optional
        Sparse regression, copied before fitting (default:
        ``STLSQ(threshold=0.05)``).
    target : {"increment", "derivative"}
        What the correction is fitted to (default: ``"increment"``).
    differentiation_method : pysindy differentiation, optional
        Used by ``target="derivative"`` (default: finite differences).

    Attributes
    ----------
    coef_ : numpy.ndarray, shape ``[d, p]``
        Coefficients of the correction.
    feature_names_ : list of str
        Library terms.
    residuals_ : numpy.ndarray, shape ``[m, d]``
        The regression targets :math:`y_k`.
    """

    def __init__(
        self,
        model: Model,
        feature_library: ps.BaseFeatureLibrary | None = None,
        optimizer: ps.BaseOptimizer | None = None,
        target: str = "increment",
        differentiation_method: Any = None,
    ) -> None:
        self.model = model
        self.feature_library = feature_library
        self.optimizer = optimizer
        self.target = target
        self.differentiation_method = differentiation_method

    def _model_rhs(self, t: Tensor, x: Tensor) -> Tensor:
        if isinstance(self.model, ODESystem):
            return self.model.rhs(t[:, None] if t.dim() else t, x)
        return self.model(t, x)

    def _residuals(
        self, x: np.ndarray, t: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Targets :math:`y_k` and the states at both ends of each step."""
        xt, tt = torch.from_numpy(x), torch.from_numpy(t)
        if self.target == "increment":
            step = tt[1:] - tt[:-1]
            forecast = _rk4_step(self._model_rhs, tt[:-1], xt[:-1], step)
            residual = (xt[1:] - forecast) / step[:, None]
            return residual.numpy(), x[:-1], x[1:]
        diff = self.differentiation_method or ps.FiniteDifference()
        deriv = np.asarray(diff(x, t))
        return deriv - self._model_rhs(tt, xt).numpy(), x, x

    @staticmethod
    def _features(library: ps.BaseFeatureLibrary, x: np.ndarray) -> np.ndarray:
        return np.asarray(library.transform([x])[0])

    def fit(
        self, x: Any, t: Any = None, feature_names: Sequence[str] | None = None
    ) -> ModelErrorSINDy:
        """Fit the correction to observed trajectories.

        Parameters
        ----------
        x, t
            Trajectories and times, as in
            :func:`~dyngraph.discovery.as_trajectories`.
        feature_names : sequence of str, optional
            State names in the equations (default: those carried by ``x``,
            else the model's, else ``x0, x1, ...``).

        Returns
        -------
        ModelErrorSINDy
            ``self``.
        """
        if self.target not in TARGETS:
            raise ValueError(f"`target` must be one of {TARGETS}, got {self.target!r}")
        trajs, times, names = as_trajectories(x, t)
        if isinstance(self.model, ODESystem) and trajs[0].shape[1] != self.model.dim:
            raise ValueError(
                f"the data have {trajs[0].shape[1]} states but the model "
                f"{self.model.name!r} has {self.model.dim}"
            )
        per_traj = times if isinstance(times, list) else [times] * len(trajs)
        library = copy.deepcopy(self.feature_library or ps.PolynomialLibrary(degree=3))
        library.fit([trajs[0]])
        targets, rows = [], []
        for traj, tk in zip(trajs, per_traj, strict=True):
            grid = tk if isinstance(tk, np.ndarray) else np.arange(len(traj)) * tk
            y, start, end = self._residuals(traj, grid)
            targets.append(y)
            rows.append(
                (self._features(library, start) + self._features(library, end)) / 2
            )
        theta = np.concatenate(rows)
        if theta.shape[0] <= theta.shape[1]:
            raise ValueError(
                f"too few samples: {theta.shape[0]} for {theta.shape[1]} library terms"
            )
        opt = copy.deepcopy(self.optimizer or ps.STLSQ(threshold=0.05))
        self.residuals_ = np.concatenate(targets)
        self.coef_ = np.asarray(opt.fit(theta, self.residuals_).coef_)
        if feature_names is None:
            feature_names = names or (
                list(self.model.state_names)
                if isinstance(self.model, ODESystem)
                else None
            )
        self.state_names_ = list(
            feature_names or [f"x{k}" for k in range(trajs[0].shape[1])]
        )
        self.feature_names_ = library.get_feature_names(self.state_names_)
        self.library_ = library
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise RuntimeError("not fitted yet; call fit() first")

    def coefficients(self) -> np.ndarray:
        """Coefficients ``[d, p]`` of the correction."""
        self._check_fitted()
        return self.coef_

    def equations(self, precision: int = 3) -> list[str]:
        """Return the correction terms as equations, one per state."""
        self._check_fitted()
        lhs = [f"{name} correction" for name in self.state_names_]
        return format_equations(self.coef_, self.feature_names_, lhs, precision)

    def print(self, precision: int = 3) -> None:
        """Print :meth:`equations`."""
        print("\n".join(self.equations(precision)))

    def correction(self, x: Any) -> np.ndarray:
        r""":math:`h(x) = \Theta(x)\xi` for states ``[m, d]``."""
        self._check_fitted()
        arr = np.asarray(x.detach().cpu() if isinstance(x, Tensor) else x, dtype=float)
        return self._features(self.library_, arr) @ self.coef_.T

    def corrected_rhs(self, t: Tensor | float, x: Tensor) -> Tensor:
        r"""Evaluate the corrected model :math:`f(t, x) + h(x)` on ``[..., d]``."""
        flat = x.reshape(-1, x.shape[-1])
        h = torch.as_tensor(self.correction(flat), dtype=x.dtype, device=x.device)
        times = torch.as_tensor(t, dtype=x.dtype).expand(flat.shape[0])
        return self._model_rhs(times, flat).reshape(x.shape) + h.reshape(x.shape)
