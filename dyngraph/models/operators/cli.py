"""``dyngraph fit operators``: fit the sparse graph neural operator on particles.

:func:`fit_from_recipe` does the work of the command and can be called
directly::

    from dyngraph.models.operators.recipe import OperatorRecipe
    fit_from_recipe(OperatorRecipe(), "jelly", Path("out"))
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from dyngraph.models.operators.recipe import RANGES, SYSTEMS, OperatorRecipe
from dyngraph.recipes import (
    RecipeError,
    add_fit_arguments,
    check_recipe,
    run_fit_command,
)

__all__ = ["add_parsers", "fit_from_recipe", "make_particles"]


def make_particles(recipe: OperatorRecipe) -> tuple[Any, Any]:
    """Generate the training and test trajectories a recipe's ``[data]`` names."""
    from dyngraph.systems.particles import drop, jelly

    data = recipe.data
    make = jelly if data.system == "jelly" else drop
    return (
        make(data.num_trajectories, data.num_frames, seed=data.seed),
        make(data.test_trajectories, data.num_frames, seed=data.seed + 1),
    )


def build_model(recipe: OperatorRecipe) -> Any:
    """Build the :class:`SparseGraphOperator` of a recipe's ``[model]`` (2-D)."""
    from dyngraph.models.operators.model import SparseGraphOperator

    config = asdict(recipe.model)
    config["decoder_radius"] = config["decoder_radius"] or None
    return SparseGraphOperator(dim=2, seed=recipe.fit.seed, **config)


def fit_from_recipe(
    recipe: OperatorRecipe,
    system: str | None,
    output: Path,
    resume: bool = False,
    *,
    progress: bool = True,
) -> Path:
    """Fit a :class:`SparseGraphOperator` as a recipe says, roll out, save and plot.

    Parameters
    ----------
    recipe : OperatorRecipe
        The settings (see :mod:`dyngraph.models.operators.recipe`).
    system : str or None
        ``"jelly"`` or ``"drop"`` (default: the recipe's).
    output : Path
        Output folder: ``operators.pt`` (reload with
        :meth:`SparseGraphOperator.load`), ``rollout.json`` (dense-set
        metrics of the test rollouts, with the nearest-neighbour decoder of
        the same sparse rollout beside), ``rollout.png``,
        ``error_vs_step.png``, ``rollout.gif`` (with ``[rollout]
        animation``) and ``checkpoints/fit.pt``.
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

    from dyngraph.models.operators.evaluate import evaluate
    from dyngraph.models.operators.plot import (
        animate_rollout,
        plot_error_vs_step,
        plot_rollout,
    )
    from dyngraph.training import distributed, fit_checkpoint

    if system is not None:
        recipe.data.system = system
    check_recipe(recipe, ranges=RANGES)
    steps = recipe.rollout.steps
    if recipe.model.history + steps > recipe.data.num_frames:
        raise RecipeError(
            f"recipe: [rollout] steps = {steps} needs [model] history "
            f"({recipe.model.history}) + steps <= [data] num_frames "
            f"({recipe.data.num_frames})"
        )
    train, test = make_particles(recipe)
    model = build_model(recipe)
    output = Path(output)
    checkpoint = fit_checkpoint(output, model, resume=resume, data=asdict(recipe.data))
    fit_cfg = recipe.fit
    model.fit(
        train,
        epochs=fit_cfg.epochs,
        lr=fit_cfg.lr,
        batch_size=fit_cfg.batch_size,
        checkpoint=checkpoint,
        seed=fit_cfg.seed,
        progress=progress,
    )
    if not distributed.is_main():  # under torchrun, rank 0 writes the outputs
        return output / "operators.pt"
    path = model.save(output / "operators.pt", system=recipe.data.system)
    report = evaluate(model, test, steps)
    report["history"] = model.fit_result_.history
    (output / "rollout.json").write_text(json.dumps(report, indent=1))
    roll = model.rollout(test, 0, steps)
    truth = test.positions[0, model.history : model.history + steps]
    figures = {
        "rollout.png": plot_rollout(truth, roll.dense, roll.sparse, test.box),
        "error_vs_step.png": plot_error_vs_step(
            {
                "sparse operator": report["model"]["mse_per_step"],
                "sparse + nearest": report["nearest"]["mse_per_step"],
            }
        ),
    }
    for name, fig in figures.items():
        fig.savefig(output / name, dpi=110)
        plt.close(fig)
    if recipe.rollout.animation:
        animate_rollout(
            truth, roll.dense, output / "rollout.gif", roll.sparse, test.box
        )
    return path


def _run(args: argparse.Namespace) -> int:
    path = run_fit_command(args, OperatorRecipe, fit_from_recipe, args.system)
    if path is not None:
        print(f"saved {path}")
    return 0


def add_parsers(commands: Any, fit: Any) -> None:
    """Add ``operators`` to ``dyngraph fit`` (``fit``); ``commands`` is unused."""
    parser = fit.add_parser(
        "operators",
        help="sparse graph neural operator (GIOROM-style) on generated particles",
    )
    parser.add_argument(
        "--system", choices=SYSTEMS, help="generated particles (default: the recipe's)"
    )
    add_fit_arguments(parser, "operators", "training epochs (default: the recipe's)")
    parser.set_defaults(func=_run)
