"""PiVeM benchmark: link prediction, forecast rules, threads and memory.

Parts (``--parts``, default all; results of parts not run are kept from the
existing ``benchmarks/results/pivem.json``):

``quality``
    For CollegeMsg, email-Eu-core Dept3 and Bitcoin-OTC (undirected): the
    paper's split (times to [0, 1], last 10 % for future prediction, 20 %
    of the pairs masked for completion) and ROC-AUC / AP on
    reconstruction, completion and future prediction for PiVeM, the static
    latent distance model (velocities fixed at 0), historical counts and
    preferential attachment. Future windows are scored with every forecast
    rule of :meth:`PiVeM.forecast` side by side (``pivem`` is the default,
    ``"diffuse"``), with a sweep of the timescale of ``"diffuse"`` and
    ``"recent"``. Also the time of a node-batch step (D = 2, B = 100,
    batches of 100). The larger graphs use fewer epochs than the paper's
    100 (``QUALITY``), so their numbers are a floor.
``threads``
    Dept3 full batch, all parameters trained: s/epoch at 1 and 2 threads,
    quiet and with one competing CPU-bound process that this script starts;
    the settings step in turn, twin runs in two repeats (median, spread and
    the load average before each twin reported).
``memory``
    Peak RSS of a fresh process per dataset: imports only, then one
    full-batch step (all pairs x all bins) with the velocities and the
    prior trained. Bitcoin-OTC's full-batch step is about 10x CollegeMsg's.
``completion``
    Dept3 completion AUC over five seeds of the model, float64 vs float32,
    and over three seeds the reference's likelihood scaling for masked
    pairs and a 1.5x longer schedule; differences paired by seed.

Run from the repository root: ``python benchmarks/pivem.py [--parts ...]
[--datasets ...]``; ``--help`` lists the options. ``--models DIR`` saves the
fitted models of the quality part in ``DIR`` and reuses them on a rerun
(same settings; only the scoring runs again). The thread figures want a
quiet machine: ``python benchmarks/pivem.py --parts threads`` takes 2
repeats x 2 conditions x 2 twins x 4 settings x 8 steps (about 4 minutes
on the shared 2-core machine at load 3-4).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from dyngraph.data.io import read_snap_signed, read_snap_temporal
from dyngraph.models.pivem import PiVeM, bin_statistics
from dyngraph.models.pivem.evaluate import (
    _metrics,
    evaluate,
    evaluation_split,
    model_scores,
    score_tasks,
)
from dyngraph.models.pivem.model import worker_threads

ROOT = Path(__file__).resolve().parents[1]
# ../shared/data beside the checkout (or beside the folder of worktrees)
DATA = next(
    (
        d
        for d in (ROOT.parent / "shared" / "data", ROOT.parents[1] / "shared" / "data")
        if d.is_dir()
    ),
    ROOT.parent / "shared" / "data",
)
OUT = ROOT / "benchmarks" / "results" / "pivem.json"
DEPT3 = "email-eu-core-temporal-dept3"

DATASETS = {
    DEPT3: (
        read_snap_temporal,
        "email-eu-core-temporal-dept3/out.email-Eu-core-temporal-Dept3",
    ),
    "college-msg": (read_snap_temporal, "college-msg/CollegeMsg.txt"),
    "bitcoin-otc": (read_snap_signed, "bitcoin-otc/soc-sign-bitcoinotc.csv.gz"),
}
# quality settings per dataset (bins, epochs, node batch size)
QUALITY = {
    DEPT3: {"num_bins": 100, "epochs": 100, "batch_size": None},
    "college-msg": {"num_bins": 100, "epochs": 60, "batch_size": 100},
    "bitcoin-otc": {"num_bins": 100, "epochs": 36, "batch_size": 100},
}
TIMING = {"dim": 2, "num_bins": 100, "batch_size": 100, "steps": 5}
THREAD_STEPS = 7
TWINS = 2
COMPLETION_SEEDS = (0, 1, 2, 3, 4)
PARTS = ("quality", "threads", "memory", "completion")


def load_split(name: str, data: Path | None = None):
    reader, rel = DATASETS[name]
    stream = reader((data or DATA) / rel, name=name)
    return stream, evaluation_split(stream, future_ratio=0.1, mask_ratio=0.2, seed=0)


def moving_model(num_nodes: int, horizon: float) -> PiVeM:
    """A D = 2, B = 100 model whose nodes move (random velocities)."""
    model = PiVeM(num_nodes, TIMING["dim"], TIMING["num_bins"], horizon=horizon, seed=0)
    with torch.no_grad():
        model.v.normal_(0, 3.0, generator=torch.Generator().manual_seed(1))
    return model


class _UnblockedPiVeM(PiVeM):
    """PiVeM whose integral over all pairs is one autograd graph (no blocks).

    The peer of the blocked integral in the threads part: every pair and bin
    at once, intra-op threads as set by ``torch.set_num_threads``.
    """

    def all_pairs_integral(self, nodes=None, masked_pairs=None, memory_budget=None):
        row, col = self._pairs(nodes)
        parts = (
            self._pair_integral_at_rest(row, col)
            if self.at_rest()
            else self._pair_integral(row, col)
        )
        if masked_pairs is not None:
            keep = ~torch.isin(row * self.num_nodes + col, masked_pairs)
            parts = parts * keep.to(parts.dtype)
        return parts.sum()


def step_seconds(
    model: PiVeM, stats, masked, batches, steps: int, workers: bool = True
) -> list[float]:
    """Seconds of each of ``steps`` Adam steps (after one warm-up step).

    ``workers``: inside :func:`worker_threads` (as :meth:`PiVeM.fit`), else
    with torch's intra-op threads.
    """
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    seconds = []
    with worker_threads() if workers else contextlib.nullcontext():
        for k in range(steps + 1):
            start = time.perf_counter()
            for nodes in batches(k):
                loss = model.loss(stats, nodes, masked)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            seconds.append(time.perf_counter() - start)
    return seconds[1:]


def node_batch_timing(split) -> dict:
    """Time node-batch steps at D = 2, B = 100 and scale to one epoch."""
    n = split.num_nodes
    model = moving_model(n, split.horizon)
    stats = bin_statistics(split.train, TIMING["num_bins"], split.horizon)
    batch = min(TIMING["batch_size"], n)
    gen = torch.Generator().manual_seed(0)

    def batches(_: int):
        yield None if batch == n else torch.randperm(n, generator=gen)[:batch]

    step = statistics.median(step_seconds(model, stats, None, batches, TIMING["steps"]))
    steps_per_epoch = math.ceil(n / batch)
    pairs = n * (n - 1) / 2
    return {
        "nodes": n,
        "batch_size": batch,
        "steps_per_epoch": steps_per_epoch,
        "seconds_per_step": step,
        "seconds_per_epoch": step * steps_per_epoch,
        "pair_fraction_per_epoch": min(
            1.0, steps_per_epoch * batch * (batch - 1) / 2 / pairs
        ),
        "nonempty_pair_bins": int(stats.row.numel()),
    }


def cached_models(folder: Path | None, name: str, split) -> dict[str, PiVeM]:
    """Fitted models of ``name`` saved by an earlier run in ``folder``, if any."""
    fitted = {}
    for method in ("pivem", "static_ldm"):
        path = None if folder is None else folder / f"{name}_{method}.pt"
        if path is not None and path.exists():
            model = PiVeM.load(path)
            # files written before fit recorded it
            model.set_observed_end(
                bin_statistics(split.train, model.num_bins, split.horizon)
            )
            fitted[method] = model
    return fitted


def run_quality(names: list[str], save=None, models: Path | None = None) -> dict:
    """Quality and node-batch timing per dataset; ``save(out)`` after each.

    With ``models`` (a folder), fitted models are saved there and reused by
    a later run with the same settings (their fit is not timed again).
    """
    out = {}
    for name in names:
        stream, split = load_split(name)
        q = QUALITY[name]
        fitted = cached_models(models, name, split)
        result = evaluate(
            split,
            dim=2,
            num_bins=q["num_bins"],
            num_communities=10,
            epochs=q["epochs"],
            lr=0.1,
            batch_size=q["batch_size"],
            seed=0,
            fitted=fitted,
        )
        if models is not None:
            models.mkdir(parents=True, exist_ok=True)
            for method, model in result["models"].items():
                if method not in fitted:
                    model.save(models / f"{name}_{method}.pt")
        future = score_tasks(split, seed=0)["future"]
        model = result["models"]["pivem"]
        sweep = {
            rule: {
                str(h): _metrics(
                    model.forecast(
                        future.row, future.col, future.t0, future.t1, rule, h
                    ),
                    future.label,
                )["roc_auc"]
                for h in (0.003, 0.01, 0.027, 0.09, 0.3, 1.0)
            }
            for rule in ("diffuse", "recent")
        }
        out[name] = {
            "events": stream.num_events,
            "nodes": split.num_nodes,
            "active_nodes": int(split.train.active_nodes().numel()),
            "train_events": split.train.num_events,
            "completion_events": split.completion.num_events,
            "future_events": split.future.num_events,
            "metrics": result["metrics"],
            "future_roc_auc_by_timescale": sweep,
            "fit_seconds": result["fit_seconds"],
            "models_reused": sorted(fitted),
            "observed_end": float(model.observed_end),
            "timing_D2_B100": node_batch_timing(split),
        }
        print(f"{name}: fitted in {result['fit_seconds']}", flush=True)
        if save is not None:
            save(out)
    return out


def run_threads(repeats: int = 1) -> dict:
    """Dept3 full-batch s/epoch at 1 and 2 threads, quiet and busy.

    ``repeats`` whole runs of the part, each with ``TWINS`` twins; in a
    twin the four settings (1 and 2 threads, blocked and the unblocked
    peer) take ``THREAD_STEPS`` steps in turn after a warm-up round, each
    on its own model, and report their median step. The 1-minute load
    average (``os.getloadavg``) is recorded before every twin, since other
    developers' jobs share the machine.
    """
    _, split = load_split(DEPT3)
    stats = bin_statistics(split.train, TIMING["num_bins"], split.horizon)

    def make(blocked: bool) -> tuple[PiVeM, torch.optim.Optimizer]:
        model = moving_model(split.num_nodes, split.horizon)
        if not blocked:
            peer = _UnblockedPiVeM(**model.config())
            peer.load_state_dict(model.state_dict())
            model = peer
        return model, torch.optim.Adam(model.parameters(), lr=0.1)

    def step(model: PiVeM, optimizer, threads: int, blocked: bool) -> float:
        torch.set_num_threads(threads)
        start = time.perf_counter()
        with worker_threads() if blocked else contextlib.nullcontext():
            loss = model.loss(stats, None, split.masked_pairs)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return time.perf_counter() - start

    def measure_paired(busy: bool) -> dict[str, float]:
        # the four settings take their steps in turn (the order rotating), so
        # that a change of the machine's load hits all of them alike
        cond = "_busy" if busy else ""
        settings = [
            (prefix + f"{threads}_threads{cond}", threads, blocked)
            for prefix, blocked in (("", True), ("unblocked_", False))
            for threads in (1, 2)
        ]
        models = {name: make(blocked) for name, _, blocked in settings}
        seconds: dict[str, list[float]] = {name: [] for name, _, _ in settings}
        for k in range(THREAD_STEPS + 1):
            turn = settings[k % 4 :] + settings[: k % 4]
            for name, threads, blocked in turn:
                t = step(*models[name], threads, blocked)
                if k:  # the first round is the warm-up
                    seconds[name].append(t)
        return {name: statistics.median(v) for name, v in seconds.items()}

    runs: dict[str, list[float]] = {}
    loads: dict[str, list[float]] = {}
    repeat_of: dict[str, list[int]] = {}
    for repeat in range(repeats):
        for busy in (False, True):
            hog = None
            if busy:
                hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            try:
                for _ in range(TWINS):
                    load = os.getloadavg()[0]
                    for name, value in measure_paired(busy).items():
                        loads.setdefault(name, []).append(load)
                        runs.setdefault(name, []).append(value)
                        repeat_of.setdefault(name, []).append(repeat)
            finally:
                if hog is not None:
                    hog.kill()
                    hog.wait()
    torch.set_num_threads(1)
    summary: dict = {
        key: {
            "median": statistics.median(v),
            "runs": v,
            "spread": max(v) - min(v),
            "repeat": repeat_of[key],
            "load_1min_before": loads[key],
        }
        for key, v in runs.items()
    }
    for cond in ("", "_busy"):
        one = summary[f"1_threads{cond}"]["median"]
        two = summary[f"2_threads{cond}"]["median"]
        summary[f"ratio_2_over_1{cond}"] = two / one
        # the same ratio within each repeat (its own twins), for the spread
        summary[f"ratio_2_over_1{cond}_per_repeat"] = [
            statistics.median(
                t
                for t, r in zip(
                    summary[f"2_threads{cond}"]["runs"],
                    repeat_of[f"2_threads{cond}"],
                    strict=True,
                )
                if r == k
            )
            / statistics.median(
                t
                for t, r in zip(
                    summary[f"1_threads{cond}"]["runs"],
                    repeat_of[f"1_threads{cond}"],
                    strict=True,
                )
                if r == k
            )
            for k in range(repeats)
        ]
        for threads in (1, 2):
            key = f"{threads}_threads{cond}"
            summary[f"ratio_blocked_over_unblocked_{key}"] = (
                summary[key]["median"] / summary["unblocked_" + key]["median"]
            )
    return {
        "dataset": DEPT3,
        "full_batch": True,
        "steps_per_run": THREAD_STEPS,
        "repeats": repeats,
        "twins_per_repeat": TWINS,
        "seconds_per_epoch": summary,
        "machine_load_1min_before": _load(),
        "note": (
            "2-core machine shared with other developers' jobs: the 1-minute load "
            "average before each timing is recorded next to it; 'quiet' means no "
            "competing process started by this script, not an idle machine"
        ),
    }


def _load() -> float | None:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except OSError:
        return None


MEMORY_CHILD = r"""
import json, resource, sys, time
from pathlib import Path
import torch
torch.set_num_threads({threads})
sys.path.insert(0, {root!r})
from benchmarks.pivem import load_split, moving_model
from dyngraph.models.pivem import bin_statistics
from dyngraph.models.pivem import model as pivem_model
from dyngraph.models.pivem.model import worker_threads
def peak():
    # VmHWM: this process's own peak; ru_maxrss would also count the pages
    # of the parent at the fork, carried over the exec
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1e6  # kB / 1e6, as ru_maxrss below
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
out = {{"after_imports_gb": peak(), "threads": {threads}}}
_, split = load_split({name!r}, Path({data!r}))
stats = bin_statistics(split.train, 100, split.horizon)
out["after_data_gb"] = peak()
model = moving_model(split.num_nodes, split.horizon)
# progress on stderr: share of the pair x bin cells done, every 5 %
total = split.num_nodes * (split.num_nodes - 1) // 2
moving_block, done, shown = pivem_model._moving_block, [0], [0.0]
def counted(x, v, beta, row, col, width, weight, grads):
    done[0] += row.numel()
    if done[0] / total >= shown[0] + 0.05:
        shown[0] = done[0] / total
        print(f"{{shown[0]:.0%}} of the pairs after "
              f"{{time.perf_counter() - start:.0f}} s, peak {{peak():.3f}} GB",
              file=sys.stderr, flush=True)
    return moving_block(x, v, beta, row, col, width, weight, grads)
