"""Plots of particle rollouts: frames, error against step, an animation."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from torch import Tensor

__all__ = ["animate_rollout", "plot_error_vs_step", "plot_rollout"]


def _scatter(ax: Any, truth: Tensor, pred: Tensor, sparse: Tensor | None) -> list:
    items = [
        ax.scatter(*truth.T.cpu(), s=6, c="0.6", label="true"),
        ax.scatter(*pred.T.cpu(), s=6, c="tab:blue", label="predicted"),
    ]
    if sparse is not None:
        items.append(
            ax.scatter(*sparse.T.cpu(), s=12, c="tab:red", label="sparse graph")
        )
    return items


def plot_rollout(
    truth: Tensor,
    pred: Tensor,
    sparse: Tensor | None = None,
    box: Tensor | None = None,
    frames: Sequence[int] | None = None,
) -> Any:
    """Plot true and predicted ``[S, N, 2]`` particles at a few frames.

    ``sparse`` (``[S, M, 2]``) marks the simulated sample; ``box`` (``[2, 2]``)
    sets the axes.
    """
    import matplotlib.pyplot as plt

    steps = truth.shape[0]
    frames = list(frames or sorted({0, steps // 2, steps - 1}))
    fig, axes = plt.subplots(1, len(frames), figsize=(3.2 * len(frames), 3.2))
    axes = [axes] if len(frames) == 1 else list(axes)
    for ax, s in zip(axes, frames, strict=True):
        _scatter(ax, truth[s], pred[s], None if sparse is None else sparse[s])
        if box is not None:
            ax.set_xlim(*box[0].tolist())
            ax.set_ylim(*box[1].tolist())
        ax.set_aspect("equal")
        ax.set_title(f"step {s + 1}")
    axes[0].legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    return fig


def plot_error_vs_step(errors: dict[str, Sequence[float]]) -> Any:
    """Plot position MSE per rollout step (log scale), one line per method."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    for name, values in errors.items():
        ax.semilogy(range(1, len(values) + 1), values, label=name)
    ax.set_xlabel("rollout step")
    ax.set_ylabel("position MSE (dense set)")
    ax.legend()
    fig.tight_layout()
    return fig


def animate_rollout(
    truth: Tensor,
    pred: Tensor,
    path: str | Path,
    sparse: Tensor | None = None,
    box: Tensor | None = None,
    fps: int = 10,
) -> Path:
    """Write an animated GIF of true against predicted ``[S, N, 2]`` particles.

    Uses :class:`matplotlib.animation.FuncAnimation` and Pillow; returns
    ``path``.
    """
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation, PillowWriter

    fig, ax = plt.subplots(figsize=(3.6, 3.6))
    items = _scatter(ax, truth[0], pred[0], None if sparse is None else sparse[0])
    if box is not None:
        ax.set_xlim(*box[0].tolist())
        ax.set_ylim(*box[1].tolist())
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=7)
    title = ax.set_title("step 1")
    clouds = [truth, pred] + ([] if sparse is None else [sparse])

    def draw(s: int) -> list:
        for item, cloud in zip(items, clouds, strict=True):
            item.set_offsets(cloud[s].cpu().numpy())
        title.set_text(f"step {s + 1}")
        return [*items, title]

    anim = FuncAnimation(fig, draw, frames=truth.shape[0], blit=False)
    path = Path(path)
    anim.save(path, writer=PillowWriter(fps=fps))
    plt.close(fig)
    return path
