r"""Data-parallel training on PyTorch's own engine: ``torch.distributed``.

Launch any ``dyngraph fit`` command with ``torchrun``; every process (rank)
runs the same code, :func:`setup` joins them into one process group from
torchrun's environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``MASTER_ADDR``, ``MASTER_PORT``) and :func:`~dyngraph.training.fit` does
the rest:

* the model is wrapped in :class:`~torch.nn.parallel.DistributedDataParallel`
  (:func:`wrap`), which averages the gradients of all ranks in ``backward``;
* each rank computes its loss on its shard of the global batch
  (:func:`shard`). With a loss that is a sum over items divided by the
  *global* batch size and multiplied by the world size
  (:func:`global_mean`), DDP's average of the ranks' gradients is the
  gradient of the global batch mean, so ``N`` processes take the same steps
  as one process on the same global batch;
* the loss value of every step is summed over the ranks
  (:func:`all_reduce_`); a NaN or infinity on any rank is therefore seen by
  all of them, and all stop together with the same
  :class:`~dyngraph.training.NonFiniteLossError` (no rank is left waiting in
  a collective);
* validation metrics are averaged over the ranks;
* checkpoints and outputs are written by rank 0 only (:func:`is_main`),
  with the random number generator states of every rank, so that every rank
  resumes from the same file with its own generators (for the same world
  size);
* each rank's generators are seeded with :func:`rank_seed`, so a run is
  reproducible for a given seed and world size.

The backend is ``nccl`` when CUDA is available and ``gloo`` otherwise;
``DYNGRAPH_DIST_BACKEND`` (or ``setup(backend=...)``) overrides it. Without
torchrun (``WORLD_SIZE`` unset or ``1``) everything here is a no-op and
training runs in one process as before.
"""

from __future__ import annotations

import datetime
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn

__all__ = [
    "Context",
    "all_gather_objects",
    "all_reduce_",
    "barrier",
    "context",
    "global_mean",
    "is_main",
    "rank_seed",
    "setup",
    "shard",
    "teardown",
    "unwrap",
    "wrap",
]

BACKEND_ENV = "DYNGRAPH_DIST_BACKEND"
"""Environment variable that overrides the automatic backend choice."""

TIMEOUT_ENV = "DYNGRAPH_DIST_TIMEOUT"
"""Seconds a collective may wait for the other ranks (default 600)."""


@dataclass(frozen=True)
class Context:
    """Where this process stands in the process group.

    Attributes
    ----------
    rank : int
        This process's rank, ``0 <= rank < world_size``.
    world_size : int
        Number of processes (``1`` without torchrun).
    local_rank : int
        Rank on this machine (picks the CUDA device).
    backend : str or None
        ``"gloo"`` or ``"nccl"``; ``None`` in a single process.
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None

    @property
    def distributed(self) -> bool:
        """Whether more than one process takes part."""
        return self.world_size > 1

    @property
    def device(self) -> torch.device:
        """The device this rank computes on (its CUDA device under nccl)."""
        if self.backend == "nccl":
            return torch.device("cuda", self.local_rank)
        return torch.device("cpu")


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(
            f"the environment variable {name}={value!r} is not an integer; "
            "launch with torchrun, which sets it"
        ) from None


def context() -> Context:
    """Return this process's :class:`Context` (a single process if no group)."""
    if not (dist.is_available() and dist.is_initialized()):
        return Context()
    return Context(
        rank=dist.get_rank(),
        world_size=dist.get_world_size(),
        local_rank=_env_int("LOCAL_RANK", 0),
        backend=str(dist.get_backend()),
    )


def setup(backend: str | None = None) -> Context:
    """Join the process group that torchrun describes in the environment.

    Parameters
    ----------
    backend : {"gloo", "nccl"}, optional
        Default: :data:`BACKEND_ENV` if set, else ``"nccl"`` when CUDA is
        available and ``"gloo"`` otherwise.

    Returns
    -------
    Context
        A single-process context when ``WORLD_SIZE`` is unset or ``1``.

    Raises
    ------
    ValueError
        For an unknown backend, ``nccl`` without CUDA, or malformed
        torchrun variables.
    """
    world = _env_int("WORLD_SIZE", 1)
    if world <= 1:
        return Context()
    if dist.is_initialized():
        return context()
    choice = (
        backend
        or os.environ.get(BACKEND_ENV)
        or ("nccl" if torch.cuda.is_available() else "gloo")
    )
    if choice not in ("gloo", "nccl"):
        raise ValueError(
            f"distributed backend {choice!r} (from "
            f"{'backend=' if backend else BACKEND_ENV}) is not one of 'gloo', 'nccl'"
        )
    if choice == "nccl" and not torch.cuda.is_available():
        raise ValueError(
            "distributed backend 'nccl' needs CUDA, which is not available here; "
            f"use 'gloo' (unset {BACKEND_ENV})"
        )
    local_rank = _env_int("LOCAL_RANK", 0)
    if choice == "nccl":
        torch.cuda.set_device(local_rank)
    timeout = datetime.timedelta(seconds=_env_int(TIMEOUT_ENV, 600))
    dist.init_process_group(backend=choice, timeout=timeout)
    return context()


