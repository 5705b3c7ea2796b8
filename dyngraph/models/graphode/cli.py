"""``dyngraph fit graphode``: fit the graph neural ODE on a generated field.

:func:`fit_from_recipe` does the work of the command and can be called
directly::

    from dyngraph.models.graphode.recipe import GraphODERecipe
    fit_from_recipe(GraphODERecipe(), "gray-scott", Path("out"))
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from dyngraph.models.graphode.recipe import RANGES, SYSTEMS, GraphODERecipe
from dyngraph.recipes import (
    RecipeError,
    add_fit_arguments,
    check_recipe,
    run_fit_command,
)

__all__ = ["add_parsers", "fit_from_recipe", "make_fields"]

FRAME_DT = {"gray-scott": 10.0, "lambda-omega": 0.5}
"""Time between frames when ``[data] frame_dt = 0``."""


def make_fields(recipe: GraphODERecipe) -> tuple[Any, Any]:
    """Generate the training and test fields a recipe's ``[data]`` names."""
    from dyngraph.systems.fields import gray_scott, lambda_omega

    data = recipe.data
    frame_dt = data.frame_dt or FRAME_DT[data.system]
    if data.system == "gray-scott":
        make = lambda n, seed: gray_scott(  # noqa: E731
            per_environment=n, num_frames=data.num_frames, frame_dt=frame_dt, seed=seed
        )
    else:
        make = lambda n, seed: lambda_omega(  # noqa: E731
            4 * n, num_frames=data.num_frames, frame_dt=frame_dt, seed=seed
        )
    return make(data.per_environment, data.seed), make(
        data.test_per_environment, data.seed + 1
    )


def fit_from_recipe(
    recipe: GraphODERecipe,
    system: str | None,
    output: Path,
    resume: bool = False,
    *,
    progress: bool = True,
) -> Path:
    """Fit a :class:`GraphODE` as a recipe says, forecast, save and plot.

    Parameters
    ----------
    recipe : GraphODERecipe
        The settings (see :mod:`dyngraph.models.graphode.recipe`).
    system : str or None
        ``"gray-scott"`` or ``"lambda-omega"`` (default: the recipe's).
    output : Path
        Output folder: ``graphode.pt`` (reload with :meth:`GraphODE.load`),
        ``rollout.json`` (RMSE and SSIM per step, against persistence, and
        how often re-encoding fired), ``forecast.png``, ``probe_graph.png``,
        ``error_vs_horizon.png`` and ``checkpoints/fit.pt``.
    resume : bool
        Continue from ``output/checkpoints/fit.pt``; otherwise it is deleted
        first (default: ``False``).
    progress : bool
        Show a progress bar (default: ``True``).

    Returns
    -------
    Path
        The saved model file.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    from dyngraph.metrics import rmse_per_step, ssim_per_step
    from dyngraph.models.graphode.coarsen import ReencodeRule
    from dyngraph.models.graphode.evaluate import persistence
    from dyngraph.models.graphode.model import GraphODE
    from dyngraph.models.graphode.plot import (
        plot_error_vs_horizon,
        plot_forecast,
        plot_probe_graph,
    )
    from dyngraph.training import distributed, fit_checkpoint

    if system is not None:
        recipe.data.system = system
    check_recipe(recipe, ranges=RANGES)
    roll = recipe.rollout
    if (
        roll.start < recipe.model.history
        or roll.start + roll.steps > recipe.data.num_frames
    ):
        raise RecipeError(
            f"recipe: [rollout] start = {roll.start} and steps = {roll.steps} need "
            f"start >= [model] history ({recipe.model.history}) and start + steps <= "
            f"[data] num_frames ({recipe.data.num_frames})"
        )
    train, test = make_fields(recipe)
    fit_cfg = recipe.fit
    model = GraphODE(train.values.shape[2], seed=fit_cfg.seed, **asdict(recipe.model))
    output = Path(output)
    checkpoint = fit_checkpoint(output, model, resume=resume, data=asdict(recipe.data))
    model.fit(
        train,
        epochs=fit_cfg.epochs,
        lr=fit_cfg.lr,
        batch_size=fit_cfg.batch_size,
        horizon=fit_cfg.horizon,
        stride=fit_cfg.stride,
        checkpoint=checkpoint,
        seed=fit_cfg.seed,
        progress=progress,
    )
    if not distributed.is_main():  # under torchrun, rank 0 writes the outputs
        return output / "graphode.pt"
    path = model.save(output / "graphode.pt", system=recipe.data.system)
    history = test.values[:, roll.start - model.history : roll.start]
    truth = test.values[:, roll.start : roll.start + roll.steps]
    rule = ReencodeRule(roll.reencode, tau=roll.tau, every=roll.every)
    with torch.no_grad():
        rollout = model.rollout(history, roll.steps, rule)
    span = float(truth.max() - truth.min()) or 1.0
    window = min(7, *truth.shape[-2:])
    preds = {
        "graphode": rollout.frames,
        "persistence": persistence(history, roll.steps),
    }
    report = {
        name: {
            "rmse": rmse_per_step(truth, pred).tolist(),
            "ssim": ssim_per_step(truth, pred, span, window=window).tolist(),
        }
        for name, pred in preds.items()
    }
    report["graphode"]["reencode_rate"] = rollout.reencode_rate
    report["probe_fraction"] = rollout.graphs[0][1].probe_fraction
    (output / "rollout.json").write_text(json.dumps(report, indent=1))
    for name, fig in (
        ("forecast.png", plot_forecast(truth, rollout.frames)),
        ("probe_graph.png", plot_probe_graph(rollout.graphs)),
        (
            "error_vs_horizon.png",
            plot_error_vs_horizon({k: report[k]["rmse"] for k in preds}),
        ),
    ):
        fig.savefig(output / name, dpi=110)
        plt.close(fig)
    return path


def _run(args: argparse.Namespace) -> int:
    path = run_fit_command(args, GraphODERecipe, fit_from_recipe, args.system)
    if path is not None:
        print(f"saved {path}")
    return 0


def add_parsers(commands: Any, fit: Any) -> None:
    """Add ``graphode`` to ``dyngraph fit`` (``fit``); ``commands`` is unused."""
    parser = fit.add_parser(
        "graphode",
        help="graph neural ODE forecaster of a field on an adaptive probe graph",
    )
    parser.add_argument(
        "--system", choices=SYSTEMS, help="generated field (default: the recipe's)"
    )
    add_fit_arguments(parser, "graphode", "training epochs (default: the recipe's)")
    parser.set_defaults(func=_run)
