"""Recipes: a family's defaults, in code, overridden by an optional TOML file.

Every model family defines its recipe once, as a dataclass of tables (each
table a dataclass of typed keys with defaults), in its ``recipe.py``. A
TOML file (``--recipe FILE``; examples in the checkout's ``models/``) only
overrides keys::

    [model]
    dim = 3

    [fit]
    epochs = 50

:func:`load_recipe` refuses unknown tables and keys and values of the wrong
type, naming the file, the table and the key and listing the allowed ones,
before any data is downloaded. Values out of range are refused the same way
(:data:`RANGES`: ``[fit] epochs`` at least 1, ``[fit] lr`` finite and
positive, ``[fit] patience`` not negative), and so is ``--epochs`` below 1:
zero epochs would save an untrained model.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import math
import sys
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = [
    "RANGES",
    "RecipeError",
    "add_fit_arguments",
    "check_recipe",
    "load_recipe",
    "parse_recipe",
    "positive_int",
    "run_fit_command",
]

R = TypeVar("R")


class RecipeError(ValueError):
    """A recipe file is unreadable or does not match its family's recipe."""


def _allowed(names: typing.Iterable[str], brackets: bool = False) -> str:
    return ", ".join(f"[{n}]" if brackets else n for n in names)


def _hint(name: str, names: list[str]) -> str:
    close = difflib.get_close_matches(name, names, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _type_name(kind: Any) -> str:
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        return " or ".join(_type_name(k) for k in typing.get_args(kind))
    if kind is type(None):
        return "absent"
    return getattr(kind, "__name__", str(kind))


def _coerce(value: Any, kind: Any) -> tuple[bool, Any]:
    """Return ``(ok, value)``: ``value`` as ``kind`` (ints may stand for floats)."""
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        for option in typing.get_args(kind):
            ok, out = _coerce(value, option)
            if ok:
                return True, out
        return False, value
    if kind is bool:
        return isinstance(value, bool), value
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool), value
    if kind is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return ok, float(value) if ok else value
    if kind is str:
        return isinstance(value, str), value
    if typing.get_origin(kind) is typing.Literal:
        return value in typing.get_args(kind), value
    return False, value


def _at_least(low: int) -> tuple[typing.Callable[[Any], bool], str]:
    return (lambda value: value >= low), f">= {low}"


RANGES: dict[tuple[str, str], tuple[typing.Callable[[Any], bool], str]] = {
    ("fit", "epochs"): _at_least(1),
    ("fit", "lr"): (
        lambda value: math.isfinite(value) and value > 0,
        "a finite number > 0",
    ),
    ("fit", "patience"): _at_least(0),
}
"""The allowed range of keys every family shares: ``(table, key)`` to a
test and its description. A family's recipe may lack a key; present ones
are checked by :func:`check_recipe`."""


def _check_value(table: str, key: str, value: Any, source: str) -> None:
    rule = RANGES.get((table, key))
    if rule is None or value is None or isinstance(value, str | bool):
        return
    test, description = rule
    if not test(value):
        raise RecipeError(
            f"{source}: [{table}] {key} = {value!r} must be {description}"
        )


def check_recipe(
    recipe: Any,
    source: str = "recipe",
    ranges: dict[tuple[str, str], tuple[typing.Callable[[Any], bool], str]]
    | None = None,
) -> None:
    """Refuse a recipe whose values are out of range (see :data:`RANGES`).

    Parameters
    ----------
    recipe : dataclass
        A family's recipe (e.g. built in code, or changed after loading).
    source : str
        Where it came from, named in the error (default: ``"recipe"``).
    ranges : dict, optional
        The family's own ranges, in the form of :data:`RANGES`, checked
        after the shared ones on every value they name, strings included
        (default: none).

    Raises
    ------
    RecipeError
        Naming ``source``, the table, the key, the value and the range.
    """
    for table in dataclasses.fields(recipe):
        values = getattr(recipe, table.name)
        if dataclasses.is_dataclass(values):
            for key in dataclasses.fields(values):
                _check_value(table.name, key.name, getattr(values, key.name), source)
    for (table, key), (test, description) in (ranges or {}).items():
        values = getattr(recipe, table, None)
        if values is None or not hasattr(values, key):
            continue
        value = getattr(values, key)
        if not test(value):
            raise RecipeError(
                f"{source}: [{table}] {key} = {value!r} must be {description}"
            )


def run_fit_command(
    args: argparse.Namespace,
    schema: type[R],
    fit_from_recipe: typing.Callable[..., Path],
    target: str | None,
) -> Path | None:
    """Run the shared steps of a ``dyngraph fit FAMILY`` command.

    Loads ``args.recipe`` into ``schema`` (:func:`load_recipe`), lets
    ``--epochs`` override ``[fit] epochs``, and calls
    ``fit_from_recipe(recipe, target, Path(args.output), args.resume)``
    (``target``: the dataset, system or split the command was given).

    Returns
    -------
    Path or None
        What ``fit_from_recipe`` returned (the saved model) on the main
        process, ``None`` on the other ``torchrun`` ranks (they print
        nothing).
    """
    from dyngraph.training import distributed

    recipe = load_recipe(schema, args.recipe)
    if args.epochs is not None:
        recipe.fit.epochs = args.epochs  # type: ignore[attr-defined]
    path = fit_from_recipe(recipe, target, Path(args.output), args.resume)
    return path if distributed.is_main() else None


