"""dyGRASS benchmark: the reference protocol on Delaunay graphs, speed as ratios.

For each graph (the shared DIMACS10 delaunay_n10/n12/n14 and generated Delaunay
graphs of 2^15 .. 2^``--max-log2`` nodes) it builds the initial sparsifier
(spanning tree + 10 % off-tree edges), then streams 25 % of |V| local edge
insertions in 10 batches and 1 % of |V| deletions in 10 batches through
:class:`DynamicSparsifier` (K = 35, as the reference on delaunay_n18), and reports:

- kappa(L_G, L_H) and |E_H|/|V| before, after the insertions and at the end;
- the stale initial sparsifier on the final graph (no updates);
- a from-scratch rebuild of the same size on the final graph, its kappa and time;
- the median per-batch update time and its ratio to the rebuild time;
- on graphs up to 2^14 nodes, the Spielman-Srivastava sampler of the same size;
- PCG iterations (rtol 1e-8) with each sparsifier as preconditioner (up to 2^14).

Walker speed: moves per second of the vectorised torch kernel vs a pure-Python
walker with the same draws, in the same run. Writes benchmarks/results/sparsify.json.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch

from dyngraph.data import delaunay_graph, read_matrix_market
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
    t0 = time.perf_counter()
    res = nonbacktracking_walks(
        rowptr, col, w, torch.from_numpy(src), torch.from_numpy(dst), **kw
    )
    t_torch = time.perf_counter() - t0
    t0 = time.perf_counter()
    moves = python_walks(a, src[:4].tolist(), dst[:4].tolist(), 512, 100, 0)
    t_py = time.perf_counter() - t0
    return {
        "torch_steps_per_s": res.walker_steps / t_torch,
        "python_steps_per_s": moves / t_py,
        "speedup_vs_python": (res.walker_steps / t_torch) / (moves / t_py),
        "torch_threads": torch.get_num_threads(),
    }


def load_graph(name: str) -> sp.csr_matrix:
    if name.startswith("delaunay_n"):
        return read_matrix_market(SHARED / f"{name}.mtx")
    return delaunay_graph(int(name.split(":")[1]), seed=0)[0]


def run_protocol(name: str, budget: float, small: int) -> dict:
    g0 = load_graph(name)
    n = g0.shape[0]
    t0 = time.perf_counter()
    h0 = initial_sparsifier(g0)
    t_initial = time.perf_counter() - t0
    ds = DynamicSparsifier(g0, h0, budget=budget, seed=0)
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
    for kind, edges in stream:
        t0 = time.perf_counter()
        getattr(ds, kind)(edges)
        times[kind].append(time.perf_counter() - t0)
        if kind == "insert" and len(times["insert"]) == 10:
            g_mid = ds.graph
            row["kappa_inc"] = condition_number(g_mid, ds.sparsifier)
            row["density_inc"] = ds.density
    g = ds.graph
    h = ds.sparsifier
    row["edges_per_node_G"] = g.nnz / 2 / n
    row["kappa_final"] = condition_number(g, h)
    row["density_final"] = ds.density
    stale = h0.multiply(g != 0).tocsr()
    row["kappa_stale_H0"] = condition_number(g, stale)
    t0 = time.perf_counter()
    rebuilt = initial_sparsifier(g, num_edges=ds.num_sparsifier_edges)
    row["rebuild_s"] = time.perf_counter() - t0
    row["kappa_rebuild"] = condition_number(g, rebuilt)
    row["insert_batch_s"] = statistics.median(times["insert"])
    row["delete_batch_s"] = statistics.median(times["delete"])
    row["insert_batch_size"] = stream[0][1].shape[1]
    row["rebuild_over_insert_batch"] = row["rebuild_s"] / row["insert_batch_s"]
    row["rebuild_over_delete_batch"] = row["rebuild_s"] / row["delete_batch_s"]
    if n <= small:
        ss = spielman_srivastava(g, ds.num_sparsifier_edges, resistance="jl", seed=0)
        row["kappa_spielman_srivastava"] = condition_number(g, ss)
        row["pcg_plain"] = pcg_iterations(g)
        row["pcg_dygrass"] = pcg_iterations(g, h)
        row["pcg_rebuild"] = pcg_iterations(g, rebuilt)
        row["pcg_stale_H0"] = pcg_iterations(g, stale)
    return row


COLUMNS = [
    ("graph", "graph"),
    ("nodes", "|V|"),
    ("kappa_0", "k0"),
    ("density_0", "d0"),
    ("kappa_inc", "k_inc"),
    ("density_inc", "d_inc"),
    ("kappa_final", "k_end"),
    ("density_final", "d_end"),
    ("kappa_rebuild", "k_rebuild"),
    ("kappa_stale_H0", "k_stale"),
    ("kappa_spielman_srivastava", "k_SS"),
    ("insert_batch_s", "t_ins"),
    ("delete_batch_s", "t_del"),
    ("rebuild_s", "t_rebuild"),
    ("rebuild_over_insert_batch", "x_ins"),
    ("rebuild_over_delete_batch", "x_del"),
    ("pcg_plain", "cg"),
    ("pcg_dygrass", "pcg_dy"),
    ("pcg_rebuild", "pcg_rb"),
]


def fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.3e}"
    return str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--max-log2",
        type=int,
        default=18,
        help="largest generated Delaunay graph, 2^k nodes (default 18)",
    )
    parser.add_argument("--budget", type=float, default=35.0, help="K (default 35)")
    parser.add_argument("--output", default=str(HERE / "results" / "sparsify.json"))
    args = parser.parse_args()
    names = [
        f"delaunay_n{k}"
        for k in (10, 12, 14)
        if (SHARED / f"delaunay_n{k}.mtx").exists()
    ]
    names += [f"delaunay:{2**k}" for k in range(15, args.max_log2 + 1)]
    rows = []
    for name in names:
        t0 = time.perf_counter()
        rows.append(run_protocol(name, args.budget, small=2**14))
        print(f"{name}: done in {time.perf_counter() - t0:.1f} s", flush=True)
    speed = walker_speed(initial_sparsifier(load_graph(names[min(2, len(names) - 1)])))
    result = {
        "machine": {
            "platform": platform.platform(),
            "cpu_count": torch.get_num_threads(),
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
        "walker_speed": speed,
    }
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=2))
    print("  ".join(label for _, label in COLUMNS))
    for row in rows:
        print("  ".join(fmt(row.get(key)) for key, _ in COLUMNS))
    print(
        f"walker moves/s: torch {speed['torch_steps_per_s']:.3g}, pure Python "
        f"{speed['python_steps_per_s']:.3g} ({speed['speedup_vs_python']:.0f}x)"
    )
    assert all(math.isfinite(r["kappa_final"]) for r in rows)


if __name__ == "__main__":
    main()
