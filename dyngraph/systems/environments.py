r"""Families of environments: the multi-environment splits of meta-learning.

An *environment* is one parameter setting :math:`p^{(e)}` of an ODE family
(or of one of several families); its data are trajectories
:math:`x^{(e,b)}(t_k)` from initial conditions :math:`x_0^{(b)}`. An
:class:`Environments` holds ``E`` environments with ``B`` trajectories each
on one time grid, with the family of every environment (the true routing of
a mixture of experts), and an :class:`EnvironmentSplit` the four sets of a
meta-learning benchmark: training and test trajectories of the training
environments, and the few adaptation trajectories and many test
trajectories of new environments.

The splits of CoDA (Kirchmeyer et al., "Generalizing to New Physical Systems
via Context-Informed Dynamics Model", ICML 2022, arXiv:2202.01889):

* :func:`lotka_volterra_split`: :math:`\dot x=\alpha x-\beta xy,\ \dot y=
  \delta xy-\gamma y` with :math:`\alpha=\gamma=0.5` and
  :math:`(\beta,\delta)\in\{0.5,0.75,1\}^2` (9 training environments, 4
  training and 32 test trajectories each), adaptation environments
  :math:`(\beta,\delta)\in\{0.625,1.125\}^2` (1 trajectory each);
  :math:`x_0\sim U([1,2]^2)`, :math:`t_k=0.5k`, :math:`k=0..19`;
* :func:`glycolytic_split`: the 7-state glycolytic oscillator
  (:data:`GLYCOLYTIC_OSCILLATOR`) with :math:`k_1\in\{100,90,80\}`,
  :math:`K_1\in\{1,0.75,0.5\}` (9 training environments, 32 training and
  32 test trajectories), adaptation :math:`k_1\in\{85,95\}`,
  :math:`K_1\in\{0.625,0.875\}`; initial conditions uniform in the ranges
  of Daniels & Nemenman (2015), :math:`t_k=0.05k`, :math:`k=0..19`;
* :func:`mixed_split`: two families of the same state dimension (CoDA's
  Lotka-Volterra grid and Sel'kov glycolysis environments drawn with
  :func:`~dyngraph.systems.draw_environments`), with the family of every
  environment as ground truth for routing.

Like CoDA, every environment of a set shares the same initial conditions
(drawn once per set from ``seed``), and the test sets use other draws than
the training sets. The grid follows CoDA's ``arange(0, T, dt)``, so "t in
[0, 10], dt 0.5" has 20 samples, the last at 9.5.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import product

import numpy as np
import torch
from torch import Tensor

from dyngraph.systems.odes import ODESystem, Params, draw_environments, get_system
from dyngraph.systems.simulate import simulate

__all__ = [
    "GLYCOLYTIC_OSCILLATOR",
    "EnvironmentSplit",
    "Environments",
    "concat_environments",
    "glycolytic_split",
    "lotka_volterra_split",
    "make_environments",
    "mixed_split",
]


def _glycolytic_oscillator(t: Tensor, x: Tensor, p: Params) -> Tensor:
    s1, s2, s3, s4, s5, s6, s7 = x.unbind(-1)
    uptake = p["k1"] * s1 * s6 / (1 + (s6 / p["K1"]) ** p["q"])
    forward = p["k2"] * s2 * (p["N"] - s5)
    phospho = p["k3"] * s3 * (p["A"] - s6)
    exchange = p["kappa"] * (s4 - s7)
    components = [
        p["J0"] - uptake,
        2 * uptake - forward - p["k6"] * s2 * s5,
        forward - phospho,
        phospho - p["k4"] * s4 * s5 - exchange,
        forward - p["k4"] * s4 * s5 - p["k6"] * s2 * s5,
        -2 * uptake + 2 * phospho - p["k5"] * s6,
        p["psi"] * exchange - p["k"] * s7,
    ]
    shape = torch.broadcast_shapes(*(c.shape for c in components))
    return torch.stack([c.expand(shape) for c in components], dim=-1)


GLYCOLYTIC_OSCILLATOR = ODESystem(
    "glycolytic_oscillator",
    ("S1", "S2", "S3", "S4", "S5", "S6", "S7"),
    {
        "J0": 2.5,
        "k1": 100.0,
        "k2": 6.0,
        "k3": 16.0,
        "k4": 100.0,
        "k5": 1.28,
        "k6": 12.0,
        "K1": 0.52,
        "q": 4.0,
        "N": 1.0,
        "A": 4.0,
        "kappa": 13.0,
        "psi": 0.1,
        "k": 1.8,
    },
    (1.0, 1.0, 0.1, 0.2, 0.2, 1.0, 0.07),
    _glycolytic_oscillator,
    None,
    "7-state yeast glycolysis (Ruoff et al. 2003; Daniels & Nemenman 2015)",
)
r"""The 7-state glycolytic oscillator of CoDA and LEADS.

