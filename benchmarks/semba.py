"""SEMBA benchmark: the four signed tasks against TGN and two heuristics.

Reads the signed datasets present under ``../shared/data`` (or ``--data DIR``):
Bitcoin-OTC always, Bitcoin-Alpha and WikiRfA where their files are there (absent
ones are listed as skipped), and runs one generated signed network
(``generated-factions``: 400 nodes in 3 factions, 12,000 events over three years of
Unix-like seconds). Each is split 70/15/15 by time and, in one run, SEMBA
and the TGN baseline (PyG's TGN memory with the sign in the raw message and on the
attention edges; same memory, time and embedding sizes, SEMBA having two memories of
that size) are fitted for each task, and the two causal heuristics are scored on the
same negatives. Writes ``benchmarks/results/semba.json`` and prints a table of the
mean and standard deviation over seeds. Speed is training events per second, SEMBA
relative to TGN in this run.

Sizes are the reference code's (memory 64, time 32, embedding 64), batch 200,
3 epochs per fit with the best validation epoch kept (the reference code trains
10-20), 5 seeds; the validation and test negatives are the same for every seed
(``--negatives-seed``), so the spread over seeds is the models' own. Every
table cell is the mean ± std over seeds and the worst seed. Link existence is
also ranked the way TGB reports it: MRR of each test event against 100
``hist_rnd`` negatives (at most half from the source's training history,
positives of the same source and time excluded across the test split, no
repeats). PyTorch runs on one thread: the per-batch tensors are tiny, and on
two shared cores intra-op threads mostly wait on each other (about 10x slower).

The ``"headline"`` object holds, per dataset, what the SEMBA issue asks for:
``seeds``, ``existence_auc_min`` and ``existence_auc_mean``, the SEMBA means of
``sign_macro_f1``, ``sign_neg_f1`` and ``three_way_macro_f1``, the same three for
``target_positive_share``, ``tgn_existence_auc`` (mean) and ``mrr_tgb_protocol``
(mean test MRR of SEMBA and TGN).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from dyngraph.data.events import EventStream
from dyngraph.data.io import read_snap_signed, read_wiki_rfa
from dyngraph.data.synthetic import signed_faction_network
from dyngraph.models.semba.evaluate import compare

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[1] / "shared" / "data"


def generated_factions(path: Path, name: str) -> EventStream:
    """A generated signed network (3 factions), Unix-like seconds over 3 years."""
    stream, _ = signed_faction_network(400, 3, 12000, repeat=0.3, horizon=1e8, seed=0)
    stream.name = name
    return stream


GENERATED = {"generated-factions": generated_factions}
FILES: dict[str, tuple[str, Callable[..., EventStream]]] = {
    "bitcoin-otc": ("bitcoin-otc/soc-sign-bitcoinotc.csv.gz", read_snap_signed),
    "bitcoin-alpha": ("bitcoin-alpha/soc-sign-bitcoinalpha.csv.gz", read_snap_signed),
    "wiki-rfa": ("wiki-rfa/wiki-RfA.txt.gz", read_wiki_rfa),
}
METHODS = ("semba", "tgn", "pair_previous_sign", "target_positive_share")
COLUMNS = [
    ("existence", "auc", "exist AUC"),
    ("existence", "ap", "exist AP"),
    ("existence", "mrr_tgb", "MRR (TGB)"),
    ("sign", "auc", "sign AUC"),
    ("sign", "macro_f1", "sign mF1"),
    ("sign", "neg_f1", "sign negF1"),
    ("three_way", "macro_f1", "3-way mF1"),
    ("weight", "rmse", "wt RMSE"),
]


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean, standard deviation and per-seed values of every method/task metric."""
    out: dict[str, Any] = {}
    for method in METHODS:
        tasks = runs[0].get(method, {})
        out[method] = {}
        for task, metrics in tasks.items():
            out[method][task] = {}
            for key in metrics:
                values = [float(run[method][task][key]) for run in runs]
                out[method][task][key] = {
                    "mean": statistics.fmean(values),
                    "std": statistics.stdev(values) if len(values) > 1 else 0.0,
                    "min": min(values),
                    "max": max(values),
                    "runs": values,
                }
    return out


def headline(summary: dict[str, Any], seeds: int) -> dict[str, Any]:
    """The figures the SEMBA issue names, from one dataset's summary."""

    def mean(method: str, task: str, key: str) -> float:
        return summary[method][task][key]["mean"]

    def three(method: str) -> dict[str, float]:
        return {
            "sign_macro_f1": mean(method, "sign", "macro_f1"),
            "sign_neg_f1": mean(method, "sign", "neg_f1"),
            "three_way_macro_f1": mean(method, "three_way", "macro_f1"),
        }

    return {
        "seeds": seeds,
        "existence_auc_min": summary["semba"]["existence"]["auc"]["min"],
        "existence_auc_mean": mean("semba", "existence", "auc"),
        **three("semba"),
        "target_positive_share": three("target_positive_share"),
        "tgn_existence_auc": mean("tgn", "existence", "auc"),
        "mrr_tgb_protocol": {
            "semba": mean("semba", "existence", "mrr_tgb"),
            "tgn": mean("tgn", "existence", "mrr_tgb"),
        },
    }


