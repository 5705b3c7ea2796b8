"""The defaults of ``dyngraph fit pivem``, overridden by a TOML recipe.

They follow the reference implementation (B=100, D=2, K=10, lambda=1e5, 100
epochs over the three phases, Adam lr 0.1), with node batches of 100.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["DataConfig", "FitConfig", "ModelConfig", "PiVeMRecipe"]


@dataclass
class DataConfig:
    """``[data]``: the dataset (``--dataset`` overrides it)."""

    dataset: str = "college-msg"


@dataclass
class ModelConfig:
    """``[model]``: arguments of :class:`~dyngraph.models.pivem.PiVeM`."""

    dim: int = 2
    num_bins: int = 100
    num_communities: int = 10
    prior_lambda: float | None = 1e5


@dataclass
class FitConfig:
    """``[fit]``: arguments of :meth:`~dyngraph.models.pivem.PiVeM.fit`.

    ``batch_size = 0`` fits the full graph (the exact likelihood).
    """

    epochs: int = 100
    lr: float = 0.1
    batch_size: int = 100
    scale_likelihood: bool = True
    seed: int = 0


@dataclass
class PiVeMRecipe:
    """A PiVeM recipe: ``[data]``, ``[model]`` and ``[fit]``."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    fit: FitConfig = field(default_factory=FitConfig)
