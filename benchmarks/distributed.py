"""Data-parallel benchmark: 1 process vs 2 processes of one thread each.

For every family that trains under torchrun, the same fit runs once in one
process and once in two processes joined by gloo on this machine (the way
``torchrun --nproc_per_node=2 -m dyngraph fit FAMILY`` runs it), each with
one intra-op thread. Reported: the fit's wall time, throughput (pairs/s for
PiVeM, events/s for SEMBA, windows/s for the graph ODE), the speed-up of two
processes and the largest absolute difference of any fitted parameter.

- PiVeM on CollegeMsg: node batches of 600 nodes (all pairs among them,
  100 bins), 3 epochs (one per phase), float64;
- SEMBA on Bitcoin-OTC: the sign task, 1 epoch, dropout 0 (with dropout the
  ranks draw their own masks, so parameters would differ by design), float32;
- graph ODE on Gray-Scott 32x32: 2 epochs, float32;
- MixER on CoDA's Lotka-Volterra split: 10 outer steps, float32
  (trajectories/s counts trajectories integrated per inner step);
- the sparse graph operator on 4 jelly trajectories (256 particles, 40
  frames, a 25 % sample): 1 epoch of batches of 16 examples, float32
  (examples/s counts (trajectory, frame) examples).

Run from the repository root: ``python benchmarks/distributed.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import tempfile
import time
from importlib import import_module
from importlib.util import find_spec
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
import torch.multiprocessing as mp

from dyngraph.training import distributed as dist

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "benchmarks" / "results" / "distributed.json"


def family(name: str) -> ModuleType:
    """Import the family package ``dyngraph.models.<name>`` (and its model)."""
    module = import_module(f"dyngraph.models.{name}")
    import_module(f"dyngraph.models.{name}.model")
    return module


def present(name: str) -> bool:
    """Whether the family is installed (a deleted family is skipped)."""
    return find_spec(f"dyngraph.models.{name}") is not None


def pivem_job(data: Path) -> tuple[float, float, dict[str, torch.Tensor]]:
    from dyngraph.data.io import read_snap_temporal

    pivem = family("pivem")
    PiVeM, to_unit_interval = pivem.PiVeM, pivem.model.to_unit_interval

    stream = read_snap_temporal(data / "college-msg" / "CollegeMsg.txt")
    unit, _, _ = to_unit_interval(stream)
    n, batch = unit.num_nodes, 600
    full, rest = divmod(n, batch)
    pairs_per_epoch = full * batch * (batch - 1) // 2 + rest * (rest - 1) // 2
    model = PiVeM(n, num_bins=100, seed=0)
    dist.barrier()
    start = time.perf_counter()
    model.fit(unit, epochs=3, lr=0.05, batch_size=batch, progress=False)
    seconds = time.perf_counter() - start
    params = {k: v.detach().clone() for k, v in model.named_parameters()}
    return seconds, 3 * pairs_per_epoch / seconds, params


def semba_job(data: Path) -> tuple[float, float, dict[str, torch.Tensor]]:
    from dyngraph.data import chronological_split
    from dyngraph.data.io import read_snap_signed

    SEMBA = family("semba").SEMBA

    stream = read_snap_signed(data / "bitcoin-otc" / "soc-sign-bitcoinotc.csv.gz")
    split = chronological_split(stream, 0.15, 0.15)
    torch.manual_seed(0)
    model = SEMBA(stream.num_nodes, task="sign", time_unit=86400.0, dropout=0.0)
    dist.barrier()
    start = time.perf_counter()
    model.fit(stream, split, epochs=1, batch_size=200, seed=0)
    seconds = time.perf_counter() - start
    params = {k: v.detach().clone() for k, v in model.named_parameters()}
    return seconds, split.train.num_events / seconds, params


def graphode_job(data: Path) -> tuple[float, float, dict[str, torch.Tensor]]:
    GraphODE = family("graphode").GraphODE
    from dyngraph.systems import gray_scott

    field = gray_scott(per_environment=2, num_frames=40, frame_dt=10.0)
    model = GraphODE(2, num_probes=30, hidden=32, seed=0)
    windows = model.set_training_windows(field, 3, 2)  # what fit trains on
    dist.barrier()
    start = time.perf_counter()
    model.fit(field, epochs=2, horizon=3, stride=2)
    seconds = time.perf_counter() - start
    params = {k: v.detach().clone() for k, v in model.named_parameters()}
    return seconds, 2 * windows / seconds, params


def mixer_job(data: Path) -> tuple[float, float, dict[str, torch.Tensor]]:
    from dyngraph.systems import lotka_volterra_split

    MixER = family("mixer").MixER
    lv = lotka_volterra_split()
    model = MixER(9, 2, num_experts=3, seed=0)
    trajectories = lv.train.x.shape[0] * lv.train.x.shape[1]
    steps = 10 * (12 + 12)  # outer steps x (context + model inner steps)
    dist.barrier()
    start = time.perf_counter()
    model.fit(lv.train, outer_steps=10, lr=1e-2, lr_context=1e-2, progress=False)
    seconds = time.perf_counter() - start
    params = {k: v.detach().clone() for k, v in model.named_parameters()}
    return seconds, steps * trajectories / seconds, params


def operators_job(data: Path) -> tuple[float, float, dict[str, torch.Tensor]]:
    SparseGraphOperator = family("operators").SparseGraphOperator
    from dyngraph.systems import jelly

    particles = jelly(4, 40, seed=0)
    model = SparseGraphOperator(ratio=0.25, seed=0)
    examples = model.set_training_samples(particles)  # what fit trains on
    dist.barrier()
    start = time.perf_counter()
    model.fit(particles, epochs=1, batch_size=16)
    seconds = time.perf_counter() - start
    params = {k: v.detach().clone() for k, v in model.named_parameters()}
    return seconds, examples / seconds, params


JOBS = {
    "pivem": pivem_job,
    "semba": semba_job,
    "graphode": graphode_job,
    "mixer": mixer_job,
    "operators": operators_job,
}


def _worker(rank: int, world: int, port: int, name: str, data: Path, out: Path):
    os.environ.update(
        RANK=str(rank),
        WORLD_SIZE=str(world),
        LOCAL_RANK=str(rank),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
    )
    torch.set_num_threads(1)
    dist.setup(backend="gloo")
    try:
        seconds, rate, params = JOBS[name](data)
        if dist.is_main():
            torch.save({"seconds": seconds, "rate": rate, "params": params}, out)
    finally:
        dist.teardown()


def run(name: str, world: int, data: Path) -> dict[str, Any]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.pt"
        if world == 1:
            torch.set_num_threads(1)
            seconds, rate, params = JOBS[name](data)
            return {"seconds": seconds, "rate": rate, "params": params}
        mp.start_processes(
            _worker,
            args=(world, port, name, data, out),
            nprocs=world,
            join=True,
            start_method="fork",
        )
        return torch.load(out, weights_only=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--families", nargs="+", default=list(JOBS), choices=JOBS)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    units = {
        "pivem": "pairs/s",
        "semba": "events/s",
        "graphode": "windows/s",
        "mixer": "trajectories/s",
        "operators": "examples/s",
    }
    results: dict[str, Any] = {}
    headline: dict[str, float] = {}
    print("family | s, 1 proc | s, 2 procs | unit | 1 proc | 2 procs | speed-up | diff")
    for name in args.families:
        if not present(name):
            print(f"{name} | skipped: the family is not installed")
            continue
        one = run(name, 1, args.data)
        two = run(name, 2, args.data)
        diff = max(
            float((one["params"][k].double() - two["params"][k].double()).abs().max())
            for k in one["params"]
        )
        speedup = one["seconds"] / two["seconds"]
        results[name] = {
            "seconds_1_proc": one["seconds"],
            "seconds_2_procs": two["seconds"],
            "unit": units[name],
            "rate_1_proc": one["rate"],
            "rate_2_procs": two["rate"],
            "speedup_2_procs": speedup,
            "efficiency": speedup / 2,
            "max_abs_diff": diff,
        }
        headline[f"{name}_speedup_2_procs"] = speedup
        headline[f"{name}_max_abs_diff"] = diff
        print(
            f"{name} | {one['seconds']:.2f} | {two['seconds']:.2f} | {units[name]} | "
            f"{one['rate']:.4g} | {two['rate']:.4g} | {speedup:.2f} | {diff:.2e}",
            flush=True,
        )
    payload = {
        "headline": headline,
        "benchmark": "distributed",
        "machine": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "cpu_count": os.cpu_count(),
            "threads_per_process": 1,
            "backend": "gloo",
        },
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
