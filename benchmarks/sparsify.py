"""dyGRASS benchmark: the reference protocol on Delaunay graphs, speed as ratios.

For each graph (the shared DIMACS10 delaunay_n10/n12/n14 and generated Delaunay
graphs of 2^15 .. 2^``--max-log2`` nodes) it builds the initial sparsifier
(spanning tree + 10 % off-tree edges, spectral method), then streams 25 % of |V|
local edge insertions in 10 batches and 1 % of |V| deletions in 10 batches
through :class:`DynamicSparsifier` (K = 35, as the reference on delaunay_n18),
and reports:

- kappa(L_G, L_H) and |E_H|/|V| before, after the insertions and at the end;
- the initial sparsifier, not updated, on the graph after the insertions;
- from-scratch rebuilds on the final graph: the same method at the same size
  (spectral, and stretch-only), and the spectral method grown until its kappa
  is at most the dynamic sparsifier's (a rebuild that guarantees similar kappa);
- the median per-batch update time and walker moves, and the rebuild times
  over it;
- on graphs up to 2^14 nodes, the Spielman-Srivastava sampler of the same size
  and PCG iterations (rtol 1e-8) with each sparsifier as preconditioner.

The temporal example tracks the sliding-window graph of CollegeMsg (7-day
window, 1-day step): per-step update time, kappa and density at checkpoints, and
a rebuild at the end. Walker speed: moves per second of the compiled (numba)
kernel that CPU runs use and of the vectorised torch kernel (the one CUDA
runs), against a pure-Python walker with the same draws, in the same run.
The numba kernels are compiled before anything is timed; each update batch
is timed on two sparsifiers with the same seed (same decisions) and each
rebuild twice, and the faster of the two is kept.

Torch runs on one thread (``--threads``): the kernel's many small tensor ops
lose to OpenMP synchronisation with two threads on this shared 2-core machine
(measured: up to 60x slower under load), and SciPy's rebuild is single-threaded
too. Writes benchmarks/results/sparsify.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch

from dyngraph.data import delaunay_graph, read_matrix_market, sliding_window_updates
from dyngraph.data.io import read_snap_temporal
from dyngraph.sparsify import (
    DynamicSparsifier,
    condition_number,
    initial_sparsifier,
    local_edge_stream,
    nonbacktracking_walks,
    pcg_iterations,
    spielman_srivastava,
)

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[1] / "shared" / "data" / "suitesparse-graphs"
COLLEGE = HERE.parents[1] / "shared" / "data" / "college-msg" / "CollegeMsg.txt"
M32 = 2**32 - 1


def h32(x: int) -> int:
    x &= M32
    x ^= x >> 16
    x = (x * 0x7FEB352D) & M32
    x ^= x >> 15
    x = (x * 0x846CA68B) & M32
    return x ^ (x >> 16)


def python_walks(
    a: sp.csr_matrix, src, dst, walkers: int, steps: int, seed: int
) -> int:
    """Pure-Python non-backtracking walks (no budget); returns the moves made."""
    indptr, indices, data = a.indptr.tolist(), a.indices.tolist(), a.data.tolist()
    key = h32(seed)
    moves = 0
    for pair, (p, q) in enumerate(zip(src, dst, strict=True)):
        for j in range(walkers):
            i = pair * walkers + j
            base = h32(h32(key ^ (i & M32)) ^ (i >> 32))
            cur, prev, r = p, -1, 0.0
            for s in range(steps):
                lo, hi = indptr[cur], indptr[cur + 1]
                m = hi - lo if s == 0 else hi - lo - 1
                if m <= 0:
                    break
                slot = (h32(base ^ h32(s ^ 0x9E3779B9)) * m) >> 32
                if s > 0 and indices[lo + slot] == prev:
                    slot = hi - lo - 1
                nxt = indices[lo + slot]
                r += 1.0 / data[lo + slot]
                moves += 1
                if nxt == q:
                    break
                prev, cur = cur, nxt
    return moves


def walker_speed(a: sp.csr_matrix) -> dict[str, float]:
    rng = np.random.default_rng(0)
    n = a.shape[0]
    src = rng.integers(0, n, 400)
    dst = (src + 1 + rng.integers(0, n - 1, 400)) % n
    rowptr, col = torch.from_numpy(a.indptr).long(), torch.from_numpy(a.indices).long()
    w = torch.from_numpy(a.data)
    kw = dict(num_walkers=512, max_steps=100, seed=0)
    out: dict[str, float] = {}
    threads = torch.get_num_threads()
    for count in sorted({1, 2}):
        torch.set_num_threads(count)
        t0 = time.perf_counter()
        res = nonbacktracking_walks(
            rowptr,
            col,
            w,
            torch.from_numpy(src),
            torch.from_numpy(dst),
            backend="torch",
            **kw,
        )
        out[f"torch_steps_per_s_{count}_threads"] = res.walker_steps / (
            time.perf_counter() - t0
        )
    torch.set_num_threads(threads)
    args = (rowptr, col, w, torch.from_numpy(src), torch.from_numpy(dst))
    few = (rowptr, col, w, torch.from_numpy(src[:2]), torch.from_numpy(dst[:2]))
    nonbacktracking_walks(*few, backend="numba", **kw)  # compile before timing
    t0 = time.perf_counter()
    res = nonbacktracking_walks(*args, backend="numba", **kw)
    out["numba_steps_per_s"] = res.walker_steps / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    moves = python_walks(a, src[:4].tolist(), dst[:4].tolist(), 512, 100, 0)
    out["python_steps_per_s"] = moves / (time.perf_counter() - t0)
    out["speedup_vs_python"] = (
        out["torch_steps_per_s_1_threads"] / out["python_steps_per_s"]
    )
    out["numba_speedup_vs_python"] = (
        out["numba_steps_per_s"] / out["python_steps_per_s"]
    )
    out["numba_over_torch_1_thread"] = (
        out["numba_steps_per_s"] / out["torch_steps_per_s_1_threads"]
    )
    return out


def warm_up() -> None:
    """Compile the numba kernels (cached on disk) before anything is timed."""
    g = delaunay_graph(300, seed=1)[0]
    ds = DynamicSparsifier(g, initial_sparsifier(g), budget=35.0, seed=0)
    for kind, edges in local_edge_stream(g, seed=0):
        getattr(ds, kind)(edges)


def load_graph(name: str) -> sp.csr_matrix:
    if name.startswith("delaunay_n"):
        return read_matrix_market(SHARED / f"{name}.mtx")
    return delaunay_graph(int(name.split(":")[1]), seed=0)[0]


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def run_protocol(name: str, budget: float, small: int) -> dict:
    g0 = load_graph(name)
    n = g0.shape[0]
    h0, t_initial = timed(initial_sparsifier, g0)
    ds = DynamicSparsifier(g0, h0, budget=budget, seed=0)
    # a twin with the same seed makes the same decisions; each batch is timed
    # on both and the faster kept, which damps the noise of a shared machine
    twin = DynamicSparsifier(g0, h0, budget=budget, seed=0)
    row = {
        "graph": name,
        "nodes": n,
        "edges_per_node_G0": g0.nnz / 2 / n,
        "kappa_0": condition_number(g0, h0),
        "density_0": ds.density,
        "initial_build_s": t_initial,
    }
    stream = local_edge_stream(g0, seed=0)
    times = {"insert": [], "delete": []}
    moves = {"insert": [], "delete": []}
    kept = 0
    for kind, edges in stream:
        report, seconds = timed(getattr(ds, kind), edges)
        again, seconds_twin = timed(getattr(twin, kind), edges)
        assert again == report  # the same decisions
        times[kind].append(min(seconds, seconds_twin))
        moves[kind].append(report.walker_steps)
        kept += report.added if kind == "insert" else 0
        if kind == "insert" and len(times["insert"]) == 10:
            g_mid = ds.graph
            row["kappa_inc"] = condition_number(g_mid, ds.sparsifier)
            row["density_inc"] = ds.density
            row["kappa_stale_H0"] = condition_number(g_mid, h0)
    inserted = sum(e.shape[1] for k, e in stream if k == "insert")
    row["inserted"] = inserted
    row["kept_percent"] = 100 * kept / inserted
    g = ds.graph
    h = ds.sparsifier
    size = ds.num_sparsifier_edges
    row["edges_per_node_G"] = g.nnz / 2 / n
    row["kappa_final"] = condition_number(g, h)
    row["density_final"] = ds.density
    rebuilt, row["rebuild_s"] = timed(initial_sparsifier, g, num_edges=size)
    # the faster of two rebuilds: the ratios below favour the rebuild
    row["rebuild_s"] = min(
        row["rebuild_s"], timed(initial_sparsifier, g, num_edges=size)[1]
    )
    row["kappa_rebuild"] = condition_number(g, rebuilt)
    stretch, row["rebuild_stretch_s"] = timed(
        initial_sparsifier, g, num_edges=size, method="stretch"
    )
    row["kappa_rebuild_stretch"] = condition_number(g, stretch)
    target, row["rebuild_target_s"] = timed(
        initial_sparsifier, g, target_condition=row["kappa_final"]
    )
    row["kappa_rebuild_target"] = condition_number(g, target)
    row["density_rebuild_target"] = target.nnz / 2 / n
    row["insert_batch_s"] = statistics.median(times["insert"])
    row["delete_batch_s"] = statistics.median(times["delete"])
    row["insert_batch_moves"] = statistics.median(moves["insert"])
    row["delete_batch_moves"] = statistics.median(moves["delete"])
    row["insert_batch_size"] = stream[0][1].shape[1]
    row["delete_batch_size"] = stream[-1][1].shape[1]
    for key in ("rebuild_s", "rebuild_target_s"):
        for kind in ("insert", "delete"):
            row[f"{key[:-2]}_over_{kind}_batch"] = row[key] / row[f"{kind}_batch_s"]
    if n <= small:
        ss = spielman_srivastava(g, size, resistance="jl", seed=0)
        row["kappa_spielman_srivastava"] = condition_number(g, ss)
        row["pcg_plain"] = pcg_iterations(g)
        row["pcg_dygrass"] = pcg_iterations(g, h)
        row["pcg_rebuild"] = pcg_iterations(g, rebuilt)
        row["pcg_stale_H0"] = pcg_iterations(g_mid, h0)
    return row


def run_college(budget: float, window_days: float = 7.0, every: int = 20) -> dict:
    """Track CollegeMsg's sliding-window graph (1-day steps)."""
    stream = read_snap_temporal(COLLEGE)
    n = stream.num_nodes
    day = 86400.0
    ds = DynamicSparsifier(n, budget=budget, seed=0)
    history, times = [], []
    edges_seen = moves = 0
    for step, update in enumerate(
        sliding_window_updates(stream, window_days * day, day), start=1
    ):
        t0 = time.perf_counter()
        if update.delete.shape[1]:
            moves += ds.delete(update.delete).walker_steps
        if update.insert.shape[1]:
            weight = update.insert_weight.double()
            moves += ds.insert(update.insert, weight).walker_steps
        seconds = time.perf_counter() - t0
        edges_seen += update.insert.shape[1] + update.delete.shape[1]
        if step > 1:  # the first step inserts the whole first window
            times.append(seconds)
        if step % every == 0:
            g = ds.graph
            active = int((np.diff(g.indptr) > 0).sum())
            history.append(
                {
                    "day": step,
                    "graph_edges": ds.num_graph_edges,
                    "sparsifier_edges": ds.num_sparsifier_edges,
                    "active_nodes": active,
                    "kappa": condition_number(g, ds.sparsifier),
                }
            )
    g, h = ds.graph, ds.sparsifier
    rebuilt, t_rebuild = timed(initial_sparsifier, g, num_edges=ds.num_sparsifier_edges)
    return {
        "window_days": window_days,
        "steps": step,
        "updates": edges_seen,
        "walker_moves": moves,
        "history": history,
        "kappa_final": condition_number(g, h),
        "kappa_rebuild": condition_number(g, rebuilt),
        "graph_edges": ds.num_graph_edges,
        "sparsifier_edges": ds.num_sparsifier_edges,
        "step_s_median": statistics.median(times),
        "rebuild_s": t_rebuild,
        "rebuild_over_step": t_rebuild / statistics.median(times),
    }


