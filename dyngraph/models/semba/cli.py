"""``dyngraph fit semba`` and SEMBA's part of ``dyngraph quickstart``.

:func:`fit_from_recipe` does the work of the command and can be called
directly::

    from dyngraph.models.semba.recipe import SEMBARecipe
    fit_from_recipe(SEMBARecipe(), "bitcoin-otc", "sign", Path("runs/semba"))
"""

from __future__ import annotations

import argparse
import glob
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from dyngraph.models.semba.recipe import SEMBARecipe
from dyngraph.recipes import add_fit_arguments, check_recipe, load_recipe

__all__ = ["TASK_NAMES", "add_parsers", "fit_from_recipe", "quickstart"]

TASK_NAMES = ("existence", "sign", "three_way", "weight")


def fit_from_recipe(
    recipe: SEMBARecipe,
    dataset: str | None = None,
    task: str | None = None,
    output: Path = Path("semba-output"),
    resume: bool = False,
    *,
    root: str | Path | None = None,
    url: str | None = None,
    progress: bool = True,
) -> Path:
    """Fit SEMBA on ``dataset`` for ``task``, test it and save it.

    Loads the dataset with :func:`dyngraph.data.load`, splits it 70/15/15
    by time, fits with :meth:`SEMBA.fit` (progress bar, checkpoint every
    epoch, early stopping on the validation metric), tests the best epoch
    and writes into ``output``: the checkpoint ``semba-<dataset>-<task>.ckpt``,
    the model ``semba-<dataset>-<task>.pt`` (load with :meth:`SEMBA.load`)
    and ``semba-<dataset>-<task>.json`` with the history and the test
    metrics.

    The recipe's ``[fit] seed`` seeds every generator before the model is
    built, so that the same recipe and data give the same initial weights,
    model and metrics.

    Parameters
    ----------
    recipe : SEMBARecipe
        The settings (see :mod:`dyngraph.models.semba.recipe`).
    dataset : str, optional
        A signed dataset of the registry (default: the recipe's).
    task : {"existence", "sign", "three_way", "weight"}, optional
        Prediction task (default: the recipe's).
    output : pathlib.Path
        Output folder (created; default: ``semba-output``).
    resume : bool
        Resume from an existing checkpoint; otherwise it is discarded
        (default: ``False``). The recipe's ``[fit]`` settings (``lr``,
        ``epochs``, ``patience``) are used from then on, not the saved ones;
        a checkpoint written for another ``[model]`` is refused before it is
        loaded.
    root, url : optional
        Data root and download mirror, passed to :func:`dyngraph.data.load`.
    progress : bool
        Show progress bars (default: ``True``).

    Returns
    -------
    pathlib.Path
        The saved model.

    Raises
    ------
    dyngraph.recipes.RecipeError
        When a value of ``recipe`` is out of range (e.g. ``epochs < 1``),
        before any download.
    dyngraph.training.CheckpointError
        When resuming from a checkpoint of another model.
    """
    from dyngraph.data import EventStream, chronological_split, load
    from dyngraph.models.semba.evaluate import evaluate_model
    from dyngraph.models.semba.model import SEMBA, TASKS
    from dyngraph.training import distributed, prepare_checkpoints, seed_everything

    check_recipe(recipe)
    dataset = dataset or recipe.data.dataset
    model_cfg = asdict(recipe.model)
    recipe_task = model_cfg.pop("task")
    task = task or recipe_task
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose one of {list(TASKS)}")
    neg_weight = recipe.fit.neg_weight
    if isinstance(neg_weight, str) and neg_weight != "balanced":
        raise ValueError(
            f"semba recipe: [fit] neg_weight = {neg_weight!r} must be a number "
            "or 'balanced'"
        )
    stream = load(dataset, root=root, url=url)
    if not isinstance(stream, EventStream) or stream.sign is None:
        raise ValueError(f"dataset {dataset!r} has no signs; SEMBA needs signed events")
    split = chronological_split(stream, 0.15, 0.15)
    if neg_weight == "balanced":
        neg_weight = SEMBA.balanced_neg_weight(split.train)
    weight_scale = (
        float(split.train.weight.abs().max()) if split.train.weight is not None else 1.0
    )
    seed = recipe.fit.seed
    seed_everything(seed)  # the initial weights
    model = SEMBA(
        stream.num_nodes,
        task=task,
        neg_weight=float(neg_weight),
        weight_scale=weight_scale,
        time_origin=split.train.start_time,
        time_unit=recipe.data.time_unit,
        **model_cfg,
    )
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    stem = f"semba-{dataset}-{task}"
    checkpoint = output / f"{stem}.ckpt"
    prepare_checkpoints(
        output,
        glob.escape(checkpoint.name),
        model,
        resume=resume,
        advice="fit into another --output, or drop --resume to start afresh "
        "(the checkpoint is then replaced)",
        data={
            "dataset": dataset,
            "task": task,
            "nodes": stream.num_nodes,
            "events": stream.num_events,
        },
    )
    batch_size = recipe.data.batch_size
    model.fit(
        stream,
        split,
        epochs=recipe.fit.epochs,
        lr=recipe.fit.lr,
        batch_size=batch_size,
        seed=seed,
        patience=recipe.fit.patience,
        checkpoint=checkpoint,
        progress=progress,
    )
    if not distributed.is_main():  # under torchrun, rank 0 evaluates and writes
        return output / f"{stem}.pt"
    metrics, _ = evaluate_model(model, stream, split, batch_size=batch_size, seed=seed)
    path = model.save(output / f"{stem}.pt")
    report = {
        "dataset": dataset,
        "task": task,
        "test": metrics,
        "history": model.history_.history,
        "best_epoch": model.history_.best_epoch,
        "train_events_per_second": model.events_per_second_,
    }
    (output / f"{stem}.json").write_text(json.dumps(report, indent=2))
    print(json.dumps({"task": task, **metrics}, indent=2))
    return path


