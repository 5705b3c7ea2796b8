r"""Codebook coarsening of a field into a probe graph, and the re-encoding rule.

A field's last :math:`T` frames give every pixel :math:`i` a history
:math:`h_i \in \mathbb{R}^{T C}`. k-means on the histories
(:func:`kmeans`) gives :math:`M` codes :math:`c_m` and the assignment
:math:`a(i) = \arg\min_m \lVert h_i - c_m\rVert`: pixels with similar recent
dynamics share a code, and each code contributes one probe, the pixel of its
region whose history is closest to the code. The probe graph is complete; the
weight :math:`w_{mn}` counts the 8-neighbour adjacencies between the regions
of :math:`m` and :math:`n` on the periodic grid, divided by the number of
non-zero entries of row :math:`m`, then min-max scaled to :math:`[0, 1]`
(SparseDiff's region-adjacency weights).

The latent consistency of current histories :math:`h_i` with the codes is
the mean cosine of the centred vectors,

.. math::
    \chi = \frac1N \sum_i \cos\big(h_i - \mu,\ c_{a(i)} - \mu\big),

with :math:`\mu` the mean current history and the codes refreshed on the
current histories (the mean of each region; :func:`latent_consistency`).
SparseDiff's paper re-encodes when :math:`\chi` falls below a threshold
:math:`\tau` (its released code only re-encodes at fixed intervals);
:class:`ReencodeRule`
fires when :math:`\chi_t < \tau\,\chi_{t_e}`, relative to the score at the
encoding time :math:`t_e`, so that :math:`\tau` does not depend on how well
the codebook fits in the first place. Here k-means on raw histories stands
in for the paper's learned VQ-VAE encoder.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

__all__ = [
    "ProbeGraph",
    "ReencodeRule",
    "encode",
    "kmeans",
    "latent_consistency",
    "region_adjacency",
]


def kmeans(
    x: Tensor, k: int, *, iters: int = 25, seed: int = 0
) -> tuple[Tensor, Tensor]:
    r"""Lloyd's k-means with k-means++ seeding; every cluster is non-empty.

    Minimises :math:`\sum_i \lVert x_i - c_{a(i)} \rVert^2`. A cluster that
    empties is re-seeded at the point farthest from its centre, so exactly
    ``k`` codes come back when ``x`` has at least ``k`` distinct rows.

    Parameters
    ----------
    x : Tensor
        ``[N, D]`` points.
    k : int
        Number of codes, ``1 <= k <= N``.
    iters : int
        Lloyd iterations (default: ``25``).
    seed : int
        Seed of the k-means++ draws (default: ``0``).

    Returns
    -------
    codes : Tensor
        ``[k, D]``.
    labels : Tensor
        ``[N]`` code of every point (long).
    """
    if x.dim() != 2:
        raise ValueError(f"kmeans: `x` must have shape [N, D], got {list(x.shape)}")
    n = x.shape[0]
    if not 1 <= k <= n:
        raise ValueError(
            f"kmeans: `k` must be in [1, {n}] (the number of points), got {k}"
        )
    gen = torch.Generator().manual_seed(seed)
    first = int(torch.randint(n, (1,), generator=gen))
    centres = [x[first]]
    dist = ((x - x[first]) ** 2).sum(1)
    for _ in range(1, k):
        total = dist.sum()
        if total <= 0:
            pick = int(torch.randint(n, (1,), generator=gen))
        else:
            pick = int(torch.multinomial((dist / total).cpu(), 1, generator=gen))
        centres.append(x[pick])
        dist = torch.minimum(dist, ((x - x[pick]) ** 2).sum(1))
    codes = torch.stack(centres)
    labels = torch.cdist(x, codes).argmin(1)
    for _ in range(iters):
        counts = torch.bincount(labels, minlength=k)
        sums = torch.zeros_like(codes).index_add_(0, labels, x)
        new = sums / counts.clamp_min(1).unsqueeze(1).to(x.dtype)
        empty = (counts == 0).nonzero().flatten()
        if empty.numel():
            far = ((x - new[labels]) ** 2).sum(1)
            for e in empty.tolist():
                pick = int(far.argmax())
                new[e] = x[pick]
                far[pick] = -1.0
        codes = new
        fresh = torch.cdist(x, codes).argmin(1)
        if torch.equal(fresh, labels) and not empty.numel():
            break
        labels = fresh
    return codes, labels


def region_adjacency(assignment: Tensor, num_codes: int) -> Tensor:
    r"""SparseDiff's edge weights between the code regions of a 2-D grid.

    Parameters
    ----------
    assignment : Tensor
        ``[H, W]`` code index of every pixel.
    num_codes : int
        ``M``.

    Returns
    -------
    Tensor
        ``[M, M]`` weights in :math:`[0, 1]`, zero on the diagonal: the
        number of 8-neighbour pixel pairs (periodic) joining two regions,
        each row divided by its number of non-zero entries, then min-max
        scaled over the whole matrix.
    """
    counts = torch.zeros(num_codes * num_codes, dtype=torch.float64)
    flat = assignment.flatten()
    for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
        other = assignment.roll((dr, dc), (0, 1)).flatten()
        for a, b in ((flat, other), (other, flat)):
            counts += torch.bincount(a * num_codes + b, minlength=num_codes**2).double()
    weights = counts.view(num_codes, num_codes)
    weights.fill_diagonal_(0.0)
    nonzero = (weights > 0).sum(1, keepdim=True).clamp_min(1)
    weights = weights / nonzero
    low, high = weights.min(), weights.max()
    if high > low:
        weights = (weights - low) / (high - low)
    return weights.float()


@dataclass
class ProbeGraph:
    """A batch of probe graphs, one per field (all with ``M`` probes).

    Attributes
    ----------
    assignment : Tensor
        ``[B, N]`` code (= probe) of every pixel, ``N = H * W``.
    probes : Tensor
        ``[B, M]`` flat pixel index of every probe.
    positions : Tensor
        ``[B, M, 2]`` probe (row, column) coordinates in ``[0, 1)``.
    weights : Tensor
        ``[B, M, M]`` region-adjacency weights (:func:`region_adjacency`).
    codes : Tensor
        ``[B, M, T*C]`` the codebook.
    center : Tensor
        ``[B, T*C]`` the mean history at encoding time.
    consistency : Tensor
        ``[B]`` :func:`latent_consistency` of the encoded histories.
    grid : tuple of int
        ``(H, W)``.
    """

    assignment: Tensor
    probes: Tensor
    positions: Tensor
    weights: Tensor
    codes: Tensor
    center: Tensor
    consistency: Tensor
    grid: tuple[int, int]

    @property
    def num_probes(self) -> int:
        """``M``."""
        return self.probes.shape[1]

    @property
    def probe_fraction(self) -> float:
        """``M / N``: the share of grid points that are probes."""
        return self.num_probes / self.assignment.shape[1]

    def regions(self, index: int = 0) -> Tensor:
        """``[H, W]`` pixel-to-probe assignment of graph ``index`` (plottable)."""
        return self.assignment[index].view(self.grid)

    def replace(self, rows: Tensor, other: ProbeGraph) -> ProbeGraph:
        """Return a copy whose graphs ``rows`` are those of ``other``."""
        parts = {}
        for name in (
            "assignment",
            "probes",
            "positions",
            "weights",
            "codes",
            "center",
            "consistency",
        ):
            value = getattr(self, name).clone()
            value[rows] = getattr(other, name)
            parts[name] = value
        return ProbeGraph(**parts, grid=self.grid)


def _histories(history: Tensor) -> Tensor:
    """``[B, T, C, H, W]`` frames to ``[B, N, T*C]`` pixel histories."""
    b, t, c, h, w = history.shape
    return history.reshape(b, t * c, h * w).transpose(1, 2)


def latent_consistency(history: Tensor, graph: ProbeGraph) -> Tensor:
    r"""Mean centred cosine :math:`\chi` of histories and their region's code.

    The codes are refreshed on the current histories: :math:`c_m` is the mean
    current history of region :math:`m` (k-means' update step, with the
    assignment of the encoding kept), and :math:`\mu` the current mean
    history. :math:`\chi` then measures whether the partition still groups
    similar recent dynamics, not whether the dynamics moved on: a field
    whose regions all evolve coherently (a travelling or rotating phase)
    keeps its score, a field whose pattern changes under the regions loses
    it. At the encoding time the refreshed codes are the k-means codes.

    Parameters
    ----------
    history : Tensor
        ``[B, T, C, H, W]`` the current last ``T`` frames.
    graph : ProbeGraph
        The encoding they are compared with.

    Returns
    -------
    Tensor
        ``[B]`` scores in :math:`[-1, 1]`.
    """
    h = _histories(history)
    h = h - h.mean(1, keepdim=True)
    b, n, d = h.shape
    m = graph.codes.shape[1]
    index = graph.assignment.unsqueeze(2).expand(-1, -1, d)
    sums = torch.zeros(b, m, d, dtype=h.dtype, device=h.device).scatter_add_(
        1, index, h
    )
    counts = torch.zeros(b, m, dtype=h.dtype, device=h.device).scatter_add_(
        1, graph.assignment, torch.ones_like(h[..., 0])
    )
    codes = sums / counts.clamp_min(1).unsqueeze(2)
    c = torch.gather(codes, 1, index)
    return torch.nn.functional.cosine_similarity(h, c, dim=2, eps=1e-8).mean(1)


def encode(
    history: Tensor,
    num_codes: int,
    *,
    iters: int = 25,
    seed: int = 0,
    prefer: Tensor | None = None,
) -> ProbeGraph:
    """Coarsen fields into probe graphs by k-means on pixel histories.

    Parameters
    ----------
    history : Tensor
        ``[B, T, C, H, W]`` the last ``T`` frames of ``B`` fields.
    num_codes : int
        ``M``, the number of codes and probes.
    iters, seed : int
        Passed to :func:`kmeans`.
    prefer : Tensor, optional
        ``[B, K]`` flat pixel indices to take as probes where they can: a
        region holding some of them gets the one closest to its code (a
        re-encoding during a rollout passes the old probes, whose histories
        are predicted states rather than decoded interpolations).

    Returns
    -------
    ProbeGraph
    """
    if history.dim() != 5:
        raise ValueError(
            "encode: `history` must have shape [B, T, C, H, W], "
            f"got {list(history.shape)}"
        )
    b, _, _, height, width = history.shape
    hist = _histories(history).detach()
    rows = torch.arange(height * width, device=history.device)
    coords = torch.stack([rows // width / height, rows % width / width], 1)
    coords = coords.to(history.dtype)
    parts: dict[str, list[Tensor]] = {
        k: []
        for k in ("assignment", "probes", "positions", "weights", "codes", "center")
    }
    for i in range(b):
        codes, labels = kmeans(hist[i], num_codes, iters=iters, seed=seed)
        dist = ((hist[i] - codes[labels]) ** 2).sum(1)
        big = dist.max() + 1.0
        if prefer is not None:  # preferred pixels rank before all others
            dist = dist.clone()
            dist[prefer[i]] -= big
        probes = torch.stack(
            [torch.where(labels == m, dist, big).argmin() for m in range(num_codes)]
        )
        parts["assignment"].append(labels)
        parts["probes"].append(probes)
        parts["positions"].append(coords[probes])
        parts["weights"].append(
            region_adjacency(labels.view(height, width).cpu(), num_codes).to(
                history.device, history.dtype
            )
        )
        parts["codes"].append(codes)
        parts["center"].append(hist[i].mean(0))
    stacked = {k: torch.stack(v) for k, v in parts.items()}
    graph = ProbeGraph(
        **stacked,
        consistency=torch.zeros(b, device=history.device),
        grid=(height, width),
    )
    graph.consistency = latent_consistency(history.detach(), graph)
    return graph


@dataclass
class ReencodeRule:
    r"""When to re-encode the probe graph during a rollout.

    Parameters
    ----------
    mode : {"adaptive", "interval", "never"}
        ``"adaptive"``: when :math:`\chi_t < \tau\,\chi_{t_e}` (the paper's
        rule, relative to the score at the last encoding); ``"interval"``:
        every ``every`` steps (the released code's rule); ``"never"``
        (default: ``"adaptive"``).
    tau : float
        Threshold of the adaptive rule, in ``(0, 1]`` (default: ``0.9``).
    every : int
        Interval of the fixed rule, ``>= 1`` (default: ``5``).
    """

    mode: Literal["adaptive", "interval", "never"] = "adaptive"
    tau: float = 0.9
    every: int = 5

    def __post_init__(self) -> None:
        if self.mode not in ("adaptive", "interval", "never"):
            raise ValueError(
                f"ReencodeRule: `mode` must be 'adaptive', 'interval' or 'never', "
                f"got {self.mode!r}"
            )
        if not 0 < self.tau <= 1:
            raise ValueError(f"ReencodeRule: `tau` must be in (0, 1], got {self.tau}")
        if self.every < 1:
            raise ValueError(f"ReencodeRule: `every` must be >= 1, got {self.every}")

    def fires(self, history: Tensor, graph: ProbeGraph, since: Tensor) -> Tensor:
        """``[B]`` booleans: which fields to re-encode now.

        Parameters
        ----------
        history : Tensor
            ``[B, T, C, H, W]`` current last frames.
        graph : ProbeGraph
            Current encoding.
        since : Tensor
            ``[B]`` steps since each field's last encoding.
        """
        if self.mode == "never":
            return torch.zeros_like(since, dtype=torch.bool)
        if self.mode == "interval":
            return since >= self.every
        return latent_consistency(history, graph) < self.tau * graph.consistency
