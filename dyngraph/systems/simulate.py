r"""Simulate ODE families and network dynamics, batched, on CPU or CUDA.

:func:`simulate` integrates :math:`\dot x = f(t, x; p^{(e)})` from every
initial condition :math:`x^{(b)}_0` in every environment :math:`p^{(e)}` in
one call. The state carries the batch axes ``[E, B, *state]`` (``state`` is
``(d,)`` for an :class:`~dyngraph.systems.ODESystem` and ``(N, d)`` for
:class:`~dyngraph.systems.NetworkDynamics`); environments are mapped over
with :func:`torch.func.vmap`, so each right-hand side is written for a single
parameter set.

Two integrators are available, chosen by ``method``:

* torchdiffeq (``"dopri5"``, ``"rk4"``, ``"bosh3"``, ... see
  :func:`torchdiffeq.odeint`): the whole batch in one solve, on the device of
  the inputs;
* scipy (``"LSODA"``, ``"Radau"``, ``"BDF"``, ``"RK45"``, ``"DOP853"``; see
  :func:`scipy.integrate.solve_ivp`): implicit solvers for stiff systems,
  one trajectory at a time on the CPU.

Observations are :math:`y(t_k) = x(t_k) + \varepsilon_k` with Gaussian
:math:`\varepsilon_k \sim \mathcal N(0, \sigma^2)`, where :math:`\sigma` is
``noise`` times the root-mean-square of each component over its trajectory
(``relative_noise=True``) or ``noise`` itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy.integrate import solve_ivp
from torch import Tensor
from torchdiffeq import odeint

from dyngraph.systems.network import NetworkDynamics
from dyngraph.systems.odes import ODESystem, get_system

__all__ = ["SCIPY_METHODS", "Simulation", "simulate"]

SCIPY_METHODS = ("LSODA", "Radau", "BDF", "RK45", "RK23", "DOP853")
System = ODESystem | NetworkDynamics


@dataclass
class Simulation:
    """Trajectories with their time grid.

    Attributes
    ----------
    t : tensor, shape ``[T]``
        Sample times (shared by all trajectories).
    x : tensor, shape ``[E, B, T, *state]``
        Observed states (with measurement noise when requested).
    x_clean : tensor, shape ``[E, B, T, *state]``
        Noise-free states.
    params : dict of str to tensor
        Parameters of each environment, each of shape ``[E, ...]``.
    state_names : tuple of str
        Names of the state components.
    name : str
        The system's name.
    """

    t: Tensor
    x: Tensor
    x_clean: Tensor
    params: dict[str, Tensor]
    state_names: tuple[str, ...]
    name: str

    @property
    def num_environments(self) -> int:
        """Number of environments ``E``."""
        return self.x.shape[0]

    @property
    def num_trajectories(self) -> int:
        """Number of initial conditions ``B`` per environment."""
        return self.x.shape[1]

    def trajectories(self, clean: bool = False) -> list[np.ndarray]:
        """All ``E * B`` trajectories as NumPy arrays ``[T, *state]``.

        The input layout of pysindy (a list means several trajectories).
        """
        x = (self.x_clean if clean else self.x).detach().cpu().numpy()
        return list(x.reshape(-1, *x.shape[2:]))


def _time_grid(
    t: Any, irregular: bool, generator: torch.Generator, dtype: torch.dtype
) -> Tensor:
    grid = torch.as_tensor(np.asarray(t, dtype=np.float64)).to(dtype)
    if grid.dim() != 1 or grid.numel() < 2:
        raise ValueError(
            f"`t` must be a 1-D grid of at least 2 times, got shape {list(grid.shape)}"
        )
    if not torch.isfinite(grid).all() or not (grid[1:] > grid[:-1]).all():
        raise ValueError("`t` must be finite and strictly increasing")
    if irregular:
        inner = torch.rand(grid.numel() - 2, generator=generator, dtype=dtype)
        inner = grid[0] + (grid[-1] - grid[0]) * inner.sort().values
        grid = torch.cat([grid[:1], inner, grid[-1:]])
    return grid


def _split_params(
    system: System, params: Mapping[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Tensor], int]:
    """Split parameters into shared ones and ones batched over environments."""
    resolved = system.resolve_params(params)
    shared: dict[str, Any] = {}
    batched: dict[str, Tensor] = {}
    for key, value in resolved.items():
        default = system.params[key]
        base = 0 if isinstance(default, float) else np.ndim(default)
        arr = torch.as_tensor(np.asarray(value, dtype=np.float64))
        if arr.dim() == base + 1:
            batched[key] = arr
        elif arr.dim() == base:
            shared[key] = value
        else:
            raise ValueError(
                f"parameter {key!r} must have shape [{'N' if base else ''}] or "
                f"[E{', N' if base else ''}] for E environments, got "
                f"{list(arr.shape)}"
            )
    sizes = {v.shape[0] for v in batched.values()}
    if len(sizes) > 1:
        raise ValueError(
            "batched parameters disagree on the number of environments: "
            + ", ".join(f"{k}: {v.shape[0]}" for k, v in batched.items())
        )
    return shared, batched, sizes.pop() if sizes else 1


def _initial(system: System, x0: Any, dtype: torch.dtype) -> Tensor:
    state = system.state_shape
    x = torch.as_tensor(
        np.asarray(system.x0 if x0 is None else x0, dtype=np.float64)
    ).to(dtype)
    if tuple(x.shape) == state:
        x = x.unsqueeze(0)
    if x.dim() != len(state) + 1 or tuple(x.shape[1:]) != state:
        raise ValueError(
            f"x0 must have shape {list(state)} or [B, {', '.join(map(str, state))}] "
            f"for {system.name!r}, got {list(x.shape)}"
        )
    if not torch.isfinite(x).all():
        raise ValueError("x0 has non-finite entries (NaN or inf)")
    return x


def simulate(
    system: str | System,
    t: Any,
    x0: Any = None,
    *,
    params: Mapping[str, Any] | None = None,
    method: str = "dopri5",
    rtol: float = 1e-8,
    atol: float = 1e-10,
    options: Mapping[str, Any] | None = None,
    noise: float = 0.0,
    relative_noise: bool = True,
    irregular: bool = False,
    seed: int = 0,
    device: str | torch.device | None = None,
    dtype: torch.dtype = torch.float64,
) -> Simulation:
    r"""Integrate a system from a batch of initial conditions and environments.

    Parameters
    ----------
    system : str, ODESystem or NetworkDynamics
        What to integrate (a name picks a built-in ODE family).
    t : array-like, shape ``[T]``
        Strictly increasing output times; ``t[0]`` is the initial time.
    x0 : array-like, optional
        ``[*state]`` or ``[B, *state]`` initial conditions, shared by all
        environments (default: the system's ``x0``).
    params : mapping, optional
        Parameter overrides. A value with the default's shape is shared; one
        with an extra leading axis of length ``E`` gives ``E`` environments
        (see :func:`~dyngraph.systems.draw_environments`) (default: the
        defaults, one environment).
    method : str
        A torchdiffeq solver name or one of :data:`SCIPY_METHODS`
        (default: ``"dopri5"``).
    rtol, atol : float
        Solver tolerances (default: ``1e-8`` and ``1e-10``).
    options : mapping, optional
        Extra solver options (torchdiffeq ``options`` or ``solve_ivp``
        keywords) (default: none).
    noise : float
        Measurement-noise level (default: ``0.0``).
    relative_noise : bool
        Scale ``noise`` by each component's RMS (default: ``True``).
    irregular : bool
        Replace the interior of ``t`` by as many sorted uniform random times
        in ``[t[0], t[-1]]`` (default: ``False``).
    seed : int
        Seed for the noise and the irregular grid (default: ``0``).
    device : str or torch.device, optional
        Where to integrate with torchdiffeq (default: CPU).
    dtype : torch.dtype
        Floating point type (default: ``torch.float64``).

    Returns
    -------
    Simulation
        ``x`` of shape ``[E, B, T, *state]`` and the time grid ``t``.

    Raises
    ------
    ValueError
        For malformed ``t``, ``x0`` or ``params``, or an unknown ``method``.
    RuntimeError
        When the solution blows up (non-finite states) or scipy fails.
    """
    system = get_system(system) if isinstance(system, str) else system
    device = torch.device(device) if device is not None else torch.device("cpu")
    if noise < 0:
        raise ValueError(f"`noise` must be non-negative, got {noise}")
    generator = torch.Generator().manual_seed(seed)
    grid = _time_grid(t, irregular, generator, dtype)
    x0_batch = _initial(system, x0, dtype)
    shared, batched, num_env = _split_params(system, params)
    y0 = x0_batch.unsqueeze(0).expand(num_env, *x0_batch.shape).contiguous()
    if method in SCIPY_METHODS:
        states = _solve_scipy(
            system, grid, y0, shared, batched, method, rtol, atol, options
        )
    else:
        states = _solve_torch(
            system,
            grid.to(device),
            y0.to(device),
            shared,
            batched,
            method,
            rtol,
            atol,
            options,
        )
    if not torch.isfinite(states).all():
        raise RuntimeError(
            f"the solution of {system.name!r} is not finite: it diverged. Check "
            "the parameters and x0, or shorten `t`"
        )
    clean = states.movedim(0, 2)
    observed = clean
    if noise > 0:
        eps = torch.randn(clean.shape, generator=generator, dtype=dtype).to(
            clean.device
        )
        scale = clean.pow(2).mean(dim=2, keepdim=True).sqrt() if relative_noise else 1.0
        observed = clean + noise * scale * eps
    env_params = {
        k: v
        if k in batched
        else torch.as_tensor(np.asarray(v, dtype=np.float64)).expand(
            num_env, *np.shape(v)
        )
        for k, v in {**shared, **batched}.items()
    }
    names = tuple(system.state_names)
    return Simulation(
        grid.to(clean.device), observed, clean, env_params, names, system.name
    )


def _solve_torch(
    system: System,
    grid: Tensor,
    y0: Tensor,
    shared: dict[str, Any],
    batched: dict[str, Tensor],
    method: str,
    rtol: float,
    atol: float,
    options: Mapping[str, Any] | None,
) -> Tensor:
    """Solve with torchdiffeq; returns ``[T, E, B, *state]``."""
    batched = {k: v.to(device=y0.device, dtype=y0.dtype) for k, v in batched.items()}

    def one_env(time: Tensor, x: Tensor, p: dict[str, Tensor]) -> Tensor:
        return system.rhs(time, x, {**shared, **p})

    mapped = torch.func.vmap(one_env, in_dims=(None, 0, 0))

    def func(time: Tensor, y: Tensor) -> Tensor:
        if batched:
            return mapped(time, y, batched)
        return one_env(time, y, {})

    try:
        return odeint(
            func,
            y0,
            grid,
            rtol=rtol,
            atol=atol,
            method=method,
            options=dict(options or {}),
        )
    except ValueError as exc:
        if "Invalid method" not in str(exc):
            raise
        raise ValueError(
            f"unknown method {method!r}: use a torchdiffeq solver (e.g. 'dopri5', "
            f"'rk4') or a scipy one for stiff systems {list(SCIPY_METHODS)}"
        ) from exc


def _solve_scipy(
    system: System,
    grid: Tensor,
    y0: Tensor,
    shared: dict[str, Any],
    batched: dict[str, Tensor],
    method: str,
    rtol: float,
    atol: float,
    options: Mapping[str, Any] | None,
) -> Tensor:
    """Solve each trajectory with :func:`scipy.integrate.solve_ivp`."""
    times = grid.numpy()
    out = np.empty((times.size, *y0.shape))
    for e in range(y0.shape[0]):
        p = {**shared, **{k: v[e] for k, v in batched.items()}}

        def fun(time: float, y: np.ndarray, p: dict[str, Any] = p) -> np.ndarray:
            state = torch.from_numpy(y).reshape(system.state_shape).to(y0.dtype)
            return system.rhs(time, state, p).reshape(-1).double().numpy()

        for b in range(y0.shape[1]):
            sol = solve_ivp(
                fun,
                (times[0], times[-1]),
                y0[e, b].reshape(-1).double().numpy(),
                method=method,
                t_eval=times,
                rtol=rtol,
                atol=atol,
                **dict(options or {}),
            )
            if not sol.success:
                raise RuntimeError(
                    f"scipy {method} failed on environment {e}, trajectory {b}: "
                    f"{sol.message}"
                )
            out[:, e, b] = sol.y.T.reshape(times.size, *system.state_shape)
    return torch.from_numpy(out).to(y0.dtype)
