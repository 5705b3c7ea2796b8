"""``dyngraph quickstart``: a short tour on generated (and cached real) data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from dyngraph.data.events import EventStream

__all__ = ["run_quickstart", "history_link_scores"]

REAL_DATASETS = ("college-msg", "bitcoin-otc")


def history_link_scores(
    history: EventStream, src: torch.Tensor, dst: torch.Tensor
) -> torch.Tensor:
    """Score candidate links by how often the pair interacted before.

    The score of :math:`(s, d)` is the number of events of :obj:`history`
    between :math:`s` and :math:`d` in either direction, a memory-only
    baseline (EdgeBank with counts) that every learned model should beat.

    Parameters
    ----------
    history : EventStream
        Events observed so far.
    src, dst : torch.Tensor
        Candidate pairs, any matching shapes.
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


def _evaluate_history_baseline(stream: EventStream, seed: int) -> dict[str, float]:
    from dyngraph.data.sampling import NegativeSampler
    from dyngraph.data.splits import chronological_split
    from dyngraph.metrics import average_precision, roc_auc

    split = chronological_split(stream)
    history = stream[: split.train.num_events + split.val.num_events]
    sampler = NegativeSampler("random", num_negatives=1, seed=seed)
    sampler.fit(history)
    neg_dst, mask = sampler.sample(split.test)
    test = split.test
    pos = history_link_scores(history, test.src, test.dst)
    neg = history_link_scores(history, test.src, neg_dst[:, 0])[mask[:, 0]]
    labels = torch.cat([torch.ones_like(pos), torch.zeros_like(neg)])
    scores = torch.cat([pos, neg])
    return {
        "train_events": split.train.num_events,
        "val_events": split.val.num_events,
        "test_events": test.num_events,
        "history_auc": roc_auc(labels, scores),
        "history_ap": average_precision(labels, scores),
    }


def _describe(stream: EventStream, out: Path, seed: int) -> dict[str, Any]:
    import matplotlib.pyplot as plt

    from dyngraph.plot import plot_overview

    summary = stream.summary()
    summary.update(_evaluate_history_baseline(stream, seed))
    path = out / f"{stream.name}.png"
    plt.close(plot_overview(stream, path))
    summary["plot"] = str(path)
    print(f"\n== {stream.name} ==")
    for key in (
        "num_active_nodes",
        "num_events",
        "num_static_edges",
        "start_time",
        "end_time",
        "positive_fraction",
        "train_events",
        "val_events",
        "test_events",
        "history_auc",
        "history_ap",
    ):
        if key in summary:
            value = summary[key]
            shown = f"{value:,.4f}" if isinstance(value, float) else f"{value:,}"
            print(f"  {key:<18} {shown}")
    print(f"  plot               {path}")
    return summary


def _print_table(title: str, rows: dict[str, dict[str, float]]) -> None:
    columns = list(next(iter(rows.values())))
    print(f"\n{title}")
    print("  " + f"{'':<24}" + "".join(f"{c:>16}" for c in columns))
    for name, values in rows.items():
        cells = "".join(f"{values[c]:>16.3f}" for c in columns)
        print(f"  {name:<24}{cells}")


def _fit_pivem(stream: EventStream, out: Path, seed: int) -> dict[str, Any]:
    """Fit a small PiVeM on the generated latent-space network; write plots."""
    import matplotlib.pyplot as plt

    from dyngraph.models.pivem_eval import evaluate, evaluation_split
    from dyngraph.models.pivem_plot import animate_embedding, plot_trajectories

    split = evaluation_split(stream, seed=seed)
    result = evaluate(
        split, num_bins=10, num_communities=4, epochs=150, seed=seed, progress=False
    )
    metrics = result["metrics"]
    rows = {
        method: {task: metrics[task][method]["roc_auc"] for task in metrics}
        for method in next(iter(metrics.values()))
    }
    _print_table(
        f"== PiVeM on {stream.name}: ROC-AUC (fit "
        f"{result['fit_seconds']['pivem']:.1f} s) ==",
        rows,
    )
    model = result["models"]["pivem"]
    trajectories = out / "pivem_trajectories.png"
    ax = plot_trajectories(model)
    ax.figure.savefig(trajectories, dpi=120)
    plt.close(ax.figure)
    gif = animate_embedding(model, out / "pivem_embedding.gif", frames=40)
    print(f"  trajectories             {trajectories}")
    print(f"  animation                {gif}")
    return {"metrics": metrics, "files": [str(trajectories), str(gif)]}


