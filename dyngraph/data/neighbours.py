r"""Neighbourhood graphs of point clouds without compiled extensions.

PyG's ``radius_graph`` and ``radius`` call ``torch_cluster``, which is not
installable everywhere, and cap the neighbours at 32 by default (silently).
These use :class:`scipy.spatial.cKDTree` (on CPU; tensors on another device
go through the host) and have no neighbour cap. Edges follow PyG's
``source_to_target`` flow: ``edge_index[0]`` is the source :math:`j`,
``edge_index[1]`` the target :math:`i`, and :math:`j \to i` is an edge when
:math:`\lVert x_i - x_j \rVert \le r`.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.spatial import cKDTree
from torch import Tensor

__all__ = ["knn", "radius", "radius_graph"]


def _points(name: str, value: Tensor) -> np.ndarray:
    if value.dim() != 2 or value.shape[1] < 1:
        raise ValueError(f"`{name}` must have shape [N, d], got {list(value.shape)}")
    return value.detach().cpu().double().numpy()


def _check_radius(r: float) -> None:
    if not (np.isfinite(r) and r > 0):
        raise ValueError(f"`r` must be a finite number > 0, got {r}")


def _edges(src: np.ndarray, dst: np.ndarray, device: torch.device) -> Tensor:
    order = np.lexsort((src, dst))  # by target, then source: a stable layout
    out = np.stack([src[order], dst[order]]).astype(np.int64)
    return torch.from_numpy(out).to(device)


def radius_graph(pos: Tensor, r: float, loop: bool = False) -> Tensor:
    r"""``[2, E]`` edges between all points closer than ``r``, both directions.

    Parameters
    ----------
    pos : Tensor
        ``[N, d]`` points.
    r : float
        Connectivity radius (inclusive).
    loop : bool
        Add the self-loops :math:`i \to i` (default: ``False``).

    Returns
    -------
    Tensor
        ``[2, E]`` long, on the device of ``pos``, sorted by target then source.
    """
    _check_radius(r)
    points = _points("pos", pos)
    pairs = cKDTree(points).query_pairs(r, output_type="ndarray")
    src = [pairs[:, 0], pairs[:, 1]]
    dst = [pairs[:, 1], pairs[:, 0]]
    if loop:
        every = np.arange(len(points))
        src.append(every)
        dst.append(every)
    return _edges(np.concatenate(src), np.concatenate(dst), pos.device)


def radius(x: Tensor, y: Tensor, r: float, min_neighbours: int = 0) -> Tensor:
    r"""``[2, E]`` bipartite edges: to each point of ``y``, from ``x`` within ``r``.

    ``edge_index[0]`` indexes ``x`` (sources), ``edge_index[1]`` indexes ``y``
    (targets), as PyG's ``radius(x, y, r)`` flipped into message-passing
    order.

    Parameters
    ----------
    x : Tensor
        ``[M, d]`` source points.
    y : Tensor
        ``[Q, d]`` target (query) points.
    r : float
        Radius (inclusive).
    min_neighbours : int
        Also join every target to its ``min_neighbours`` nearest sources,
        so that no target is left without a neighbour (default: ``0``).

    Returns
    -------
    Tensor
        ``[2, E]`` long, on the device of ``x``, without duplicates.
    """
    _check_radius(r)
    if min_neighbours < 0:
        raise ValueError(f"`min_neighbours` must be >= 0, got {min_neighbours}")
    xs, ys = _points("x", x), _points("y", y)
    if xs.shape[1] != ys.shape[1]:
        raise ValueError(f"`x` has {xs.shape[1]} dimensions but `y` has {ys.shape[1]}")
    tree = cKDTree(xs)
    lists = tree.query_ball_point(ys, r)
    counts = np.fromiter((len(item) for item in lists), np.int64, len(lists))
    src = (
        np.concatenate([np.asarray(item, np.int64) for item in lists])
        if counts.sum()
        else np.zeros(0, np.int64)
    )
    dst = np.repeat(np.arange(len(ys)), counts)
    k = min(min_neighbours, len(xs))
    if k:
        _, near = tree.query(ys, k=k)
        near = near.reshape(len(ys), k)
        src = np.concatenate([src, near.reshape(-1)])
        dst = np.concatenate([dst, np.repeat(np.arange(len(ys)), k)])
        key = np.unique(dst * len(xs) + src)
        src, dst = key % len(xs), key // len(xs)
    return _edges(src, dst, x.device)


def knn(x: Tensor, y: Tensor, k: int) -> Tensor:
    """``[Q, k]``: the ``k`` nearest points of ``x`` to each point of ``y``."""
    if not 1 <= k <= len(x):
        raise ValueError(f"`k` must be in [1, {len(x)}], got {k}")
    _, near = cKDTree(_points("x", x)).query(_points("y", y), k=k)
    return torch.from_numpy(np.asarray(near, np.int64).reshape(len(y), k)).to(x.device)
