"""``dyngraph quickstart``: a short tour on generated (and cached real) data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from dyngraph.baselines import history_link_scores
from dyngraph.data.events import EventStream
from dyngraph.registry import command_modules

__all__ = ["run_quickstart"]

REAL_DATASETS = ("college-msg", "bitcoin-otc")


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


def run_quickstart(
    output: Path,
    seed: int = 0,
    root: str | Path | None = None,
    *,
    models: bool = True,
) -> dict[str, Any]:
    """Generate data, summarise it, evaluate baselines, fit models, write plots.

    Every model family of :mod:`dyngraph.registry` with a quick-start part
    contributes a generated stream (summarised with the real datasets already
    downloaded) and, with ``models``, a small fit on it scored against
    baselines, with its plots: a PiVeM against the static latent distance
    model and heuristics on a latent-space network, a SEMBA predicting signs
    against two heuristics on a signed network.

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

    output.mkdir(parents=True, exist_ok=True)
    parts = {
        module.__name__.split(".")[-2]: module
        for module in command_modules()
        if hasattr(module, "quickstart")
    }
    generated = {name: part.quickstart_stream(seed) for name, part in parts.items()}
    streams: list[EventStream] = list(generated.values())
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
        for name, part in parts.items():
            result = part.quickstart(generated[name], output, seed)
            report["models"][name] = result["metrics"]
            report["files"] += result["files"]
    summary_path = output / "summary.json"
    summary_path.write_text(json.dumps(report, indent=2, default=str))
    report["files"].append(str(summary_path))
    return report
