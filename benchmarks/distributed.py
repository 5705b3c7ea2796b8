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
  its parameter difference is round-off amplified by training, of the size
  that a perturbation of one rounding error to the initial weights of a
  single process gives (see ``--semba-drift``);
- graph ODE on Gray-Scott 32x32: 2 epochs, float32;
- MixER on CoDA's Lotka-Volterra split: 10 outer steps, float32
  (trajectories/s counts trajectories integrated per inner step);
- the sparse graph operator on 4 jelly trajectories (256 particles, 40
  frames, a 25 % sample): 1 epoch of batches of 16 examples, float32
  (examples/s counts (trajectory, frame) examples).

Run from the repository root: ``python benchmarks/distributed.py``.

``--semba-drift`` instead measures where SEMBA's 1-vs-2-process parameter
difference comes from (``benchmarks/results/distributed-semba-drift.json``):
the largest parameter difference after each step of one epoch on
Bitcoin-OTC between one and two processes, and between two single-process
runs whose initial weights differ by a relative ``1e-15`` (float64) or
``1e-7`` (float32), i.e. about one rounding error.
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
DRIFT_OUT = ROOT / "benchmarks" / "results" / "distributed-semba-drift.json"


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


def semba_trace_job(data: Path, dtype: str, eps: float, out: Path) -> None:
    """One epoch of :func:`semba_job` in ``dtype``, parameters after every step.

    With ``eps``, every initial weight is multiplied by ``1 + eps g``,
    ``g ~ N(0, 1)``. Rank 0 saves the ``[steps, parameters]`` trace and the
    validation AUC to ``out``.
    """
    from torch.optim.optimizer import register_optimizer_step_post_hook

    from dyngraph.data import chronological_split
    from dyngraph.data.io import read_snap_signed

    SEMBA = family("semba").SEMBA
    torch.set_num_threads(1)
    stream = read_snap_signed(data / "bitcoin-otc" / "soc-sign-bitcoinotc.csv.gz")
    split = chronological_split(stream, 0.15, 0.15)
    torch.manual_seed(0)
    model = SEMBA(stream.num_nodes, task="sign", time_unit=86400.0, dropout=0.0)
    model = model.to(getattr(torch, dtype))
    params = [p for p in model.parameters() if p.requires_grad]
    if eps:
        gen = torch.Generator().manual_seed(123)
        with torch.no_grad():
            for p in params:
                p.mul_(1 + eps * torch.randn(p.shape, generator=gen, dtype=p.dtype))
    trace: list[torch.Tensor] = []

    def record(*_: Any) -> None:
        trace.append(torch.cat([p.detach().reshape(-1).double() for p in params]))

    hook = register_optimizer_step_post_hook(record)
    try:
        model.fit(stream, split, epochs=1, batch_size=200, seed=0)
    finally:
        hook.remove()
    if dist.is_main():
        auc = model.history_.history[-1]["auc"]
        torch.save({"trace": torch.stack(trace), "val_auc": auc}, out)


def _drift_worker(rank: int, world: int, port: int, args: tuple) -> None:
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
        semba_trace_job(*args)
    finally:
        dist.teardown()


def semba_drift(data: Path, out: Path) -> None:
    """Write the drift study of ``--semba-drift`` (see the module docstring)."""
    results: dict[str, Any] = {}
    headline: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for dtype, eps in (("float64", 1e-15), ("float32", 1e-7)):
            runs = {}
            for tag, world, e in (
                ("one", 1, 0.0),
                ("perturbed", 1, eps),
                ("two", 2, 0.0),
            ):
                path = Path(tmp) / f"{tag}.pt"
                if world == 1:
                    semba_trace_job(data, dtype, e, path)
                else:
                    with socket.socket() as sock:
                        sock.bind(("127.0.0.1", 0))
                        port = sock.getsockname()[1]
                    mp.start_processes(
                        _drift_worker,
                        args=(world, port, (data, dtype, e, path)),
                        nprocs=world,
                        join=True,
                        start_method="fork",
                    )
                runs[tag] = torch.load(path, weights_only=True)
            one = runs["one"]["trace"]
            steps = len(one)
            picks = sorted({1, 2, 5, 10, 20, 30, 40, 50, 60, 80, 100, steps})
            table = []
            for step in (k for k in picks if k <= steps):
                row = {"step": step}
                for tag in ("two", "perturbed"):
                    diff = (runs[tag]["trace"][step - 1] - one[step - 1]).abs().max()
                    row[f"max_abs_diff_{tag}"] = float(diff)
                table.append(row)
                print(
                    f"{dtype} step {step}: 1 vs 2 procs {row['max_abs_diff_two']:.2e}, "
                    f"1 vs 1 perturbed {row['max_abs_diff_perturbed']:.2e}",
                    flush=True,
                )
            results[dtype] = {
                "perturbation": eps,
                "steps": steps,
                "table": table,
                "val_auc": {tag: float(r["val_auc"]) for tag, r in runs.items()},
            }
            headline[f"{dtype}_final_max_abs_diff_2_procs"] = table[-1][
                "max_abs_diff_two"
            ]
            headline[f"{dtype}_final_max_abs_diff_perturbed_1_proc"] = table[-1][
                "max_abs_diff_perturbed"
            ]
    payload = {
        "headline": headline,
        "benchmark": "distributed-semba-drift",
        "setting": "SEMBA sign task on Bitcoin-OTC, 1 epoch, batch 200, dropout 0, "
        "Adam lr 1e-3, one thread per process, gloo",
        "results": results,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=2))
    print(f"wrote {out}")


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
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--semba-drift",
        action="store_true",
        help="measure SEMBA's 1-vs-2-process drift against perturbed single runs",
    )
    args = parser.parse_args()
    if args.semba_drift:
        semba_drift(args.data, args.out or DRIFT_OUT)
        return
    args.out = args.out or OUT
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
