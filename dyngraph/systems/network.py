r"""Dynamics on networks: :math:`\dot x_i = f(x_i) + \sum_j A_{ij}\, g(x_i, x_j)`.

Node :math:`i` carries a state :math:`x_i \in \mathbb R^d`; :math:`A_{ij}`
is the weight with which node :math:`j` acts on node :math:`i`. The sum is
evaluated edge-wise: :math:`g` is computed once per edge :math:`(j \to i)`
and scattered into the target node with :meth:`torch.Tensor.index_add`, so a
step costs :math:`O(|E|)` and never loops over nodes.

Graphs are accepted as a scipy sparse matrix or a dense array (both read as
:math:`A_{ij}`), a :class:`networkx.Graph`, or an
:class:`~dyngraph.data.EventStream`: an event :math:`s \to d` means that
:math:`s` acts on :math:`d`, so the adjacency is the transpose of
:func:`dyngraph.data.to_static` (``directed=False`` symmetrises it).

Built-in families (literature forms; Barzel & Barabási 2013 and Gao, Barzel
& Barabási 2016 for the regulatory and mutualistic models):

=========================  ==================================================
:func:`kuramoto`           :math:`f=\omega_i,\ g=K\sin(x_j-x_i)`
:func:`heat_diffusion`     :math:`f=0,\ g=k(x_j-x_i)`
:func:`sis`                :math:`f=-\delta x_i,\ g=\beta(1-x_i)x_j`
:func:`michaelis_menten`   :math:`f=-Bx_i,\ g=x_j^h/(1+x_j^h)`
:func:`mutualistic`        :math:`f=b+x_i(1-x_i/K)(x_i/C-1),\
                           g=x_ix_j/(D+Ex_i+Hx_j)`
:func:`coupled_rossler`    Rössler :math:`f`, :math:`g=\kappa(x_j-x_i)` on
                           the first component
:func:`coupled_fitzhugh_nagumo`  FitzHugh-Nagumo :math:`f`,
                           :math:`g=\kappa(v_j-v_i)` on the voltage
=========================  ==================================================
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import networkx as nx
import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor

from dyngraph.data.events import EventStream
from dyngraph.data.snapshots import to_static
from dyngraph.systems.odes import Params

__all__ = [
    "NetworkDynamics",
    "as_adjacency",
    "coupled_fitzhugh_nagumo",
    "coupled_rossler",
    "heat_diffusion",
    "kuramoto",
    "michaelis_menten",
    "mutualistic",
    "network_dynamics",
    "sis",
]

Graph = sp.spmatrix | sp.sparray | np.ndarray | Tensor | nx.Graph | EventStream
SelfFn = Callable[[Tensor, Params], Tensor]
PairFn = Callable[[Tensor, Tensor, Params], Tensor]


def as_adjacency(graph: Graph, *, directed: bool = True) -> sp.csr_matrix:
    r"""Return the weighted adjacency :math:`A` (:math:`A_{ij}`: j acts on i).

    Parameters
    ----------
    graph : scipy sparse, array, tensor, networkx graph or EventStream
        The graph; see the module documentation for the conventions.
    directed : bool
        For an :class:`~dyngraph.data.EventStream`, keep the direction of
        the events (default: ``True``); other inputs are used as given.

    Returns
    -------
    scipy.sparse.csr_matrix
        ``float64``, shape ``[N, N]``.
    """
    if isinstance(graph, EventStream):
        adj = to_static(graph, value="binary", directed=directed).T
    elif isinstance(graph, nx.Graph):
        adj = nx.to_scipy_sparse_array(graph, weight="weight", format="csr")
    elif isinstance(graph, Tensor):
        adj = graph.detach().cpu().numpy()
    else:
        adj = graph
    if not sp.issparse(adj):
        adj = np.asarray(adj, dtype=np.float64)
    if adj.ndim != 2 or adj.shape[0] != adj.shape[1]:
        raise ValueError(
            f"the adjacency must be a square [N, N] matrix, got shape {list(adj.shape)}"
        )
    adj = sp.csr_matrix(adj, dtype=np.float64)
    if not np.isfinite(adj.data).all():
        raise ValueError("the adjacency has non-finite entries (NaN or inf)")
    adj.eliminate_zeros()
    return adj


class NetworkDynamics:
    r"""Node dynamics :math:`\dot x_i = f(x_i) + \sum_j A_{ij}\, g(x_i, x_j)`.

    Parameters
    ----------
    graph : scipy sparse, array, tensor, networkx graph or EventStream
        The coupling graph (see :func:`as_adjacency`).
    f : callable
        ``f(x, p) -> [..., N, d]``, the node term for states ``x`` of shape
        ``[..., N, d]``.
    g : callable
        ``g(x_i, x_j, p) -> [..., E, d]``, the pair term evaluated on the
        target and source states of every edge (shape ``[..., E, d]``).
    dim : int
        State dimension :math:`d` per node (default: ``1``).
    params : dict, optional
        Default parameters: floats, or per-node arrays of shape ``[N]`` for
        ``f`` (``g`` should only use scalars).
    name : str
        A label (default: ``"custom"``).
    state_names : tuple of str, optional
        Names of the ``d`` node components (default: ``x``, or ``x0 ...``).
    x0 : array-like, optional
        Default initial condition ``[N, d]`` (default: seeded uniform
        :math:`[0, 1)`).
    directed : bool
        Passed to :func:`as_adjacency` for event streams (default: ``True``).
    """

    def __init__(
        self,
        graph: Graph,
        f: SelfFn,
        g: PairFn,
        *,
        dim: int = 1,
        params: Mapping[str, Any] | None = None,
        name: str = "custom",
        state_names: tuple[str, ...] | None = None,
        x0: Any = None,
        directed: bool = True,
    ) -> None:
        self.adjacency = as_adjacency(graph, directed=directed)
        coo = self.adjacency.tocoo()
        self.target = torch.as_tensor(coo.row, dtype=torch.long)
        self.source = torch.as_tensor(coo.col, dtype=torch.long)
        self.weight = torch.as_tensor(coo.data, dtype=torch.float64)
        self.f, self.g, self.dim, self.name = f, g, int(dim), name
        self.params = {k: _param(v) for k, v in (params or {}).items()}
        for key, value in self.params.items():
            if isinstance(value, Tensor) and value.shape not in ((), (self.num_nodes,)):
                raise ValueError(
                    f"parameter {key!r} must be a scalar or have one value per "
                    f"node ({self.num_nodes}), got shape {list(value.shape)}"
                )
        self.state_names = state_names or (
            ("x",) if dim == 1 else tuple(f"x{k}" for k in range(dim))
        )
        if x0 is None:
            x0 = np.random.default_rng(0).uniform(size=(self.num_nodes, self.dim))
        self.x0 = torch.as_tensor(np.asarray(x0, dtype=np.float64))
        if tuple(self.x0.shape) != self.state_shape:
            raise ValueError(
                f"x0 must have shape {list(self.state_shape)}, got "
                f"{list(self.x0.shape)}"
            )

    def __repr__(self) -> str:
        return (
            f"NetworkDynamics(name={self.name!r}, num_nodes={self.num_nodes}, "
            f"num_edges={self.num_edges}, dim={self.dim})"
        )

    @property
    def num_nodes(self) -> int:
        """Number of nodes :math:`N`."""
        return self.adjacency.shape[0]

    @property
    def num_edges(self) -> int:
        """Number of non-zero :math:`A_{ij}`."""
        return int(self.adjacency.nnz)

    @property
    def state_shape(self) -> tuple[int, int]:
        """Shape of one state, ``(N, d)``."""
        return (self.num_nodes, self.dim)

    def resolve_params(self, params: Params | None = None) -> dict[str, Any]:
        """Defaults overridden by ``params``; unknown names raise ``KeyError``."""
        out: dict[str, Any] = dict(self.params)
        for key, value in (params or {}).items():
            if key not in self.params:
                raise KeyError(
                    f"{self.name!r} has no parameter {key!r}; its parameters are "
                    f"{sorted(self.params)}"
                )
            out[key] = value
        return out

    def coupling(self, x: Tensor, params: Params | None = None) -> Tensor:
        r"""Compute :math:`\sum_j A_{ij}\, g(x_i, x_j)` for states ``[..., N, d]``."""
        p = self.resolve_params(params)
        device = x.device
        target, source = self.target.to(device), self.source.to(device)
        pair = self.g(x.index_select(-2, target), x.index_select(-2, source), p)
        pair = pair * self.weight.to(device=device, dtype=x.dtype)[:, None]
        out = torch.zeros(x.shape, dtype=pair.dtype, device=device)
        return out.index_add(-2, target, pair)

    def rhs(self, t: Tensor | float, x: Tensor, params: Params | None = None) -> Tensor:
        r"""Evaluate :math:`\dot x` for states ``x`` of shape ``[..., N, d]``."""
        if tuple(x.shape[-2:]) != self.state_shape:
            raise ValueError(
                f"the graph has {self.num_nodes} nodes with {self.dim} states "
                f"each, so x must end in {list(self.state_shape)}, got "
                f"{list(x.shape)}"
            )
        p = _on(self.resolve_params(params), x)
        return self.f(x, p) + self.coupling(x, p)


def _param(value: Any) -> Any:
    if isinstance(value, int | float):
        return float(value)
    return torch.as_tensor(np.asarray(value, dtype=np.float64))


def _on(params: dict[str, Any], x: Tensor) -> dict[str, Any]:
    return {
        k: v.to(device=x.device, dtype=x.dtype) if isinstance(v, Tensor) else v
        for k, v in params.items()
    }


def _node(value: Any) -> Any:
    """Reshape a per-node parameter ``[..., N]`` to a column ``[..., N, 1]``."""
    return value.unsqueeze(-1) if isinstance(value, Tensor) and value.dim() else value


def network_dynamics(
    graph: Graph, f: SelfFn, g: PairFn, **kwargs: Any
) -> NetworkDynamics:
    r"""General dynamics :math:`\dot x_i = f(x_i) + \sum_j A_{ij} g(x_i, x_j)`.

    A function form of :class:`NetworkDynamics`; see there for the
    arguments.
    """
    return NetworkDynamics(graph, f, g, **kwargs)


def kuramoto(
    graph: Graph, omega: float | Any = 1.0, coupling: float = 0.5, **kwargs: Any
) -> NetworkDynamics:
    r"""Kuramoto phase oscillators.

    .. math::
        \dot\theta_i = \omega_i + K \sum_j A_{ij} \sin(\theta_j - \theta_i).

    Parameters
    ----------
    graph
        The coupling graph.
    omega : float or array-like ``[N]``
        Natural frequencies (default: ``1.0``).
    coupling : float
        :math:`K` (default: ``0.5``).
    **kwargs
        Passed to :class:`NetworkDynamics` (e.g. ``x0``).
    """
    kwargs.setdefault("state_names", ("theta",))
    return NetworkDynamics(
        graph,
        lambda x, p: torch.zeros_like(x) + _node(p["omega"]),
        lambda xi, xj, p: p["K"] * torch.sin(xj - xi),
        params={"omega": omega, "K": coupling},
        name="kuramoto",
        **kwargs,
    )


def heat_diffusion(graph: Graph, rate: float = 1.0, **kwargs: Any) -> NetworkDynamics:
    r"""Heat diffusion :math:`\dot x_i = k\sum_j A_{ij}(x_j - x_i) = -k (Lx)_i`.

    :math:`L = D - A` with :math:`D = \mathrm{diag}(\sum_j A_{ij})`, so
    :math:`x(t) = e^{-kLt}x(0)`.
    """
    return NetworkDynamics(
        graph,
        lambda x, p: torch.zeros_like(x),
        lambda xi, xj, p: p["k"] * (xj - xi),
        params={"k": rate},
        name="heat_diffusion",
        **kwargs,
    )


def sis(
    graph: Graph, infection: float = 0.5, recovery: float = 1.0, **kwargs: Any
) -> NetworkDynamics:
    r"""SIS epidemic (mean field).

    .. math::
        \dot x_i = -\delta x_i + \beta\sum_j A_{ij}(1-x_i)x_j.

    ``x_i`` is the probability that node ``i`` is infected; ``infection`` is
    :math:`\beta` (default: ``0.5``) and ``recovery`` :math:`\delta`
    (default: ``1.0``).
    """
    return NetworkDynamics(
        graph,
        lambda x, p: -p["delta"] * x,
        lambda xi, xj, p: p["beta"] * (1 - xi) * xj,
        params={"beta": infection, "delta": recovery},
        name="sis",
        **kwargs,
    )


def michaelis_menten(
    graph: Graph, degradation: float = 1.0, hill: float = 2.0, **kwargs: Any
) -> NetworkDynamics:
    r"""Michaelis-Menten gene regulation.

    .. math::
        \dot x_i = -B x_i + \sum_j A_{ij} \frac{x_j^h}{1 + x_j^h},

    with degradation :math:`B` (default: ``1.0``) and Hill coefficient
    :math:`h` (default: ``2.0``); states must stay non-negative.
    """
    return NetworkDynamics(
        graph,
        lambda x, p: -p["B"] * x,
        lambda xi, xj, p: xj.clamp(min=0) ** p["h"] / (1 + xj.clamp(min=0) ** p["h"]),
        params={"B": degradation, "h": hill},
        name="michaelis_menten",
        **kwargs,
    )


def mutualistic(
    graph: Graph,
    b: float = 0.1,
    K: float = 5.0,
    C: float = 1.0,
    D: float = 5.0,
    E: float = 0.9,
    H: float = 0.1,
    **kwargs: Any,
) -> NetworkDynamics:
    r"""Mutualistic population dynamics (Gao, Barzel & Barabási 2016).

    .. math::
        \dot x_i = b + x_i\Big(1-\frac{x_i}{K}\Big)\Big(\frac{x_i}{C}-1\Big)
        + \sum_j A_{ij}\frac{x_i x_j}{D + E x_i + H x_j}.
    """
    return NetworkDynamics(
        graph,
        lambda x, p: p["b"] + x * (1 - x / p["K"]) * (x / p["C"] - 1),
        lambda xi, xj, p: xi * xj / (p["D"] + p["E"] * xi + p["H"] * xj),
        params={"b": b, "K": K, "C": C, "D": D, "E": E, "H": H},
        name="mutualistic",
        **kwargs,
    )


def _first(diff: Tensor) -> Tensor:
    """Keep the first component of a pair term, zero the others."""
    mask = torch.zeros(diff.shape[-1], dtype=diff.dtype, device=diff.device)
    mask[0] = 1
    return diff * mask


def coupled_rossler(
    graph: Graph,
    a: float = 0.2,
    b: float = 0.2,
    c: float = 5.7,
    coupling: float = 0.1,
    **kwargs: Any,
) -> NetworkDynamics:
    r"""Rössler oscillators diffusively coupled through :math:`x`.

    .. math::
        \dot x_i = -y_i - z_i + \kappa\sum_j A_{ij}(x_j - x_i),\quad
        \dot y_i = x_i + a y_i,\quad \dot z_i = b + z_i(x_i - c).
    """

    def f(x: Tensor, p: Params) -> Tensor:
        u, v, w = x.unbind(-1)
        return torch.stack([-v - w, u + p["a"] * v, p["b"] + w * (u - p["c"])], -1)

    kwargs.setdefault(
        "x0", np.random.default_rng(0).uniform(-1, 1, size=(_size(graph), 3))
    )
    return NetworkDynamics(
        graph,
        f,
        lambda xi, xj, p: p["kappa"] * _first(xj - xi),
        dim=3,
        params={"a": a, "b": b, "c": c, "kappa": coupling},
        name="coupled_rossler",
        state_names=("x", "y", "z"),
        **kwargs,
    )


def coupled_fitzhugh_nagumo(
    graph: Graph,
    a: float = 0.7,
    b: float = 0.8,
    tau: float = 12.5,
    current: float = 0.5,
    coupling: float = 0.1,
    **kwargs: Any,
) -> NetworkDynamics:
    r"""FitzHugh-Nagumo neurons coupled through the voltage.

    .. math::
        \dot v_i = v_i - v_i^3/3 - w_i + I + \kappa\sum_j A_{ij}(v_j - v_i),
        \quad \dot w_i = (v_i + a - b w_i)/\tau.
    """

    def f(x: Tensor, p: Params) -> Tensor:
        v, w = x.unbind(-1)
        dv = v - v**3 / 3 - w + p["I"]
        return torch.stack([dv, (v + p["a"] - p["b"] * w) / p["tau"]], -1)

    kwargs.setdefault(
        "x0", np.random.default_rng(0).uniform(-2, 2, size=(_size(graph), 2))
    )
    return NetworkDynamics(
        graph,
        f,
        lambda xi, xj, p: p["kappa"] * _first(xj - xi),
        dim=2,
        params={"a": a, "b": b, "tau": tau, "I": current, "kappa": coupling},
        name="coupled_fitzhugh_nagumo",
        state_names=("v", "w"),
        **kwargs,
    )


def _size(graph: Graph) -> int:
    return as_adjacency(graph).shape[0]
