"""``dyngraph fit semba``: fit SEMBA from a recipe (``models/semba.toml``).

The command line calls :func:`fit_from_recipe`::

    from dyngraph.recipes import load_recipe
    recipe = load_recipe("semba")
    fit_from_recipe(recipe, "bitcoin-otc", "sign", Path("runs/semba"), resume=True)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from dyngraph.recipes import add_fit_arguments, load_recipe

__all__ = ["add_fit_parser", "fit_from_recipe"]

TASK_NAMES = ("existence", "sign", "three_way", "weight")

_SECTIONS = {
    "model": {
        "memory_dim",
        "time_dim",
        "embedding_dim",
        "num_neighbors",
        "heads",
        "dropout",
        "sign_edge_attr",
        "node_embedding_dim",
    },
    "data": {"time_unit", "batch_size"},
    "train": {"epochs", "lr", "patience", "neg_weight", "seed"},
}


def _check_recipe(recipe: dict[str, Any]) -> None:
    for section, value in recipe.items():
        if section not in _SECTIONS or not isinstance(value, dict):
            raise ValueError(
                f"semba recipe: unknown section [{section}]; expected "
                f"{sorted(_SECTIONS)}"
            )
        unknown = set(value) - _SECTIONS[section]
        if unknown:
            raise ValueError(
                f"semba recipe: unknown key(s) {sorted(unknown)} in [{section}]; "
                f"allowed: {sorted(_SECTIONS[section])}"
            )


def fit_from_recipe(
    recipe: dict[str, Any],
    dataset: str,
    task: str,
    output: Path,
    resume: bool,
    *,
    root: str | Path | None = None,
    url: str | None = None,
    progress: bool = True,
) -> Path:
    """Fit SEMBA on ``dataset`` for ``task``, test it and save it.

    Loads the dataset with :func:`dyngraph.data.load`, splits it 70/15/15
    by time, fits with :func:`dyngraph.training.fit` (progress bar,
    checkpoint every epoch, early stopping on the validation metric), tests
    the best epoch and writes into ``output``: the checkpoint
    ``semba-<dataset>-<task>.ckpt``, the model ``semba-<dataset>-<task>.pt``
    (load with :meth:`SEMBA.load`) and ``semba-<dataset>-<task>.json`` with
    the history and the test metrics.

    Parameters
    ----------
    recipe : dict
        Parsed TOML with sections ``[model]``, ``[data]`` and ``[train]``
        (see ``models/semba.toml``); missing keys take the defaults.
    dataset : str
        A signed dataset name of the registry, e.g. ``"bitcoin-otc"``.
    task : {"existence", "sign", "three_way", "weight"}
        Prediction task.
    output : pathlib.Path
        Output folder (created).
    resume : bool
        Resume from an existing checkpoint; otherwise it is discarded.
    root, url : optional
        Data root and download mirror, passed to :func:`dyngraph.data.load`.
    progress : bool
        Show progress bars (default: ``True``).

    Returns
    -------
    pathlib.Path
        The saved model.
    """
    from dyngraph.data import EventStream, chronological_split, load
    from dyngraph.models.semba import SEMBA, TASKS
    from dyngraph.models.semba_eval import evaluate_model, fit_model

    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose one of {list(TASKS)}")
    _check_recipe(recipe)
    model_cfg = dict(recipe.get("model", {}))
    data_cfg = recipe.get("data", {})
    train_cfg = recipe.get("train", {})
    stream = load(dataset, root=root, url=url)
    if not isinstance(stream, EventStream) or stream.sign is None:
        raise ValueError(f"dataset {dataset!r} has no signs; SEMBA needs signed events")
    split = chronological_split(stream, 0.15, 0.15)
    neg_weight = train_cfg.get("neg_weight", "balanced")
    if neg_weight == "balanced":
        neg_weight = SEMBA.balanced_neg_weight(split.train)
    weight_scale = (
        float(split.train.weight.abs().max()) if split.train.weight is not None else 1.0
    )
    model = SEMBA(
        stream.num_nodes,
        task=task,
        neg_weight=float(neg_weight),
        weight_scale=weight_scale,
        time_origin=split.train.start_time,
        time_unit=float(data_cfg.get("time_unit", 1.0)),
        **model_cfg,
    )
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    stem = f"semba-{dataset}-{task}"
    checkpoint = output / f"{stem}.ckpt"
    if not resume:
        checkpoint.unlink(missing_ok=True)
    batch_size = int(data_cfg.get("batch_size", 200))
    seed = int(train_cfg.get("seed", 0))
    result, speed = fit_model(
        model,
        stream,
        split,
        epochs=int(train_cfg.get("epochs", 10)),
        lr=float(train_cfg.get("lr", 1e-3)),
        batch_size=batch_size,
        seed=seed,
        patience=train_cfg.get("patience"),
        checkpoint=checkpoint,
        progress=progress,
    )
    metrics, _ = evaluate_model(model, stream, split, batch_size=batch_size, seed=seed)
    path = model.save(output / f"{stem}.pt")
    report = {
        "dataset": dataset,
        "task": task,
        "test": metrics,
        "history": result.history,
        "best_epoch": result.best_epoch,
        "train_events_per_second": speed,
    }
    (output / f"{stem}.json").write_text(json.dumps(report, indent=2))
    print(json.dumps({"task": task, **metrics}, indent=2))
    return path


def _run(args: argparse.Namespace) -> int:
    recipe = load_recipe(args.recipe)
    if args.epochs is not None:
        recipe.setdefault("train", {})["epochs"] = args.epochs
    path = fit_from_recipe(
        recipe,
        args.dataset,
        args.task,
        Path(args.output),
        args.resume,
        root=args.root,
        url=args.url,
    )
    print(f"saved {path}")
    return 0


def add_fit_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``semba`` to the sub-parsers of ``dyngraph fit``.

    The parser sets ``func`` to a callable ``func(args) -> int``.
    """
    parser = subparsers.add_parser(
        "semba", help="SEMBA on a signed event-stream dataset (four tasks)"
    )
    parser.add_argument(
        "--dataset",
        default="bitcoin-otc",
        help="signed registry dataset (default: bitcoin-otc)",
    )
    parser.add_argument(
        "--task", choices=TASK_NAMES, default="sign", help="task (default: sign)"
    )
    add_fit_arguments(parser, "semba", "maximum epochs (recipe's)")
    parser.set_defaults(func=_run)
    return parser
