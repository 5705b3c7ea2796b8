r"""Dense-set rollout metrics of a :class:`SparseGraphOperator`.

:func:`dense_metrics` scores predicted against true positions of the dense
set with the metrics of :mod:`dyngraph.metrics`: rollout MSE at 1, 5, 20
steps and over the full rollout (averaged over particles and dimensions,
as LagrangeBench; GIOROM's code sums over dimensions), relative L2, Chamfer
distance and the kinetic-energy error. :func:`evaluate` rolls out every
test trajectory and scores the decoder and, on the same sparse rollout, the
nearest-neighbour decoder (in the model's configuration: reference
displacements, or Lagrangian accelerations for the ``"flow"`` decoders, in
which case the reference-configuration one is scored too).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from dyngraph.data.particles import Particles
from dyngraph.metrics import (
    chamfer_distance,
    kinetic_energy_error,
    relative_l2,
    rmse_per_step,
    rollout_mse,
)

if TYPE_CHECKING:
    from dyngraph.models.operators.model import SparseGraphOperator

__all__ = ["HORIZONS", "dense_metrics", "evaluate", "mse_per_step"]

HORIZONS = (1, 5, 20)
"""Rollout horizons of ``mse1``, ``mse5``, ``mse20``."""


def mse_per_step(truth: Tensor, pred: Tensor) -> list[float]:
    """Position MSE at every step of ``[B, S, N, d]`` rollouts (over B, N, d)."""
    return (rmse_per_step(truth, pred) ** 2).tolist()


def dense_metrics(truth: Tensor, pred: Tensor) -> dict[str, float]:
    """Score ``[B, S, N, d]`` predicted positions against the truth.

    Returns ``mse1``, ``mse5``, ``mse20`` (those within the rollout),
    ``mse`` (full rollout), ``rel_l2``, ``chamfer`` and ``e_kin``.
    """
    steps = truth.shape[1]
    out = {f"mse{h}": rollout_mse(truth, pred, h) for h in HORIZONS if h <= steps}
    out["mse"] = rollout_mse(truth, pred)
    out["rel_l2"] = relative_l2(truth, pred)
    out["chamfer"] = chamfer_distance(truth, pred)
    if steps >= 2:
        out["e_kin"] = kinetic_energy_error(truth, pred)
    return out


def evaluate(
    model: SparseGraphOperator, particles: Particles, steps: int
) -> dict[str, Any]:
    """Roll out every trajectory of ``particles`` and score the dense set.

    Returns
    -------
    dict
        ``model`` and ``nearest`` (the same sparse rollout decoded by
        nearest-neighbour interpolation in the model's configuration), and
        ``nearest_reference`` (nearest-neighbour displacements in the
        reference configuration, the ``"nearest"`` decoder): each
        :func:`dense_metrics` plus ``mse_per_step``; ``sparse_nodes`` and
        ``dense_particles``.
    """
    from dyngraph.models.operators.gno import nearest_interpolation

    flow = model.decoder_kind in ("flow", "flow_nearest")
    truth, pred, near, near_ref = [], [], [], []
    for b in range(particles.num_trajectories):
        roll = model.rollout(particles, b, steps)
        pos = particles.positions[b].to(roll.dense)
        ref = pos[0, roll.sparse_index]
        truth.append(pos[model.history : model.history + steps])
        pred.append(roll.dense)
        near_ref.append(pos[0] + nearest_interpolation(ref, roll.sparse - ref, pos[0]))
        if flow:
            h = model.history
            with torch.no_grad():
                near.append(
                    model.advect_rollout(
                        pos[:h, roll.sparse_index],
                        roll.sparse,
                        pos[h - 1],
                        pos[h - 1] - pos[h - 2],
                        nearest=True,
                    )
                )
    t, p, r = (torch.stack(x) for x in (truth, pred, near_ref))
    n = torch.stack(near) if flow else r
    return {
        "model": {**dense_metrics(t, p), "mse_per_step": mse_per_step(t, p)},
        "nearest": {**dense_metrics(t, n), "mse_per_step": mse_per_step(t, n)},
        "nearest_reference": {
            **dense_metrics(t, r),
            "mse_per_step": mse_per_step(t, r),
        },
        "sparse_nodes": int(roll.sparse_index.numel()),
        "dense_particles": particles.num_particles,
    }