COLUMNS = [
    ("graph", "graph"),
    ("nodes", "|V|"),
    ("kappa_0", "k0"),
    ("density_0", "d0"),
    ("kappa_inc", "k_inc"),
    ("density_inc", "d_inc"),
    ("kappa_final", "k_end"),
    ("density_final", "d_end"),
    ("kept_percent", "kept%"),
    ("kappa_stale_H0", "k_stale"),
    ("kappa_rebuild", "k_rb"),
    ("kappa_rebuild_stretch", "k_rb_str"),
    ("kappa_rebuild_target", "k_rb_tgt"),
    ("density_rebuild_target", "d_rb_tgt"),
    ("kappa_spielman_srivastava", "k_SS"),
]
SPEED = [
    ("graph", "graph"),
    ("insert_batch_size", "ins/batch"),
    ("insert_batch_s", "t_ins"),
    ("delete_batch_s", "t_del"),
    ("insert_batch_moves", "moves_ins"),
    ("delete_batch_moves", "moves_del"),
    ("rebuild_s", "t_rb"),
    ("rebuild_stretch_s", "t_rb_str"),
    ("rebuild_target_s", "t_rb_tgt"),
    ("rebuild_over_insert_batch", "rb/ins"),
    ("rebuild_over_delete_batch", "rb/del"),
    ("rebuild_target_over_insert_batch", "tgt/ins"),
    ("rebuild_target_over_delete_batch", "tgt/del"),
    ("pcg_plain", "cg"),
    ("pcg_dygrass", "pcg_dy"),
    ("pcg_rebuild", "pcg_rb"),
    ("pcg_stale_H0", "pcg_stale"),
]


def fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.3e}"
    return str(value)


def table(rows: list[dict], columns: list[tuple[str, str]]) -> str:
    lines = ["| " + " | ".join(label for _, label in columns) + " |"]
    lines.append("|" + "---|" * len(columns))
    for row in rows:
        lines.append("| " + " | ".join(fmt(row.get(k)) for k, _ in columns) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--max-log2",
        type=int,
        default=18,
        help="largest generated Delaunay graph, 2^k nodes (default 18)",
    )
    parser.add_argument("--budget", type=float, default=35.0, help="K (default 35)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1)")
    parser.add_argument("--output", default=str(HERE / "results" / "sparsify.json"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    names = [
        f"delaunay_n{k}"
        for k in (10, 12, 14)
        if (SHARED / f"delaunay_n{k}.mtx").exists()
    ]
    names += [f"delaunay:{2**k}" for k in range(15, args.max_log2 + 1)]
    warm_up()
    rows = []
    for name in names:
        t0 = time.perf_counter()
        rows.append(run_protocol(name, args.budget, small=2**14))
        print(f"{name}: done in {time.perf_counter() - t0:.1f} s", flush=True)
    college = run_college(args.budget) if COLLEGE.exists() else None
    speed = walker_speed(initial_sparsifier(load_graph(names[min(2, len(names) - 1)])))
    largest = rows[-1]
    result = {
        "headline": {
            "largest_graph": largest["graph"],
            "kappa_final": largest["kappa_final"],
            "density_final": largest["density_final"],
            "reference_kappa_delaunay_n18": 125.1,
            "walker_speedup_vs_python": speed["speedup_vs_python"],
        },
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "torch_threads": args.threads,
            "torch": torch.__version__,
            "device": "cpu",
        },
        "budget": args.budget,
        "density_convention": "|E_H| / |V| (edges per node)",
        "reference_bar": {
            "graph": "delaunay_n18",
            "kappa": 125.1,
            "density": 1.1374,
            "after": "incremental pass, K = 35",
        },
        "protocol": rows,
        "college_msg": college,
        "walker_speed": speed,
    }
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=2))
    print(table(rows, COLUMNS))
    print()
    print(table(rows, SPEED))
    if college is not None:
        print()
        print(table(college["history"], [(k, k) for k in college["history"][0]]))
        print(
            "CollegeMsg end: kappa {kappa_final:.4g} (rebuild {kappa_rebuild:.4g}), "
            "|E_H| {sparsifier_edges} of |E_G| {graph_edges}; step "
            "{step_s_median:.3g} s, rebuild {rebuild_s:.3g} s "
            "({rebuild_over_step:.3g}x); {walker_moves} walker moves".format(**college)
        )
    print(
        "walker moves/s: numba {:.3g}; torch 1 thread {:.3g}, 2 threads {:.3g}; "
        "pure Python {:.3g} (numba {:.0f}x, torch {:.0f}x)".format(
            speed["numba_steps_per_s"],
            speed["torch_steps_per_s_1_threads"],
            speed["torch_steps_per_s_2_threads"],
            speed["python_steps_per_s"],
            speed["numba_speedup_vs_python"],
            speed["speedup_vs_python"],
        )
    )
    assert all(math.isfinite(r["kappa_final"]) for r in rows)


if __name__ == "__main__":
    main()