def positive_int(text: str) -> int:
    """Parse an ``int >= 1`` for argparse (e.g. ``--epochs``).

    Raises
    ------
    argparse.ArgumentTypeError
        When ``text`` is not a whole number of at least 1.
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a whole number >= 1, got {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"must be >= 1, got {value} (zero epochs would save an untrained model)"
        )
    return value


def parse_recipe(schema: type[R], tables: dict[str, Any], source: str) -> R:
    """Build a recipe of ``schema`` from parsed TOML ``tables``.

    Parameters
    ----------
    schema : type
        A dataclass whose fields are table dataclasses with defaults.
    tables : dict
        Parsed TOML (table name to key-value mapping).
    source : str
        Where ``tables`` came from, named in errors.

    Raises
    ------
    RecipeError
        On an unknown table or key, a table that is not a table, a value of
        the wrong type or out of range (:data:`RANGES`); the message names
        ``source``, the table and the key.
    """
    hints = typing.get_type_hints(schema)
    names = [f.name for f in dataclasses.fields(schema)]  # type: ignore[arg-type]
    built: dict[str, Any] = {}
    for table, values in tables.items():
        if table not in names:
            raise RecipeError(
                f"{source}: unknown table [{table}]{_hint(table, names)}; "
                f"allowed tables: {_allowed(names, brackets=True)}"
            )
        if not isinstance(values, dict):
            raise RecipeError(
                f"{source}: {table!r} must be a table ([{table}]), got "
                f"{type(values).__name__}"
            )
        table_type = hints[table]
        types_of = typing.get_type_hints(table_type)
        keys = [f.name for f in dataclasses.fields(table_type)]
        parsed: dict[str, Any] = {}
        for key, value in values.items():
            if key not in keys:
                raise RecipeError(
                    f"{source}: unknown key {key!r} in [{table}]{_hint(key, keys)}; "
                    f"allowed keys: {_allowed(keys)}"
                )
            ok, parsed[key] = _coerce(value, types_of[key])
            if not ok:
                raise RecipeError(
                    f"{source}: [{table}] {key} = {value!r} must be "
                    f"{_type_name(types_of[key])}"
                )
            _check_value(table, key, parsed[key], source)
        built[table] = table_type(**parsed)
    return schema(**built)


def load_recipe(schema: type[R], path: str | Path | None = None) -> R:
    """Return the recipe of ``schema``: its defaults, overridden by ``path``.

    Parameters
    ----------
    schema : type
        The family's recipe dataclass (e.g.
        :class:`dyngraph.models.pivem.recipe.PiVeMRecipe`).
    path : str or Path, optional
        A TOML file of overrides (default: none, the defaults in code).

    Raises
    ------
    RecipeError
        When the file does not exist, is not valid TOML (with TOML's line and
        column) or does not match ``schema`` (see :func:`parse_recipe`).
    """
    if path is None:
        return schema()
    path = Path(path)
    if not path.is_file():
        raise RecipeError(f"recipe {path} does not exist")
    try:
        with path.open("rb") as handle:
            tables = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise RecipeError(f"{path}: invalid TOML recipe: {exc}") from None
    return parse_recipe(schema, tables, str(path))


def add_fit_arguments(
    parser: argparse.ArgumentParser, family: str, epochs_help: str
) -> None:
    """Add the options every ``dyngraph fit FAMILY`` command shares.

    ``--recipe`` (a TOML file of overrides; default: the defaults in code),
    ``--epochs`` (at least 1), ``--output`` (default ``FAMILY-output``),
    ``--resume``, ``--root`` and ``--url``.

    With ``--resume`` the fit goes on from the checkpoints in ``--output``:
    weights, optimizer state and random generators come from them, but the
    recipe's ``[fit]`` settings (the learning rate, ``--epochs``) are the ones
    used from then on. A checkpoint written for another dataset or
    ``[model]`` is refused before it is loaded.
    """
    parser.add_argument(
        "--recipe",
        help="TOML file overriding the recipe's defaults (default: none; "
        "examples in models/ of a checkout)",
    )
    parser.add_argument("--epochs", type=positive_int, help=epochs_help)
    parser.add_argument(
        "--output",
        default=f"{family}-output",
        help=f"output folder (default: {family}-output)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue from the checkpoints in --output (the recipe's [fit] "
        "settings, e.g. lr, replace the saved ones)",
    )
    parser.add_argument("--root", help="data root (default: $DYNGRAPH_DATA or ./data)")
    parser.add_argument("--url", help="download from this URL (a mirror)")