def teardown() -> None:
    """Leave the process group, if any (safe to call in a single process)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def is_main() -> bool:
    """Whether this process writes checkpoints and outputs (rank 0)."""
    return context().rank == 0


def barrier() -> None:
    """Wait for every rank (no-op in a single process)."""
    if context().distributed:
        dist.barrier()


def rank_seed(seed: int, rank: int | None = None) -> int:
    """Seed of ``rank``'s generators for a run seeded with ``seed``.

    Rank 0 keeps ``seed`` (so one process seeds as before); rank ``r`` gets
    ``seed + 1_000_003 r``, distinct for every rank of a run.
    """
    rank = context().rank if rank is None else rank
    return int(seed) + 1_000_003 * int(rank)


def shard(count: int, ctx: Context | None = None) -> slice:
    """Return this rank's contiguous part of ``count`` items of a global batch.

    The ``count`` items are cut into ``world_size`` contiguous parts whose
    sizes differ by at most one; rank ``r`` takes part ``r``. Concatenated
    in rank order the parts are the whole batch.

    Examples
    --------
    >>> shard(10, Context(rank=1, world_size=3))
    slice(4, 7, None)
    """
    ctx = context() if ctx is None else ctx
    if count < 0:
        raise ValueError(f"shard: `count` must be >= 0, got {count}")
    base, extra = divmod(count, ctx.world_size)
    start = ctx.rank * base + min(ctx.rank, extra)
    return slice(start, start + base + (ctx.rank < extra))


def global_mean(total: Tensor, count: int, ctx: Context | None = None) -> Tensor:
    r"""Scale a rank's summed loss so DDP's gradient average is the global mean.

    With :math:`S_r` the sum of the loss over rank :math:`r`'s items and
    :math:`n` the global number of items, rank :math:`r` returns
    :math:`W S_r / n`; DDP averages gradients over the :math:`W` ranks, so
    the step follows :math:`\nabla \tfrac{1}{n} \sum_r S_r`, the gradient of
    the global batch mean, whatever the shard sizes.

    Parameters
    ----------
    total : Tensor
        Sum of the loss over this rank's items.
    count : int
        Number of items in the *global* batch.
    """
    ctx = context() if ctx is None else ctx
    return total * (ctx.world_size / max(count, 1))


def all_reduce_(tensor: Tensor, op: str = "sum") -> Tensor:
    """Reduce ``tensor`` over the ranks in place (``"sum"`` or ``"max"``)."""
    ctx = context()
    if not ctx.distributed:
        return tensor
    ops = {"sum": dist.ReduceOp.SUM, "max": dist.ReduceOp.MAX}
    if op not in ops:
        raise ValueError(f"all_reduce_: `op` must be one of {sorted(ops)}, got {op!r}")
    if ctx.backend == "nccl" and tensor.device.type != "cuda":
        moved = tensor.to(ctx.device)
        dist.all_reduce(moved, op=ops[op])
        tensor.copy_(moved.cpu())
    else:
        dist.all_reduce(tensor, op=ops[op])
    return tensor


def all_gather_objects(value: Any) -> list[Any]:
    """Gather one picklable value from every rank, in rank order.

    Used in memory only (never on files): the generator states that rank 0
    writes into a checkpoint for every rank.
    """
    ctx = context()
    if not ctx.distributed:
        return [value]
    out: list[Any] = [None] * ctx.world_size
    dist.all_gather_object(out, value)
    return out


def wrap(model: nn.Module, **kwargs: Any) -> nn.Module:
    """Wrap ``model`` in DDP when several processes take part, else return it.

    Under ``nccl`` the model is moved to the rank's CUDA device first.
    ``kwargs`` go to :class:`~torch.nn.parallel.DistributedDataParallel`.

    ``broadcast_buffers=False`` (rank-local buffers such as memories, never
    copied from rank 0) is deprecated in recent PyTorch in favour of
    ``forward_sync_buffers``, which still copies buffers once at wrap time;
    PyTorch's own advice is to keep ``broadcast_buffers=False`` for rank-local
    buffers, so its ``FutureWarning`` is silenced here.
    """
    ctx = context()
    if not ctx.distributed:
        return model
    if not any(p.requires_grad for p in model.parameters()):
        return model
    from torch.nn.parallel import DistributedDataParallel

    if ctx.backend == "nccl":
        model = model.to(ctx.device)
        kwargs.setdefault("device_ids", [ctx.local_rank])
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", "`broadcast_buffers` is deprecated", FutureWarning
        )
        return DistributedDataParallel(model, **kwargs)


def unwrap(model: nn.Module) -> nn.Module:
    """Return the module inside a DDP wrapper (``model`` itself otherwise)."""
    from torch.nn.parallel import DistributedDataParallel

    return model.module if isinstance(model, DistributedDataParallel) else model


def mean_metrics(metrics: dict[str, float]) -> dict[str, float]:
    """Average a dict of scalar metrics over the ranks (same keys on each)."""
    ctx = context()
    if not ctx.distributed or not metrics:
        return metrics
    keys: Sequence[str] = sorted(metrics)
    values = torch.tensor([float(metrics[k]) for k in keys], dtype=torch.float64)
    all_reduce_(values)
    values /= ctx.world_size
    return {k: float(v) for k, v in zip(keys, values.tolist(), strict=True)}
