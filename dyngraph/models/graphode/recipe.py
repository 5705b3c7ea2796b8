"""The defaults of ``dyngraph fit graphode``, overridden by a TOML recipe.

The field is generated in code (:mod:`dyngraph.systems.fields`): Gray-Scott
on a periodic 32x32 grid with CoDA's four environments, or lambda-omega on
64x64. 30 probes on 32x32 are 2.9 % of the grid points (the issue's bound is
3 %); 100 probes on 64x64 are 2.4 %.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DEFAULTS",
    "RANGES",
    "DataConfig",
    "FitConfig",
    "GraphODERecipe",
    "ModelConfig",
    "RolloutConfig",
    "SYSTEMS",
]

SYSTEMS = ("gray-scott", "lambda-omega")
"""The generated fields ``[data] system`` can name."""


@dataclass
class DataConfig:
    """``[data]``: the generated field (``--system`` overrides ``system``).

    ``per_environment`` trajectories per Gray-Scott environment (lambda-omega:
    ``4 * per_environment`` trajectories); the test trajectories come from
    ``seed + 1``.
    """

    system: str = "gray-scott"
    per_environment: int = 2
    test_per_environment: int = 1
    num_frames: int = 45
    frame_dt: float = 0.0
    seed: int = 0


@dataclass
class ModelConfig:
    """``[model]``: arguments of :class:`~dyngraph.models.graphode.GraphODE`."""

    history: int = 10
    num_probes: int = 30
    hidden: int = 32
    heads: int = 4
    coupling: str = "attention"
    reaction: bool = True
    method: str = "rk4"
    knn: int = 3
    blend: float = 0.5
    refiner: bool = False
    autoregressive: bool = True
    calibration_horizon: int = 20


@dataclass
class FitConfig:
    """``[fit]``: arguments of :meth:`~dyngraph.models.graphode.GraphODE.fit`."""

    epochs: int = 10
    lr: float = 3e-3
    batch_size: int = 16
    horizon: int = 3
    stride: int = 2
    seed: int = 0


@dataclass
class RolloutConfig:
    """``[rollout]``: the test forecast and its re-encoding rule."""

    start: int = 20
    steps: int = 20
    reencode: str = "adaptive"
    tau: float = 0.9
    every: int = 5


@dataclass
class GraphODERecipe:
    """A graph-ODE recipe: ``[data]``, ``[model]``, ``[fit]``, ``[rollout]``."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    fit: FitConfig = field(default_factory=FitConfig)
    rollout: RolloutConfig = field(default_factory=RolloutConfig)


DEFAULTS = GraphODERecipe()
"""The recipe without a TOML file."""


def _at_least(low: int) -> tuple[Callable[[Any], bool], str]:
    return (lambda value: value >= low), f">= {low}"


RANGES: dict[tuple[str, str], tuple[Callable[[Any], bool], str]] = {
    ("data", "system"): (lambda v: v in SYSTEMS, f"one of {', '.join(SYSTEMS)}"),
    ("data", "per_environment"): _at_least(1),
    ("data", "test_per_environment"): _at_least(1),
    ("data", "num_frames"): _at_least(2),
    ("data", "frame_dt"): (
        lambda v: math.isfinite(v) and v >= 0,
        "a finite number >= 0 (0: the system's default)",
    ),
    ("model", "history"): _at_least(1),
    ("model", "num_probes"): _at_least(1),
    ("model", "hidden"): _at_least(1),
    ("model", "heads"): _at_least(1),
    ("model", "coupling"): (
        lambda v: v in ("attention", "adjacency"),
        "'attention' or 'adjacency'",
    ),
    ("model", "knn"): _at_least(1),
    ("model", "calibration_horizon"): _at_least(1),
    ("model", "blend"): (lambda v: 0 <= v <= 1, "in [0, 1]"),
    ("fit", "batch_size"): _at_least(1),
    ("fit", "horizon"): _at_least(1),
    ("fit", "stride"): _at_least(1),
    ("rollout", "steps"): _at_least(1),
    ("rollout", "reencode"): (
        lambda v: v in ("adaptive", "interval", "never"),
        "'adaptive', 'interval' or 'never'",
    ),
    ("rollout", "tau"): (lambda v: 0 < v <= 1, "in (0, 1]"),
    ("rollout", "every"): _at_least(1),
}
"""The allowed ranges of this family's keys (beside the shared
:data:`dyngraph.recipes.RANGES`), checked by ``dyngraph fit graphode``."""
