r"""Polynomial systems with exact ground truth, and those of the ``dysts`` database.

:func:`polynomial_system` turns a table of monomials into an
:class:`~dyngraph.systems.ODESystem` that :func:`dyngraph.systems.simulate`
integrates and :func:`~dyngraph.discovery.true_coefficients` scores:

.. math::
    \dot x_k = \sum_{j} C_{kj} \prod_{l} x_l^{E_{jl}},

with exponents :math:`E \in \mathbb N^{p\times d}` and coefficients
:math:`C \in \mathbb R^{d\times p}`.

:func:`dysts_polynomial_systems` reads the flows of Gilpin's ``dysts``
database (an optional dependency, the ``bench`` extra): each flow's
right-hand side is called once with :mod:`sympy` symbols for the states and
the database's parameter values, and kept when every component expands to
a polynomial in the states (no time, no division, no ``abs``, no branch).
The monomials read this way are exact, so the benchmark needs no hand-written
truth.
"""

from __future__ import annotations

import inspect
import json
import sys
import types
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import torch
from torch import Tensor

from dyngraph.systems.odes import ODESystem

__all__ = ["DystsSystem", "dysts_polynomial_systems", "polynomial_system", "read_rhs"]


def polynomial_system(
    name: str,
    state_names: Sequence[str],
    exponents: Any,
    coefficients: Any,
    x0: Sequence[float],
    description: str = "",
) -> ODESystem:
    r"""Build :math:`\dot x_k = \sum_j C_{kj}\prod_l x_l^{E_{jl}}` with its truth.

    Parameters
    ----------
    name : str
        The system's name.
    state_names : sequence of str
        One name per state (``d`` of them).
    exponents : array-like of int, shape ``[p, d]``
        One row of exponents per monomial.
    coefficients : array-like, shape ``[d, p]``
        Coefficient of monomial ``j`` in equation ``k``.
    x0 : sequence of float
        Default initial condition.
    description : str
        The equations in words (default: ``""``).

    Returns
    -------
    ODESystem
        With no parameters; :meth:`~dyngraph.systems.ODESystem.polynomial_terms`
        gives the monomials.

    Raises
    ------
    ValueError
        For mismatched shapes, negative or fractional exponents, or
        non-finite coefficients.
    """
    names = tuple(state_names)
    e = np.asarray(exponents, dtype=np.float64)
    c = np.asarray(coefficients, dtype=np.float64)
    d = len(names)
    if e.ndim != 2 or e.shape[1] != d:
        raise ValueError(f"exponents must have shape [p, {d}], got {list(e.shape)}")
    if c.shape != (d, e.shape[0]):
        raise ValueError(
            f"coefficients must have shape [{d}, {e.shape[0]}], got {list(c.shape)}"
        )
    if np.any(e < 0) or np.any(e != np.round(e)):
        raise ValueError("exponents must be non-negative integers")
    if not np.isfinite(c).all():
        raise ValueError("coefficients must be finite")
    if len(x0) != d:
        raise ValueError(f"x0 has {len(x0)} entries for {d} states")
    powers = [tuple(int(v) for v in row) for row in e]
    table = [
        {powers[j]: float(c[k, j]) for j in range(len(powers)) if c[k, j] != 0.0}
        for k in range(d)
    ]
    e_t, c_t = torch.from_numpy(e), torch.from_numpy(c)

    def function(t: Tensor, x: Tensor, p: Any) -> Tensor:
        monomials = x[..., None, :].pow(e_t.to(x)).prod(dim=-1)
        return monomials @ c_t.to(x).T

    return ODESystem(
        name,
        names,
        {},
        tuple(float(v) for v in x0),
        function,
        lambda p: [dict(row) for row in table],
        description,
    )


