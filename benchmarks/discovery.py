"""Equation-discovery benchmark: recovery vs noise, and speed against peers.

Writes ``benchmarks/results/discovery.json`` and prints tables:

- Lorenz (2 trajectories, dt 0.002, t in [0, 8]), degree-2 polynomial library,
  STLSQ(0.1), smoothed finite differences on noisy data: normalised coefficient
  error and support F1 per relative noise level; fit time of ``fit_sindy`` vs
  plain ``pysindy.SINDy`` with the same library, optimiser and derivatives.
- Kuramoto on an Erdos-Renyi graph (N=20, p=0.2, omega=1, K=0.5, 4 initial
  conditions): ``NetworkSINDy`` pooled over nodes vs the naive baseline that fits
  every node on its own rows (same library and optimiser; coefficients scored per
  node and averaged), and edge ROC-AUC when the graph is inferred.

Every time is the best of ``--repeat`` runs in this process, and BLAS is limited
to one thread for both sides (OpenBLAS spins badly on a shared 2-core machine).
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import networkx as nx
import numpy as np
import pysindy as ps
import torch
from threadpoolctl import threadpool_limits

from dyngraph.discovery import (
    GraphLibrary,
    NetworkSINDy,
    coefficient_error,
    edge_auc,
    fit_sindy,
    support_f1,
    true_coefficients,
)
from dyngraph.systems import kuramoto, simulate

HERE = Path(__file__).resolve().parent
NOISE = (0.0, 0.001, 0.01, 0.05)


def best_of(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def lorenz(repeat: int) -> list[dict]:
    t = np.arange(0.0, 8.0, 0.002)
    rows = []
    for noise in NOISE:
        sim = simulate("lorenz", t, [[-8.0, 8.0, 27.0], [1.0, 1.0, 1.0]], noise=noise)
        diff = ps.SmoothedFiniteDifference() if noise else ps.FiniteDifference()
        kwargs = {
            "optimizer": ps.STLSQ(threshold=0.1),
            "feature_library": ps.PolynomialLibrary(degree=2),
            "differentiation_method": diff,
        }
        ours_s, model = best_of(lambda kw=kwargs, s=sim: fit_sindy(s, **kw), repeat)
        trajs = sim.trajectories()

        def plain(kw=kwargs, x=trajs, grid=t):
            return ps.SINDy(**copy.deepcopy(kw)).fit(x, t=grid)

        peer_s, peer = best_of(plain, repeat)
        truth = true_coefficients("lorenz", model.get_feature_names())
        rows.append(
            {
                "noise": noise,
                "coef_error": coefficient_error(truth, model.coefficients()),
                "support_f1": support_f1(truth, model.coefficients()),
                "same_as_pysindy": bool(
                    np.allclose(model.coefficients(), peer.coefficients())
                ),
                "fit_s": ours_s,
                "pysindy_s": peer_s,
                "time_ratio": ours_s / peer_s,
            }
        )
    return rows


def trig_library() -> GraphLibrary:
    return GraphLibrary(
        [
            ("1", lambda x: torch.ones_like(x[..., 0])),
            ("sin(x_i)", lambda x: torch.sin(x[..., 0])),
            ("cos(x_i)", lambda x: torch.cos(x[..., 0])),
        ],
        [
            ("sin(x_j - x_i)", lambda a, b: torch.sin(b - a)[..., 0]),
            ("cos(x_j - x_i)", lambda a, b: torch.cos(b - a)[..., 0]),
            ("sin(x_j)", lambda a, b: torch.sin(b[..., 0])),
        ],
    )


def node_by_node(library, sim, graph, optimizer, truth) -> tuple[float, float]:
    """The naive baseline: one regression per node on that node's rows only."""
    adjacency = nx.to_scipy_sparse_array(graph, format="csr")
    errors, f1s = [], []
    x = sim.trajectories()
    grid = sim.t.numpy()
    theta = np.concatenate(
        [library.transform(torch.from_numpy(a), adjacency).numpy() for a in x]
    )
    deriv = np.concatenate(
        [
            ps.FiniteDifference()(a.reshape(len(grid), -1), grid).reshape(a.shape)
            for a in x
        ]
    )
    for i in range(theta.shape[1]):
        opt = copy.deepcopy(optimizer).fit(theta[:, i], deriv[:, i])
        errors.append(coefficient_error(truth, opt.coef_))
        f1s.append(support_f1(truth, opt.coef_))
    return float(np.mean(errors)), float(np.mean(f1s))


def network(repeat: int) -> list[dict]:
    graph = nx.gnp_random_graph(20, 0.2, seed=0)
    system = kuramoto(graph, omega=1.0, coupling=0.5)
    x0 = np.random.default_rng(0).uniform(0, 2 * np.pi, size=(4, 20, 1))
    t = np.linspace(0.0, 5.0, 251)
    library = trig_library()
    optimizer = ps.STLSQ(threshold=0.05)
    rows = []
    for noise in NOISE:
        sim = simulate(system, t, x0, noise=noise)
        model = NetworkSINDy(library, optimizer)
        ours_s, _ = best_of(lambda m=model, s=sim: m.fit(s, graph=graph), repeat)
        names = model.feature_names_
        truth = np.array(
            [[{"1": 1.0, "sum_j A_ij sin(x_j - x_i)": 0.5}.get(n, 0.0) for n in names]]
        )
        naive_s, (naive_err, naive_f1) = best_of(
            lambda s=sim, r=truth: node_by_node(library, s, graph, optimizer, r), repeat
        )
        inferred = NetworkSINDy(library, optimizer)
        infer_s, _ = best_of(lambda m=inferred, s=sim: m.fit(s), 1)
        rows.append(
            {
                "noise": noise,
                "coef_error": coefficient_error(truth, model.coefficients()),
                "support_f1": support_f1(truth, model.coefficients()),
                "naive_coef_error": naive_err,
                "naive_support_f1": naive_f1,
                "fit_s": ours_s,
                "naive_s": naive_s,
                "time_ratio": ours_s / naive_s,
                "edge_auc": edge_auc(graph, inferred.edge_scores_),
                "inferred_support_f1": support_f1(truth, inferred.coefficients()),
                "infer_s": infer_s,
            }
        )
    return rows


def table(rows: list[dict], columns: list[str]) -> str:
    def fmt(v: object) -> str:
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    cells = [[fmt(r[c]) for c in columns] for r in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += [
        "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "discovery.json")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", module="pysindy")
    with threadpool_limits(1):
        results = {"lorenz": lorenz(args.repeat), "kuramoto": network(args.repeat)}
    print("Lorenz: fit_sindy vs plain pysindy (same library/optimiser/derivatives)")
    print(
        table(
            results["lorenz"],
            ["noise", "coef_error", "support_f1", "same_as_pysindy", "time_ratio"],
        )
    )
    print("\nKuramoto N=20: pooled NetworkSINDy vs node-by-node baseline")
    print(
        table(
            results["kuramoto"],
            [
                "noise",
                "coef_error",
                "support_f1",
                "naive_coef_error",
                "naive_support_f1",
                "time_ratio",
                "edge_auc",
                "inferred_support_f1",
            ],
        )
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "pysindy": ps.__version__,
        "repeat": args.repeat,
        "results": results,
    }
    args.out.write_text(json.dumps(payload, indent=2))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
