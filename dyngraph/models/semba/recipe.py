"""The defaults of ``dyngraph fit semba``, overridden by a TOML recipe.

Split 70/15/15 by time; the best validation epoch is kept and tested.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["DataConfig", "FitConfig", "ModelConfig", "SEMBARecipe"]


@dataclass
class DataConfig:
    """``[data]``: the dataset and its batching (``--dataset`` overrides)."""

    dataset: str = "bitcoin-otc"
    time_unit: float = 86400.0
    batch_size: int = 200


@dataclass
class ModelConfig:
    """``[model]``: arguments of :class:`~dyngraph.models.semba.SEMBA`.

    ``task`` is one of ``"existence"``, ``"sign"``, ``"three_way"``,
    ``"weight"`` (``--task`` overrides it); ``time_encoding`` is ``"fixed"``
    or ``"learned"``.
    """

    task: str = "sign"
    memory_dim: int = 64
    time_dim: int = 32
    embedding_dim: int = 64
    num_neighbors: int = 10
    heads: int = 2
    dropout: float = 0.1
    sign_edge_attr: bool = True
    node_embedding_dim: int = 0
    time_encoding: str = "learned"
    recency: bool | None = None


@dataclass
class FitConfig:
    """``[fit]``: arguments of :meth:`~dyngraph.models.semba.SEMBA.fit`.

    ``neg_weight`` is the loss weight of negative events, a number or
    ``"balanced"`` (positives per negative in the training events).
    """

    epochs: int = 10
    lr: float = 1e-3
    patience: int = 3
    neg_weight: str | float = "balanced"
    seed: int = 0


@dataclass
class SEMBARecipe:
    """A SEMBA recipe: ``[data]``, ``[model]`` and ``[fit]``."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    fit: FitConfig = field(default_factory=FitConfig)
