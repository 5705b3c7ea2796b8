"""Plots of event streams: activity over time, degrees, sign balance."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from dyngraph.data.events import EventStream

# Unix seconds from 1990 to 2100 are plotted as dates
_UNIX_RANGE = (631_152_000.0, 4_102_444_800.0)

__all__ = [
    "plot_events_over_time",
    "plot_degree_distribution",
    "plot_sign_balance",
    "plot_overview",
]


def _times(stream: EventStream, ax: Axes) -> np.ndarray:
    """Event times for the x axis; Unix seconds are shown as dates."""
    t = stream.t.cpu().double().numpy()
    if _UNIX_RANGE[0] <= t[0] and t[-1] <= _UNIX_RANGE[1] and t[-1] - t[0] > 86400:
        import matplotlib.dates as mdates

        ax.xaxis_date()
        ax.set_xlabel("date")
        return mdates.date2num(t.astype("datetime64[s]"))
    ax.set_xlabel("time")
    return t


def _axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.figure().add_subplot()


def plot_events_over_time(
    stream: EventStream, ax: Axes | None = None, bins: int = 50
) -> Axes:
    """Histogram of event times (events per bin of equal width).

    Parameters
    ----------
    stream : EventStream
        The events.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on (default: a new figure).
    bins : int
        Number of time bins (default: 50).
    """
    ax = _axes(ax)
    ax.hist(_times(stream, ax), bins=bins, color="tab:blue")
    ax.set_ylabel("events per bin")
    ax.set_title("events over time")
    return ax


def plot_degree_distribution(stream: EventStream, ax: Axes | None = None) -> Axes:
    r"""Complementary cumulative degree distribution on log-log axes.

    Plots :math:`P(k \ge x)` where :math:`k` is the number of events a node
    takes part in (in + out); nodes without events are left out.

    Parameters
    ----------
    stream : EventStream
        The events.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on (default: a new figure).
    """
    ax = _axes(ax)
    deg = stream.degree().cpu().numpy()
    deg = np.sort(deg[deg > 0])
    ccdf = 1.0 - np.arange(deg.size) / deg.size
    ax.loglog(deg, ccdf, marker=".", linestyle="none", color="tab:green")
    ax.set_xlabel("events per node")
    ax.set_ylabel("fraction of nodes with at least that many")
    ax.set_title("degree distribution")
    return ax


def plot_sign_balance(
    stream: EventStream, ax: Axes | None = None, bins: int = 50
) -> Axes:
    """Fraction of positive events per time bin (signed streams only).

    Parameters
    ----------
    stream : EventStream
        A signed stream.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on (default: a new figure).
    bins : int
        Number of time bins (default: 50).
    """
    if stream.sign is None:
        raise ValueError(
            "plot_sign_balance needs a signed stream (stream.sign is None)"
        )
    ax = _axes(ax)
    t = _times(stream, ax)
    edges = np.linspace(t[0], t[-1], bins + 1)
    which = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, bins - 1)
    total = np.bincount(which, minlength=bins)
    pos = np.bincount(which, weights=(stream.sign.cpu().numpy() > 0), minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = pos / total
    centres = 0.5 * (edges[1:] + edges[:-1])
    ax.plot(centres, share, marker=".", color="tab:red")
    overall = float((stream.sign > 0).double().mean())
    ax.axhline(overall, color="grey", linestyle="--", label=f"overall {overall:.2f}")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("share of positive events")
    ax.set_title("sign balance")
    ax.legend(loc="lower left")
    return ax


def plot_overview(stream: EventStream, path: str | Path | None = None) -> Figure:
    """One figure with the activity, degree and (if signed) sign panels.

    Parameters
    ----------
    stream : EventStream
        The events.
    path : str or Path, optional
        Where to save the figure (PNG, PDF ... by suffix).
    """
    import matplotlib.pyplot as plt

    panels = 3 if stream.sign is not None else 2
    fig, axes = plt.subplots(1, panels, figsize=(4.5 * panels, 3.8))
    plot_events_over_time(stream, axes[0])
    plot_degree_distribution(stream, axes[1])
    if stream.sign is not None:
        plot_sign_balance(stream, axes[2])
    summary = stream.summary()
    fig.suptitle(
        f"{stream.name or 'event stream'}: {summary['num_active_nodes']:,} nodes, "
        f"{summary['num_events']:,} events"
    )
    fig.autofmt_xdate()
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig
