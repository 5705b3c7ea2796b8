"""Shared training code of every model family.

* :mod:`~dyngraph.training.loop`: the one fit loop (:func:`fit`): seeding,
  progress, atomic checkpoints, bit-exact resume (with the optimizer settings
  given now, and a check that the checkpoint fits the model:
  :func:`check_resumable`; :func:`prepare_checkpoints` for the commands),
  early stopping, and a stop with an explanation on
  a non-finite loss; :func:`shuffled_batches` (seeded epochs of example
  indices) and :func:`fit_checkpoint` (a command's ``checkpoints/fit.pt``);
* :mod:`~dyngraph.training.checkpoint`: the one checkpoint format (tensors
  and primitive configs, never unpickled), and :class:`SavesCheckpoint`,
  the models' ``save`` / ``load`` in it;
* :mod:`~dyngraph.training.distributed`: data-parallel training under
  ``torchrun`` (process group from the environment, DDP wrapping, batch
  shards, rank-0 checkpoints, a non-finite loss on any rank stops all).
"""

from dyngraph.training import distributed
from dyngraph.training.checkpoint import Checkpoint, CheckpointError, SavesCheckpoint
from dyngraph.training.loop import (
    FitResult,
    NonFiniteLossError,
    check_resumable,
    fit,
    fit_checkpoint,
    prepare_checkpoints,
    seed_everything,
    shuffled_batches,
)

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "FitResult",
    "NonFiniteLossError",
    "SavesCheckpoint",
    "check_resumable",
    "distributed",
    "fit",
    "fit_checkpoint",
    "prepare_checkpoints",
    "seed_everything",
    "shuffled_batches",
]