def _run(args: argparse.Namespace) -> int:
    recipe = load_recipe(SEMBARecipe, args.recipe)
    if args.epochs is not None:
        recipe.fit.epochs = args.epochs
    path = fit_from_recipe(
        recipe,
        args.dataset,
        args.task,
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
    """Add ``semba`` to ``dyngraph fit`` (``fit``); ``commands`` is unused."""
    parser = fit.add_parser(
        "semba", help="SEMBA on a signed event-stream dataset (four tasks)"
    )
    parser.add_argument(
        "--dataset", help="signed registry dataset (default: the recipe's, bitcoin-otc)"
    )
    parser.add_argument(
        "--task", choices=TASK_NAMES, help="task (default: the recipe's, sign)"
    )
    add_fit_arguments(parser, "semba", "maximum epochs (recipe's)")
    parser.set_defaults(func=_run)


def quickstart_stream(seed: int) -> Any:
    """Return the tour's generated network: signed, with planted factions.

    Signed pairs rarely repeat, so that the model has something to learn
    beyond the history of each pair.
    """
    from dyngraph.data.synthetic import signed_faction_network

    signed, _ = signed_faction_network(60, num_events=3000, repeat=0.2, seed=seed)
    signed.name = signed.name or "synthetic-signed-factions"
    return signed


def quickstart(stream: Any, output: Path, seed: int) -> dict[str, Any]:
    """Fit a small SEMBA for sign prediction on ``stream``; print its scores."""
    import torch

    from dyngraph.console import metric_table
    from dyngraph.models.semba.evaluate import compare

    torch.manual_seed(seed)
    results = compare(
        stream,
        tasks=("sign",),
        models=("semba",),
        memory_dim=16,
        time_dim=8,
        embedding_dim=16,
        node_embedding_dim=8,
        epochs=6,
        lr=1e-2,
        batch_size=100,
        seed=seed,
    )
    keys = ("auc", "macro_f1", "neg_f1")
    rows = {
        name: {k: value["sign"][k] for k in keys}
        for name, value in results.items()
        if isinstance(value, dict) and "sign" in value
    }
    print(metric_table(f"== SEMBA on {stream.name}: test sign prediction ==", rows))
    return {"metrics": rows, "files": []}