def table(summary: dict[str, Any], markdown: bool = False) -> str:
    """The metrics table (mean ± std over seeds)."""

    def cell(method: str, task: str, key: str) -> str:
        value = summary.get(method, {}).get(task, {}).get(key)
        if value is None:
            return "-"
        worst = value["max"] if key == "rmse" else value["min"]
        return f"{value['mean']:.3f} ± {value['std']:.3f} ({worst:.3f})"

    names = ["method", *(c[2] for c in COLUMNS)]
    rows = [[m, *(cell(m, t, k) for t, k, _ in COLUMNS)] for m in METHODS]
    if markdown:
        lines = ["| " + " | ".join(names) + " |", "|" + "---|" * len(names)]
        return "\n".join([*lines, *("| " + " | ".join(r) + " |" for r in rows)])
    widths = [22] + [22] * len(COLUMNS)
    fmt = "".join(f"{{:{'<' if i == 0 else '>'}{w}s}}" for i, w in enumerate(widths))
    head = fmt.format(*names)
    return "\n".join([head, "-" * len(head), *(fmt.format(*r) for r in rows)])


def speed_table(speed: dict[str, Any], markdown: bool = False) -> str:
    """Training events per second of SEMBA and TGN, and their ratio."""
    lines = (
        [
            "| task | SEMBA ev/s | TGN ev/s | SEMBA / TGN | per-seed range |",
            "|---|---|---|---|---|",
        ]
        if markdown
        else []
    )
    for task, s in speed.items():
        values = (s["semba_events_per_second"], s["tgn_events_per_second"], s["ratio"])
        spread = f"{s['ratio_min']:.2f}-{s['ratio_max']:.2f}"
        if markdown:
            lines.append(
                f"| {task} | {values[0]:.0f} | {values[1]:.0f} | {values[2]:.2f} "
                f"| {spread} |"
            )
        else:
            lines.append(
                f"train speed {task:10s} SEMBA {values[0]:7.0f} ev/s  "
                f"TGN {values[1]:7.0f} ev/s  ratio {values[2]:.2f} "
                f"(per seed {spread})"
            )
    return "\n".join(lines)


def run_dataset(stream: EventStream, args: argparse.Namespace) -> dict[str, Any]:
    """All tasks, methods and seeds on one stream."""
    begin = time.perf_counter()
    runs = []
    for seed in range(args.seeds):
        runs.append(
            compare(
                stream,
                memory_dim=args.memory_dim,
                time_dim=args.time_dim,
                embedding_dim=args.embedding_dim,
                epochs=args.epochs,
                lr=args.lr,
                batch_size=args.batch_size,
                time_unit=86400.0,
                mrr_negatives=args.mrr_negatives,
                seed=seed,
                negatives_seed=args.negatives_seed,
                log=lambda line, seed=seed: print(f"seed {seed} {line}", flush=True),
            )
        )
    summary = summarise(runs)
    speed = {}
    for task in summary["semba"]:
        semba = summary["semba"][task]["events_per_second"]
        tgn = summary["tgn"][task]["events_per_second"]
        # SEMBA and TGN of one seed run back to back: a twin measurement
        ratios = [a / b for a, b in zip(semba["runs"], tgn["runs"], strict=True)]
        speed[task] = {
            "semba_events_per_second": semba["mean"],
            "tgn_events_per_second": tgn["mean"],
            "ratio": semba["mean"] / tgn["mean"],
            "ratio_per_seed": ratios,
            "ratio_min": min(ratios),
            "ratio_max": max(ratios),
        }
    return {
        "num_events": stream.num_events,
        "num_nodes": stream.num_nodes,
        "split": runs[0]["split"],
        "headline": headline(summary, args.seeds),
        "results": summary,
        "speed": speed,
        "seconds": time.perf_counter() - begin,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SHARED)
    parser.add_argument(
        "--datasets",
        nargs="+",
        default=[*FILES, *GENERATED],
        choices=[*FILES, *GENERATED],
    )
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--negatives-seed", type=int, default=0)
    parser.add_argument("--mrr-negatives", type=int, default=100)
    parser.add_argument("--max-events", type=int, default=None)
    parser.add_argument("--memory-dim", type=int, default=64)
    parser.add_argument("--time-dim", type=int, default=32)
    parser.add_argument("--embedding-dim", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "semba.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    report: dict[str, Any] = {
        "protocol": (
            "chronological 70/15/15; one memory timeline train -> val -> test; "
            f"batch {args.batch_size}; 1 random negative per event, the same for "
            "every seed; sign threshold chosen on validation; mean, std and worst "
            f"over seeds; MRR against {args.mrr_negatives} TGB hist_rnd negatives "
            "per test event (split-wide exclusion, without replacement)"
        ),
        "config": {k: v for k, v in vars(args).items() if k not in ("data", "out")},
        "datasets": {},
        "skipped": {},
    }
    for name in args.datasets:
        relative, reader = FILES.get(name, ("", GENERATED.get(name)))
        path = args.data / relative
        if name in FILES and not path.exists():
            report["skipped"][name] = f"{path} not found"
            print(f"skipped {name}: {path} not found", file=sys.stderr)
            continue
        print(f"== {name} ==", flush=True)
        stream = reader(path, name=name)
        if args.max_events is not None:
            stream = stream[: args.max_events]
        report["datasets"][name] = run_dataset(stream, args)
    if not report["datasets"]:
        print("nothing to run: no dataset file found (pass --data DIR)")
        return 0
    report["headline"] = {
        name: result["headline"] for name, result in report["datasets"].items()
    }
    report["machine"] = {
        "platform": platform.platform(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    for name, result in report["datasets"].items():
        print(f"\n{name}: {result['num_events']} events, test split {result['split']}")
        print(table(result["results"]))
        print()
        print(speed_table(result["speed"]))
        print(f"({result['seconds']:.0f} s)")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
