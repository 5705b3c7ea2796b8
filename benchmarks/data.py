"""Data-layer benchmark: parsing, cached reload and batching, each against a peer.

Runs on CollegeMsg and Bitcoin-OTC from ``../shared/data`` (or ``--data DIR``) and
writes ``benchmarks/results/data.json``. Every figure is a ratio measured in this run:

- parse: raw file into an :class:`EventStream` vs ``pandas.read_csv`` alone;
- cached reload: ``dyngraph.data.load`` from its binary cache vs parsing the raw file;
- batching: a full pass of 200-event batches with one random negative each, our
  ``TemporalBatchLoader`` vs PyG's ``TemporalDataLoader`` with PyG's own negatives.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import torch
from torch_geometric.loader import TemporalDataLoader

import dyngraph.data as dg
from dyngraph.data import datasets

HERE = Path(__file__).resolve().parent
FILES = {
    "college-msg": ("college-msg/CollegeMsg.txt", {"sep": " ", "header": None}),
    "bitcoin-otc": (
        "bitcoin-otc/soc-sign-bitcoinotc.csv.gz",
        {"sep": ",", "header": None},
    ),
}


def best_of(fn: Callable[[], object], repeat: int) -> float:
    """Minimum wall time of ``repeat`` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_dataset(name: str, shared: Path, repeat: int) -> dict[str, float]:
    rel, pandas_kwargs = FILES[name]
    raw_file = shared / rel
    info = datasets.info(name)
    with tempfile.TemporaryDirectory() as tmp:
        raw_dir = Path(tmp) / name / "raw"
        raw_dir.mkdir(parents=True)
        shutil.copy(raw_file, raw_dir / info.filename)
        t_pandas = best_of(lambda: pd.read_csv(raw_file, **pandas_kwargs), repeat)
        t_parse = best_of(lambda: datasets.parse(name, raw_dir / info.filename), repeat)
        stream = datasets.load(name, root=tmp)
        t_cached = best_of(lambda: datasets.load(name, root=tmp), repeat)

    pyg = stream.to_pyg()
    touched: list[torch.Tensor] = []

    def ours() -> None:
        sampler = dg.NegativeSampler("random", num_negatives=1, seed=0).fit(stream)
        for batch in dg.TemporalBatchLoader(
            stream, batch_size=200, neg_sampler=sampler
        ):
            touched.append(batch.neg_dst)

    def peer() -> None:
        torch.manual_seed(0)
        for batch in TemporalDataLoader(pyg, batch_size=200, neg_sampling_ratio=1.0):
            touched.append(batch.neg_dst)

    t_ours = best_of(ours, repeat)
    t_peer = best_of(peer, repeat)
    return {
        "num_events": stream.num_events,
        "num_nodes": stream.num_nodes,
        "pandas_read_csv_ms": 1e3 * t_pandas,
        "parse_ms": 1e3 * t_parse,
        "parse_vs_pandas": t_parse / t_pandas,
        "cached_reload_ms": 1e3 * t_cached,
        "reload_speedup_vs_parse": t_parse / t_cached,
        "batches_ms": 1e3 * t_ours,
        "pyg_batches_ms": 1e3 * t_peer,
        "batching_vs_pyg": t_ours / t_peer,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=HERE.parent.parent / "shared" / "data"
    )
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "data.json")
    args = parser.parse_args()
    if not args.data.is_dir():
        raise SystemExit(
            f"benchmarks/data.py: no data folder at {args.data} (pass --data DIR)"
        )
    torch.set_num_threads(min(2, torch.get_num_threads()))
    results = {name: bench_dataset(name, args.data, args.repeat) for name in FILES}
    columns = [
        ("dataset", None),
        ("events", "num_events"),
        ("pandas ms", "pandas_read_csv_ms"),
        ("parse ms", "parse_ms"),
        ("parse/pandas", "parse_vs_pandas"),
        ("reload ms", "cached_reload_ms"),
        ("parse/reload", "reload_speedup_vs_parse"),
        ("ours ms", "batches_ms"),
        ("PyG ms", "pyg_batches_ms"),
        ("ours/PyG", "batching_vs_pyg"),
    ]
    print(" | ".join(title for title, _ in columns))
    for name, r in results.items():
        cells = [name] + [
            f"{r[key]:.2f}" if isinstance(r[key], float) else str(r[key])
            for _, key in columns[1:]
        ]
        print(" | ".join(cells))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "headline": {
            name: {
                key: r[key]
                for key in (
                    "parse_vs_pandas",
                    "reload_speedup_vs_parse",
                    "batching_vs_pyg",
                )
            }
            for name, r in results.items()
        },
        "benchmark": "data",
        "machine": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "processor": platform.machine(),
        },
        "repeat": args.repeat,
        "timing": "best of repeat, after one warm-up",
        "results": results,
    }
    args.out.write_text(json.dumps(payload, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
