"""dyngraph: learning on temporal graphs and dynamical systems with PyTorch."""

__version__ = "0.1.0"
