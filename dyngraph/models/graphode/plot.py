"""Plots of graph-ODE forecasts: fields, the probe graph, error vs horizon."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from torch import Tensor

from dyngraph.models.graphode.coarsen import ProbeGraph

__all__ = ["plot_error_vs_horizon", "plot_forecast", "plot_probe_graph"]


def plot_forecast(
    truth: Tensor,
    forecast: Tensor,
    steps: Sequence[int] = (0, 4, 9, 19),
    *,
    trajectory: int = 0,
    channel: int = 0,
) -> Figure:
    """Truth (top row) and forecast (bottom row) of one channel at ``steps``.

    ``truth`` and ``forecast`` are ``[B, S, C, H, W]``; steps past ``S`` are
    dropped.
    """
    steps = [s for s in steps if s < truth.shape[1]]
    fig, axes = plt.subplots(
        2, len(steps), figsize=(2.2 * len(steps), 4.6), squeeze=False
    )
    low, high = (
        float(truth[trajectory, :, channel].min()),
        float(truth[trajectory, :, channel].max()),
    )
    for col, s in enumerate(steps):
        for row, (name, data) in enumerate((("truth", truth), ("forecast", forecast))):
            ax = axes[row, col]
            ax.imshow(
                data[trajectory, s, channel].cpu().numpy(),
                vmin=low,
                vmax=high,
                cmap="viridis",
            )
            ax.set_title(f"{name}, step {s + 1}", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
    fig.tight_layout()
    return fig


def plot_probe_graph(
    graphs: Sequence[tuple[int, ProbeGraph]],
    *,
    trajectory: int = 0,
    max_panels: int = 4,
    min_weight: float = 0.2,
) -> Figure:
    """Regions, probes and strong edges of each encoding of a rollout.

    ``graphs`` as in :attr:`~dyngraph.models.graphode.Rollout.graphs`; edges
    with weight below ``min_weight`` are not drawn (edges across the periodic
    boundary are drawn through the domain).
    """
    graphs = list(graphs)[:max_panels]
    fig, axes = plt.subplots(
        1, len(graphs), figsize=(3.2 * len(graphs), 3.3), squeeze=False
    )
    for ax, (step, graph) in zip(axes[0], graphs, strict=False):
        h, w = graph.grid
        ax.imshow(
            graph.regions(trajectory).cpu().numpy(),
            cmap="tab20",
            interpolation="nearest",
        )
        pos = graph.positions[trajectory].cpu().numpy() * np.array([h, w])
        weights = graph.weights[trajectory].cpu().numpy()
        for i, j in zip(*np.nonzero(np.triu(weights) >= min_weight), strict=True):
            ax.plot(
                pos[[i, j], 1],
                pos[[i, j], 0],
                color="k",
                lw=0.4 + weights[i, j],
                alpha=0.6,
            )
        ax.scatter(pos[:, 1], pos[:, 0], s=18, c="white", edgecolors="k", zorder=3)
        ax.set_title(
            f"encoded before step {step + 1}: {graph.num_probes} probes", fontsize=9
        )
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def plot_error_vs_horizon(
    errors: Mapping[str, Sequence[float]], metric: str = "RMSE"
) -> Figure:
    """One line per method: the error at every forecast step."""
    fig, ax = plt.subplots(figsize=(5, 3.4))
    for name, values in errors.items():
        ax.plot(np.arange(1, len(values) + 1), values, marker=".", label=name)
    ax.set_xlabel("forecast step")
    ax.set_ylabel(metric)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
