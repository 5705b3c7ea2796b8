"""Plots of a sparsifier: the graph and :math:`H` on the points, and the stream."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["plot_history", "plot_sparsifier"]


def _segments(matrix: sp.spmatrix, points: np.ndarray) -> np.ndarray:
    upper = sp.triu(matrix, k=1).tocoo()
    return np.stack([points[upper.row], points[upper.col]], axis=1)


def plot_sparsifier(
    graph: sp.spmatrix, sparsifier: sp.spmatrix, points: np.ndarray
) -> Figure:
    """Draw :math:`G` (light) and :math:`H` (dark) side by side on 2-D points.

    Parameters
    ----------
    graph, sparsifier : scipy.sparse matrix
        ``[V, V]`` adjacencies of :math:`G` and :math:`H`.
    points : numpy.ndarray
        ``[V, 2]`` vertex positions (e.g. from
        :func:`dyngraph.data.delaunay_graph`).

    Returns
    -------
    matplotlib.figure.Figure
        Two panels.
    """
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    points = np.asarray(points, dtype=float)
    if points.shape != (graph.shape[0], 2):
        raise ValueError(
            f"`points` must have shape [{graph.shape[0]}, 2], got {list(points.shape)}"
        )
    fig, axes = plt.subplots(1, 2, figsize=(10, 5), sharex=True, sharey=True)
    n = graph.shape[0]
    for ax, matrix, title in (
        (axes[0], graph, "graph G"),
        (axes[1], sparsifier, "sparsifier H"),
    ):
        ax.add_collection(
            LineCollection(_segments(matrix, points), linewidths=0.4, colors="0.2")
        )
        ax.set_title(f"{title}: {sp.triu(matrix, 1).nnz / n:.3f} edges/node")
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0].autoscale()
    fig.tight_layout()
    return fig


def plot_history(history: Sequence[dict[str, Any]]) -> Figure:
    r"""Plot :math:`\kappa(L_G, L_H)` and edges per node over the stream.

    Parameters
    ----------
    history : sequence of dict
        Records with ``"kappa"`` and ``"density"`` in stream order.

    Returns
    -------
    matplotlib.figure.Figure
        Two stacked panels.
    """
    import matplotlib.pyplot as plt

    if not history:
        raise ValueError("`history` is empty")
    x = np.arange(len(history))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6, 5), sharex=True)
    top.plot(x, [h["kappa"] for h in history], marker="o")
    top.set_ylabel(r"$\kappa(L_G, L_H)$")
    bottom.plot(x, [h["density"] for h in history], marker="o", color="C1")
    bottom.set_ylabel(r"$|E_H| / |V|$")
    bottom.set_xlabel("checkpoint")
    fig.tight_layout()
    return fig
