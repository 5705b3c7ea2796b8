"""Model families of dyngraph.

- :class:`PiVeM`: continuous-time dynamic node embeddings (piecewise-velocity
  latent distance model).
- :class:`SEMBA`: representation learning on continuous-time dynamic signed
  networks.

The classes are imported on first use, so that ``dyngraph --help`` and the
recipe loaders stay light.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = ["PiVeM", "SEMBA"]

_WHERE = {"PiVeM": "dyngraph.models.pivem", "SEMBA": "dyngraph.models.semba"}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'dyngraph.models' has no attribute {name!r}")
