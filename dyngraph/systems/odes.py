r"""Families of ordinary differential equations with their parameters as data.

Every family is an :class:`ODESystem`: a right-hand side
:math:`\dot x = f(t, x; p)` written once in PyTorch, a dictionary of
parameters :math:`p` (defaults from the literature), a default initial
condition and, where :math:`f` is a polynomial in :math:`x`, the exact
coefficients of each monomial, which the discovery tests use as ground truth.

Parameters are data, not code: :meth:`ODESystem.rhs` takes them as a mapping
of tensors, so one call evaluates many *environments* at once (a family of
related systems, e.g. Lotka-Volterra with different rates). Each parameter
tensor broadcasts against the state components ``x[..., k]``; the batching
rules are those of :func:`dyngraph.systems.simulate`. Environments are drawn
with :func:`draw_environments`.

=================  ===========================================================
name               equations (defaults)
=================  ===========================================================
``lorenz``         :math:`\dot x=\sigma(y-x),\ \dot y=x(\rho-z)-y,\
                   \dot z=xy-\beta z` (:math:`\sigma=10,\rho=28,\beta=8/3`)
``rossler``        :math:`\dot x=-y-z,\ \dot y=x+ay,\ \dot z=b+z(x-c)`
                   (:math:`a=b=0.2,\ c=5.7`)
``lotka_volterra`` :math:`\dot x=\alpha x-\beta xy,\ \dot y=\delta xy-\gamma y`
                   (:math:`\alpha=2/3,\beta=4/3,\gamma=\delta=1`)
``van_der_pol``    :math:`\dot x=y,\ \dot y=\mu(1-x^2)y-x` (:math:`\mu=1`)
``duffing``        :math:`\dot x=y,\ \dot y=-\delta y-\alpha x-\beta x^3
                   +\gamma\cos\omega t` (:math:`\delta=0.3,\alpha=-1,\beta=1,
                   \gamma=0.5,\omega=1.2`)
``fitzhugh_nagumo`` :math:`\dot v=v-v^3/3-w+I,\ \dot w=(v+a-bw)/\tau`
                   (:math:`a=0.7,b=0.8,\tau=12.5,I=0.5`)
``glycolytic``     Sel'kov: :math:`\dot x=-x+ay+x^2y,\ \dot y=b-ay-x^2y`
                   (:math:`a=0.08,b=0.6`)
``brusselator``    :math:`\dot x=a+x^2y-(b+1)x,\ \dot y=bx-x^2y`
                   (:math:`a=1,b=3`)
``sir``            :math:`\dot S=-\beta SI,\ \dot I=\beta SI-\gamma I,\
                   \dot R=\gamma I` (:math:`\beta=0.3,\gamma=0.1`)
=================  ===========================================================

References: Lorenz (1963); Rössler (1976); Strogatz, *Nonlinear Dynamics and
Chaos* (Van der Pol, Sel'kov glycolysis, Brusselator, Duffing); FitzHugh
(1961); Kermack & McKendrick (1927).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "ODESystem",
    "draw_environments",
    "get_system",
    "list_systems",
]

Params = Mapping[str, Tensor | float]
Monomials = dict[tuple[int, ...], float]


@dataclass(frozen=True)
class ODESystem:
    r"""An ODE family :math:`\dot x = f(t, x; p)` with parameters as data.

    Parameters
    ----------
    name : str
        Registry name, e.g. ``"lorenz"``.
    state_names : tuple of str
        One name per state component (also the feature names in printed
        equations).
    params : dict of str to float
        Default parameter values.
    x0 : tuple of float
        Default initial condition.
    function : callable
        ``function(t, x, p) -> dx`` with ``x`` of shape ``[..., d]`` and
        ``p`` a mapping of tensors broadcastable against ``x[..., 0]``.
    terms : callable, optional
        ``terms(p) -> [ {exponents: coefficient}, ... ]``, one dictionary per
        state: the right-hand side as a polynomial, each monomial
        :math:`\prod_k x_k^{e_k}` keyed by its exponent tuple :math:`e`.
        ``None`` for a non-polynomial family.
    description : str
        The equations in words (default: ``""``).
    """

    name: str
    state_names: tuple[str, ...]
    params: dict[str, float]
    x0: tuple[float, ...]
    function: Callable[[Tensor, Tensor, Params], Tensor] = field(repr=False)
    terms: Callable[[Mapping[str, float]], list[Monomials]] | None = field(
        default=None, repr=False
    )
    description: str = ""

    @property
    def dim(self) -> int:
        """Number of state components :math:`d`."""
        return len(self.state_names)

    @property
    def state_shape(self) -> tuple[int, ...]:
        """Shape of one state, ``(d,)``."""
        return (self.dim,)

    def resolve_params(self, params: Params | None = None) -> dict[str, Tensor | float]:
        """Defaults overridden by ``params``; unknown names raise ``KeyError``."""
        out: dict[str, Tensor | float] = dict(self.params)
        for key, value in (params or {}).items():
            if key not in self.params:
                raise KeyError(
                    f"{self.name!r} has no parameter {key!r}; its parameters are "
                    f"{sorted(self.params)}"
                )
            out[key] = value
        return out

    def rhs(self, t: Tensor | float, x: Tensor, params: Params | None = None) -> Tensor:
        r"""Evaluate :math:`f(t, x; p)`.

        Parameters
        ----------
        t : tensor or float
            Time (only non-autonomous families use it).
        x : tensor, shape ``[..., d]``
            States.
        params : mapping, optional
            Parameter overrides; each value a float or a tensor that
            broadcasts against ``x[..., 0]`` (default: the defaults).

        Returns
        -------
        tensor, shape ``[..., d]``
        """
        if x.shape[-1] != self.dim:
            raise ValueError(
                f"{self.name!r} has {self.dim} states {list(self.state_names)}, "
                f"but x has shape {list(x.shape)}; the last axis must be {self.dim}"
            )
        return self.function(torch.as_tensor(t), x, self.resolve_params(params))

    def with_params(self, **params: float) -> ODESystem:
        """Return a copy with new default parameter values."""
        return dataclasses.replace(self, params={**self.params, **self._floats(params)})

    def _floats(self, params: Mapping[str, float]) -> dict[str, float]:
        self.resolve_params(params)
        return {k: float(v) for k, v in params.items()}

    def polynomial_terms(
        self, params: Mapping[str, float] | None = None
    ) -> list[Monomials]:
        """Return the right-hand side as monomials ``{exponents: coefficient}``.

        Raises
        ------
        ValueError
            For a non-polynomial family (or forced Duffing, ``gamma != 0``).
        """
        p = {**self.params, **self._floats(params or {})}
        if self.terms is None or (self.name == "duffing" and p["gamma"] != 0.0):
            raise ValueError(
                f"{self.name!r} is not polynomial in its states with these "
                "parameters, so it has no polynomial ground truth"
            )
        return self.terms(p)


def _stack(*components: Tensor) -> Tensor:
    shape = torch.broadcast_shapes(*(c.shape for c in components))
    return torch.stack([c.expand(shape) for c in components], dim=-1)


def _lorenz(t: Tensor, x: Tensor, p: Params) -> Tensor:
    a, b, c = x.unbind(-1)
    return _stack(p["sigma"] * (b - a), a * (p["rho"] - c) - b, a * b - p["beta"] * c)


def _rossler(t: Tensor, x: Tensor, p: Params) -> Tensor:
    a, b, c = x.unbind(-1)
    return _stack(-b - c, a + p["a"] * b, p["b"] + c * (a - p["c"]))


def _lotka_volterra(t: Tensor, x: Tensor, p: Params) -> Tensor:
    a, b = x.unbind(-1)
    return _stack(
        p["alpha"] * a - p["beta"] * a * b, p["delta"] * a * b - p["gamma"] * b
    )


def _van_der_pol(t: Tensor, x: Tensor, p: Params) -> Tensor:
    a, b = x.unbind(-1)
    return _stack(b, p["mu"] * (1 - a**2) * b - a)


def _duffing(t: Tensor, x: Tensor, p: Params) -> Tensor:
    a, b = x.unbind(-1)
    force = p["gamma"] * torch.cos(p["omega"] * t)
    return _stack(b, -p["delta"] * b - p["alpha"] * a - p["beta"] * a**3 + force)


def _fitzhugh_nagumo(t: Tensor, x: Tensor, p: Params) -> Tensor:
    v, w = x.unbind(-1)
    return _stack(v - v**3 / 3 - w + p["I"], (v + p["a"] - p["b"] * w) / p["tau"])


def _glycolytic(t: Tensor, x: Tensor, p: Params) -> Tensor:
    a, b = x.unbind(-1)
    return _stack(-a + p["a"] * b + a**2 * b, p["b"] - p["a"] * b - a**2 * b)


def _brusselator(t: Tensor, x: Tensor, p: Params) -> Tensor:
    a, b = x.unbind(-1)
    return _stack(p["a"] + a**2 * b - (p["b"] + 1) * a, p["b"] * a - a**2 * b)


def _sir(t: Tensor, x: Tensor, p: Params) -> Tensor:
    s, i, _ = x.unbind(-1)
    infection = p["beta"] * s * i
    return _stack(-infection, infection - p["gamma"] * i, p["gamma"] * i)


_SYSTEMS: dict[str, ODESystem] = {
    s.name: s
    for s in [
        ODESystem(
            "lorenz",
            ("x", "y", "z"),
            {"sigma": 10.0, "rho": 28.0, "beta": 8.0 / 3.0},
            (-8.0, 8.0, 27.0),
            _lorenz,
            lambda p: [
                {(1, 0, 0): -p["sigma"], (0, 1, 0): p["sigma"]},
                {(1, 0, 0): p["rho"], (0, 1, 0): -1.0, (1, 0, 1): -1.0},
                {(1, 1, 0): 1.0, (0, 0, 1): -p["beta"]},
            ],
            "Lorenz (1963) convection model; chaotic at the defaults",
        ),
        ODESystem(
            "rossler",
            ("x", "y", "z"),
            {"a": 0.2, "b": 0.2, "c": 5.7},
            (1.0, 1.0, 0.0),
            _rossler,
            lambda p: [
                {(0, 1, 0): -1.0, (0, 0, 1): -1.0},
                {(1, 0, 0): 1.0, (0, 1, 0): p["a"]},
                {(0, 0, 0): p["b"], (1, 0, 1): 1.0, (0, 0, 1): -p["c"]},
            ],
            "Rössler (1976) attractor; chaotic at the defaults",
        ),
        ODESystem(
            "lotka_volterra",
            ("x", "y"),
            {"alpha": 2.0 / 3.0, "beta": 4.0 / 3.0, "gamma": 1.0, "delta": 1.0},
            (1.0, 1.0),
            _lotka_volterra,
            lambda p: [
                {(1, 0): p["alpha"], (1, 1): -p["beta"]},
                {(1, 1): p["delta"], (0, 1): -p["gamma"]},
            ],
            "predator-prey: x prey, y predator",
        ),
        ODESystem(
            "van_der_pol",
            ("x", "y"),
            {"mu": 1.0},
            (2.0, 0.0),
            _van_der_pol,
            lambda p: [
                {(0, 1): 1.0},
                {(0, 1): p["mu"], (2, 1): -p["mu"], (1, 0): -1.0},
            ],
            "relaxation oscillator; stiff for large mu (use method='Radau')",
        ),
        ODESystem(
            "duffing",
            ("x", "y"),
            {"delta": 0.3, "alpha": -1.0, "beta": 1.0, "gamma": 0.5, "omega": 1.2},
            (1.0, 0.0),
            _duffing,
            lambda p: [
                {(0, 1): 1.0},
                {(0, 1): -p["delta"], (1, 0): -p["alpha"], (3, 0): -p["beta"]},
            ],
            "forced double-well oscillator; polynomial when gamma = 0",
        ),
        ODESystem(
            "fitzhugh_nagumo",
            ("v", "w"),
            {"a": 0.7, "b": 0.8, "tau": 12.5, "I": 0.5},
            (-1.0, 1.0),
            _fitzhugh_nagumo,
            lambda p: [
                {(1, 0): 1.0, (3, 0): -1.0 / 3.0, (0, 1): -1.0, (0, 0): p["I"]},
                {
                    (1, 0): 1.0 / p["tau"],
                    (0, 0): p["a"] / p["tau"],
                    (0, 1): -p["b"] / p["tau"],
                },
            ],
            "excitable neuron model: v membrane potential, w recovery",
        ),
        ODESystem(
            "glycolytic",
            ("x", "y"),
            {"a": 0.08, "b": 0.6},
            (1.0, 1.0),
            _glycolytic,
            lambda p: [
                {(1, 0): -1.0, (0, 1): p["a"], (2, 1): 1.0},
                {(0, 0): p["b"], (0, 1): -p["a"], (2, 1): -1.0},
            ],
            "Sel'kov glycolytic oscillator: x ADP, y F6P",
        ),
        ODESystem(
            "brusselator",
            ("x", "y"),
            {"a": 1.0, "b": 3.0},
            (1.0, 1.0),
            _brusselator,
            lambda p: [
                {(0, 0): p["a"], (2, 1): 1.0, (1, 0): -(p["b"] + 1.0)},
                {(1, 0): p["b"], (2, 1): -1.0},
            ],
            "autocatalytic reaction; limit cycle when b > 1 + a^2",
        ),
        ODESystem(
            "sir",
            ("S", "I", "R"),
            {"beta": 0.3, "gamma": 0.1},
            (0.99, 0.01, 0.0),
            _sir,
            lambda p: [
                {(1, 1, 0): -p["beta"]},
                {(1, 1, 0): p["beta"], (0, 1, 0): -p["gamma"]},
                {(0, 1, 0): p["gamma"]},
            ],
            "Kermack-McKendrick epidemic in population fractions",
        ),
    ]
}


def list_systems() -> list[str]:
    """Names of the built-in ODE families."""
    return sorted(_SYSTEMS)


def get_system(name: str | ODESystem) -> ODESystem:
    """Return a built-in family by name (an :class:`ODESystem` passes through).

    Raises
    ------
    KeyError
        For an unknown name; the message lists the known ones.
    """
    if isinstance(name, ODESystem):
        return name
    key = name.lower().replace("-", "_")
    if key not in _SYSTEMS:
        raise KeyError(f"unknown system {name!r}; choose one of {list_systems()}")
    return _SYSTEMS[key]


def draw_environments(
    system: str | ODESystem,
    n: int,
    *,
    spread: float | Mapping[str, float] = 0.1,
    names: Sequence[str] | None = None,
    seed: int = 0,
) -> dict[str, Tensor]:
    r"""Draw ``n`` parameter variations (environments) of a family.

    Each varied parameter is drawn independently and uniformly around its
    default :math:`p_0`,

    .. math::
        p^{(e)} \sim \mathcal U\big[p_0(1-s),\ p_0(1+s)\big],
        \qquad e = 1, \dots, n,

    and the others are repeated at their defaults.

    Parameters
    ----------
    system : str or ODESystem
        The family.
    n : int
        Number of environments.
    spread : float or mapping
        Relative half-width :math:`s`, one for all or one per name
        (default: ``0.1``).
    names : sequence of str, optional
        Parameters to vary (default: all, or the keys of ``spread`` when it
        is a mapping).
    seed : int
        Random seed (default: ``0``).

    Returns
    -------
    dict of str to tensor
        Every parameter as a ``float64`` tensor of shape ``[n]``; pass it as
        ``params=`` to :func:`~dyngraph.systems.simulate`.
    """
    system = get_system(system)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"`n` must be a positive integer, got {n!r}")
    if names is None:
        names = list(spread) if isinstance(spread, Mapping) else list(system.params)
    widths = {k: spread[k] if isinstance(spread, Mapping) else spread for k in names}
    system.resolve_params(dict.fromkeys(widths, 0.0))
    rng = np.random.default_rng(seed)
    out = {}
    for key, default in system.params.items():
        s = float(widths.get(key, 0.0))
        if s < 0:
            raise ValueError(f"spread of {key!r} must be non-negative, got {s}")
        out[key] = torch.as_tensor(default * (1 + rng.uniform(-s, s, size=n)))
    return out
