r"""Spatiotemporal fields with known physics, generated in code and seeded.

Every generator integrates its PDE on a periodic grid by finite differences
with the classical fourth-order Runge-Kutta scheme in ``float64`` and returns
a :class:`~dyngraph.data.fields.Field` of ``float32`` frames.

* :func:`gray_scott`: the Gray-Scott reaction-diffusion system with the four
  ``(f, k)`` environments used by CoDA (:data:`GRAY_SCOTT_ENVIRONMENTS`);
* :func:`lambda_omega`: the lambda-omega system, spiral waves;
* :func:`burgers`: viscous Burgers in one dimension, in conservative form.

The 2-D Laplacian is the five-point stencil
:math:`\Delta_h u_{ij} = (u_{i+1,j}+u_{i-1,j}+u_{i,j+1}+u_{i,j-1}-4u_{ij})/h^2`
with periodic wrap, so :math:`\sum_{ij}\Delta_h u_{ij} = 0` exactly: diffusion
conserves every channel's total.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from dyngraph.data.fields import Field

__all__ = ["GRAY_SCOTT_ENVIRONMENTS", "burgers", "gray_scott", "lambda_omega"]

GRAY_SCOTT_ENVIRONMENTS: tuple[tuple[float, float], ...] = (
    (0.03, 0.062),
    (0.039, 0.058),
    (0.03, 0.058),
    (0.039, 0.062),
)
"""The ``(f, k)`` feed and kill rates of CoDA's four Gray-Scott environments."""


def _laplacian(x: Tensor, h: float) -> Tensor:
    """Periodic five-point Laplacian over the last two dimensions."""
    out = -4.0 * x
    for d in (-2, -1):
        out = out + x.roll(1, d) + x.roll(-1, d)
    return out / h**2


def _rk4(
    rhs: Callable[[Tensor], Tensor],
    state: Tensor,
    dt: float,
    substeps: int,
    frames: int,
) -> Tensor:
    """Integrate ``state`` and return ``frames`` snapshots, ``substeps`` apart."""
    out = [state]
    for _ in range(frames - 1):
        for _ in range(substeps):
            k1 = rhs(state)
            k2 = rhs(state + 0.5 * dt * k1)
            k3 = rhs(state + 0.5 * dt * k2)
            k4 = rhs(state + dt * k3)
            state = state + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
        if not torch.isfinite(state).all():
            raise FloatingPointError(
                "the field became non-finite: lower `dt` (the explicit scheme is "
                "unstable for this spacing and diffusivity)"
            )
        out.append(state)
    return torch.stack(out, 1)


def _check(name: str, value: float, low: float = 0.0) -> None:
    if not (math.isfinite(value) and value > low):
        raise ValueError(f"`{name}` must be a finite number > {low}, got {value}")


def _substeps(frame_dt: float, dt: float) -> int:
    _check("frame_dt", frame_dt)
    _check("dt", dt)
    steps = round(frame_dt / dt)
    if steps < 1 or abs(steps * dt - frame_dt) > 1e-9 * frame_dt:
        raise ValueError(
            f"`frame_dt` ({frame_dt}) must be a whole multiple of `dt` ({dt})"
        )
    return steps


def _frames(num_frames: int) -> int:
    if not isinstance(num_frames, int) or num_frames < 1:
        raise ValueError(f"`num_frames` must be an int >= 1, got {num_frames!r}")
    return num_frames


