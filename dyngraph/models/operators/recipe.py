"""The defaults of ``dyngraph fit operators``, overridden by a TOML recipe.

The particles are generated in code (:mod:`dyngraph.systems.particles`): the
spring-mass jelly (a 16 x 16 block, 256 particles) or the SPH-like drop
(about 200 particles). The defaults train in a few minutes on a laptop CPU;
GNS itself trains for millions of steps.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DEFAULTS",
    "RANGES",
    "SYSTEMS",
    "DataConfig",
    "FitConfig",
    "ModelConfig",
    "OperatorRecipe",
    "RolloutConfig",
]

SYSTEMS = ("jelly", "drop")
"""The generated particle systems ``[data] system`` can name."""


@dataclass
class DataConfig:
    """``[data]``: the generated system (``--system`` overrides ``system``).

    ``num_trajectories`` training trajectories from ``seed``, and
    ``test_trajectories`` from ``seed + 1``.
    """

    system: str = "jelly"
    num_trajectories: int = 4
    test_trajectories: int = 1
    num_frames: int = 60
    seed: int = 0


@dataclass
class ModelConfig:
    """``[model]``: arguments of :class:`~.operators.SparseGraphOperator`.

    ``decoder = "flow"`` (the default, the benchmarked decoder: no weights,
    the dense set advected by the sample's interpolated accelerations);
    ``"gno"`` trains the kernel-integral decoder of displacements beside
    the processor. ``decoder_radius = 0`` takes the sparse graph's radius.
    """

    ratio: float = 0.25
    sampling: str = "fps"
    radius: float = 0.035
    scale_radius: bool = True
    history: int = 6
    hidden: int = 64
    layers: int = 4
    mlp_layers: int = 2
    noise_std: float = 3e-4
    decoder: str = "flow"
    decoder_radius: float = 0.0
    decoder_hidden: int = 64
    min_neighbours: int = 3


@dataclass
class FitConfig:
    """``[fit]``: arguments of :meth:`SparseGraphOperator.fit`."""

    epochs: int = 10
    lr: float = 1e-3
    batch_size: int = 8
    seed: int = 0


@dataclass
class RolloutConfig:
    """``[rollout]``: the test rollout (``steps`` after the first window).

    ``animation`` writes ``rollout.gif`` (predicted against true particles).
    """

    steps: int = 20
    animation: bool = True


@dataclass
class OperatorRecipe:
    """An operators recipe: ``[data]``, ``[model]``, ``[fit]``, ``[rollout]``."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    fit: FitConfig = field(default_factory=FitConfig)
    rollout: RolloutConfig = field(default_factory=RolloutConfig)


DEFAULTS = OperatorRecipe()
"""The recipe without a TOML file."""


def _at_least(low: int) -> tuple[Callable[[Any], bool], str]:
    return (lambda value: value >= low), f">= {low}"


def _positive() -> tuple[Callable[[Any], bool], str]:
    return (lambda v: math.isfinite(v) and v > 0), "a finite number > 0"


RANGES: dict[tuple[str, str], tuple[Callable[[Any], bool], str]] = {
    ("data", "system"): (lambda v: v in SYSTEMS, f"one of {', '.join(SYSTEMS)}"),
    ("data", "num_trajectories"): _at_least(1),
    ("data", "test_trajectories"): _at_least(1),
    ("data", "num_frames"): _at_least(3),
    ("model", "ratio"): (lambda v: 0 < v <= 1, "in (0, 1]"),
    ("model", "sampling"): (lambda v: v in ("fps", "random"), "'fps' or 'random'"),
    ("model", "radius"): _positive(),
    ("model", "history"): _at_least(2),
    ("model", "hidden"): _at_least(1),
    ("model", "layers"): _at_least(1),
    ("model", "mlp_layers"): _at_least(0),
    ("model", "noise_std"): (lambda v: math.isfinite(v) and v >= 0, "a number >= 0"),
    ("model", "decoder"): (
        lambda v: v in ("gno", "nearest", "flow", "flow_nearest"),
        "'gno', 'nearest', 'flow' or 'flow_nearest'",
    ),
    ("model", "decoder_radius"): (
        lambda v: math.isfinite(v) and v >= 0,
        "a number >= 0 (0: the sparse graph's radius)",
    ),
    ("model", "decoder_hidden"): _at_least(1),
    ("model", "min_neighbours"): _at_least(1),
    ("fit", "batch_size"): _at_least(1),
    ("rollout", "steps"): _at_least(1),
}
"""The allowed ranges of this family's keys (beside the shared
:data:`dyngraph.recipes.RANGES`), checked by ``dyngraph fit operators``."""
