r"""Particle trajectories with the GNS conventions: :class:`Particles`.

A Lagrangian simulation stores ``positions`` ``[B, T, N, d]`` (``B``
trajectories of ``T`` frames of ``N`` particles in ``d`` dimensions, one
frame every ``dt``), the particle ``types`` ``[N]``, and the simulation
``box`` ``[d, 2]`` (lower and upper bound per dimension).

The conventions of "Learning to Simulate Complex Physics with Graph
Networks" (Sanchez-Gonzalez et al., 2020) are built in, with time measured
in frames (the learned simulator never sees ``dt``):

* velocities :math:`v_t = x_t - x_{t-1}`, accelerations
  :math:`a_t = x_{t+1} - 2x_t + x_{t-1}` (:meth:`Particles.velocities`,
  :meth:`Particles.accelerations`);
* a window of :math:`C + 1` positions gives :math:`C` velocities
  (:meth:`Particles.velocity_history`);
* boundary features: the distances to the lower and upper walls over the
  connectivity radius, clipped to :math:`[-1, 1]`
  (:meth:`Particles.boundary_features`);
* normalisation statistics: per-dimension mean and standard deviation of
  the velocities and accelerations over every trajectory, frame and
  (non-kinematic) particle (:meth:`Particles.statistics`); particles of
  type :data:`KINEMATIC` (obstacles) are left out, as in GNS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

__all__ = ["KINEMATIC", "NUM_TYPES", "Particles", "boundary_features"]

KINEMATIC = 3
"""The GNS type of kinematic particles (obstacles): no noise, no loss,
overwritten with the truth during a rollout."""

NUM_TYPES = 9
"""Particle types of the GNS datasets."""


def boundary_features(positions: Tensor, box: Tensor, radius: float) -> Tensor:
    r"""``[..., N, 2d]`` distances to the walls over ``radius``, in :math:`[-1, 1]`.

    .. math::
        b_i = \mathrm{clip}\big([x_i - \ell,\ u - x_i] / R,\ -1,\ 1\big)

    with the box's lower bounds :math:`\ell` and upper bounds :math:`u`.
    """
    lower = (positions - box[:, 0]) / radius
    upper = (box[:, 1] - positions) / radius
    return torch.cat([lower, upper], -1).clamp(-1.0, 1.0)


@dataclass
class Particles:
    """Frames of a particle system (see the module docstring).

    Attributes
    ----------
    positions : Tensor
        ``[B, T, N, d]``, floating point, finite; ``d`` is 2 or 3.
    types : Tensor
        ``[N]`` integer types in ``[0, NUM_TYPES)`` (default: all ``0``).
    box : Tensor
        ``[d, 2]`` lower and upper bounds (default: the bounding box of
        ``positions``).
    dt : float
        Time between frames (default: ``1.0``).
    name : str
        What the system is (default: ``""``).

    Raises
    ------
    ValueError
        When a shape or value is invalid; the message names the attribute.
    """

    positions: Tensor
    types: Tensor | None = None
    box: Tensor | None = None
    dt: float = 1.0
    name: str = ""

    def __post_init__(self) -> None:
        pos = torch.as_tensor(self.positions)
        if not pos.is_floating_point():
            pos = pos.to(torch.get_default_dtype())
        if pos.dim() != 4 or pos.shape[-1] not in (2, 3):
            raise ValueError(
                "Particles: `positions` must have shape [B, T, N, d] with d = 2 or 3, "
                f"got {list(pos.shape)}"
            )
        if not torch.isfinite(pos).all():
            raise ValueError("Particles: `positions` holds NaN or infinite entries")
        n, d = pos.shape[2], pos.shape[3]
        types = (
            torch.zeros(n, dtype=torch.long, device=pos.device)
            if self.types is None
            else torch.as_tensor(self.types, device=pos.device)
        )
        if types.shape != (n,) or types.is_floating_point():
            raise ValueError(
                f"Particles: `types` must be {n} integers (one per particle), got "
                f"{list(types.shape)} ({types.dtype})"
            )
        if n and (int(types.min()) < 0 or int(types.max()) >= NUM_TYPES):
            raise ValueError(f"Particles: `types` must lie in [0, {NUM_TYPES})")
        if self.box is None:
            flat = pos.reshape(-1, d)
            box = torch.stack([flat.min(0).values, flat.max(0).values], 1)
        else:
            box = torch.as_tensor(self.box, dtype=pos.dtype, device=pos.device)
        if box.shape != (d, 2) or not bool((box[:, 1] > box[:, 0]).all()):
            raise ValueError(
                f"Particles: `box` must be [{d}, 2] (lower < upper per dimension), "
                f"got {box.tolist()}"
            )
        if not self.dt > 0:
            raise ValueError(f"Particles: `dt` must be > 0, got {self.dt}")
        self.positions, self.types, self.box = pos, types.long(), box

    @property
    def num_trajectories(self) -> int:
        """``B``."""
        return self.positions.shape[0]

    @property
    def num_frames(self) -> int:
        """``T``."""
        return self.positions.shape[1]

    @property
    def num_particles(self) -> int:
        """``N``."""
        return self.positions.shape[2]

    @property
    def dim(self) -> int:
        """``d``."""
        return self.positions.shape[3]

    @property
    def moving(self) -> Tensor:
        """``[N]`` booleans: the particles that are not kinematic."""
        return self.types != KINEMATIC

    def velocities(self) -> Tensor:
        """``[B, T - 1, N, d]`` velocities :math:`x_t - x_{t-1}` (per frame)."""
        return self.positions[:, 1:] - self.positions[:, :-1]

    def accelerations(self) -> Tensor:
        """``[B, T - 2, N, d]`` accelerations :math:`x_{t+1} - 2x_t + x_{t-1}`."""
        pos = self.positions
        return pos[:, 2:] - 2 * pos[:, 1:-1] + pos[:, :-2]

    def velocity_history(self, t: int, window: int) -> Tensor:
        """``[B, window - 1, N, d]`` the velocities of frames ``t - window + 1 .. t``.

        Raises
        ------
        ValueError
            When the window does not fit before frame ``t``.
        """
        if window < 2 or not window - 1 <= t < self.num_frames:
            raise ValueError(
                f"Particles.velocity_history: a window of {window} positions ending at "
                f"frame {t} needs 2 <= window <= t + 1 and t < {self.num_frames}"
            )
        span = self.positions[:, t - window + 1 : t + 1]
        return span[:, 1:] - span[:, :-1]

    def boundary_features(self, positions: Tensor, radius: float) -> Tensor:
        """Distances of ``positions`` to the walls (:func:`boundary_features`)."""
        return boundary_features(positions, self.box, radius)

    def statistics(self) -> dict[str, Tensor]:
        """Mean and standard deviation per dimension of velocities and accelerations.

        Over every trajectory, frame and non-kinematic particle, as GNS's
        metadata (``vel_mean``, ``vel_std``, ``acc_mean``, ``acc_std``).

        Raises
        ------
        ValueError
            With fewer than three frames (no acceleration).
        """
        if self.num_frames < 3:
            raise ValueError(
                f"Particles.statistics: needs at least 3 frames, got {self.num_frames}"
            )
        keep = self.moving
        vel = self.velocities()[:, :, keep].reshape(-1, self.dim)
        acc = self.accelerations()[:, :, keep].reshape(-1, self.dim)
        return {
            "vel_mean": vel.mean(0),
            "vel_std": vel.std(0),
            "acc_mean": acc.mean(0),
            "acc_std": acc.std(0),
        }

    def trajectories(self, index: Any) -> Particles:
        """Return the trajectories ``index`` (an int, slice or index tensor)."""
        if isinstance(index, int):
            index = [index]
        return Particles(
            self.positions[index], self.types, self.box, self.dt, self.name
        )

    def frames(self, index: slice) -> Particles:
        """Return the frames ``index`` (a slice of the time axis)."""
        return Particles(
            self.positions[:, index], self.types, self.box, self.dt, self.name
        )

    def to(
        self, device: torch.device | str | None = None, dtype: Any = None
    ) -> Particles:
        """Return the trajectories on ``device`` and/or in ``dtype``."""
        return Particles(
            self.positions.to(device=device, dtype=dtype),
            self.types.to(device),
            self.box.to(device=device, dtype=dtype),
            self.dt,
            self.name,
        )