def gray_scott(
    environments: Sequence[tuple[float, float]] = GRAY_SCOTT_ENVIRONMENTS,
    per_environment: int = 1,
    *,
    size: int = 32,
    num_frames: int = 40,
    frame_dt: float = 20.0,
    dt: float = 0.5,
    r_u: float = 0.2097,
    r_v: float = 0.105,
    num_seeds: int = 3,
    seed_size: int = 4,
    noise: float = 0.01,
    seed: int = 0,
) -> Field:
    r"""Simulate Gray-Scott reaction-diffusion on a periodic square grid.

    .. math::
        \partial_t u = r_u \Delta u - u v^2 + f (1 - u), \qquad
        \partial_t v = r_v \Delta v + u v^2 - (f + k) v,

    with grid spacing 1. The reaction terms cancel in :math:`u + v` when
    :math:`f = k = 0`, so the total :math:`\sum (u + v)` is then conserved;
    :math:`(u, v) = (1, 0)` is a steady state for every ``(f, k)``. Each
    trajectory starts from that state with ``num_seeds`` random
    ``seed_size``-squares set to :math:`(u, v) = (0.5, 0.25)` plus uniform
    noise of amplitude ``noise`` on :math:`v` inside them (CoDA's set-up).

    Parameters
    ----------
    environments : sequence of (f, k)
        One environment per pair (default: CoDA's four,
        :data:`GRAY_SCOTT_ENVIRONMENTS`).
    per_environment : int
        Trajectories per environment (default: ``1``).
    size : int
        Grid side (default: ``32``).
    num_frames : int
        Frames returned, the first the initial state (default: ``40``).
    frame_dt : float
        Time between frames (default: ``20.0``).
    dt : float
        RK4 step; ``frame_dt`` must be a multiple of it (default: ``0.5``).
    r_u, r_v : float
        Diffusivities (default: ``0.2097`` and ``0.105``).
    num_seeds, seed_size : int
        Number and side of the initial squares (default: ``3`` and ``4``).
    noise : float
        Amplitude of the initial noise (default: ``0.01``).
    seed : int
        Seed of the initial conditions (default: ``0``).

    Returns
    -------
    Field
        ``[E * per_environment, num_frames, 2, size, size]``, channels
        ``("u", "v")``, ``params`` ``f`` and ``k`` per trajectory.
    """
    _frames(num_frames)
    substeps = _substeps(frame_dt, dt)
    for name, value in (("r_u", r_u), ("r_v", r_v)):
        _check(name, value, low=-1e-300)
    if not environments:
        raise ValueError("`environments` must hold at least one (f, k) pair")
    if size < seed_size or seed_size < 1:
        raise ValueError(f"`size` ({size}) must be >= `seed_size` ({seed_size}) >= 1")
    pairs = [
        (float(f), float(k)) for f, k in environments for _ in range(per_environment)
    ]
    if not pairs:
        raise ValueError(f"`per_environment` must be >= 1, got {per_environment}")
    gen = torch.Generator().manual_seed(seed)
    b = len(pairs)
    u = torch.ones(b, size, size, dtype=torch.float64)
    v = torch.zeros(b, size, size, dtype=torch.float64)
    for i in range(b):
        for _ in range(num_seeds):
            r, c = torch.randint(0, size - seed_size + 1, (2,), generator=gen).tolist()
            u[i, r : r + seed_size, c : c + seed_size] = 0.5
            v[i, r : r + seed_size, c : c + seed_size] = 0.25 + noise * torch.rand(
                seed_size, seed_size, generator=gen, dtype=torch.float64
            )
    f = torch.tensor([p[0] for p in pairs], dtype=torch.float64).view(b, 1, 1)
    k = torch.tensor([p[1] for p in pairs], dtype=torch.float64).view(b, 1, 1)

    def rhs(state: Tensor) -> Tensor:
        uu, vv = state[:, 0], state[:, 1]
        uvv = uu * vv * vv
        du = r_u * _laplacian(uu, 1.0) - uvv + f * (1 - uu)
        dv = r_v * _laplacian(vv, 1.0) + uvv - (f + k) * vv
        return torch.stack([du, dv], 1)

    values = _rk4(rhs, torch.stack([u, v], 1), dt, substeps, num_frames)
    return Field(
        values.float(),
        torch.arange(num_frames, dtype=torch.float64) * frame_dt,
        ("u", "v"),
        1.0,
        {"f": f.view(b).float(), "k": k.view(b).float()},
        "gray-scott",
    )


def lambda_omega(
    num_trajectories: int = 4,
    *,
    size: int = 64,
    length: float = 20.0,
    num_frames: int = 40,
    frame_dt: float = 0.5,
    dt: float = 0.05,
    d: float = 0.1,
    beta: float = 1.0,
    noise: float = 0.05,
    seed: int = 0,
) -> Field:
    r"""Simulate the lambda-omega reaction-diffusion system (spiral waves).

    .. math::
        \partial_t u = d\,\Delta u + \lambda(A) u - \omega(A) v, \qquad
        \partial_t v = d\,\Delta v + \omega(A) u + \lambda(A) v,

    with :math:`A^2 = u^2 + v^2`, :math:`\lambda(A) = 1 - A^2` and
    :math:`\omega(A) = -\beta A^2`. A uniform state with :math:`A = 1` is the
    limit cycle, rotating at angular frequency :math:`-\beta`:
    :math:`u + i v = e^{i(\phi_0 - \beta t)}`; :math:`u = v = 0` is a steady
    state. Each trajectory starts from a one-armed spiral
    :math:`u + iv = \tanh(r)\, e^{i(\theta - r)}` about a random centre,
    rotated by a random angle, plus uniform noise of amplitude ``noise``.

    Parameters
    ----------
    num_trajectories : int
        Number of trajectories (default: ``4``).
    size : int
        Grid side (default: ``64``).
    length : float
        Side of the periodic domain; spacing ``length / size`` (default:
        ``20.0``).
    num_frames, frame_dt, dt : int, float, float
        Frames, time between them and the RK4 step (default: ``40``,
        ``0.5``, ``0.05``).
    d : float
        Diffusivity of both channels (default: ``0.1``).
    beta : float
        Twist (default: ``1.0``).
    noise : float
        Amplitude of the initial noise (default: ``0.05``).
    seed : int
        Seed (default: ``0``).

    Returns
    -------
    Field
        ``[num_trajectories, num_frames, 2, size, size]``, channels
        ``("u", "v")``.
    """
    _frames(num_frames)
    substeps = _substeps(frame_dt, dt)
    _check("length", length)
    _check("d", d, low=-1e-300)
    if num_trajectories < 1:
        raise ValueError(f"`num_trajectories` must be >= 1, got {num_trajectories}")
    h = length / size
    gen = torch.Generator().manual_seed(seed)
    axis = (torch.arange(size, dtype=torch.float64) + 0.5) * h
    y, x = torch.meshgrid(axis, axis, indexing="ij")
    states = []
    for _ in range(num_trajectories):
        cx, cy = (
            0.25 + 0.5 * torch.rand(2, generator=gen, dtype=torch.float64)
        ) * length
        phase = 2 * math.pi * float(torch.rand((), generator=gen, dtype=torch.float64))
        dx = torch.remainder(x - cx + length / 2, length) - length / 2
        dy = torch.remainder(y - cy + length / 2, length) - length / 2
        r = torch.sqrt(dx**2 + dy**2)
        angle = torch.atan2(dy, dx) - r + phase
        amp = torch.tanh(r)
        state = torch.stack([amp * torch.cos(angle), amp * torch.sin(angle)])
        state = state + noise * (
            2 * torch.rand(state.shape, generator=gen, dtype=torch.float64) - 1
        )
        states.append(state)
    return _lambda_omega_run(
        torch.stack(states), num_frames, frame_dt, dt, substeps, d, beta, h
    )


