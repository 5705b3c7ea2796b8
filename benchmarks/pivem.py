"""PiVeM benchmark: link prediction quality and time per epoch on real networks.

For CollegeMsg, email-Eu-core Dept3 and Bitcoin-OTC (unsigned, undirected)
this script

1. splits the events as in the PiVeM paper (times to [0, 1], last 10 % for
   future prediction, 20 % of the pairs masked for completion) and reports
   ROC-AUC / AP on reconstruction, completion and future prediction for
   PiVeM, the static latent distance model (velocities fixed at 0) and two
   heuristics (historical counts, preferential attachment);
2. measures the time of one training step at D = 2, B = 100 with node
   batches of 100 (full graph below 100 nodes) and reports the time per
   epoch (one pass over all nodes in batches of 100) with the node count and
   the fraction of pairs an epoch uses.

Future windows lie past the training horizon; PiVeM scores them with the
default ``extrapolate="static"`` (every node stays at :math:`x_i(T)`) and,
as an extra row, ``"last_velocity"``.

To finish in about ten minutes on 2 shared CPU cores, the quality runs use
the paper's B = 100 bins but fewer epochs than its 100 on the larger graphs
(``QUALITY`` below), so their numbers are a floor, not the paper's. torch
runs on one thread (``THREADS``): on a machine shared with other jobs, two
intra-op threads made a step up to 5x slower than one. Writes
``benchmarks/results/pivem.json`` and prints a table.

Run from the repository root: ``python benchmarks/pivem.py``.
"""

from __future__ import annotations

import json
import math
import platform
import sys
import time
from pathlib import Path

import torch

from dyngraph.data.io import read_snap_signed, read_snap_temporal
from dyngraph.metrics import average_precision, roc_auc
from dyngraph.models.pivem import PiVeM, bin_statistics
from dyngraph.models.pivem.evaluate import (
    evaluate,
    evaluation_split,
    model_scores,
    score_tasks,
)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "benchmarks" / "results" / "pivem.json"

DATASETS = {
    "email-eu-core-temporal-dept3": (
        read_snap_temporal,
        "email-eu-core-temporal-dept3/out.email-Eu-core-temporal-Dept3",
    ),
    "college-msg": (read_snap_temporal, "college-msg/CollegeMsg.txt"),
    "bitcoin-otc": (read_snap_signed, "bitcoin-otc/soc-sign-bitcoinotc.csv.gz"),
}
# quality settings per dataset (bins, epochs, node batch size)
QUALITY = {
    "email-eu-core-temporal-dept3": {
        "num_bins": 100,
        "epochs": 100,
        "batch_size": None,
    },
    "college-msg": {"num_bins": 100, "epochs": 60, "batch_size": 100},
    "bitcoin-otc": {"num_bins": 100, "epochs": 36, "batch_size": 100},
}
TIMING = {"dim": 2, "num_bins": 100, "batch_size": 100, "steps": 5}
THREADS = 1


def time_per_epoch(train, num_nodes: int, horizon: float) -> dict:
    """Time a few node-batch steps at D = 2, B = 100 and scale to one epoch.

    All parameters are trained (the last phase, the most expensive one), with
    velocities drawn at random so that the nodes move.
    """
    model = PiVeM(num_nodes, TIMING["dim"], TIMING["num_bins"], horizon=horizon, seed=0)
    with torch.no_grad():
        model.v.normal_(0, 3.0, generator=torch.Generator().manual_seed(1))
    stats = bin_statistics(train, TIMING["num_bins"], horizon)
    batch = min(TIMING["batch_size"], num_nodes)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    gen = torch.Generator().manual_seed(0)
    seconds = []
    for _ in range(TIMING["steps"] + 1):
        nodes = torch.randperm(num_nodes, generator=gen)[:batch]
        start = time.perf_counter()
        loss = model.loss(stats, None if batch == num_nodes else nodes)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        seconds.append(time.perf_counter() - start)
    step = sum(seconds[1:]) / TIMING["steps"]  # the first step warms up
    steps_per_epoch = math.ceil(num_nodes / batch)
    pairs = num_nodes * (num_nodes - 1) / 2
    return {
        "nodes": num_nodes,
        "batch_size": batch,
        "steps_per_epoch": steps_per_epoch,
        "seconds_per_step": step,
        "seconds_per_epoch": step * steps_per_epoch,
        "pair_fraction_per_epoch": min(
            1.0, steps_per_epoch * batch * (batch - 1) / 2 / pairs
        ),
        "nonempty_pair_bins": int(stats.row.numel()),
    }


def main() -> int:
    if not DATA.is_dir():
        print(f"skipped: {DATA} does not exist (the real datasets are not available)")
        return 0
    torch.set_num_threads(THREADS)
    results: dict = {
        "settings": {
            "quality": QUALITY,
            "timing": TIMING,
            "dim": 2,
            "lr": 0.1,
            "num_communities": 10,
            "prior_lambda": 1e5,
            "split": {"future_ratio": 0.1, "mask_ratio": 0.2, "radius": 1e-3},
        },
        "machine": {
            "python": sys.version.split()[0],
            "torch": torch.__version__,
            "platform": platform.platform(),
            "threads": torch.get_num_threads(),
        },
        "datasets": {},
    }
    for name, (reader, rel) in DATASETS.items():
        stream = reader(DATA / rel, name=name)
        split = evaluation_split(stream, future_ratio=0.1, mask_ratio=0.2, seed=0)
        timing = time_per_epoch(split.train, split.num_nodes, split.horizon)
        q = QUALITY[name]
        out = evaluate(
            split,
            dim=2,
            num_bins=q["num_bins"],
            num_communities=10,
            epochs=q["epochs"],
            lr=0.1,
            batch_size=q["batch_size"],
            seed=0,
        )
        future = score_tasks(split, seed=0)["future"]
        moving = model_scores(out["models"]["pivem"], future, "last_velocity")
        out["metrics"]["future"]["pivem_last_velocity"] = {
            "roc_auc": roc_auc(future.label, moving),
            "ap": average_precision(future.label, moving),
        }
        results["datasets"][name] = {
            "events": stream.num_events,
            "nodes": split.num_nodes,
            "active_nodes": int(split.train.active_nodes().numel()),
            "train_events": split.train.num_events,
            "completion_events": split.completion.num_events,
            "future_events": split.future.num_events,
            "metrics": out["metrics"],
            "fit_seconds": out["fit_seconds"],
            "timing_D2_B100": timing,
        }
        print(f"{name}: fitted in {out['fit_seconds']}", flush=True)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2))
    header = f"{'dataset':30} {'task':15} {'method':24} {'ROC-AUC':>8} {'AP':>8}"
    print(header)
    print("-" * len(header))
    for name, res in results["datasets"].items():
        for task, methods in res["metrics"].items():
            for method, m in methods.items():
                print(
                    f"{name:30} {task:15} {method:24} "
                    f"{m['roc_auc']:8.3f} {m['ap']:8.3f}"
                )
    print()
    print(
        f"{'dataset':30} {'nodes':>6} {'s/step':>8} {'steps':>6} {'s/epoch':>8} "
        f"{'pairs/epoch':>12}"
    )
    for name, res in results["datasets"].items():
        t = res["timing_D2_B100"]
        print(
            f"{name:30} {t['nodes']:6d} {t['seconds_per_step']:8.3f} "
            f"{t['steps_per_epoch']:6d} {t['seconds_per_epoch']:8.2f} "
            f"{t['pair_fraction_per_epoch']:12.4f}"
        )
    print(f"\nwrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
