"""The defaults of the stream experiment (``dyngraph sparsify``), in one place.

They follow the dyGRASS reference protocol: distortion budget :math:`K = 35`,
512 walkers of at most 100 moves per update, an initial sparsifier with 10 %
of :math:`|V|` off-tree edges, and the local stream that inserts 25 % of
:math:`|V|` edges. :func:`~dyngraph.sparsify.stream_experiment` and the
command-line flags both read them from :data:`DEFAULTS`.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULTS", "StreamRecipe"]


@dataclass(frozen=True)
class StreamRecipe:
    """Arguments of :func:`~dyngraph.sparsify.stream_experiment`."""

    stream: str = "local:0.25"
    budget: float = 35.0
    num_walkers: int = 512
    max_steps: int = 100
    off_tree: float = 0.10
    kappa_every: int = 0
    seed: int = 0


DEFAULTS = StreamRecipe()
"""The defaults."""
