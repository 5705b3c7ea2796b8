"""The defaults of ``dyngraph discover`` and :func:`~dyngraph.discovery.discover`.

A quadratic polynomial library with a constant term, STLSQ with threshold
0.1, finite-difference derivatives; simulated systems are sampled every
0.002 time units over ``[0, 10)`` without noise.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULTS", "DiscoverRecipe"]


@dataclass(frozen=True)
class DiscoverRecipe:
    """Arguments of :func:`~dyngraph.discovery.discover`."""

    degree: int = 2
    include_bias: bool = True
    threshold: float = 0.1
    smooth: int | None = None
    noise: float = 0.0
    t_end: float = 10.0
    step: float = 0.002
    seed: int = 0


DEFAULTS = DiscoverRecipe()
"""The defaults."""
