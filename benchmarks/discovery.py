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

- dysts: every polynomial flow of the ``dysts`` database whose right-hand side
  reads exactly as a polynomial (:func:`dyngraph.discovery.polynomial.
  dysts_polynomial_systems`, 81 flows in dysts 0.96), integrated with
  ``dyngraph.systems.simulate`` (LSODA, rtol = atol = 1e-10) from the
  database's initial condition over 10 periods at 500 samples per period;
  measurement noise of 0, 0.1 and 1 % of each state's RMS (the rule of
  ``simulate(noise=...)``, added to the one clean solve, seed 0); library:
  polynomials up to the system's degree. Compared in the same run:
  ``fit_sindy`` with its defaults (weak form by ``choose_form``, automatic
  sparsity), plain ``pysindy.SINDy`` with its defaults (finite differences,
  STLSQ(0.1)) and the same library, and plain pysindy with the same weak
  library and STLSQ(0.1) (the speed peer: same library, fixed threshold).
  Normalised coefficient error and support F1 per system; the median and 90th
  percentile over systems go in ``"headline"``. Needs the ``bench`` extra
  (``pip install dysts``); ``--systems N`` runs the first N (development).

Every time is the best of ``--repeat`` runs in this process, and BLAS is limited
to one thread for both sides (OpenBLAS spins badly on a shared 2-core machine).
The time ratios of the dysts run are reported per repeat (twin runs) so their
spread shows.
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
DYSTS_NOISE = (0.0, 0.001, 0.01)


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


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


def timed(fn: Callable[[], object], repeat: int) -> tuple[list[float], object]:
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return times, out


def dysts_runs(repeat: int, limit: int | None) -> list[dict]:
    from dyngraph.discovery.polynomial import dysts_polynomial_systems

    systems = list(dysts_polynomial_systems().items())[:limit]
    rows = []
    rng = np.random.default_rng(0)
    for name, flow in systems:
        grid = np.arange(5000) * flow.period / 500
        start = time.perf_counter()
        sim = simulate(flow.system, grid, method="LSODA", rtol=1e-10, atol=1e-10)
        sim_s = time.perf_counter() - start
        clean = sim.x_clean[0, 0].numpy()
        rms = np.sqrt(np.mean(clean**2, axis=0))
        names = list(flow.system.state_names)
        eps = rng.standard_normal((len(DYSTS_NOISE), *clean.shape))
        for level, e in zip(DYSTS_NOISE, eps, strict=True):
            x = clean + level * rms * e

            def ours(x=x, d=flow.degree, n=names, g=grid):
                lib = ps.PolynomialLibrary(degree=d)
                return fit_sindy(x, g, feature_library=lib, feature_names=n)

            def default(x=x, d=flow.degree, g=grid):
                lib = ps.PolynomialLibrary(degree=d)
                return ps.SINDy(feature_library=lib).fit(x, t=g)

            def weak_peer(x=x, d=flow.degree, g=grid):
                np.random.seed(0)
                lib = ps.WeakPDELibrary(
                    function_library=ps.PolynomialLibrary(degree=d),
                    spatiotemporal_grid=g,
                    K=100,
                )
                return ps.SINDy(feature_library=lib).fit(x, t=g)

            row = {"system": name, "noise": level, "degree": flow.degree}
            for key, fn in (("ours", ours), ("default", default), ("weak", weak_peer)):
                times, model = timed(fn, repeat)
                truth = true_coefficients(flow.system, _poly_names(flow, x))
                row[f"{key}_coef_error"] = coefficient_error(
                    truth, model.coefficients()
                )
                row[f"{key}_support_f1"] = support_f1(truth, model.coefficients())
                row[f"{key}_s"] = times
                if key == "ours":
                    row["form"] = model.discovery_["form"]
            row["simulate_s"] = sim_s
            rows.append(row)
        print(f"  {name}: done", flush=True)
    return rows