pivem_model._moving_block = counted
with worker_threads():
    start = time.perf_counter()
    loss = model.loss(stats, None, split.masked_pairs)
    loss.backward()
out["step_seconds"] = time.perf_counter() - start
out["after_full_batch_step_gb"] = peak()
out["pairs"] = split.num_nodes * (split.num_nodes - 1) // 2
out["block_cells"] = model.block_cells()
print(json.dumps(out))
"""


def run_memory(names: list[str], threads: int = 1) -> dict:
    """Peak RSS of a fresh process: imports, data, one full-batch step.

    The step runs on ``threads`` workers; its progress goes to stderr.
    """
    out = {}
    for name in names:
        code = MEMORY_CHILD.format(
            root=str(ROOT), name=name, data=str(DATA), threads=int(threads)
        )
        proc = subprocess.run(
            [sys.executable, "-c", code],
            stdout=subprocess.PIPE,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            out[name] = {"error": f"exit status {proc.returncode} (stderr above)"}
        else:
            out[name] = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"{name}: {out[name]}", flush=True)
    return out


class _ScaledPiVeM(PiVeM):
    """PiVeM whose likelihood is multiplied by a constant (reference scaling)."""

    likelihood_scale = 1.0

    def loss(self, stats, nodes=None, masked_pairs=None, scale_likelihood=True):
        loglik = self.log_likelihood(stats, nodes, masked_pairs)
        return -self.likelihood_scale * loglik + self.neg_log_prior()


def run_completion() -> dict:
    """Dept3 completion AUC: seeds x {float64, float32, reference scaling, longer}.

    Float64 and float32 over ``COMPLETION_SEEDS`` (paired by seed: the same
    initialisation), the reference's likelihood scaling and a 1.5x longer
    schedule over the first three seeds; the paired differences to float64
    are reported with their mean and standard deviation.
    """
    _, split = load_split(DEPT3)
    tasks = score_tasks(split, seed=0)
    n = split.num_nodes
    pairs = n * (n - 1) // 2
    few = COMPLETION_SEEDS[:3]
    variants = {
        "float64": (torch.float64, 1.0, 100, COMPLETION_SEEDS),
        "float32": (torch.float32, 1.0, 100, COMPLETION_SEEDS),
        # the reference multiplies the NLL by C(N, 2) / |masked|
        "float64_reference_scaling": (
            torch.float64,
            pairs / max(1, split.masked_pairs.numel()),
            100,
            few,
        ),
        "float64_150_epochs": (torch.float64, 1.0, 150, few),
    }
    out: dict = {}
    for label, (dtype, scale, epochs, seeds) in variants.items():
        aucs = []
        for seed in seeds:
            model = _ScaledPiVeM(
                n, 2, 100, 10, 1e5, split.horizon, seed=seed, dtype=dtype
            )
            model.likelihood_scale = scale
            model.fit(
                split.train,
                epochs=epochs,
                lr=0.1,
                masked_pairs=split.masked_pairs,
                seed=seed,
                progress=False,
            )
            aucs.append(
                _metrics(
                    model_scores(model, tasks["completion"]).double(),
                    tasks["completion"].label,
                )["roc_auc"]
            )
        out[label] = {
            "seeds": list(seeds),
            "epochs": epochs,
            "completion_roc_auc": aucs,
            "mean": statistics.mean(aucs),
            "stdev": statistics.stdev(aucs) if len(aucs) > 1 else 0.0,
            "likelihood_scale": scale,
        }
        print(f"completion {label}: {aucs}", flush=True)
    ref = out["float64"]
    base = dict(zip(ref["seeds"], ref["completion_roc_auc"], strict=True))
    for label, res in out.items():
        if label == "float64":
            continue
        diffs = [
            auc - base[seed]
            for seed, auc in zip(res["seeds"], res["completion_roc_auc"], strict=True)
        ]
        res["minus_float64_paired"] = diffs
        res["minus_float64_mean"] = statistics.mean(diffs)
        res["minus_float64_stdev"] = statistics.stdev(diffs) if len(diffs) > 1 else 0.0
    out["note"] = completion_note(out)
    return out


def completion_note(out: dict) -> str:
    """What the completion variants say about a gap of one-seed runs."""
    seed_sd = out["float64"]["stdev"]
    parts = [
        f"seed stdev (float64, {len(out['float64']['seeds'])} seeds) {seed_sd:.4f}"
    ]
    for label in ("float32", "float64_reference_scaling", "float64_150_epochs"):
        res = out.get(label, {})
        if "minus_float64_mean" in res:
            parts.append(
                f"{label} - float64 paired {res['minus_float64_mean']:+.4f} "
                f"+- {res['minus_float64_stdev']:.4f} ({len(res['seeds'])} seeds)"
            )
    parts.append(
        "a constant likelihood scale leaves Adam's steps unchanged (only the "
        "prior's relative weight moves, and prior_lambda=1e5 is almost flat)"
    )
    return "; ".join(parts)


def headline(results: dict) -> dict:
    """The issue's headline figures from whatever parts have run."""
    head: dict = {"future_auc": {}, "future_auc_best_baseline": {}}
    for name, res in results.get("datasets", {}).items():
        future = res["metrics"]["future"]
        head["future_auc"][name] = future["pivem"]["roc_auc"]
        head["future_auc_best_baseline"][name] = max(
            future["static_ldm"]["roc_auc"], future["historical_counts"]["roc_auc"]
        )
    memory = results.get("memory", {}).get("college-msg", {})
    head["full_batch_peak_rss_gb"] = memory.get("after_full_batch_step_gb")
    sec = results.get("threads", {}).get("seconds_per_epoch", {})
    for key, src in (
        ("s_per_epoch_1_thread", "1_threads"),
        ("s_per_epoch_2_threads", "2_threads"),
        ("s_per_epoch_1_thread_busy", "1_threads_busy"),
        ("s_per_epoch_2_threads_busy", "2_threads_busy"),
    ):
        head[key] = sec.get(src, {}).get("median")
    return head


