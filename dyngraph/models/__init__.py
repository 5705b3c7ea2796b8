"""Model families of dyngraph, one sub-package each.

Every family has the same files: ``model.py`` (the estimator: ``fit(...)``
returns ``self``, ``forward(batch)`` returns the training loss, ``save`` and
``load`` go through :mod:`dyngraph.training.checkpoint`), ``evaluate.py``,
``plot.py`` where it has plots, ``recipe.py`` (the defaults of
``dyngraph fit FAMILY``) and ``cli.py``.

The model classes can be imported from here (``from dyngraph.models import
PiVeM, SEMBA``): a name is looked up in the families' ``__all__`` on first
use, so that importing this package stays light and names no family.
"""

from __future__ import annotations

import pkgutil
from importlib import import_module
from typing import Any


def _families() -> list[str]:
    return [m.name for m in pkgutil.iter_modules(__path__) if m.ispkg]


def __getattr__(name: str) -> Any:
    if not name.startswith("_"):
        for family in _families():
            module = import_module(f"{__name__}.{family}")
            if name in getattr(module, "__all__", ()):
                return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_families()])