def _lambda_omega_run(
    state: Tensor,
    num_frames: int,
    frame_dt: float,
    dt: float,
    substeps: int,
    d: float,
    beta: float,
    h: float,
) -> Field:
    def rhs(s: Tensor) -> Tensor:
        u, v = s[:, 0], s[:, 1]
        a2 = u * u + v * v
        lam, om = 1 - a2, -beta * a2
        du = d * _laplacian(u, h) + lam * u - om * v
        dv = d * _laplacian(v, h) + om * u + lam * v
        return torch.stack([du, dv], 1)

    values = _rk4(rhs, state.to(torch.float64), dt, substeps, num_frames)
    return Field(
        values.float(),
        torch.arange(num_frames, dtype=torch.float64) * frame_dt,
        ("u", "v"),
        h,
        {},
        "lambda-omega",
    )


def burgers(
    num_trajectories: int = 4,
    *,
    size: int = 128,
    num_frames: int = 40,
    frame_dt: float = 0.05,
    dt: float = 0.001,
    nu: float = 0.05,
    modes: int = 3,
    initial: Tensor | None = None,
    seed: int = 0,
) -> Field:
    r"""Simulate viscous Burgers in conservative form on a periodic line.

    .. math::
        \partial_t u + \partial_x \tfrac{u^2}{2} = \nu\, \partial_{xx} u,
        \qquad x \in [0, 2\pi).

    The flux difference is taken at cell faces,
    :math:`F_{i+1/2} = (u_i^2 + u_i u_{i+1} + u_{i+1}^2)/6` (the skew-symmetric
    split, which also conserves :math:`\sum u^2` without viscosity), so
    :math:`\sum_i u_i` is conserved to rounding; a constant state is steady.
    Initial states are random sums of ``modes`` sines (or ``initial``).

    Parameters
    ----------
    num_trajectories : int
        Number of trajectories, ignored with ``initial`` (default: ``4``).
    size : int
        Number of grid points (default: ``128``).
    num_frames, frame_dt, dt : int, float, float
        Frames, time between them and the RK4 step (default: ``40``,
        ``0.05``, ``0.001``).
    nu : float
        Viscosity (default: ``0.05``).
    modes : int
        Number of sine modes of the random initial state (default: ``3``).
    initial : Tensor, optional
        ``[B, size]`` initial states.
    seed : int
        Seed (default: ``0``).

    Returns
    -------
    Field
        ``[B, num_frames, 1, size]``, channel ``("u",)``.
    """
    _frames(num_frames)
    substeps = _substeps(frame_dt, dt)
    _check("nu", nu, low=-1e-300)
    h = 2 * math.pi / size
    if initial is None:
        gen = torch.Generator().manual_seed(seed)
        x = torch.arange(size, dtype=torch.float64) * h
        amp = torch.randn(
            num_trajectories, modes, 1, generator=gen, dtype=torch.float64
        )
        shift = (
            2
            * math.pi
            * torch.rand(num_trajectories, modes, 1, generator=gen, dtype=torch.float64)
        )
        wave = torch.arange(1, modes + 1, dtype=torch.float64).view(1, modes, 1)
        u0 = (amp / wave * torch.sin(wave * x + shift)).sum(1)
    else:
        u0 = torch.as_tensor(initial, dtype=torch.float64)
        if u0.dim() != 2 or u0.shape[1] != size:
            raise ValueError(
                f"`initial` must have shape [B, {size}], got {list(u0.shape)}"
            )

    def rhs(u: Tensor) -> Tensor:
        right = u.roll(-1, -1)
        flux = (u * u + u * right + right * right) / 6.0
        lap = (right + u.roll(1, -1) - 2 * u) / h**2
        return -(flux - flux.roll(1, -1)) / h + nu * lap

    values = _rk4(rhs, u0.unsqueeze(1), dt, substeps, num_frames)
    return Field(
        values.float(),
        torch.arange(num_frames, dtype=torch.float64) * frame_dt,
        ("u",),
        h,
        {},
        "burgers",
    )
