"""The defaults of ``dyngraph fit mixer``, overridden by a TOML recipe.

MixER with three CoDA-style experts (root MLP ``2-32-32-2``, contexts of
dimension 2) on CoDA's Lotka-Volterra split, the reference's proximal
alternating minimisation (12 + 12 inner steps, proximal weights 10, a gate
update every 5 inner steps), Adam at ``1e-2`` (the reference: AdaBelief at
``1e-3`` for 5000 outer steps; fewer, larger steps fit a laptop CPU) and
context-only adaptation of the new environments.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["DataConfig", "FitConfig", "MixERRecipe", "ModelConfig", "SPLITS"]

SPLITS = ("lotka_volterra", "glycolytic", "mixed")
"""The environment splits of :mod:`dyngraph.systems.environments` by name."""


@dataclass
class DataConfig:
    """``[data]``: the environment split (``--split`` overrides it)."""

    split: str = "lotka_volterra"
    seed: int = 0


@dataclass
class ModelConfig:
    """``[model]``: arguments of :class:`~dyngraph.models.mixer.MixER`."""

    num_experts: int = 3
    context_dim: int = 2
    expert: str = "hyper"
    hidden: int = 32
    depth: int = 2
    gate_update: str = "least_squares"
    assignment: str = "greedy"
    method: str = "rk4"


@dataclass
class FitConfig:
    """``[fit]``: arguments of :meth:`~dyngraph.models.mixer.MixER.fit`.

    ``epochs`` counts outer steps; ``adapt_steps`` and ``adapt_lr`` are
    those of :meth:`~dyngraph.models.mixer.MixER.adapt` (on the split's
    adaptation environments, when it has them).
    """

    epochs: int = 60
    lr: float = 1e-2
    lr_context: float = 1e-2
    inner_context: int = 12
    inner_model: int = 12
    beta_context: float = 10.0
    beta_model: float = 10.0
    gate_update_every: int = 5
    context_l1: float = 0.0
    adapt_steps: int = 200
    adapt_lr: float = 1e-2
    seed: int = 0


@dataclass
class MixERRecipe:
    """A MixER recipe: ``[data]``, ``[model]`` and ``[fit]``."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    fit: FitConfig = field(default_factory=FitConfig)
