"""``dyngraph fit pivem`` and PiVeM's part of ``dyngraph quickstart``.

:func:`fit_from_recipe` does the work of the command and can be called
directly::

    from dyngraph.models.pivem.recipe import PiVeMRecipe
    fit_from_recipe(PiVeMRecipe(), "email-eu-core-temporal-dept3", Path("out"))
"""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path
from typing import Any

from dyngraph.models.pivem.recipe import PiVeMRecipe
from dyngraph.recipes import add_fit_arguments, check_recipe, load_recipe

__all__ = ["add_parsers", "fit_from_recipe", "quickstart", "quickstart_stream"]


def fit_from_recipe(
    recipe: PiVeMRecipe,
    dataset: str | None,
    output: Path,
    resume: bool = False,
    *,
    root: str | Path | None = None,
    url: str | None = None,
    progress: bool = True,
) -> Path:
    """Fit PiVeM on a dataset as a recipe says and save the model.

    Times are mapped to ``[0, 1]`` (the original range is saved in the
    model's metadata), the model is fitted with the three-phase schedule and
    checkpoints go to ``output/checkpoints/phase*.pt``.

    Parameters
    ----------
    recipe : PiVeMRecipe
        The settings (see :mod:`dyngraph.models.pivem.recipe`).
    dataset : str or None
        Registry name (default: the recipe's ``data.dataset``).
    output : Path
        Output folder: ``pivem.pt`` (reload with :meth:`PiVeM.load`),
        ``trajectories.png`` (for ``dim = 2``) and ``checkpoints/``.
    resume : bool
        Continue from the checkpoints in ``output``; otherwise they are
        deleted and the fit starts afresh (default: ``False``). The recipe's
        ``[fit]`` settings (``lr``, ``epochs``) are used from then on, not
        the saved ones; checkpoints written for another dataset or
        ``[model]`` are refused before any is loaded.
    root, url : optional
        Data root and download mirror, passed to :func:`dyngraph.data.load`.
    progress : bool
        Show progress bars (default: ``True``).

    Returns
    -------
    Path
        The saved model file.

    Raises
    ------
    dyngraph.recipes.RecipeError
        When a value of ``recipe`` is out of range (e.g. ``epochs < 1``),
        before any download.
    dyngraph.training.CheckpointError
        When resuming from checkpoints of another dataset or model.
    """
    from dyngraph.data import EventStream, load
    from dyngraph.models.pivem.model import PiVeM, to_unit_interval
    from dyngraph.training import distributed, prepare_checkpoints

    check_recipe(recipe)
    name = dataset or recipe.data.dataset
    stream = load(name, root=root, url=url)
    if not isinstance(stream, EventStream):
        raise ValueError(f"fit pivem: {name!r} is not an event stream dataset")
    unit, t0, t1 = to_unit_interval(stream)
    fit_cfg = recipe.fit
    model = PiVeM(unit.num_nodes, seed=fit_cfg.seed, **asdict(recipe.model))
    output = Path(output)
    checkpoints = output / "checkpoints"
    prepare_checkpoints(
        checkpoints,
        "phase*.pt",
        model,
        resume=resume,
        advice=f"fit {name!r} into another --output, or drop --resume to "
        f"start afresh (the checkpoints in {checkpoints} are then replaced)",
        data={
            "dataset": name,
            "nodes": unit.num_nodes,
            "events": unit.num_events,
            "time_range": [t0, t1],
        },
    )
    model.fit(
        unit,
        epochs=fit_cfg.epochs,
        lr=fit_cfg.lr,
        batch_size=fit_cfg.batch_size or None,
        scale_likelihood=fit_cfg.scale_likelihood,
        checkpoint_dir=checkpoints,
        seed=fit_cfg.seed,
        progress=progress,
    )
    if not distributed.is_main():  # under torchrun, rank 0 writes
        return output / "pivem.pt"
    path = model.save(output / "pivem.pt", dataset=name, time_range=(t0, t1))
    if model.dim == 2:
        import matplotlib

        matplotlib.use("Agg")
        from dyngraph.models.pivem.plot import plot_trajectories

        ax = plot_trajectories(model)
        ax.figure.savefig(output / "trajectories.png", dpi=120)
    return path


def _run(args: argparse.Namespace) -> int:
    recipe = load_recipe(PiVeMRecipe, args.recipe)
    if args.epochs is not None:
        recipe.fit.epochs = args.epochs
    path = fit_from_recipe(
        recipe,
        args.dataset,
        Path(args.output),
        args.resume,
        root=args.root,
        url=args.url,
    )
    from dyngraph.training import distributed

    if distributed.is_main():
        print(f"saved {path}")
    return 0


def add_parsers(commands: Any, fit: Any) -> None:
    """Add ``pivem`` to ``dyngraph fit`` (``fit``); ``commands`` is unused."""
    parser = fit.add_parser(
        "pivem", help="PiVeM dynamic node embeddings on an event-stream dataset"
    )
    parser.add_argument("--dataset", help="registry name (default: the recipe's)")
    add_fit_arguments(parser, "pivem", "total epochs over the three phases (recipe's)")
    parser.set_defaults(func=_run)


def quickstart_stream(seed: int) -> Any:
    """Return the tour's generated network: a dynamic latent-space network.

    Nodes move a lot relative to their community spread, so that the model
    has something to learn beyond the history of each pair.
    """
    from dyngraph.data.synthetic import latent_space_network

    latent, _ = latent_space_network(
        40, 10, radius=1.0, amplitude=2.5, spread=0.2, beta_mean=2.0, seed=seed
    )
    latent.name = latent.name or "synthetic-latent-space"
    return latent


def quickstart(stream: Any, output: Path, seed: int) -> dict[str, Any]:
    """Fit a small PiVeM on ``stream``, print its scores, write the plots."""
    import matplotlib.pyplot as plt

    from dyngraph.console import metric_table
    from dyngraph.models.pivem.evaluate import evaluate, evaluation_split
    from dyngraph.models.pivem.plot import animate_embedding, plot_trajectories

    split = evaluation_split(stream, seed=seed)
    result = evaluate(
        split, num_bins=10, num_communities=4, epochs=150, seed=seed, progress=False
    )
    metrics = result["metrics"]
    rows = {
        method: {task: metrics[task][method]["roc_auc"] for task in metrics}
        for method in next(iter(metrics.values()))
    }
    print(
        metric_table(
            f"== PiVeM on {stream.name}: ROC-AUC (fit "
            f"{result['fit_seconds']['pivem']:.1f} s) ==",
            rows,
        )
    )
    model = result["models"]["pivem"]
    trajectories = output / "pivem_trajectories.png"
    ax = plot_trajectories(model)
    ax.figure.savefig(trajectories, dpi=120)
    plt.close(ax.figure)
    gif = animate_embedding(model, output / "pivem_embedding.gif", frames=40)
    print(f"  trajectories             {trajectories}")
    print(f"  animation                {gif}")
    return {"metrics": metrics, "files": [str(trajectories), str(gif)]}