def _fit_semba(stream: EventStream, seed: int) -> dict[str, Any]:
    """Fit a small SEMBA for sign prediction on the generated signed network."""
    from dyngraph.models.semba_eval import compare

    torch.manual_seed(seed)
    results = compare(
        stream,
        tasks=("sign",),
        models=("semba",),
        memory_dim=16,
        time_dim=8,
        embedding_dim=16,
        node_embedding_dim=8,
        epochs=6,
        lr=1e-2,
        batch_size=100,
        seed=seed,
    )
    keys = ("auc", "macro_f1", "neg_f1")
    rows = {
        name: {k: value["sign"][k] for k in keys}
        for name, value in results.items()
        if isinstance(value, dict) and "sign" in value
    }
    _print_table(f"== SEMBA on {stream.name}: test sign prediction ==", rows)
    return rows


def run_quickstart(
    output: Path,
    seed: int = 0,
    root: str | Path | None = None,
    *,
    models: bool = True,
) -> dict[str, Any]:
    """Generate data, summarise it, evaluate baselines, fit models, write plots.

    On the generated latent-space network a small PiVeM is fitted and scored
    against the static latent distance model and heuristics (with a plot of
    the trajectories and a GIF of the embedding); on the generated signed
    network a small SEMBA predicts signs against the two heuristics.

    Parameters
    ----------
    output : Path
        Folder for the plots and ``summary.json`` (created if missing).
    seed : int
        Seed of the generators and the negative sampler (default: 0).
    root : str or Path, optional
        Data root in which to look for already downloaded real datasets
        (default: the usual data root). Nothing is downloaded.
    models : bool
        Fit the small PiVeM and SEMBA models (default: ``True``).

    Returns
    -------
    dict
        The summary of every stream and the files written.
    """
    import matplotlib

    matplotlib.use("Agg")
    from dyngraph.data import datasets
    from dyngraph.data.synthetic import latent_space_network, signed_faction_network

    output.mkdir(parents=True, exist_ok=True)
    streams: list[EventStream] = []
    # nodes that move a lot relative to their community spread, and signed
    # pairs that rarely repeat, so that the models have something to learn
    # beyond the history of each pair
    latent, _ = latent_space_network(
        40, 10, radius=1.0, amplitude=2.5, spread=0.2, beta_mean=2.0, seed=seed
    )
    latent.name = latent.name or "synthetic-latent-space"
    signed, _ = signed_faction_network(60, num_events=3000, repeat=0.2, seed=seed)
    signed.name = signed.name or "synthetic-signed-factions"
    streams += [latent, signed]
    for name in REAL_DATASETS:
        if datasets.is_downloaded(name, root=root):
            streams.append(datasets.load(name, root=root))
        else:
            print(
                f"({name} is not downloaded; 'dyngraph datasets download {name}' "
                "adds it to this tour)"
            )
    report: dict[str, Any] = {"streams": {}, "files": [], "models": {}}
    for stream in streams:
        summary = _describe(stream, output, seed)
        report["streams"][stream.name] = summary
        report["files"].append(summary["plot"])
    if models:
        pivem = _fit_pivem(latent, output, seed)
        report["models"]["pivem"] = pivem["metrics"]
        report["files"] += pivem["files"]
        report["models"]["semba"] = _fit_semba(signed, seed)
    summary_path = output / "summary.json"
    summary_path.write_text(json.dumps(report, indent=2, default=str))
    report["files"].append(str(summary_path))
    return report
