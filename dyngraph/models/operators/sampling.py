r"""Subsampling a point cloud to a fraction of its points (seeded).

* :func:`farthest_point_sampling`: greedy farthest-point sampling (FPS), as
  GIOROM samples its sparse graph on the first frame: start from a random
  point, then repeatedly add the point farthest from those chosen,

  .. math::
      s_{k+1} = \arg\max_i \min_{j \le k} \lVert x_i - x_{s_j}\rVert;

* :func:`random_sampling`: a uniformly random subset;
* :func:`subsample`: either, for a ``ratio`` of the points
  (:math:`\lceil r N\rceil`, at least one).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor

__all__ = ["SAMPLERS", "farthest_point_sampling", "random_sampling", "subsample"]

SAMPLERS = ("fps", "random")
"""The names :func:`subsample` accepts."""


def _check_points(points: Tensor, k: int) -> None:
    if points.dim() != 2:
        raise ValueError(f"`points` must have shape [N, d], got {list(points.shape)}")
    if not 1 <= k <= points.shape[0]:
        raise ValueError(f"`k` must be in [1, {points.shape[0]}], got {k}")


def farthest_point_sampling(points: Tensor, k: int, seed: int = 0) -> Tensor:
    """``[k]`` indices of a farthest-point sample of ``points`` ``[N, d]``.

    The first index is drawn with ``seed``; the rest follow deterministically
    (ties go to the lowest index). Runs on the device of ``points``.
    """
    _check_points(points, k)
    n = points.shape[0]
    gen = torch.Generator().manual_seed(seed)
    first = int(torch.randint(n, (1,), generator=gen))
    chosen = torch.empty(k, dtype=torch.long, device=points.device)
    chosen[0] = first
    nearest = (points - points[first]).pow(2).sum(1)
    for i in range(1, k):
        nxt = int(nearest.argmax())
        chosen[i] = nxt
        nearest = torch.minimum(nearest, (points - points[nxt]).pow(2).sum(1))
    return chosen


def random_sampling(points: Tensor, k: int, seed: int = 0) -> Tensor:
    """``[k]`` indices of a uniformly random subset of ``points`` (sorted)."""
    _check_points(points, k)
    gen = torch.Generator().manual_seed(seed)
    index = torch.randperm(points.shape[0], generator=gen)[:k]
    return index.sort().values.to(points.device)


def subsample(
    points: Tensor,
    ratio: float,
    method: Literal["fps", "random"] = "fps",
    seed: int = 0,
) -> Tensor:
    """Return indices of ``ceil(ratio * N)`` points (at least one) by ``method``.

    Raises
    ------
    ValueError
        When ``ratio`` is not in ``(0, 1]`` or ``method`` is unknown.
    """
    if not (math.isfinite(ratio) and 0 < ratio <= 1):
        raise ValueError(f"subsample: `ratio` must be in (0, 1], got {ratio}")
    if method not in SAMPLERS:
        raise ValueError(
            f"subsample: `method` must be one of {', '.join(SAMPLERS)}, got {method!r}"
        )
    n = points.shape[0]
    k = min(n, max(1, math.ceil(ratio * n - 1e-9)))
    if k == n:
        return torch.arange(n, device=points.device)
    sample = farthest_point_sampling if method == "fps" else random_sampling
    return sample(points, k, seed)
