"""Plots of a fitted MixER: trajectories, contexts by expert, the loss matrix."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor

from dyngraph.models.mixer.model import MixER
from dyngraph.systems.environments import Environments

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_contexts", "plot_loss_matrix", "plot_trajectories"]


def plot_trajectories(
    model: MixER,
    data: Environments,
    contexts: Tensor | None = None,
    *,
    max_envs: int = 9,
    num_trajectories: int = 2,
) -> Figure:
    """Plot data (dots) and routed predictions (lines) of every environment.

    Parameters
    ----------
    model : MixER
        A fitted model.
    data : Environments
        Environments to show (the training ones unless ``contexts`` is given).
    contexts : tensor, optional
        Their contexts (default: the model's training contexts).
    max_envs : int
        At most this many environments, one panel each (default: ``9``).
    num_trajectories : int
        Trajectories per panel (default: ``2``).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    ctx = model.contexts.detach() if contexts is None else contexts
    shown = min(data.num_environments, max_envs)
    data = data.select(range(shown)).to(ctx.device, ctx.dtype)
    ctx = ctx[:shown]
    with torch.no_grad():
        pred = model.predict(data.x[:, :num_trajectories, 0], data.t, ctx).cpu()
    experts = model.route(ctx).cpu().tolist()
    cols = min(3, shown)
    rows = -(-shown // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.8 * rows), squeeze=False)
    t = data.t.cpu().numpy()
    x = data.x.cpu()
    for e, ax in enumerate(axes.flat):
        if e >= shown:
            ax.axis("off")
            continue
        for b in range(pred.shape[1]):
            for k in range(data.dim):
                color = f"C{k}"
                ax.plot(t, x[e, b, :, k], ".", color=color, alpha=0.6)
                label = data.state_names[k] if b == 0 else None
                ax.plot(t, pred[e, b, :, k], "-", color=color, label=label)
        family = data.family_names[int(data.family[e])]
        ax.set_title(f"env {e} ({family}): expert {experts[e]}", fontsize=9)
        if e == 0:
            ax.legend(fontsize=7)
    fig.supxlabel("t")
    fig.tight_layout()
    return fig


def plot_contexts(
    model: MixER,
    contexts: Tensor | None = None,
    families: Tensor | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Scatter the contexts coloured by routed expert (markers: family).

    Contexts of more than two dimensions are projected on their first two
    principal components; one-dimensional ones are plotted against their
    index.
    """
    import matplotlib.pyplot as plt

    ctx = (model.contexts if contexts is None else contexts).detach()
    experts = model.route(ctx).cpu().numpy()
    points = ctx.cpu().double().numpy()
    if points.shape[1] == 1:
        points = np.column_stack([np.arange(len(points)), points[:, 0]])
        labels = ("environment", "context")
    elif points.shape[1] > 2:
        centred = points - points.mean(0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        points = centred @ vt[:2].T
        labels = ("PC 1", "PC 2")
    else:
        labels = ("context 1", "context 2")
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4))
    markers = "osD^vP*X"
    fam = (
        np.zeros(len(points), dtype=int) if families is None else families.cpu().numpy()
    )
    for f in np.unique(fam):
        for m in np.unique(experts):
            keep = (fam == f) & (experts == m)
            if keep.any():
                ax.scatter(
                    points[keep, 0],
                    points[keep, 1],
                    color=f"C{m}",
                    marker=markers[f % len(markers)],
                    label=f"expert {m}" + ("" if families is None else f", family {f}"),
                )
    for e, (a, b) in enumerate(points):
        ax.annotate(str(e), (a, b), fontsize=7, alpha=0.7)
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.set_title("contexts by routed expert")
    ax.legend(fontsize=7)
    return ax


def plot_loss_matrix(
    matrix: Tensor, routing: Tensor | None = None, ax: Axes | None = None
) -> Axes:
    """Show the ``E x M`` expert-by-environment loss matrix, log scale.

    ``routing`` (``[E]``) marks the chosen expert of every environment.
    """
    import matplotlib.pyplot as plt

    values = np.log10(matrix.detach().cpu().double().numpy().clip(min=1e-12))
    if ax is None:
        _, ax = plt.subplots(
            figsize=(1.2 + 0.6 * values.shape[1], 1 + 0.3 * values.shape[0])
        )
    image = ax.imshow(values, aspect="auto", cmap="viridis_r")
    ax.figure.colorbar(image, ax=ax, label="log10 MSE")
    if routing is not None:
        rows = np.arange(values.shape[0])
        ax.scatter(routing.cpu().numpy(), rows, marker="x", color="red", label="routed")
        ax.legend(fontsize=7, loc="upper right")
    ax.set_xlabel("expert")
    ax.set_ylabel("environment")
    ax.set_xticks(range(values.shape[1]))
    ax.set_title("expert-by-environment loss")
    return ax
