"""Plots of fitted PiVeM embeddings: 2-D trajectories and a GIF animation."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor

from dyngraph.models.pivem.model import PiVeM

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["animate_embedding", "inferred_communities", "plot_trajectories"]


def inferred_communities(
    model: PiVeM,
    num_communities: int | None = None,
    *,
    method: str = "trajectories",
    num_times: int = 50,
    seed: int = 0,
) -> Tensor:
    r"""Hard community of every node, inferred from a fitted model.

    ``method="trajectories"`` (default) clusters the nodes' whole paths:
    k-means on the positions :math:`x_i(t_1), \dots, x_i(t_m)` at ``num_times``
    equally spaced times, each time slice centred first (distances, and so
    the likelihood, do not change when all nodes are shifted together).
    Nodes that travel together end up together, which is what the
    trajectory plots show.

    ``method="prior"`` takes :math:`\arg\max_k C_{ik}` with
    :math:`C = \mathrm{softmax}(Q)`, the soft memberships of the GP prior.
    With the default weak prior (:math:`\lambda = 10^5`) these barely move
    from their initial values, so they are informative only for fits with a
    strong prior.

    Parameters
    ----------
    model : PiVeM
        A fitted model.
    num_communities : int, optional
        Number of clusters (default: the model's ``num_communities``, at most
        the number of nodes). Ignored for ``method="prior"``.
    method : {"trajectories", "prior"}
        How to assign nodes (see above).
    num_times : int
        Time points per trajectory for ``"trajectories"`` (default: ``50``).
    seed : int
        Seed of k-means (default: ``0``).

    Returns
    -------
    Tensor
        ``[num_nodes]`` int64 labels on the CPU.
    """
    if method == "prior":
        return torch.softmax(model.q.detach(), dim=-1).argmax(-1).cpu()
    if method != "trajectories":
        raise ValueError(f"method must be 'trajectories' or 'prior', got {method!r}")
    from sklearn.cluster import KMeans

    k = model.num_communities if num_communities is None else int(num_communities)
    if k < 1:
        raise ValueError(f"num_communities must be >= 1, got {k}")
    k = min(k, model.num_nodes)
    times = torch.linspace(0, model.horizon, num_times, dtype=model.x0.dtype)
    with torch.no_grad():
        xy = model.positions(times.to(model.x0.device)).cpu().numpy()
    xy = xy - xy.mean(axis=1, keepdims=True)  # [times, nodes, dim]
    features = xy.transpose(1, 0, 2).reshape(model.num_nodes, -1)
    labels = KMeans(k, n_init=10, random_state=seed).fit_predict(features)
    return torch.as_tensor(labels, dtype=torch.int64)


def _trajectories(model: PiVeM, num_times: int) -> tuple[np.ndarray, np.ndarray]:
    if model.dim != 2:
        raise ValueError(f"PiVeM plots need dim=2, the model has dim={model.dim}")
    times = torch.linspace(0, model.horizon, num_times, dtype=model.x0.dtype)
    with torch.no_grad():
        xy = model.positions(times.to(model.x0.device)).cpu().numpy()
    return times.numpy(), xy


def _colours(model: PiVeM, communities: Tensor | np.ndarray | None) -> np.ndarray:
    import matplotlib.pyplot as plt

    labels = inferred_communities(model) if communities is None else communities
    labels = np.asarray(labels).astype(int)
    _, codes = np.unique(labels, return_inverse=True)
    return plt.get_cmap("tab10")(codes % 10)


def plot_trajectories(
    model: PiVeM,
    ax: Axes | None = None,
    *,
    communities: Tensor | np.ndarray | None = None,
    nodes: Tensor | np.ndarray | None = None,
    num_times: int = 200,
) -> Axes:
    """Draw every node's 2-D latent trajectory over ``[0, horizon]``.

    Lines are coloured by community and end in a dot at the horizon.

    Parameters
    ----------
    model : PiVeM
        A fitted model with ``dim=2``.
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: a new figure).
    communities : array-like of int, optional
        Community of every node (default: :func:`inferred_communities`).
    nodes : array-like of int, optional
        Nodes to draw (default: all).
    num_times : int
        Time points per trajectory (default: ``200``).

    Returns
    -------
    matplotlib.axes.Axes
        The axes.
    """
    import matplotlib.pyplot as plt

    _, xy = _trajectories(model, num_times)
    colours = _colours(model, communities)
    if ax is None:
        ax = plt.figure(figsize=(6, 6)).add_subplot()
    index = np.arange(model.num_nodes) if nodes is None else np.asarray(nodes)
    for i in index:
        ax.plot(xy[:, i, 0], xy[:, i, 1], color=colours[i], lw=0.8, alpha=0.7)
    ax.scatter(xy[-1, index, 0], xy[-1, index, 1], c=colours[index], s=12, zorder=3)
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel("latent dimension 1")
    ax.set_ylabel("latent dimension 2")
    ax.set_title("PiVeM trajectories (dots: positions at the horizon)")
    return ax


def animate_embedding(
    model: PiVeM,
    path: str | Path,
    *,
    communities: Tensor | np.ndarray | None = None,
    frames: int = 60,
    fps: int = 12,
    time_labels: np.ndarray | None = None,
) -> Path:
    """Write a GIF of the 2-D embedding moving over ``[0, horizon]``.

    Parameters
    ----------
    model : PiVeM
        A fitted model with ``dim=2``.
    path : str or Path
        Output ``.gif`` file.
    communities : array-like of int, optional
        Community of every node (default: :func:`inferred_communities`).
    frames : int
        Number of frames (default: ``60``).
    fps : int
        Frames per second (default: ``12``).
    time_labels : array-like, optional
        Label shown for each frame (default: the normalised time).

    Returns
    -------
    Path
        The written file.
    """
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation, PillowWriter

    times, xy = _trajectories(model, frames)
    colours = _colours(model, communities)
    fig, ax = plt.subplots(figsize=(5, 5))
    low, high = xy.reshape(-1, 2).min(0), xy.reshape(-1, 2).max(0)
    pad = 0.05 * (high - low).max()
    ax.set_xlim(low[0] - pad, high[0] + pad)
    ax.set_ylim(low[1] - pad, high[1] + pad)
    ax.set_aspect("equal")
    points = ax.scatter(xy[0, :, 0], xy[0, :, 1], c=colours, s=18)
    labels = times if time_labels is None else np.asarray(time_labels)
    title = ax.set_title("")

    def draw(frame: int) -> tuple:
        points.set_offsets(xy[frame])
        title.set_text(f"t = {labels[frame]:.3g}")
        return points, title

    animation = FuncAnimation(fig, draw, frames=frames, blit=False)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    animation.save(path, writer=PillowWriter(fps=fps))
    plt.close(fig)
    return path