def _poly_names(flow, x: np.ndarray) -> list[str]:
    lib = ps.PolynomialLibrary(degree=flow.degree).fit(x)
    return lib.get_feature_names(list(flow.system.state_names))


def summarise(rows: list[dict], repeat: int) -> tuple[dict, list[dict]]:
    headline: dict = {"dysts_systems": len({r["system"] for r in rows})}
    headline["pysindy_default"] = {}
    summary = []
    for level in DYSTS_NOISE:
        sel = [r for r in rows if r["noise"] == level]
        key = str(level) if level else "0"
        entry = {"noise": level}
        for who in ("ours", "default", "weak"):
            err = np.array([r[f"{who}_coef_error"] for r in sel])
            f1 = np.array([r[f"{who}_support_f1"] for r in sel])
            entry[f"{who}_median_coef_error"] = float(np.median(err))
            entry[f"{who}_p90_coef_error"] = float(np.quantile(err, 0.9))
            entry[f"{who}_median_support_f1"] = float(np.median(f1))
            entry[f"{who}_mean_support_f1"] = float(np.mean(f1))
            entry[f"{who}_median_fit_s"] = float(
                np.median([min(r[f"{who}_s"]) for r in sel])
            )
        for k in range(repeat):
            entry[f"time_ratio_vs_weak_run{k + 1}"] = float(
                np.median([r["ours_s"][k] / r["weak_s"][k] for r in sel])
            )
        entry["weak_form_share"] = float(np.mean([r["form"] == "weak" for r in sel]))
        summary.append(entry)
        for who, target in (
            ("ours", headline),
            ("default", headline["pysindy_default"]),
        ):
            target.setdefault("median_coef_error", {})[key] = entry[
                f"{who}_median_coef_error"
            ]
            target.setdefault("p90_coef_error", {})[key] = entry[
                f"{who}_p90_coef_error"
            ]
            target.setdefault("median_support_f1", {})[key] = entry[
                f"{who}_median_support_f1"
            ]
    headline["pysindy_default"]["dysts_systems"] = headline["dysts_systems"]
    return headline, summary


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
    parser.add_argument(
        "--systems", type=int, default=None, help="only the first N dysts flows"
    )
    parser.add_argument(
        "--skip-dysts", action="store_true", help="only the Lorenz/Kuramoto tables"
    )
    parser.add_argument("--out", type=Path, default=HERE / "results" / "discovery.json")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", module="pysindy")
    with threadpool_limits(1):
        results = {"lorenz": lorenz(args.repeat), "kuramoto": network(args.repeat)}
        headline = None
        if not args.skip_dysts:
            rows = dysts_runs(min(args.repeat, 2), args.systems)
            headline, summary = summarise(rows, min(args.repeat, 2))
            results["dysts"] = {"summary": summary, "per_system": rows}
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
    if headline is not None:
        print("\ndysts polynomial flows: fit_sindy defaults (ours), pysindy defaults")
        print("(default, finite differences) and pysindy weak + STLSQ(0.1) (weak)")
        cols = ["noise"] + [
            f"{w}_{m}"
            for w in ("ours", "default", "weak")
            for m in ("median_coef_error", "p90_coef_error", "median_support_f1")
        ]
        print(table(results["dysts"]["summary"], cols))
        print(
            table(
                results["dysts"]["summary"],
                [
                    "noise",
                    "ours_median_fit_s",
                    "weak_median_fit_s",
                    "default_median_fit_s",
                ]
                + [
                    k
                    for k in results["dysts"]["summary"][0]
                    if k.startswith("time_ratio")
                ]
                + ["weak_form_share"],
            )
        )
        print("headline:", json.dumps(headline))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "headline": headline,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "pysindy": ps.__version__,
        "dysts": _version("dysts"),
        "repeat": args.repeat,
        "results": results,
    }
    args.out.write_text(json.dumps(payload, indent=2))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
