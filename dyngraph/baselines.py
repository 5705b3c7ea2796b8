"""Non-learned link scorers shared by the model families.

Every learned model should beat these memory-only baselines; the families'
evaluations and the quick start score them beside their models.
"""

from __future__ import annotations

import torch
from torch import Tensor

from dyngraph.data.events import EventStream

__all__ = ["history_link_scores", "preferential_attachment_scores"]


def history_link_scores(history: EventStream, src: Tensor, dst: Tensor) -> Tensor:
    """Score candidate links by how often the pair interacted before.

    The score of :math:`(s, d)` is the number of events of :obj:`history`
    between :math:`s` and :math:`d` in either direction, a memory-only
    baseline (EdgeBank with counts).

    Parameters
    ----------
    history : EventStream
        Events observed so far.
    src, dst : torch.Tensor
        Candidate pairs, any matching shapes.

    Returns
    -------
    torch.Tensor
        Float32 counts with the shape of ``src``.
    """
    n = history.num_nodes
    if history.num_events == 0:
        return torch.zeros(src.shape, dtype=torch.float32, device=src.device)
    lo = torch.minimum(history.src, history.dst)
    hi = torch.maximum(history.src, history.dst)
    keys, counts = torch.unique(lo * n + hi, return_counts=True)
    q = torch.minimum(src, dst) * n + torch.maximum(src, dst)
    pos = torch.searchsorted(keys, q).clamp(max=keys.numel() - 1)
    return torch.where(keys[pos] == q, counts[pos], 0).to(torch.float32)


def preferential_attachment_scores(
    history: EventStream, src: Tensor, dst: Tensor
) -> Tensor:
    r"""Score candidate links by :math:`k_s k_d`, the product of event counts.

    :math:`k_i` is the number of events of :obj:`history` node :math:`i`
    takes part in (float64).
    """
    degree = history.degree().double()
    return degree[src] * degree[dst]
