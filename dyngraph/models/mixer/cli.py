"""``dyngraph fit mixer``.

:func:`fit_from_recipe` does the work of the command and can be called
directly::

    from dyngraph.models.mixer.recipe import MixERRecipe
    fit_from_recipe(MixERRecipe(), "lotka_volterra", Path("out"))
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from dyngraph.models.mixer.recipe import SPLITS, MixERRecipe
from dyngraph.recipes import (
    RecipeError,
    add_fit_arguments,
    check_recipe,
    run_fit_command,
)

__all__ = ["add_parsers", "fit_from_recipe", "make_split"]


def make_split(name: str, seed: int = 0) -> Any:
    """Generate the environment split ``name`` (one of :data:`SPLITS`)."""
    from dyngraph.systems import glycolytic_split, lotka_volterra_split, mixed_split

    makers = {
        "lotka_volterra": lotka_volterra_split,
        "glycolytic": glycolytic_split,
        "mixed": mixed_split,
    }
    if name not in makers:
        raise RecipeError(f"unknown split {name!r}; choose one of {list(SPLITS)}")
    return makers[name](seed=seed)


def _check(recipe: MixERRecipe, split: str) -> None:
    check_recipe(recipe)
    if split not in SPLITS:
        raise RecipeError(
            f"recipe: [data] split = {split!r} must be one of {list(SPLITS)}"
        )
    fit = recipe.fit
    for key in ("inner_context", "inner_model", "gate_update_every", "adapt_steps"):
        minimum = 0 if key.startswith("inner") else 1
        if getattr(fit, key) < minimum:
            raise RecipeError(
                f"recipe: [fit] {key} = {getattr(fit, key)} must be >= {minimum}"
            )
    if fit.inner_context + fit.inner_model < 1:
        raise RecipeError("recipe: [fit] inner_context + inner_model must be >= 1")
    for key in ("lr_context", "adapt_lr"):
        if not getattr(fit, key) > 0:
            raise RecipeError(f"recipe: [fit] {key} = {getattr(fit, key)} must be > 0")


def fit_from_recipe(
    recipe: MixERRecipe,
    split: str | None,
    output: Path,
    resume: bool = False,
    *,
    progress: bool = True,
) -> Path:
    """Fit MixER on a generated environment split as a recipe says.

    Parameters
    ----------
    recipe : MixERRecipe
        The settings (see :mod:`dyngraph.models.mixer.recipe`).
    split : str or None
        One of :data:`~dyngraph.models.mixer.recipe.SPLITS` (default: the
        recipe's ``data.split``).
    output : Path
        Output folder: ``mixer.pt`` (reload with :meth:`MixER.load`),
        ``metrics.json`` (test and adaptation MSE, routing),
        ``trajectories.png``, ``contexts.png``, ``loss_matrix.png`` and
        ``checkpoints/fit.pt``.
    resume : bool
        Continue from ``checkpoints/fit.pt``; otherwise it is deleted and the
        fit starts afresh (default: ``False``). The recipe's ``[fit]``
        settings are used from then on; a checkpoint of another split or
        ``[model]`` is refused before it is loaded.
    progress : bool
        Show progress bars (default: ``True``).

    Returns
    -------
    Path
        The saved model file.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from dyngraph.metrics import adjusted_rand_index
    from dyngraph.models.mixer.model import MixER
    from dyngraph.models.mixer.plot import (
        plot_contexts,
        plot_loss_matrix,
        plot_trajectories,
    )
    from dyngraph.training import distributed, fit_checkpoint

    name = split or recipe.data.split
    _check(recipe, name)
    data = make_split(name, recipe.data.seed)
    train = data.train
    fit = recipe.fit
    model = MixER(
        train.num_environments, train.dim, seed=fit.seed, **asdict(recipe.model)
    )
    output = Path(output)
    path = fit_checkpoint(
        output,
        model,
        resume=resume,
        name=name,
        data={**asdict(recipe.data), "split": name},
    )
    model.fit(
        train,
        outer_steps=fit.epochs,
        inner_steps=(fit.inner_context, fit.inner_model),
        lr=fit.lr,
        lr_context=fit.lr_context,
        beta=(fit.beta_context, fit.beta_model),
        gate_update_every=fit.gate_update_every,
        context_l1=fit.context_l1,
        checkpoint=path,
        seed=fit.seed,
        progress=progress,
    )
    routing = model.route(model.contexts.detach()).cpu()
    metrics: dict[str, Any] = {
        "split": name,
        "test": model.evaluate(data.test),
        "routing": routing.tolist(),
        "gate_updates": int(model.gate_updates),
        "gate_skips": int(model.gate_skips),
    }
    if len(train.family_names) > 1:
        metrics["routing_ari"] = adjusted_rand_index(train.family, routing)
    adapted = None
    if data.adapt is not None and not (
        model.gate_update == "fixed" and model.num_experts > 1
    ):
        adapted = model.adapt(
            data.adapt,
            steps=fit.adapt_steps,
            lr=fit.adapt_lr,
            seed=fit.seed,
            progress=progress,
        )
        metrics["adapt"] = model.evaluate(data.adapt_test, adapted)
    # under torchrun every rank ran the same adaptation (its fits are
    # collectives); rank 0 writes
    if not distributed.is_main():
        return output / "mixer.pt"
    saved = model.save(output / "mixer.pt", split=name, seed=recipe.data.seed)
    (output / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    fig = plot_trajectories(model, train)
    fig.savefig(output / "trajectories.png", dpi=110)
    plt.close(fig)
    ax = plot_contexts(model, families=train.family)
    ax.figure.savefig(output / "contexts.png", dpi=110)
    plt.close(ax.figure)
    matrix = model.loss_matrix(train.x.to(model.contexts), train.t.to(model.contexts))
    ax = plot_loss_matrix(matrix, routing)
    ax.figure.savefig(output / "loss_matrix.png", dpi=110)
    plt.close(ax.figure)
    return saved


def _run(args: argparse.Namespace) -> int:
    path = run_fit_command(args, MixERRecipe, fit_from_recipe, args.split)
    if path is None:  # a torchrun rank but the first
        return 0
    metrics = json.loads((path.parent / "metrics.json").read_text())
    print(f"test MSE {metrics['test']['mse']:.4g}", end="")
    if "adapt" in metrics:
        print(f", adaptation MSE {metrics['adapt']['mse']:.4g}", end="")
    if "routing_ari" in metrics:
        print(f", routing ARI {metrics['routing_ari']:.3f}", end="")
    print(f"\nsaved {path}")
    return 0


def add_parsers(commands: Any, fit: Any) -> None:
    """Add ``mixer`` to ``dyngraph fit`` (``fit``); ``commands`` is unused."""
    parser = fit.add_parser(
        "mixer",
        help="MixER mixture of experts on a generated family of ODE environments",
    )
    parser.add_argument(
        "--split",
        choices=SPLITS,
        help="environment split (default: the recipe's; the data are generated, "
        "so --root and --url are not used)",
    )
    add_fit_arguments(parser, "mixer", "outer steps (default: the recipe's)")
    parser.set_defaults(func=_run)
