r"""Particle systems with known physics, generated in code (seeded).

Each generator returns :class:`~dyngraph.data.particles.Particles` (frames
``frame_dt`` apart, integrated with ``substeps`` smaller steps in between, in
float64):

* :func:`jelly`: a 2-D spring-mass block ("jelly") in the unit box: lattice
  springs (neighbours and diagonals) with dashpots, gravity, soft walls;
* :func:`drop`: a weakly compressible SPH-like fluid drop falling into the
  unit box;
* :func:`nbody`: softened gravitational n-body, integrated with the
  symplectic leapfrog (kick-drift-kick), for energy-drift checks
  (:func:`nbody_energy`).

Soft walls push a particle back with the force
:math:`k_w\,\delta - c_w\,\dot x_\perp` per unit mass when it is
:math:`\delta > 0` past a wall, so the dynamics stay smooth (a learned
simulator sees the walls through its boundary features).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from dyngraph.data.particles import Particles

__all__ = ["drop", "jelly", "nbody", "nbody_energy", "simulate_nbody"]

UNIT_BOX = ((0.0, 1.0), (0.0, 1.0))


def _check(**values: float) -> None:
    for name, value in values.items():
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"`{name}` must be a finite number > 0, got {value}")


def _check_counts(**values: int) -> None:
    for name, value in values.items():
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"`{name}` must be an int >= 1, got {value!r}")


def _walls(pos: np.ndarray, vel: np.ndarray, stiffness: float) -> np.ndarray:
    """Soft-wall acceleration for the unit box (critically damped per particle)."""
    damping = 2.0 * math.sqrt(stiffness)
    low = np.clip(-pos, 0.0, None)
    high = np.clip(pos - 1.0, 0.0, None)
    push = stiffness * (low - high)
    touching = (low > 0) | (high > 0)
    return push - damping * vel * touching


def _scatter(values: np.ndarray, index: np.ndarray, size: int) -> np.ndarray:
    """``[B, size, d]`` sums of ``values`` ``[B, E, d]`` into the rows ``index``."""
    b, _, d = values.shape
    flat = (np.arange(b)[:, None, None] * size + index[None, :, None]) * d
    flat = flat + np.arange(d)
    out = np.bincount(flat.ravel(), values.ravel(), minlength=b * size * d)
    return out.reshape(b, size, d)


def _lattice(side: tuple[int, int], spacing: float) -> np.ndarray:
    gx, gy = np.meshgrid(np.arange(side[0]), np.arange(side[1]), indexing="ij")
    return np.stack([gx.ravel(), gy.ravel()], 1) * spacing


def jelly(
    num_trajectories: int = 1,
    num_frames: int = 100,
    *,
    side: int = 16,
    spacing: float = 0.02,
    stiffness: float = 2000.0,
    damping: float = 2.0,
    gravity: float = 2.0,
    initial_speed: float = 0.5,
    spin_speed: float = 3.0,
    wall_stiffness: float = 1e4,
    frame_dt: float = 0.01,
    substeps: int = 10,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
) -> Particles:
    r"""Simulate a 2-D spring-mass jelly block bouncing in the unit box.

    ``side x side`` unit masses on a square lattice of ``spacing``, joined by
    springs to their neighbours and diagonal neighbours (rest length = the
    initial distance). Per unit mass,

    .. math::
        \ddot x_i = \sum_{j} \Big[k (\lVert x_{ij}\rVert - \ell_{ij})
            + c\, \dot x_{ij} \cdot \hat x_{ij}\Big] \hat x_{ij}
            - g\,e_y + w(x_i, \dot x_i),

    with :math:`x_{ij} = x_j - x_i`, the soft walls :math:`w`, integrated by
    semi-implicit Euler. Each trajectory places the block at a random spot
    of the box with a random velocity (uniform in
    ``[-initial_speed, initial_speed]`` per axis), a random spin (uniform
    in ``[-spin_speed, spin_speed]``) and a random rotation. With
    ``gravity = 0``, ``initial_speed = 0`` and ``spin_speed = 0`` the block
    stays at rest.

    Parameters
    ----------
    num_trajectories, num_frames : int
        Trajectories and frames per trajectory (defaults: ``1``, ``100``).
    side : int
        Particles per lattice side (default: ``16``: 256 particles).
    spacing : float
        Lattice spacing (default: ``0.02``).
    stiffness, damping : float
        Spring constant :math:`k` and dashpot :math:`c` (defaults: ``2000``,
        ``2``).
    gravity : float
        :math:`g` (default: ``2.0``).
    initial_speed : float
        Bound of the initial velocity per axis (default: ``0.5``).
    spin_speed : float
        Bound of the initial angular velocity (default: ``3.0``).
    wall_stiffness : float
        Soft-wall constant :math:`k_w` (default: ``1e4``).
    frame_dt : float
        Time between frames (default: ``0.01``).
    substeps : int
        Integration steps per frame (default: ``10``).
    seed : int
        Seed of the placements and velocities (default: ``0``).
    dtype : torch.dtype
        Dtype of the returned positions (default: ``torch.float32``).
    """
    _check_counts(
        num_trajectories=num_trajectories,
        num_frames=num_frames,
        side=side,
        substeps=substeps,
    )
    _check(
        spacing=spacing,
        stiffness=stiffness,
        wall_stiffness=wall_stiffness,
        frame_dt=frame_dt,
    )
    if min(gravity, initial_speed, spin_speed, damping) < 0:
        raise ValueError(
            "`gravity`, `initial_speed`, `spin_speed` and `damping` must be >= 0"
        )
    size = (side - 1) * spacing
    if size >= 0.9:
        raise ValueError(
            f"jelly: the block ({size:.3f} wide) must fit the unit box; lower "
            "`side` or `spacing`"
        )
    rest = _lattice((side, side), spacing) - size / 2
    diff = rest[None] - rest[:, None]
    dist = np.linalg.norm(diff, axis=-1)
    i, j = np.nonzero(np.triu(dist <= 1.5 * spacing, 1))
    length = dist[i, j]
    rng = np.random.default_rng(seed)
    start = []
    for _ in range(num_trajectories):
        angle = rng.uniform(-0.3, 0.3)
        rot = np.array(
            [[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]]
        )
        half = size / math.sqrt(2) + 0.01
        centre = np.array(
            [
                rng.uniform(half + 0.02, 1 - half - 0.02),
                rng.uniform(half + 0.05, 0.55),
            ]
        )
        if gravity == 0 and initial_speed == 0 and spin_speed == 0:
            rot, centre = np.eye(2), np.array([0.5, 0.5])
        start.append(rest @ rot.T + centre)
    pos = np.stack(start)
    vel = np.broadcast_to(
        rng.uniform(-initial_speed, initial_speed, (num_trajectories, 1, 2)), pos.shape
    ).copy()
    spin = rng.uniform(-spin_speed, spin_speed, (num_trajectories, 1, 1))
    arm = pos - pos.mean(1, keepdims=True)
    vel += spin * np.stack([-arm[..., 1], arm[..., 0]], -1)
    h = frame_dt / substeps
    frames = [pos.copy()]
    g = np.array([0.0, -gravity])
    for _ in range(num_frames - 1):
        for _ in range(substeps):
            xij = pos[:, j] - pos[:, i]
            norm = np.linalg.norm(xij, axis=-1, keepdims=True)
            unit = xij / norm
            rel = ((vel[:, j] - vel[:, i]) * unit).sum(-1, keepdims=True)
            force = (stiffness * (norm - length[:, None]) + damping * rel) * unit
            acc = _scatter(force, i, side * side) - _scatter(force, j, side * side)
            acc += g + _walls(pos, vel, wall_stiffness)
            vel = vel + h * acc
            pos = pos + h * vel
        frames.append(pos.copy())
    positions = torch.from_numpy(np.stack(frames, 1)).to(dtype)
    return Particles(positions, box=torch.tensor(UNIT_BOX), dt=frame_dt, name="jelly")


def _wendland(q: np.ndarray, support: float) -> tuple[np.ndarray, np.ndarray]:
    r"""2-D Wendland C2 kernel :math:`W(r)` and :math:`W'(r)/r`, ``q = r / support``."""
    norm = 7.0 / (math.pi * support**2)
    inside = q < 1.0
    one = np.clip(1.0 - q, 0.0, None)
    w = norm * one**4 * (1.0 + 4.0 * q) * inside
    dw_over_r = norm * (-20.0) * one**3 / support**2 * inside
    return w, dw_over_r


def _sph_acc(
    pos: np.ndarray,
    vel: np.ndarray,
    support: float,
    mass: float,
    rho0: float,
    sound_speed: float,
    viscosity: float,
    spacing: float,
    n: int,
) -> np.ndarray:
    """SPH pressure and viscosity accelerations of one trajectory ``[N, d]``."""
    from scipy.spatial import cKDTree

    pairs = cKDTree(pos).query_pairs(support, output_type="ndarray")
    i, j = pairs[:, 0], pairs[:, 1]
    xij = pos[i] - pos[j]
    r = np.linalg.norm(xij, axis=-1)
    w, dw = _wendland(r / support, support)
    w0, _ = _wendland(np.zeros(1), support)
    rho = mass * (w0 + np.bincount(i, w, n) + np.bincount(j, w, n))
    p = sound_speed**2 * np.clip(rho - rho0, 0.0, None)
    mu = np.minimum(((vel[i] - vel[j]) * xij).sum(-1), 0.0) / (r**2 + 0.01 * spacing**2)
    pi = -viscosity * sound_speed * spacing * mu / (0.5 * (rho[i] + rho[j]))
    coef = p[i] / rho[i] ** 2 + p[j] / rho[j] ** 2 + pi
    force = -(mass * coef * dw)[:, None] * xij  # on i; the opposite on j
    acc = _scatter(force[None], i, n)[0] - _scatter(force[None], j, n)[0]
    return acc


def drop(
    num_trajectories: int = 1,
    num_frames: int = 100,
    *,
    radius: float = 0.16,
    spacing: float = 0.02,
    sound_speed: float = 10.0,
    viscosity: float = 0.05,
    gravity: float = 1.0,
    initial_speed: float = 0.3,
    wall_stiffness: float = 1e4,
    frame_dt: float = 0.01,
    substeps: int = 10,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
) -> Particles:
    r"""Simulate a weakly compressible SPH-like drop falling into the unit box.

    Particles on a lattice of ``spacing`` inside a disc of ``radius`` (about
    200 particles by default), mass :math:`m = \rho_0 h_0^2` with
    :math:`\rho_0 = 1`, Wendland C2 kernel of support :math:`2 h_0`. Per step

    .. math::
        \rho_i = \sum_j m W_{ij},\quad p_i = c_0^2\,\max(\rho_i - \rho_0, 0),\\
        \ddot x_i = -\sum_j m\Big(\frac{p_i}{\rho_i^2} + \frac{p_j}{\rho_j^2}
            + \Pi_{ij}\Big)\nabla_i W_{ij} - g\,e_y + w(x_i, \dot x_i),

    with Monaghan's artificial viscosity
    :math:`\Pi_{ij} = -\alpha c_0 h_0\,\mu_{ij}/\bar\rho_{ij}`,
    :math:`\mu_{ij} = \min(0, v_{ij}\cdot x_{ij})/(\lVert x_{ij}\rVert^2 +
    0.01 h_0^2)`, the soft walls :math:`w`, and semi-implicit Euler. (The
    pressure is clipped at zero, as free-surface WCSPH codes do to avoid the
    tensile instability.) Each trajectory drops the disc from a random spot
    of the upper box with a random velocity.

    Parameters
    ----------
    num_trajectories, num_frames : int
        Trajectories and frames per trajectory (defaults: ``1``, ``100``).
    radius, spacing : float
        Disc radius and particle spacing :math:`h_0` (defaults: ``0.16``,
        ``0.02``).
    sound_speed : float
        :math:`c_0` (default: ``10``, about ten times the largest speed).
    viscosity : float
        :math:`\alpha` (default: ``0.05``).
    gravity, initial_speed, wall_stiffness, frame_dt, substeps, seed, dtype
        As in :func:`jelly`.
    """
    _check_counts(
        num_trajectories=num_trajectories, num_frames=num_frames, substeps=substeps
    )
    _check(
        radius=radius,
        spacing=spacing,
        sound_speed=sound_speed,
        wall_stiffness=wall_stiffness,
        frame_dt=frame_dt,
    )
    if radius >= 0.4:
        raise ValueError(f"drop: `radius` must be < 0.4 (the unit box), got {radius}")
    if gravity < 0 or initial_speed < 0 or viscosity < 0:
        raise ValueError("`gravity`, `initial_speed` and `viscosity` must be >= 0")
    side = int(2 * radius / spacing) + 1
    grid = _lattice((side, side), spacing) - (side - 1) * spacing / 2
    disc = grid[np.linalg.norm(grid, axis=1) <= radius]
    mass, rho0, support = spacing**2, 1.0, 2.0 * spacing
    rng = np.random.default_rng(seed)
    centres = np.stack(
        [
            rng.uniform(radius + 0.05, 1 - radius - 0.05, num_trajectories),
            rng.uniform(radius + 0.1, 0.6, num_trajectories),
        ],
        1,
    )
    pos = disc[None] + centres[:, None]
    vel = np.broadcast_to(
        rng.uniform(-initial_speed, initial_speed, (num_trajectories, 1, 2)), pos.shape
    ).copy()
    h = frame_dt / substeps
    g = np.array([0.0, -gravity])
    frames = [pos.copy()]
    n = len(disc)
    for _ in range(num_frames - 1):
        for _ in range(substeps):
            acc = np.empty_like(pos)
            for b in range(num_trajectories):
                acc[b] = _sph_acc(
                    pos[b],
                    vel[b],
                    support,
                    mass,
                    rho0,
                    sound_speed,
                    viscosity,
                    spacing,
                    n,
                )
            acc += g + _walls(pos, vel, wall_stiffness)
            vel = vel + h * acc
            pos = pos + h * vel
        frames.append(pos.copy())
    positions = torch.from_numpy(np.stack(frames, 1)).to(dtype)
    return Particles(positions, box=torch.tensor(UNIT_BOX), dt=frame_dt, name="drop")


def _nbody_acc(pos: np.ndarray, masses: np.ndarray, softening: float) -> np.ndarray:
    xij = pos[:, None] - pos[:, :, None]  # x_j - x_i
    inv = (np.sum(xij**2, -1) + softening**2) ** -1.5
    return np.einsum("bij,j,bijd->bid", inv, masses, xij)


def nbody_energy(
    positions: np.ndarray, velocities: np.ndarray, masses: np.ndarray, softening: float
) -> np.ndarray:
    r"""Return the total energy of softened gravitational bodies.

    .. math::
        E = \sum_i \tfrac12 m_i \lVert v_i\rVert^2
            - \sum_{i<j} \frac{m_i m_j}{(r_{ij}^2 + \epsilon^2)^{1/2}}

    ``positions`` and ``velocities`` are ``[..., N, d]``; ``G = 1``.
    """
    kinetic = 0.5 * np.einsum("n,...nd->...", masses, velocities**2)
    xij = positions[..., None, :, :] - positions[..., :, None, :]
    inv = (np.sum(xij**2, -1) + softening**2) ** -0.5
    mm = masses[:, None] * masses[None]
    iu = np.triu_indices(len(masses), 1)
    potential = -(mm[iu] * inv[..., iu[0], iu[1]]).sum(-1)
    return kinetic + potential


def simulate_nbody(
    num_trajectories: int = 1,
    num_frames: int = 100,
    *,
    num_bodies: int = 16,
    dim: int = 2,
    softening: float = 0.05,
    frame_dt: float = 0.01,
    substeps: int = 10,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Simulate softened gravitational n-body (``G = 1``) by leapfrog.

    Bodies of mass uniform in ``[0.5, 1.5] / num_bodies`` start uniformly in
    the unit disc (ball), with the centre-of-mass motion removed and random
    velocities scaled to virial equilibrium (:math:`2K = -U`). Kick-drift-kick
    leapfrog is symplectic: the energy error stays bounded (no secular
    drift) for a small enough step.

    Returns
    -------
    tuple of numpy arrays
        ``[B, T, N, d]`` positions and velocities (float64) and ``[N]``
        masses.
    """
    _check_counts(
        num_trajectories=num_trajectories,
        num_frames=num_frames,
        num_bodies=num_bodies,
        substeps=substeps,
    )
    _check(softening=softening, frame_dt=frame_dt)
    if dim not in (2, 3):
        raise ValueError(f"nbody: `dim` must be 2 or 3, got {dim}")
    rng = np.random.default_rng(seed)
    masses = rng.uniform(0.5, 1.5, num_bodies) / num_bodies
    pos = rng.normal(size=(num_trajectories, num_bodies, dim))
    pos *= rng.uniform(0, 1, (num_trajectories, num_bodies, 1)) ** (
        1 / dim
    ) / np.linalg.norm(pos, axis=-1, keepdims=True)
    vel = rng.normal(size=pos.shape)
    total = masses.sum()
    pos -= np.einsum("n,bnd->bd", masses, pos)[:, None] / total
    vel -= np.einsum("n,bnd->bd", masses, vel)[:, None] / total
    kinetic = 0.5 * np.einsum("n,bnd->b", masses, vel**2)
    potential = nbody_energy(pos, np.zeros_like(vel), masses, softening)
    vel *= np.sqrt(-potential / (2 * kinetic))[:, None, None]
    h = frame_dt / substeps
    acc = _nbody_acc(pos, masses, softening)
    out_pos, out_vel = [pos.copy()], [vel.copy()]
    for _ in range(num_frames - 1):
        for _ in range(substeps):
            vel = vel + 0.5 * h * acc
            pos = pos + h * vel
            acc = _nbody_acc(pos, masses, softening)
            vel = vel + 0.5 * h * acc
        out_pos.append(pos.copy())
        out_vel.append(vel.copy())
    return np.stack(out_pos, 1), np.stack(out_vel, 1), masses


def nbody(
    num_trajectories: int = 1,
    num_frames: int = 100,
    *,
    num_bodies: int = 16,
    dim: int = 2,
    softening: float = 0.05,
    frame_dt: float = 0.01,
    substeps: int = 10,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
) -> Particles:
    """Return the trajectories of :func:`simulate_nbody` as :class:`Particles`.

    Softened gravity without walls; the box is the bounding box of the
    positions.
    """
    pos, _, _ = simulate_nbody(
        num_trajectories,
        num_frames,
        num_bodies=num_bodies,
        dim=dim,
        softening=softening,
        frame_dt=frame_dt,
        substeps=substeps,
        seed=seed,
    )
    return Particles(torch.from_numpy(pos).to(dtype), dt=frame_dt, name="nbody")
