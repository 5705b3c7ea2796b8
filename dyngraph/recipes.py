"""Model recipes: the TOML files under ``models/`` that ``dyngraph fit`` runs.

A recipe is a small TOML file with one table per concern (``[data]``,
``[model]``, ``[fit]`` / ``[train]``). :func:`load_recipe` finds a family's
default recipe in the checkout's ``models/`` folder or reads any file given
by path, and reports TOML errors with the file name.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = ["RECIPES", "add_fit_arguments", "load_recipe", "recipe_path"]

RECIPES = Path(__file__).resolve().parents[1] / "models"
"""The folder of the default recipes (``models/`` next to the package)."""


def recipe_path(family: str) -> Path:
    """Return the default recipe file of a model family (``models/FAMILY.toml``)."""
    return RECIPES / f"{family}.toml"


def load_recipe(source: str | Path) -> dict[str, Any]:
    """Read a recipe.

    Parameters
    ----------
    source : str or Path
        A family name with a default recipe (``"pivem"``, ``"semba"``) or the
        path of a TOML file.

    Returns
    -------
    dict
        The parsed tables.

    Raises
    ------
    ValueError
        When the file does not exist or is not valid TOML; the message names
        the file (and TOML's line and column).
    """
    path = Path(source)
    if path.suffix != ".toml" and not path.exists():
        path = recipe_path(str(source))
    if not path.is_file():
        raise ValueError(
            f"recipe {path} does not exist; pass --recipe FILE (the default "
            f"recipes live in models/ of a dyngraph checkout)"
        )
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: invalid TOML recipe: {exc}") from None


def add_fit_arguments(
    parser: argparse.ArgumentParser, family: str, epochs_help: str
) -> None:
    """Add the options every ``dyngraph fit FAMILY`` command shares.

    ``--recipe`` (default ``models/FAMILY.toml``), ``--epochs``, ``--output``
    (default ``FAMILY-output``), ``--resume``, ``--root`` and ``--url``.
    """
    parser.add_argument(
        "--recipe",
        default=str(recipe_path(family)),
        help=f"TOML recipe (default: models/{family}.toml)",
    )
    parser.add_argument("--epochs", type=int, help=epochs_help)
    parser.add_argument(
        "--output",
        default=f"{family}-output",
        help=f"output folder (default: {family}-output)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue from the checkpoints in --output",
    )
    parser.add_argument("--root", help="data root (default: $DYNGRAPH_DATA or ./data)")
    parser.add_argument("--url", help="download from this URL (a mirror)")