def print_tables(results: dict) -> None:
    header = f"{'dataset':30} {'task':15} {'method':24} {'ROC-AUC':>8} {'AP':>8}"
    print(header)
    print("-" * len(header))
    for name, res in results.get("datasets", {}).items():
        for task, methods in res["metrics"].items():
            for method, m in methods.items():
                print(
                    f"{name:30} {task:15} {method:24} "
                    f"{m['roc_auc']:8.3f} {m['ap']:8.3f}"
                )
    sec = results.get("threads", {}).get("seconds_per_epoch")
    if sec:
        print("\nDept3 full batch, s/epoch (median over repeats x twins; spread)")
        for key, v in sec.items():
            if isinstance(v, dict):
                load = max(v.get("load_1min_before", [float("nan")]))
                print(
                    f"  {key:26} {v['median']:8.3f}  (spread {v['spread']:.3f}; "
                    f"load up to {load:.2f})"
                )
            elif isinstance(v, list):
                print(f"  {key:26} " + " ".join(f"{x:.3f}" for x in v))
            else:
                print(f"  {key:18} {v:8.3f}")
    for name, m in results.get("memory", {}).items():
        print(f"\npeak RSS {name}: {m}")
    print("\nheadline:", json.dumps(results["headline"], indent=2))


def main(argv: list[str] | None = None) -> int:
    global DATA
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--parts",
        default=",".join(PARTS),
        help=f"comma-separated subset of {','.join(PARTS)} (default: all)",
    )
    parser.add_argument(
        "--datasets",
        default=",".join(DATASETS),
        help="datasets of the quality part (default: all three)",
    )
    parser.add_argument(
        "--data", type=Path, default=None, help=f"data folder (default: {DATA})"
    )
    parser.add_argument(
        "--out", type=Path, default=OUT, help=f"results file, updated (default: {OUT})"
    )
    parser.add_argument(
        "--models",
        type=Path,
        default=None,
        help="folder to save fitted models in and reuse them from (default: none)",
    )
    parser.add_argument(
        "--memory-datasets",
        default=f"{DEPT3},college-msg",
        help="datasets of the memory part (Bitcoin-OTC's step is long)",
    )
    parser.add_argument(
        "--memory-threads",
        type=int,
        default=1,
        help="workers of the memory part's full-batch step (default: 1)",
    )
    parser.add_argument(
        "--threads-repeats",
        type=int,
        default=2,
        help="whole runs of the threads part, each with its twins (default: 2)",
    )
    args = parser.parse_args(argv)
    parts = [p for p in args.parts.split(",") if p]
    names = [d for d in args.datasets.split(",") if d]
    memory_names = [d for d in args.memory_datasets.split(",") if d]
    for bad in [p for p in parts if p not in PARTS]:
        parser.error(f"--parts: unknown part {bad!r}; choose from {PARTS}")
    for bad in [d for d in names + memory_names if d not in DATASETS]:
        parser.error(f"unknown dataset {bad!r}; choose from {tuple(DATASETS)}")
    DATA = args.data or DATA
    if not DATA.is_dir():
        print(f"skipped: {DATA} does not exist (the real datasets are not available)")
        return 0
    torch.set_num_threads(1)
    out = args.out
    results = json.loads(out.read_text()) if out.exists() else {}
    results["settings"] = {
        "quality": QUALITY,
        "timing": TIMING,
        "dim": 2,
        "lr": 0.1,
        "num_communities": 10,
        "prior_lambda": 1e5,
        "split": {"future_ratio": 0.1, "mask_ratio": 0.2, "radius": 1e-3},
        "forecast_default": "diffuse (timescale horizon / 10)",
    }
    results["machine"] = {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "platform": platform.platform(),
        "cpus": len(__import__("os").sched_getaffinity(0)),
        "note": "shared machine: other jobs ran during the measurements",
    }

    def save_quality(done: dict) -> None:
        # a long run keeps the datasets it has finished
        results.setdefault("datasets", {}).update(done)
        results["headline"] = headline(results)
        out.write_text(json.dumps(results, indent=2))

    if "quality" in parts:
        results.setdefault("datasets", {}).update(
            run_quality(names, save_quality, args.models)
        )
    if "threads" in parts:
        results["threads"] = run_threads(args.threads_repeats)
    if "memory" in parts:
        results.setdefault("memory", {}).update(
            run_memory(memory_names, args.memory_threads)
        )
    if "completion" in parts:
        results["completion"] = run_completion()
    results["headline"] = headline(results)
    results["peak_rss_this_process_gb"] = (
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print_tables(results)
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
