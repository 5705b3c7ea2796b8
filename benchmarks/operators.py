"""Sparse graph neural operator benchmark: sampling ratio vs accuracy, time, memory.

Mirrors GIOROM's sparsity figure on two systems generated in code
(:mod:`dyngraph.systems.particles`): the spring-mass jelly (256 particles)
and the SPH-like drop (197 particles). For each sampling ratio
1, 0.5, 0.25, 0.1, 0.05 a :class:`~dyngraph.models.operators.SparseGraphOperator`
is trained on the same trajectories with the same budget (epochs, batch
size, hence the same number of gradient steps and examples); ratio 1 with
the nearest decoder (the identity there) is the full-resolution GNS peer
(same processor). Each sparse model is trained with the default decoder,
``"flow"`` (Lagrangian: every dense particle keeps its own velocity from
the initial condition and gains the sample's acceleration, interpolated by
affine moving least squares at its current position; no weights): the
headline operator, the same settings for both systems, timed as a user
gets it. It is trained a second time with the learned kernel-integral
decoder (``"gno"``: displacements in the reference configuration) for the
``gno`` rows; the two fits share the batches and noise and the decoder
loss shares no weights with the processor, so their processors come out
equal (``same_processor`` in the JSON checks it bit for bit). Every sparse
rollout is also decoded by nearest-neighbour interpolation (the "sparse
sample + nearest-neighbour" peer, the same sparse simulator) in both
configurations: ``nearest`` (Lagrangian accelerations, as ``"flow"``) and
``nearest_reference`` (displacements in the reference configuration, as
``"gno"``).

The decoder-only floor (``decoder_floor`` in the JSON) decodes the TRUE
sparse states of the test trajectories at ratio 0.25 with each decoding
rule, isolating the decoder from the processor; ``flow_tracers`` are the
dense particles traced from their frame-0 positions (the query-point path,
seeded by the sample) instead of started from their true state at the
window's end.

Per ratio, on the dense set of the test trajectories, 20-step rollouts from
the first 6 true frames:

* MSE5 / MSE20 (position MSE averaged over particles and dimensions, as
  LagrangeBench; GIOROM's code sums over dimensions), relative L2, Chamfer;
* time per rollout step: one sparse GNS step plus the decoding of that
  frame to every dense particle (``"flow"``: one advection step), timed in
  turn with one full GNS step (10 steps each, 5 times; the fastest of each)
  so that the ratio compares both under the same load;
* memory per rollout step: the bytes of all intermediate tensors of one
  step (GNS step + decode) as saved for backward (a CPU proxy of the peak
  working set: PyTorch has no peak-allocation counter on CPU), and the
  same for one training batch;
* training time of the fit.

Query points anywhere (at ratio 0.25, ``query`` in the JSON): 100 query
points per sparse node (random points around the reference body) are
traced by the default path, ``SparseGraphOperator.trace`` (what
``rollout(..., query=...)`` runs for ``"flow"``: seeding on the reference
frame, then one moving-least-squares advection step per frame, neighbour
search included), through the 5 window frames and the 20 predicted ones;
``decode_seconds`` is its time per frame (median of 3). The ``"gno"``
model's decode of the same points (one frame, neighbour search apart) is
beside it (``gno_decode_seconds``).

Headline (at ratio 0.25, the mean over both systems and both twin runs):
``mse20_ratio_at_0_25`` = sparse operator MSE20 / full GNS MSE20;
``step_time_ratio_at_0_25`` and ``memory_ratio_at_0_25`` = full GNS over
sparse; ``query_points_per_node`` = the query points per sparse node the
default (tracer) path was timed at.

Small sizes (hidden 32, 3 message-passing steps, 4 training trajectories
of 50 frames, 10 epochs) so that it finishes in about 10 minutes on two
shared CPU cores; torch runs on one thread. The figures are a floor for
each learned method (GNS trains for millions of steps). Twin runs use
seeds 0 and 1 (weights, sampling, batches, data).

LagrangeBench (the outside peer): ``pip install lagrangebench`` in a
throwaway venv did not finish within the 5-minute cap: lagrangebench 0.0.1
pins torch==1.13.1 (an 887 MB wheel plus CUDA 11 libraries), jax-md 0.2.3,
wandb, vtk and pyvista. It was not run; the JSON says so.

No GPU was lent to this run: the 2,500-6,000 particle GPU rows are not
measured (``gpu`` in the JSON).

Run from the repository root: ``python benchmarks/operators.py``.
Writes ``benchmarks/results/operators.json`` and prints a table.
"""

