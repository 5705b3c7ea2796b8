"""The defaults of ``dyngraph discover`` and :func:`~dyngraph.discovery.discover`.

A quadratic polynomial library with a constant term, the automatic sparsity
path (``threshold="auto"``), the weak form or finite differences as
:func:`~dyngraph.discovery.sindy.choose_form` decides (``weak=None``);
observed series compare candidate libraries (``compare=True``); simulated
systems are sampled every 0.002 time units over ``[0, 10)`` without noise.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULTS", "DiscoverRecipe"]


@dataclass(frozen=True)
class DiscoverRecipe:
    """Arguments of :func:`~dyngraph.discovery.discover`."""

    degree: int = 2
    include_bias: bool = True
    threshold: float | str = "auto"
    weak: bool | None = None
    compare: bool = True
    smooth: int | None = None
    noise: float = 0.0
    t_end: float = 10.0
    step: float = 0.002
    seed: int = 0


DEFAULTS = DiscoverRecipe()
"""The defaults."""
