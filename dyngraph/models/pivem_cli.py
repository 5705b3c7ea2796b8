"""``dyngraph fit pivem``: fit PiVeM on a registry dataset from a TOML recipe.

The ``dyngraph`` command wires :func:`add_fit_parser` into its ``fit``
sub-command; :func:`fit_from_recipe` does the work and can be called directly.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from dyngraph.recipes import add_fit_arguments, recipe_path
from dyngraph.recipes import load_recipe as _load

__all__ = ["DEFAULT_RECIPE", "add_fit_parser", "fit_from_recipe", "load_recipe"]

DEFAULT_RECIPE = recipe_path("pivem")


def load_recipe(path: str | Path = DEFAULT_RECIPE) -> dict[str, Any]:
    """Read a PiVeM recipe (TOML with ``[data]``, ``[model]``, ``[fit]`` tables)."""
    return _load(path)


def fit_from_recipe(
    recipe: dict[str, Any],
    dataset: str | None,
    output: Path,
    resume: bool,
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
    recipe : dict
        A recipe as read by :func:`load_recipe`.
    dataset : str or None
        Registry name (default: the recipe's ``data.dataset``).
    output : Path
        Output folder: ``pivem.pt`` (reload with :meth:`PiVeM.load`),
        ``trajectories.png`` (for ``dim = 2``) and ``checkpoints/``.
    resume : bool
        Continue from the checkpoints in ``output``; otherwise they are
        deleted and the fit starts afresh.
    root, url : optional
        Data root and download mirror, passed to :func:`dyngraph.data.load`.
    progress : bool
        Show progress bars (default: ``True``).

    Returns
    -------
    Path
        The saved model file.
    """
    from dyngraph.data import EventStream, load
    from dyngraph.models.pivem import PiVeM, to_unit_interval

    name = dataset or recipe.get("data", {}).get("dataset")
    if not name:
        raise ValueError(
            "fit pivem: give --dataset NAME (or data.dataset in the recipe)"
        )
    stream = load(name, root=root, url=url)
    if not isinstance(stream, EventStream):
        raise ValueError(f"fit pivem: {name!r} is not an event stream dataset")
    unit, t0, t1 = to_unit_interval(stream)
    model_cfg = dict(recipe.get("model", {}))
    fit_cfg = dict(recipe.get("fit", {}))
    seed = int(fit_cfg.pop("seed", 0))
    batch = fit_cfg.pop("batch_size", 0) or None
    model = PiVeM(unit.num_nodes, seed=seed, **model_cfg)
    output = Path(output)
    checkpoints = output / "checkpoints"
    if not resume:
        for old in checkpoints.glob("phase*.pt"):
            old.unlink()
    model.fit(
        unit,
        batch_size=batch,
        checkpoint_dir=checkpoints,
        seed=seed,
        progress=progress,
        **fit_cfg,
    )
    path = model.save(output / "pivem.pt", dataset=name, time_range=(t0, t1))
    if model.dim == 2:
        import matplotlib

        matplotlib.use("Agg")
        from dyngraph.models.pivem_plot import plot_trajectories

        ax = plot_trajectories(model)
        ax.figure.savefig(output / "trajectories.png", dpi=120)
    return path


def _run(args: argparse.Namespace) -> int:
    recipe = load_recipe(args.recipe)
    if args.epochs is not None:
        recipe.setdefault("fit", {})["epochs"] = args.epochs
    path = fit_from_recipe(
        recipe,
        args.dataset,
        Path(args.output),
        args.resume,
        root=args.root,
        url=args.url,
    )
    print(f"saved {path}")
    return 0


def add_fit_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``pivem`` to the sub-parsers of ``dyngraph fit``.

    The parser sets ``func`` to a callable ``func(args) -> int``.
    """
    parser = subparsers.add_parser(
        "pivem", help="PiVeM dynamic node embeddings on an event-stream dataset"
    )
    parser.add_argument("--dataset", help="registry name (default: the recipe's)")
    add_fit_arguments(parser, "pivem", "total epochs over the three phases (recipe's)")
    parser.set_defaults(func=_run)
    return parser
