"""Graph neural ODE benchmark: 20-step rollouts of Gray-Scott, lambda-omega, Burgers.

For each system the script generates training and test trajectories in code
(:mod:`dyngraph.systems.fields`), fits :class:`~dyngraph.models.graphode.GraphODE`
and full-resolution peers under the same budget (epochs, batches, learning
rate, rollout horizon in the loss) and scores 20-step autoregressive rollouts
from the same observed history
(:func:`dyngraph.models.graphode.evaluate.compare`):

* the graph ODE (one recipe for every system: linear autoregressive skip of
  the probe step fitted by ridge least squares on the training pixel series,
  ridge chosen on held-out rollouts; the default decoder, which carries
  every pixel forward by the same skip and adds the interpolated increments
  of the neural ODE at the probes; the neural ODE trained; then the weight
  of its increment chosen by free rollouts of the training trajectories;
  see the variants below) with adaptive re-encoding
  (the paper's rule, ``tau``), with fixed-interval re-encoding (every 5
  steps, the release's rule) and without re-encoding;
* the same fitted model re-encoded before every step from the TRUE frames
  (``graphode_true_graph``; it reads the future, so it is not a forecaster):
  the graph a re-encoding rule aims for, hence an estimate of the ceiling on
  what re-encoding can gain; and that ceiling once more with the weight of
  the neural ODE's increment (the only part of the forecast that reads the
  graph) chosen on the test trajectories themselves, beside the same choice
  without re-encoding (``reencoding_ceiling``);
* persistence (the last observed frame);
* the pixel autoregression: the graph ODE's fitted skip run at every pixel,
  without probes, neural ODE or decoder (what the linear part alone does);
* a full-grid convolutional forecaster (three 3x3 circular conv layers);
* neuraloperator's FNO at full resolution (12 modes, width 32, 4 layers),
  when ``neuraloperator`` imports (not on the 1-D Burgers line).

Burgers (1-D, 256 points, run as a ``1 x 256`` grid) is a third system with
the same recipe. Every system is also fitted with the decoder calibrated on
true probe values (``calibrate=True``, the earlier default), reported as
``calibrated_decoder_rmse20``.

RMSE and SSIM (Gaussian 7-tap window, data range of the test truth; not on
the line) per step; ``rmse20`` is the RMSE at step 20. Every system runs
twice (seeds 0 and 1 for the weights, batches and data); the JSON holds both
runs, their mean and the spread (max - min) of ``rmse20``. torch runs on one
thread. Small budgets (``SYSTEMS`` below) so that it finishes in minutes on
two shared CPU cores: the figures are a floor for each learned method.

Run from the repository root: ``python benchmarks/graphode.py``.
Writes ``benchmarks/results/graphode.json`` and prints a table. The variants
``python benchmarks/graphode.py held_out`` (gain and decoder chosen on held-out
trajectories, no refit), ``held_out_refit`` (then refitted on all) and
``long`` (every learned method with 4x the epochs) and ``sparse_state``
(the graph ODE without the pixel skip, so that only the probes carry the
state, as in SparseDiff) write ``graphode_held_out.json``,
``graphode_held_out_refit.json``, ``graphode_long.json`` and
``graphode_sparse_state.json``.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dyngraph.console import metric_table  # noqa: E402
from dyngraph.data.fields import Field  # noqa: E402
from dyngraph.metrics import rmse_per_step  # noqa: E402
from dyngraph.models.graphode import ReencodeRule  # noqa: E402
from dyngraph.models.graphode.evaluate import compare  # noqa: E402
from dyngraph.systems.fields import burgers, gray_scott, lambda_omega  # noqa: E402

THREADS = 1
STEPS = 20


def burgers_line(n: int, seed: int) -> Field:
    """1-D Burgers on 256 points as a ``1 x 256`` grid (the model is 2-D)."""
    line = burgers(n, size=256, num_frames=45, frame_dt=0.05, seed=seed)
    return Field(
        line.values.unsqueeze(3), line.times, line.channels, line.spacing, {}, "burgers"
    )


SYSTEMS: dict[str, dict[str, Any]] = {
    "gray-scott": {
        "make": lambda n, seed: gray_scott(
            per_environment=n, num_frames=45, frame_dt=10.0, seed=seed
        ),
        "train": 2,
        "test": 1,
        "model": {"num_probes": 30, "hidden": 32},
        "budget": {"epochs": 6, "horizon": 3, "stride": 2, "batch_size": 16},
    },
    "lambda-omega": {
        "make": lambda n, seed: lambda_omega(
            4 * n, num_frames=45, frame_dt=0.5, seed=seed
        ),
        "train": 1,
        "test": 1,
        "model": {"num_probes": 100, "hidden": 32},
        "budget": {"epochs": 4, "horizon": 3, "stride": 3, "batch_size": 16},
    },
    "burgers": {
        "make": burgers_line,
        "train": 8,
        "test": 4,
        "model": {"num_probes": 7, "hidden": 32},
        "budget": {"epochs": 6, "horizon": 3, "stride": 2, "batch_size": 16},
    },
}
METHODS = (
    "graphode",
    "graphode_interval",
    "graphode_no_reencode",
    "graphode_true_graph",
    "persistence",
    "pixel_autoregression",
    "full_grid_cnn",
    "fno",
)


VARIANTS = {
    "training": {"select_on": "training"},
    "held_out": {"select_on": "held_out", "refit": False},
    "held_out_refit": {"select_on": "held_out", "refit": True},
    "long": {"select_on": "training", "epochs_factor": 4},
    # no pixel skip: only the probes carry the state between frames (the
    # decoder fills the field from them plus the residuals of the encoding
    # time), as in SparseDiff
    "sparse_state": {"select_on": "training", "model": {"autoregressive": False}},
}
SELECT: dict[str, Any] = VARIANTS["training"]


def budget_of(spec: dict[str, Any]) -> dict[str, Any]:
    """The training budget of ``spec`` under the current variant."""
    factor = SELECT.get("epochs_factor", 1)
    return {**spec["budget"], "epochs": spec["budget"]["epochs"] * factor}


@torch.no_grad()
def reencoding_ceiling(model: Any, test: Field, start: int) -> dict[str, Any]:
    """Step-20 RMSE never re-encoded vs re-encoded from the truth, at every gain.

    The gain of the neural ODE's increment (1, 1/2, 1/4, 0) is chosen here on
    the test trajectories themselves, for each of the two: what re-encoding
    could gain with the best graph (the true frames' encoding before every
    step) and the best weight of the part of the model that reads the graph.
    """
    history = test.values[:, start - model.history : start]
    truth = test.values[:, start : start + STEPS]
    selected = float(model.gain)
    rows: dict[str, dict[str, float]] = {"never": {}, "true_graph": {}}
    for gain in (1.0, 0.5, 0.25, 0.0):
        model.gain.fill_(gain)
        for key, rule, observed in (
            ("never", ReencodeRule("never"), None),
            ("true_graph", ReencodeRule("interval", every=1), truth),
        ):
            frames = model.rollout(history, STEPS, rule, observed=observed).frames
            rows[key][str(gain)] = float(rmse_per_step(truth, frames)[-1])
    model.gain.fill_(selected)
    best = {key: min(row.values()) for key, row in rows.items()}
    return {
        "rmse20_by_gain": rows,
        "best_never": best["never"],
        "best_true_graph": best["true_graph"],
        "selected_gain": selected,
    }


def run_system(name: str, spec: dict[str, Any], seed: int) -> dict[str, Any]:
    """One run of every method on ``name`` with ``seed``."""
    select = {k: v for k, v in SELECT.items() if k not in ("epochs_factor", "model")}
    began = time.perf_counter()
    train = spec["make"](spec["train"], 2 * seed)
    test = spec["make"](spec["test"], 2 * seed + 1)
    generated = time.perf_counter() - began
    args = (train.frames(slice(0, 40)), test)
    common = {
        "start": 20,
        "steps": STEPS,
        "model": {**spec["model"], **SELECT.get("model", {})},
        "seed": seed,
        **select,
        **budget_of(spec),
    }
    out = compare(*args, fno=name != "burgers", **common)
    out["reencoding_ceiling"] = reencoding_ceiling(out.pop("model"), test, 20)
    # the same fit with the decoder calibrated on true probe values
    calibrated = compare(*args, fno=False, grid_peers=False, **common, calibrate=True)
    out["calibrated_decoder_rmse20"] = {
        m: calibrated["methods"][m]["rmse"][STEPS - 1]
        for m in ("graphode", "graphode_no_reencode")
    }
    out["generate_seconds"] = generated
    out["grid"] = list(train.grid)
    return out


def main(variant: str = "training") -> dict[str, Any]:
    global SELECT
    if variant not in VARIANTS:
        raise SystemExit(f"graphode benchmark: unknown variant {variant!r}")
    SELECT = VARIANTS[variant]
    torch.set_num_threads(THREADS)
    results: dict[str, Any] = {
        "machine": f"{platform.machine()}, {THREADS} torch thread(s), shared CPU",
        "torch": torch.__version__,
        "steps": STEPS,
        "selection": variant,
        "systems": {},
    }
    headline: dict[str, Any] = {}
    began = time.perf_counter()
    for name, spec in SYSTEMS.items():
        runs = [run_system(name, spec, seed) for seed in (0, 1)]
        methods = {}
        for method in METHODS:
            present = [r["methods"][method] for r in runs if method in r["methods"]]
            if not present:
                continue
            rmse = [
                sum(p["rmse"][s] for p in present) / len(present) for s in range(STEPS)
            ]
            ssim = (
                [
                    sum(p["ssim"][s] for p in present) / len(present)
                    for s in range(STEPS)
                ]
                if "ssim" in present[0]
                else None
            )
            twins = [p["rmse"][STEPS - 1] for p in present]
            methods[method] = {
                "rmse": rmse,
                "ssim": ssim,
                "rmse20_runs": twins,
                "rmse20_spread": max(twins) - min(twins),
            }
            for extra in (
                "reencode_rate",
                "fit_seconds",
                "rollout_seconds_per_step",
                "selected",
            ):
                if extra in present[0]:
                    methods[method][extra] = [p[extra] for p in present]
        results["systems"][name] = {
            "grid": runs[0]["grid"],
            "model": spec["model"],
            "budget": budget_of(spec),
            "probe_fraction": runs[0]["probe_fraction"],
            "fno_error": runs[0]["fno_error"],
            "methods": methods,
            "runs": runs,
        }

        def r20(method: str, methods: dict[str, Any] = methods) -> float | None:
            return methods[method]["rmse"][STEPS - 1] if method in methods else None

        headline[name] = {
            "probe_fraction": runs[0]["probe_fraction"],
            "rmse20": r20("graphode"),
            "rmse20_persistence": r20("persistence"),
            "rmse20_no_reencode": r20("graphode_no_reencode"),
            "rmse20_reencode_on_truth": r20("graphode_true_graph"),
            "rmse20_pixel_autoregression": r20("pixel_autoregression"),
            "rmse20_full_grid_cnn": r20("full_grid_cnn"),
            "rmse20_fno": r20("fno"),
        }
        ceilings = [r["reencoding_ceiling"] for r in runs]
        headline[name]["rmse20_reencode_on_truth_best_gain"] = sum(
            c["best_true_graph"] for c in ceilings
        ) / len(ceilings)
        headline[name]["rmse20_no_reencode_best_gain"] = sum(
            c["best_never"] for c in ceilings
        ) / len(ceilings)
        checks = [r["calibrated_decoder_rmse20"] for r in runs]
        results["systems"][name]["calibrated_decoder_rmse20_runs"] = checks
        headline[name]["rmse20_calibrated_decoder"] = sum(
            c["graphode"] for c in checks
        ) / len(checks)
        rows = {
            m: {
                "rmse@5": v["rmse"][4],
                "rmse@20": v["rmse"][STEPS - 1],
                "ssim@20": v["ssim"][STEPS - 1] if v["ssim"] else float("nan"),
                "rmse@20 spread": v["rmse20_spread"],
                "re-encode rate": sum(v.get("reencode_rate", [0.0])) / 2,
            }
            for m, v in methods.items()
        }
        print(
            metric_table(
                f"== {name} {runs[0]['grid']}: {STEPS}-step rollout, mean of 2 runs; "
                f"probes {100 * runs[0]['probe_fraction']:.1f}% of the grid ==",
                rows,
            ),
            flush=True,
        )
    results["seconds"] = time.perf_counter() - began
    results["headline"] = headline
    stem = "graphode" if variant == "training" else f"graphode_{variant}"
    path = ROOT / "benchmarks" / "results" / f"{stem}.json"
    path.write_text(json.dumps(results, indent=1) + "\n")
    print(f"\nwrote {path} in {results['seconds']:.0f} s")
    return results


if __name__ == "__main__":
    main(*sys.argv[1:2])
