"""SEMBA benchmark: the four signed tasks on Bitcoin-OTC against TGN and heuristics.

Reads ``../shared/data/bitcoin-otc/soc-sign-bitcoinotc.csv.gz`` (or ``--data DIR``),
splits 70/15/15 by time and, in one run, fits SEMBA and the TGN baseline (PyG's
TGN memory with the sign in the raw message and on the attention edges; same memory,
time and embedding sizes, SEMBA having two memories of that size) for each task, and
scores the two causal heuristics. Writes ``benchmarks/results/semba.json`` and prints
a table. Speed is training events per second, SEMBA relative to TGN in this run.

Scaled to finish in a few minutes on 2 CPU cores: 2 epochs per fit (the reference
code uses 10-20), memory/embedding size 32 and time size 16 (reference 64/64/32).
Pass ``--epochs`` and the sizes for a fuller run.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch

from dyngraph.data.io import read_snap_signed
from dyngraph.models.semba_eval import compare

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[1] / "shared" / "data"
FILE = "bitcoin-otc/soc-sign-bitcoinotc.csv.gz"
COLUMNS = [
    ("existence", "auc", "exist AUC"),
    ("existence", "ap", "exist AP"),
    ("sign", "auc", "sign AUC"),
    ("sign", "macro_f1", "sign mF1"),
    ("sign", "neg_f1", "sign negF1"),
    ("three_way", "macro_f1", "3-way mF1"),
    ("weight", "rmse", "wt RMSE"),
]


def table(results: dict) -> str:
    methods = ["semba", "tgn", "pair_previous_sign", "target_positive_share"]
    head = f"{'method':22s}" + "".join(f"{c[2]:>11s}" for c in COLUMNS)
    lines = [head, "-" * len(head)]
    for method in methods:
        row = f"{method:22s}"
        for task, key, _ in COLUMNS:
            value = results.get(method, {}).get(task, {}).get(key)
            row += f"{value:11.4f}" if value is not None else f"{'-':>11s}"
        lines.append(row)
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SHARED)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--memory-dim", type=int, default=32)
    parser.add_argument("--time-dim", type=int, default=16)
    parser.add_argument("--embedding-dim", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "semba.json")
    args = parser.parse_args()
    path = args.data / FILE
    if not path.exists():
        print(f"skipped: {path} not found (pass --data DIR)", file=sys.stderr)
        return 0
    torch.set_num_threads(args.threads)
    stream = read_snap_signed(path, name="bitcoin-otc")
    begin = time.perf_counter()
    results = compare(
        stream,
        memory_dim=args.memory_dim,
        time_dim=args.time_dim,
        embedding_dim=args.embedding_dim,
        epochs=args.epochs,
        lr=args.lr,
        batch_size=args.batch_size,
        time_unit=86400.0,
        seed=args.seed,
        log=print,
    )
    speed = {
        task: results["semba"][task]["events_per_second"]
        / results["tgn"][task]["events_per_second"]
        for task in results["semba"]
    }
    report = {
        "dataset": "bitcoin-otc",
        "protocol": "chronological 70/15/15, batch 200, 1 random negative per event",
        "config": {k: v for k, v in vars(args).items() if k not in ("data", "out")},
        "results": results,
        "speed_ratio_semba_vs_tgn": speed,
        "seconds": time.perf_counter() - begin,
        "machine": {
            "platform": platform.platform(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print()
    print(table(results))
    print()
    for task, ratio in speed.items():
        semba = results["semba"][task]["events_per_second"]
        tgn = results["tgn"][task]["events_per_second"]
        print(
            f"train speed {task:10s} SEMBA {semba:8.0f} ev/s  TGN {tgn:8.0f} ev/s  "
            f"ratio {ratio:.2f}"
        )
    print(f"\nwrote {args.out} in {report['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