.. math::
    \begin{aligned}
    \dot S_1 &= J_0 - v_1, &
    v_1 &= \frac{k_1 S_1 S_6}{1 + (S_6/K_1)^q},\\
    \dot S_2 &= 2v_1 - k_2S_2(N-S_5) - k_6S_2S_5, &
    \dot S_3 &= k_2S_2(N-S_5) - k_3S_3(A-S_6),\\
    \dot S_4 &= k_3S_3(A-S_6) - k_4S_4S_5 - \kappa(S_4-S_7), &
    \dot S_5 &= k_2S_2(N-S_5) - k_4S_4S_5 - k_6S_2S_5,\\
    \dot S_6 &= -2v_1 + 2k_3S_3(A-S_6) - k_5S_6, &
    \dot S_7 &= \psi\kappa(S_4-S_7) - kS_7.
    \end{aligned}
"""

_GO_RANGES = (
    (0.15, 1.60),
    (0.19, 2.16),
    (0.04, 0.20),
    (0.10, 0.35),
    (0.08, 0.30),
    (0.14, 2.67),
    (0.05, 0.10),
)


@dataclass
class Environments:
    """Trajectories of ``E`` environments on one time grid.

    Attributes
    ----------
    x : tensor, shape ``[E, B, T, d]``
        ``B`` trajectories per environment.
    t : tensor, shape ``[T]``
        Sample times, shared by all trajectories.
    params : list of dict
        The parameters of every environment (float values).
    family : tensor, shape ``[E]``
        Index into ``family_names`` of every environment's family.
    family_names : tuple of str
        The families' system names.
    state_names : tuple of str
        Names of the ``d`` state components.
    name : str
        What the set is, e.g. ``"lotka_volterra/train"``.
    """

    x: Tensor
    t: Tensor
    params: list[dict[str, float]]
    family: Tensor
    family_names: tuple[str, ...]
    state_names: tuple[str, ...]
    name: str = ""

    def __post_init__(self) -> None:
        if self.x.dim() != 4:
            raise ValueError(
                f"Environments: `x` must have shape [E, B, T, d], got "
                f"{list(self.x.shape)}"
            )
        num_env, _, steps, _ = self.x.shape
        if self.t.shape != (steps,):
            raise ValueError(
                f"Environments: `t` must have shape [{steps}] (the T axis of x), "
                f"got {list(self.t.shape)}"
            )
        if self.family.shape != (num_env,) or len(self.params) != num_env:
            raise ValueError(
                f"Environments: `family` ({list(self.family.shape)}) and `params` "
                f"({len(self.params)}) must have one entry per environment "
                f"({num_env})"
            )
        if not torch.isfinite(self.x).all():
            raise ValueError("Environments: `x` has non-finite entries")

    @property
    def num_environments(self) -> int:
        """Number of environments ``E``."""
        return self.x.shape[0]

    @property
    def num_trajectories(self) -> int:
        """Trajectories per environment ``B``."""
        return self.x.shape[1]

    @property
    def dim(self) -> int:
        """State dimension ``d``."""
        return self.x.shape[-1]

    def to(
        self, device: torch.device | str | None = None, dtype: torch.dtype | None = None
    ) -> Environments:
        """Return a copy with ``x`` and ``t`` on ``device`` as ``dtype``."""
        return replace(
            self,
            x=self.x.to(device=device, dtype=dtype),
            t=self.t.to(device=device, dtype=dtype),
        )

    def select(self, envs: Sequence[int] | Tensor) -> Environments:
        """Return the environments ``envs`` (in that order)."""
        index = torch.as_tensor(envs, dtype=torch.long).reshape(-1)
        return replace(
            self,
            x=self.x[index.to(self.x.device)],
            params=[self.params[int(i)] for i in index],
            family=self.family[index],
        )


@dataclass
class EnvironmentSplit:
    """The four sets of a multi-environment benchmark.

    Attributes
    ----------
    train, test : Environments
        Training and test trajectories of the training environments.
    adapt, adapt_test : Environments or None
        The few trajectories new environments are adapted on, and their test
        trajectories (``None`` when the split has no adaptation set).
    """

    train: Environments
    test: Environments
    adapt: Environments | None = None
    adapt_test: Environments | None = None


def _time_grid(horizon: float, dt: float) -> np.ndarray:
    if not (dt > 0 and horizon > dt):
        raise ValueError(f"need 0 < dt < horizon, got dt={dt}, horizon={horizon}")
    return dt * np.arange(int(round(horizon / dt)))


def make_environments(
    system: str | ODESystem,
    params: Sequence[Mapping[str, float]],
    t: Sequence[float] | np.ndarray,
    num_trajectories: int,
    *,
    x0_low: Sequence[float] | float,
    x0_high: Sequence[float] | float,
    seed: int = 0,
    family: int = 0,
    name: str = "",
    method: str = "dopri5",
    rtol: float = 1e-8,
    atol: float = 1e-10,
) -> Environments:
    r"""Simulate ``num_trajectories`` trajectories in each of the ``params``.

    Initial conditions :math:`x_0^{(b)}\sim U([\ell, h])` are drawn once
    from ``seed`` and shared by every environment; all environments are
    integrated in one batched :func:`~dyngraph.systems.simulate` call.

    Parameters
    ----------
    system : str or ODESystem
        The family.
    params : sequence of mappings
        One parameter override per environment (missing keys take the
        family's defaults).
    t : array-like, shape ``[T]``
        Sample times.
    num_trajectories : int
        Trajectories per environment ``B`` (at least 1).
    x0_low, x0_high : float or sequence of float
        Bounds of the uniform initial conditions (per component or shared).
    seed : int
        Seed of the initial conditions (default: ``0``).
    family : int
        Family label of every environment (default: ``0``).
    name : str
        Name of the set (default: ``""``).
    method, rtol, atol
        Solver of :func:`~dyngraph.systems.simulate` (default: ``dopri5``,
        ``1e-8``, ``1e-10``).

    Returns
    -------
    Environments
        ``x`` of shape ``[E, B, T, d]`` in float64.
    """
    system = get_system(system)
    if num_trajectories < 1:
        raise ValueError(f"`num_trajectories` must be >= 1, got {num_trajectories}")
    if len(params) == 0:
        raise ValueError("`params` must hold at least one environment")
    resolved = [
        {k: float(v) for k, v in system.resolve_params(p).items()} for p in params
    ]
    low = np.broadcast_to(np.asarray(x0_low, dtype=np.float64), (system.dim,))
    high = np.broadcast_to(np.asarray(x0_high, dtype=np.float64), (system.dim,))
    if not (high >= low).all():
        raise ValueError(f"`x0_high` {high} must not be below `x0_low` {low}")
    rng = np.random.default_rng(seed)
    x0 = low + (high - low) * rng.random((num_trajectories, system.dim))
    batched = {
        key: torch.tensor([p[key] for p in resolved], dtype=torch.float64)
        for key in system.params
    }
    sim = simulate(system, t, x0, params=batched, method=method, rtol=rtol, atol=atol)
    return Environments(
        x=sim.x,
        t=sim.t,
        params=resolved,
        family=torch.full((len(params),), family, dtype=torch.long),
        family_names=(system.name,),
        state_names=tuple(system.state_names),
        name=name,
    )


def concat_environments(*sets: Environments, name: str = "") -> Environments:
    """Stack environment sets (same grid, same trajectory count) along ``E``.

    Family labels are re-indexed into the union of the sets' family names,
    in order of first appearance.
    """
    if not sets:
        raise ValueError("concat_environments needs at least one set")
    first = sets[0]
    names: list[str] = []
    labels = []
    for s in sets:
        if not torch.equal(s.t, first.t) or s.x.shape[1:] != first.x.shape[1:]:
            raise ValueError(
                f"concat_environments: {s.name!r} has grid/shape {list(s.x.shape)} "
                f"and {first.name!r} {list(first.x.shape)}; B, T, d and t must match"
            )
        for fam in s.family_names:
            if fam not in names:
                names.append(fam)
        mapping = torch.tensor([names.index(f) for f in s.family_names])
        labels.append(mapping[s.family])
    return Environments(
        x=torch.cat([s.x for s in sets]),
        t=first.t,
        params=[p for s in sets for p in s.params],
        family=torch.cat(labels),
        family_names=tuple(names),
        state_names=first.state_names,
        name=name,
    )


# seeds of the four sets' initial conditions (test draws differ from training)
_SEEDS = {"train": 0, "test": 1, "adapt": 2, "adapt_test": 3}


def _split(
    system: str | ODESystem,
    train_params: list[dict[str, float]],
    adapt_params: list[dict[str, float]] | None,
    t: np.ndarray,
    counts: Mapping[str, int],
    low: Sequence[float] | float,
    high: Sequence[float] | float,
    seed: int,
    label: str,
    rtol: float = 1e-8,
    atol: float = 1e-10,
) -> EnvironmentSplit:
    sets = {}
    for part, seed_offset in _SEEDS.items():
        params = train_params if part in ("train", "test") else adapt_params
        if params is None:
            sets[part] = None
            continue
        sets[part] = make_environments(
            system,
            params,
            t,
            counts[part],
            x0_low=low,
            x0_high=high,
            seed=1000 * seed + seed_offset,
            name=f"{label}/{part}",
            rtol=rtol,
            atol=atol,
        )
    return EnvironmentSplit(**sets)


def lotka_volterra_split(
    *,
    num_train: int = 4,
    num_test: int = 32,
    num_adapt: int = 1,
    num_adapt_test: int = 32,
    horizon: float = 10.0,
    dt: float = 0.5,
    seed: int = 0,
) -> EnvironmentSplit:
    r"""CoDA's Lotka-Volterra split (see the module docstring).

    Parameters
    ----------
    num_train, num_test : int
        Trajectories per training environment in the training and test sets
        (default: ``4`` and ``32``).
    num_adapt, num_adapt_test : int
        Trajectories per adaptation environment to adapt on and to test on
        (default: ``1`` and ``32``).
    horizon, dt : float
        The grid ``dt * arange(horizon / dt)`` (default: ``10`` and ``0.5``).
    seed : int
        Seed of the initial conditions (default: ``0``).
    """
    grid = (0.5, 0.75, 1.0)
    train = [
        {"alpha": 0.5, "beta": b, "gamma": 0.5, "delta": d}
        for b, d in product(grid, grid)
    ]
    adapt = [
        {"alpha": 0.5, "beta": b, "gamma": 0.5, "delta": d}
        for b, d in product((0.625, 1.125), (0.625, 1.125))
    ]
    counts = {
        "train": num_train,
        "test": num_test,
        "adapt": num_adapt,
        "adapt_test": num_adapt_test,
    }
    t = _time_grid(horizon, dt)
    return _split(
        "lotka_volterra", train, adapt, t, counts, 1.0, 2.0, seed, "lotka_volterra"
    )


def glycolytic_split(
    *,
    num_train: int = 32,
    num_test: int = 32,
    num_adapt: int = 1,
    num_adapt_test: int = 32,
    horizon: float = 1.0,
    dt: float = 0.05,
    seed: int = 0,
    rtol: float = 1e-6,
    atol: float = 1e-8,
) -> EnvironmentSplit:
    r"""CoDA's glycolytic-oscillator split (see the module docstring).

    Parameters are those of :func:`lotka_volterra_split`, with CoDA's
    defaults for this system: 32 training trajectories per environment on
    ``0.05 * arange(20)``. ``rtol`` and ``atol`` are the tolerances of the
    (stiff) integration by ``dopri5`` (default: ``1e-6`` and ``1e-8``; CoDA
    used ``solve_ivp``'s RK45 defaults, ``1e-3`` and ``1e-6``).
    """
    train = [
        {"k1": k1, "K1": big}
        for k1, big in product((100.0, 90.0, 80.0), (1.0, 0.75, 0.5))
    ]
    adapt = [{"k1": k1, "K1": big} for k1, big in product((85.0, 95.0), (0.625, 0.875))]
    counts = {
        "train": num_train,
        "test": num_test,
        "adapt": num_adapt,
        "adapt_test": num_adapt_test,
    }
    low = [a for a, _ in _GO_RANGES]
    high = [b for _, b in _GO_RANGES]
    t = _time_grid(horizon, dt)
    return _split(
        GLYCOLYTIC_OSCILLATOR,
        train,
        adapt,
        t,
        counts,
        low,
        high,
        seed,
        "glycolytic",
        rtol,
        atol,
    )


def mixed_split(
    *,
    num_selkov: int = 9,
    spread: float = 0.1,
    num_train: int = 4,
    num_test: int = 32,
    horizon: float = 10.0,
    dt: float = 0.5,
    seed: int = 0,
) -> EnvironmentSplit:
    r"""Two families of dimension 2 whose routing is known.

    Family 0 is CoDA's 9 Lotka-Volterra training environments (see
    :func:`lotka_volterra_split`); family 1 is ``num_selkov`` environments of
    Sel'kov's glycolysis model :math:`\dot x=-x+ay+x^2y,\ \dot y=b-ay-x^2y`,
    with :math:`a, b` drawn by :func:`~dyngraph.systems.draw_environments`
    within ``spread`` of :math:`a=0.08, b=0.6` (a limit cycle). Both start
    from :math:`x_0\sim U([1,2]^2)` on the same grid. ``family`` of every set
    is the true routing. There is no adaptation set.

    Parameters
    ----------
    num_selkov : int
        Sel'kov environments (default: ``9``).
    spread : float
        Relative half-width of the Sel'kov parameters (default: ``0.1``).
    num_train, num_test : int
        Trajectories per environment (default: ``4`` and ``32``).
    horizon, dt : float
        Time grid (default: ``10`` and ``0.5``).
    seed : int
        Seed of the parameters and initial conditions (default: ``0``).
    """
    lv = lotka_volterra_split(
        num_train=num_train, num_test=num_test, horizon=horizon, dt=dt, seed=seed
    )
    drawn = draw_environments("glycolytic", num_selkov, spread=spread, seed=seed)
    selkov = [{k: float(v[e]) for k, v in drawn.items()} for e in range(num_selkov)]
    t = _time_grid(horizon, dt)
    counts = {"train": num_train, "test": num_test}
    sk = _split("glycolytic", selkov, None, t, counts, 1.0, 2.0, seed, "selkov")
    return EnvironmentSplit(
        train=concat_environments(lv.train, sk.train, name="mixed/train"),
        test=concat_environments(lv.test, sk.test, name="mixed/test"),
    )