@dataclass(frozen=True)
class DystsSystem:
    """A polynomial flow of ``dysts`` with what the benchmark needs.

    Attributes
    ----------
    system : ODESystem
        The flow, from :func:`polynomial_system`.
    degree : int
        Highest total degree of its monomials.
    period : float
        The database's dominant period.
    """

    system: ODESystem
    degree: int
    period: float


def read_rhs(
    rhs: Any, dim: int, params: dict[str, float]
) -> tuple[np.ndarray, np.ndarray] | None:
    """Read a right-hand side ``rhs(x_1, ..., x_d, t, *params)`` symbolically.

    Returns ``(exponents [p, d], coefficients [d, p])`` when every
    component expands to a polynomial in the states with numeric
    coefficients, ``None`` otherwise (time, division, ``abs``, branches,
    numpy functions of a state).
    """
    import sympy as sp

    states = sp.symbols(f"x0:{dim}")
    time = sp.Symbol("t")
    names = list(inspect.signature(rhs).parameters)[dim + 1 :]
    try:
        out = rhs(*states, time, *(params[n] for n in names))
        polys = [sp.Poly(sp.expand(sp.sympify(o)), *states) for o in out]
    except Exception:  # any failure means "not readable as a polynomial"
        return None
    if len(polys) != dim or any(p.free_symbols - set(states) for p in polys):
        return None
    monomials = sorted({m for p in polys for m in p.monoms()})
    exponents = np.array(monomials, dtype=int).reshape(-1, dim)
    coefficients = np.zeros((dim, len(monomials)))
    for k, p in enumerate(polys):
        for m, value in p.terms():
            coefficients[k, monomials.index(m)] = float(value)
    return exponents, coefficients


def _import_flows() -> Any:
    try:
        import dysts.flows as flows
    except ModuleNotFoundError as exc:
        if exc.name == "dysts":
            raise ModuleNotFoundError(
                "the dysts database is an optional dependency: pip install "
                "'dyngraph[bench]' (or pip install dysts)"
            ) from exc
        if not (exc.name or "").startswith("gluonts"):
            raise
        # dysts 0.96 imports gluonts' ArrowWriter at import time, only to
        # export datasets; the flows themselves never use it
        stub = types.ModuleType("gluonts.dataset.arrow")
        stub.ArrowWriter = None  # type: ignore[attr-defined]
        for mod in ("gluonts", "gluonts.dataset"):
            sys.modules.setdefault(mod, types.ModuleType(mod))
        sys.modules["gluonts.dataset.arrow"] = stub
        import dysts.flows as flows
    return flows


def dysts_polynomial_systems(max_degree: int = 4) -> dict[str, DystsSystem]:
    """Every non-delay ``dysts`` flow whose right-hand side is a polynomial.

    Parameters
    ----------
    max_degree : int
        Highest total degree kept (default: ``4``).

    Returns
    -------
    dict of str to DystsSystem
        By the database's name, in its order; initial conditions, parameters
        and periods from the database's metadata.

    Raises
    ------
    ModuleNotFoundError
        When ``dysts`` is not installed.
    """
    flows = _import_flows()
    import dysts

    meta = json.loads(
        (resources.files(dysts) / "data" / "chaotic_attractors.json").read_text()
    )
    out: dict[str, DystsSystem] = {}
    for name, info in meta.items():
        cls = getattr(flows, name, None)
        if cls is None or info.get("delay") or not hasattr(cls, "_rhs"):
            continue
        rhs = getattr(cls._rhs, "py_func", cls._rhs)  # numba-compiled in dysts
        dim = len(info["initial_conditions"])
        read = read_rhs(rhs, dim, info["parameters"])
        if read is None:
            continue
        exponents, coefficients = read
        degree = int(exponents.sum(axis=1).max())
        if degree > max_degree:
            continue
        system = polynomial_system(
            name,
            [f"x{k}" for k in range(dim)],
            exponents,
            coefficients,
            info["initial_conditions"],
            info.get("description", ""),
        )
        out[name] = DystsSystem(system, degree, float(info["period"]))
    return out
