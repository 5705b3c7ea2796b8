"""Model families of dyngraph."""

from dyngraph.models.pivem import PiVeM

__all__ = ["PiVeM"]