from __future__ import annotations

import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dyngraph.models.operators import SparseGraphOperator  # noqa: E402
from dyngraph.models.operators.evaluate import evaluate  # noqa: E402
from dyngraph.systems.particles import drop, jelly  # noqa: E402

THREADS = 1
STEPS = 20
RATIOS = (1.0, 0.5, 0.25, 0.1, 0.05)
QUERY_FACTOR = 100
SYSTEMS = {"jelly": jelly, "drop": drop}
DATA = {"train": 4, "test": 2, "frames": 50}
MODEL = {"hidden": 32, "layers": 3, "mlp_layers": 2, "decoder_hidden": 32}
BUDGET = {"epochs": 10, "batch_size": 8, "lr": 1e-3}
LAGRANGEBENCH = (
    "not run: `pip install lagrangebench` (0.0.1) in a throwaway venv did not "
    "finish within the 5-minute cap; it pins torch==1.13.1 (887 MB wheel plus "
    "CUDA 11 libraries), jax-md 0.2.3, wandb, vtk and pyvista"
)


def _saved_bytes(fn: Any) -> int:
    """Bytes of the distinct tensors autograd saves while ``fn()`` runs."""
    seen: dict[tuple[int, int], int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        seen[(storage.data_ptr(), storage.nbytes())] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return sum(seen.values())


def _model(ratio: float, seed: int, decoder: str | None = None) -> SparseGraphOperator:
    """The full GNS at ratio 1, else the operator with ``decoder`` (or its default)."""
    if ratio == 1.0:
        decoder = "nearest"
    kwargs = {"decoder": decoder} if decoder else {}
    return SparseGraphOperator(ratio=ratio, seed=seed, **kwargs, **MODEL)


def _same_processor(a: SparseGraphOperator, b: SparseGraphOperator) -> bool:
    """Whether two models hold bit-identical weights and statistics but a decoder."""
    sa, sb = a.state_dict(), b.state_dict()
    keys = {k for k in sa if not k.startswith("decoder.")}
    return keys == {k for k in sb if not k.startswith("decoder.")} and all(
        torch.equal(sa[k], sb[k]) for k in keys
    )


def _decoder_floor(test: Any, ratio: float = 0.25) -> dict[str, dict[str, float]]:
    """Dense MSE5/MSE20 of each decoding rule fed the TRUE sparse states."""
    from dyngraph.models.operators.evaluate import dense_metrics
    from dyngraph.models.operators.gno import nearest_interpolation

    model = _model(ratio, 0, "flow")
    h = model.history
    rows: dict[str, list[torch.Tensor]] = {
        "flow": [],
        "flow_nearest": [],
        "flow_tracers": [],
        "reference_nearest": [],
    }
    truth = []
    for b in range(test.num_trajectories):
        pos = test.positions[b].double()
        index = model.sample(pos[0])
        sparse = pos[h : h + STEPS, index]
        truth.append(pos[h : h + STEPS])
        for name, nearest in (("flow", False), ("flow_nearest", True)):
            rows[name].append(
                model.advect_rollout(
                    pos[:h, index], sparse, pos[h - 1], pos[h - 1] - pos[h - 2], nearest
                )
            )
        # the particles as tracers seeded on frame 0 (the query-point path)
        frames = torch.cat([pos[:h, index], sparse])
        rows["flow_tracers"].append(model.trace(frames, pos[0])[-STEPS:])
        ref = pos[0, index]
        rows["reference_nearest"].append(
            pos[0] + nearest_interpolation(ref, sparse - ref, pos[0])
        )
    t = torch.stack(truth)
    out = {}
    for name, preds in rows.items():
        m = dense_metrics(t, torch.stack(preds))
        out[name] = {"mse5": m["mse5"], "mse20": m["mse20"]}
    return out


def _one_step(model: SparseGraphOperator, test: Any) -> Any:
    """One dense rollout step of ``model`` on test trajectory 0, as a closure."""
    pos = test.positions[0].to(model.dtype)
    reference = pos[0]
    index = model.sample(reference)
    types = test.types[index]
    window = pos[: model.history, index]
    flow = model.decoder_kind == "flow"
    edges = (
        model.decoder.neighbourhoods(reference[index], reference)
        if model.decoder is not None
        else None
    )
    # the dense state at the window's end; requires_grad so that the
    # weightless flow decoder's intermediates count in the memory proxy
    dense = pos[model.history - 1].clone().requires_grad_(flow)
    dense_vel = pos[model.history - 1] - pos[model.history - 2]

    def one_step() -> torch.Tensor:
        nxt = model.step(window, types)
        if flow:
            acc = nxt - 2 * window[-1] + window[-2]
            return model.advect(window[-1], acc, dense, dense_vel)[0]
        return model.decode(reference[index], nxt, reference, edges)

    return one_step


def _step_cost(
    model: SparseGraphOperator, test: Any, full: SparseGraphOperator | None = None
) -> dict[str, float]:
    """Time and memory of one dense rollout step on test trajectory 0.

    With ``full`` (the full GNS), the two are timed in turn, 10 steps each,
    5 times, so that both see the same load; each time is the fastest of
    its repeats (the least disturbed by the other developers' processes).
    """
    step = _one_step(model, test)
    peer = _one_step(full, test) if full is not None else step
    times: dict[str, list[float]] = {"model": [], "full": []}
    with torch.no_grad():
        for _ in range(5):
            for name, fn in (("full", peer), ("model", step)):
                start = time.perf_counter()
                for _ in range(10):
                    fn()
                times[name].append((time.perf_counter() - start) / 10)
    return {
        "step_seconds": min(times["model"]),
        "full_step_seconds": min(times["full"]),
        "step_bytes": _saved_bytes(step),
    }


def _train_bytes(model: SparseGraphOperator, train: Any) -> int:
    n = model.set_training_samples(train)
    batch = torch.stack([torch.arange(8) % n, torch.arange(8)], 1)
    try:
        return _saved_bytes(lambda: model(batch))
    finally:
        model._train_data = None


def _query_timing(
    model: SparseGraphOperator, gno: SparseGraphOperator, test: Any
) -> dict[str, Any]:
    """Trace QUERY_FACTOR query points per sparse node (the default path)."""
    pos = test.positions[0].to(model.dtype)
    reference = pos[0]
    gen = torch.Generator().manual_seed(0)
    roll = model.rollout(test, 0, STEPS)
    index = roll.sparse_index
    count = QUERY_FACTOR * len(index)
    around = torch.randint(len(reference), (count,), generator=gen)
    query = reference[around] + 0.01 * torch.randn(count, 2, generator=gen)
    frames = torch.cat([pos[: model.history, index], roll.sparse])
    times = []
    with torch.no_grad():
        for _ in range(3):
            start = time.perf_counter()
            out = model.trace(frames, query)
            times.append(time.perf_counter() - start)
    start = time.perf_counter()
    edges = gno.decoder.neighbourhoods(reference[index], query)
    search = time.perf_counter() - start
    with torch.no_grad():
        start = time.perf_counter()
        gno.decode(reference[index], roll.sparse[-1], query, edges)
        gno_seconds = time.perf_counter() - start
    return {
        "decoder": model.decoder_kind,
        "path": "SparseGraphOperator.trace (rollout(..., query=...))",
        "sparse_nodes": len(index),
        "query_points": int(out.shape[1]),
        "query_points_per_node": out.shape[1] / len(index),
        "frames_traced": int(out.shape[0]),
        "trace_seconds": statistics.median(times),
        "decode_seconds": statistics.median(times) / out.shape[0],
        "gno_neighbour_search_seconds": search,
        "gno_decode_seconds": gno_seconds,
    }


def run_system(name: str, seed: int) -> dict[str, Any]:
    make = SYSTEMS[name]
    began = time.perf_counter()
    train = make(DATA["train"], DATA["frames"], seed=2 * seed)
    test = make(DATA["test"], DATA["frames"], seed=2 * seed + 1)
    out: dict[str, Any] = {
        "generate_seconds": time.perf_counter() - began,
        "particles": train.num_particles,
        "decoder_floor_at_0_25": _decoder_floor(test),
        "ratios": {},
    }
    full = None  # the full GNS (ratio 1, fitted first)
    for ratio in RATIOS:
        model = _model(ratio, seed)  # the default decoder ("flow") below ratio 1
        start = time.perf_counter()
        model.fit(train, seed=seed, **BUDGET)
        fit_seconds = time.perf_counter() - start
        full = model if ratio == 1.0 else full
        report = evaluate(model, test, STEPS)
        row = {
            "decoder": model.decoder_kind,
            "sparse_nodes": report["sparse_nodes"],
            "graph_radius": model.graph_radius,
            "fit_seconds": fit_seconds,
            "final_loss": model.fit_result_.history[-1]["loss"],
            "train_bytes": _train_bytes(model, train),
            **_step_cost(model, test, full),
            "operator": {k: v for k, v in report["model"].items()},
            "nearest": {k: v for k, v in report["nearest"].items()},
            "nearest_reference": dict(report["nearest_reference"]),
            "gno": dict(report["model"]),
        }
        if ratio != 1.0:  # the learned decoder, trained on the same budget
            gno = _model(ratio, seed, "gno")
            start = time.perf_counter()
            gno.fit(train, seed=seed, **BUDGET)
            row["gno_fit_seconds"] = time.perf_counter() - start
            row["gno"] = evaluate(gno, test, STEPS)["model"]
            row["same_processor"] = _same_processor(model, gno)
            if ratio == 0.25:
                row["query"] = _query_timing(model, gno, test)
        out["ratios"][str(ratio)] = row
        print(
            f"  {name} seed {seed} ratio {ratio}: fit {fit_seconds:.1f} s, "
            f"MSE20 {row['operator']['mse20']:.3g} "
            f"(gno {row['gno']['mse20']:.3g}, "
            f"nearest {row['nearest']['mse20']:.3g}, "
            f"nearest ref {row['nearest_reference']['mse20']:.3g}), "
            f"step {1e3 * row['step_seconds']:.2f} ms",
            flush=True,
        )
    return out


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def main() -> dict[str, Any]:
    torch.set_num_threads(THREADS)
    began = time.perf_counter()
    runs = {name: [run_system(name, seed) for seed in (0, 1)] for name in SYSTEMS}
    table: dict[str, Any] = {}
    for name, twins in runs.items():
        full = [r["ratios"]["1.0"] for r in twins]
        rows = {}
        for ratio in RATIOS:
            cells = [r["ratios"][str(ratio)] for r in twins]
            row = {}
            for method in ("operator", "gno", "nearest", "nearest_reference"):
                for metric in ("mse5", "mse20", "rel_l2", "chamfer"):
                    values = [c[method][metric] for c in cells]
                    row[f"{method}_{metric}"] = _mean(values)
                    row[f"{method}_{metric}_spread"] = max(values) - min(values)
                row[f"{method}_mse20_over_full"] = _mean(
                    [
                        c[method]["mse20"] / f["operator"]["mse20"]
                        for c, f in zip(cells, full, strict=True)
                    ]
                )
            for key in ("step_seconds", "step_bytes", "train_bytes", "fit_seconds"):
                row[key] = _mean([c[key] for c in cells])
            # timed in turn with the full GNS, under the same load
            row["full_over_step_seconds"] = _mean(
                [c["full_step_seconds"] / c["step_seconds"] for c in cells]
            )
            row["full_over_step_bytes"] = _mean(
                [
                    f["step_bytes"] / c["step_bytes"]
                    for c, f in zip(cells, full, strict=True)
                ]
            )
            row["sparse_nodes"] = cells[0]["sparse_nodes"]
            if ratio != 1.0:
                row["gno_fit_seconds"] = _mean([c["gno_fit_seconds"] for c in cells])
                row["same_processor"] = all(c["same_processor"] for c in cells)
            rows[str(ratio)] = row
        table[name] = rows
    at = [table[name]["0.25"] for name in SYSTEMS]
    queries = [r["ratios"]["0.25"]["query"] for twins in runs.values() for r in twins]
    headline = {
        "mse20_ratio_at_0_25": _mean([r["operator_mse20_over_full"] for r in at]),
        "step_time_ratio_at_0_25": _mean([r["full_over_step_seconds"] for r in at]),
        "memory_ratio_at_0_25": _mean([r["full_over_step_bytes"] for r in at]),
        "query_points_per_node": _mean([q["query_points_per_node"] for q in queries]),
    }
    results = {
        "headline": headline,
        "mse20_ratio_at_0_25_by_system": {
            name: {
                method: table[name]["0.25"][f"{method}_mse20_over_full"]
                for method in ("operator", "gno", "nearest", "nearest_reference")
            }
            for name in SYSTEMS
        },
        "headline_notes": (
            "at ratio 0.25, mean over jelly and drop and twin seeds 0 and 1. "
            "mse20_ratio = sparse operator (decoder 'flow') / full GNS (target "
            "<= 1.5; per system in mse20_ratio_at_0_25_by_system); "
            "step_time_ratio and memory_ratio = full GNS / sparse operator "
            "(target >= 1/3: the sparse operator at most 3x the full GNS); "
            "memory = bytes of the intermediate tensors of one rollout step"
        ),
        "machine": f"{platform.machine()}, {THREADS} torch thread(s), shared CPU "
        "(2 cores, loaded by other developers)",
        "torch": torch.__version__,
        "steps": STEPS,
        "data": DATA,
        "model": MODEL,
        "budget": BUDGET,
        "table": table,
        "query_timing": queries,
        "lagrangebench": LAGRANGEBENCH,
        "gpu": {"run": False, "reason": "no GPU was lent to this task"},
        "runs": runs,
        "seconds": time.perf_counter() - began,
    }
    out = ROOT / "benchmarks" / "results" / "operators.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    for name, rows in table.items():
        print(f"\n{name} ({runs[name][0]['particles']} particles), twin mean")
        print(
            f"  {'ratio':>6} {'nodes':>6} {'MSE5':>9} {'MSE20':>9} {'gno':>9} "
            f"{'NN':>9} {'NN ref':>9} "
            f"{'/full':>7} {'step ms':>8} {'full/step':>9} {'full/mem':>8} {'fit s':>7}"
        )
        for ratio, r in rows.items():
            print(
                f"  {ratio:>6} {r['sparse_nodes']:>6} {r['operator_mse5']:>9.3g} "
                f"{r['operator_mse20']:>9.3g} {r['gno_mse20']:>9.3g} "
                f"{r['nearest_mse20']:>9.3g} {r['nearest_reference_mse20']:>9.3g} "
                f"{r['operator_mse20_over_full']:>7.2f} "
                f"{1e3 * r['step_seconds']:>8.2f} "
                f"{r['full_over_step_seconds']:>9.2f} "
                f"{r['full_over_step_bytes']:>8.2f} {r['fit_seconds']:>7.1f}"
            )
    print("\nheadline", json.dumps(headline))
    print(f"total {results['seconds']:.0f} s; wrote {out}")
    return results


if __name__ == "__main__":
    main()
