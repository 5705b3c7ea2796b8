r"""Dynamical systems: ODE families, dynamics on networks, and :func:`simulate`.

* :mod:`~dyngraph.systems.odes`: ODE families with their parameters as data
  (:func:`get_system`, :func:`draw_environments`);
* :mod:`~dyngraph.systems.network`: node dynamics
  :math:`\dot x_i = f(x_i) + \sum_j A_{ij} g(x_i, x_j)` on any graph;
* :mod:`~dyngraph.systems.simulate`: batched integration with torchdiffeq or
  scipy, measurement noise and irregular sampling;
* :mod:`~dyngraph.systems.environments`: multi-environment splits for
  meta-learning (CoDA's Lotka-Volterra and glycolytic splits, a mixed set
  with known families);
* :mod:`~dyngraph.systems.fields`: fields with known physics on periodic
  grids (Gray-Scott, lambda-omega, Burgers);
* :mod:`~dyngraph.systems.particles`: particle systems with known physics
  (a spring-mass jelly, an SPH-like drop, n-body);
* :mod:`~dyngraph.systems.datasets`: real time series of dynamical systems
  (the Hudson's Bay lynx-hare records).
"""

from dyngraph.systems.datasets import TimeSeries, load_lynx_hare
from dyngraph.systems.environments import (
    GLYCOLYTIC_OSCILLATOR,
    Environments,
    EnvironmentSplit,
    concat_environments,
    glycolytic_split,
    lotka_volterra_split,
    make_environments,
    mixed_split,
)
from dyngraph.systems.fields import (
    GRAY_SCOTT_ENVIRONMENTS,
    burgers,
    gray_scott,
    lambda_omega,
)
from dyngraph.systems.network import (
    NetworkDynamics,
    as_adjacency,
    coupled_fitzhugh_nagumo,
    coupled_rossler,
    heat_diffusion,
    kuramoto,
    michaelis_menten,
    mutualistic,
    network_dynamics,
    sis,
)
from dyngraph.systems.odes import (
    ODESystem,
    draw_environments,
    get_system,
    list_systems,
)
from dyngraph.systems.particles import drop, jelly, nbody, nbody_energy
from dyngraph.systems.simulate import SCIPY_METHODS, Simulation, simulate

__all__ = [
    "GLYCOLYTIC_OSCILLATOR",
    "EnvironmentSplit",
    "Environments",
    "concat_environments",
    "glycolytic_split",
    "lotka_volterra_split",
    "make_environments",
    "mixed_split",
    "GRAY_SCOTT_ENVIRONMENTS",
    "SCIPY_METHODS",
    "NetworkDynamics",
    "ODESystem",
    "Simulation",
    "TimeSeries",
    "as_adjacency",
    "burgers",
    "coupled_fitzhugh_nagumo",
    "coupled_rossler",
    "draw_environments",
    "drop",
    "get_system",
    "gray_scott",
    "heat_diffusion",
    "jelly",
    "kuramoto",
    "lambda_omega",
    "list_systems",
    "load_lynx_hare",
    "michaelis_menten",
    "mutualistic",
    "nbody",
    "nbody_energy",
    "network_dynamics",
    "simulate",
    "sis",
]
