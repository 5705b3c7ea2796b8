r"""The neural-operator decoder: a kernel integral over radius neighbourhoods.

A graph neural operator layer (Graph Kernel Network, Li et al. 2020) maps a
function known at source points :math:`y_j` (the sparse particles) to any
set of query points :math:`x`,

.. math::
    u(x) = \frac{1}{|N(x)|}\sum_{y_j \in N(x)} \Big[W f(y_j)
        + \kappa\big((x - y_j)/r,\ f(y_j)\big)\Big],

the Monte-Carlo mean over the neighbourhood
:math:`N(x) = \{y_j : \lVert x - y_j\rVert \le r\}` of a kernel MLP
:math:`\kappa` of the offset and the source value (neuraloperator's
``nonlinear_kernelonly`` transform :math:`\int k(x, y, f(y))\,dy` with mean
reduction; GIOROM's full-order decoder), with a linear skip :math:`W`
(the identity when the channels match: the layer starts as the
neighbourhood mean, the last layer of :math:`\kappa` starting at zero).
Neighbourhoods come from
:func:`dyngraph.data.neighbours.radius` with ``min_neighbours`` nearest
sources added, so no query is left with an empty integral (a departure:
GIOROM's decoder returns zero there).

:func:`nearest_interpolation` is the non-learned peer: each query takes the
value of its nearest source. :func:`moving_least_squares` is the
non-learned smooth interpolant of the ``"flow"`` decoder: a Wendland-weighted
affine least-squares fit around each query, exact for affine fields.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.nn import MessagePassing

from dyngraph.data.neighbours import knn, radius

__all__ = ["KernelIntegral", "moving_least_squares", "nearest_interpolation"]


class KernelIntegral(MessagePassing):
    r"""Mean-aggregated kernel integral from source to query points.

    Parameters
    ----------
    channels : int
        Size of :math:`f(y)`.
    out_channels : int
        Size of :math:`u(x)`.
    coord_dim : int
        Dimension of the points.
    radius : float
        Neighbourhood radius :math:`r`.
    hidden : int
        Width of the two hidden GELU layers of :math:`\kappa` (default: ``64``).
    min_neighbours : int
        Nearest sources always in :math:`N(x)` (default: ``3``).
    """

    def __init__(
        self,
        channels: int,
        out_channels: int,
        coord_dim: int,
        radius: float,
        hidden: int = 64,
        min_neighbours: int = 3,
    ) -> None:
        super().__init__(aggr="mean")
        if not radius > 0:
            raise ValueError(f"KernelIntegral: `radius` must be > 0, got {radius}")
        self.radius, self.min_neighbours = float(radius), int(min_neighbours)
        self.kernel = nn.Sequential(
            nn.Linear(coord_dim + channels, hidden),
            nn.GELU(),
            nn.Linear(hidden, hidden),
            nn.GELU(),
            nn.Linear(hidden, out_channels),
        )
        self.skip = nn.Linear(channels, out_channels, bias=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Reset the kernel MLP (its last layer to zero) and the skip."""
        for layer in self.kernel:
            if isinstance(layer, nn.Linear):
                layer.reset_parameters()
        nn.init.zeros_(self.kernel[-1].weight)
        nn.init.zeros_(self.kernel[-1].bias)
        if self.skip.weight.shape[0] == self.skip.weight.shape[1]:
            with torch.no_grad():
                self.skip.weight.copy_(torch.eye(self.skip.weight.shape[0]))
        else:
            self.skip.reset_parameters()

    def neighbourhoods(self, y: Tensor, x: Tensor) -> Tensor:
        """``[2, E]`` edges from sources ``y`` to queries ``x``."""
        return radius(y, x, self.radius, self.min_neighbours)

    def forward(
        self, y: Tensor, f: Tensor, x: Tensor, edge_index: Tensor | None = None
    ) -> Tensor:
        """Return ``[..., Q, out]`` at ``x`` ``[Q, d]`` from ``f`` ``[..., M, C]``.

        Leading axes of ``f`` (e.g. frames) share the neighbourhoods, which
        are computed once (or passed as ``edge_index``).
        """
        if edge_index is None:
            edge_index = self.neighbourhoods(y, x)
        lead = f.shape[:-2]
        flat = f.reshape(-1, *f.shape[-2:])
        out = torch.stack(
            [
                self.propagate(
                    edge_index, pos=(y, x), f=(g, None), size=(len(y), len(x))
                )
                for g in flat
            ]
        )
        return out.reshape(*lead, len(x), -1)

    def message(self, pos_i: Tensor, pos_j: Tensor, f_j: Tensor) -> Tensor:
        r"""Return the integrand :math:`W f_j + \kappa((x_i - y_j)/r, f_j)`."""
        offset = (pos_i - pos_j) / self.radius
        return self.skip(f_j) + self.kernel(torch.cat([offset, f_j], -1))


def nearest_interpolation(y: Tensor, f: Tensor, x: Tensor) -> Tensor:
    """Return ``[..., Q, C]``: each query takes ``f`` of its nearest ``y``."""
    return f[..., knn(y, x, 1)[:, 0], :]


def moving_least_squares(
    y: Tensor, f: Tensor, x: Tensor, r: float, min_neighbours: int = 3
) -> Tensor:
    r"""Affine moving-least-squares interpolation of ``f`` from ``y`` to ``x``.

    At every query :math:`x` the local affine model
    :math:`f(y) \approx c + B\,(y - x)/r` is fitted by weighted least
    squares over :math:`N(x)` (radius ``r`` plus the ``min_neighbours``
    nearest sources, at least :math:`2(d + 1)` so that near-collinear sets
    do not leave the gradient to the ridge), with Wendland C2 weights
    :math:`w = (1 - q)^4 (1 + 4q)`, :math:`q = \min(\lVert y - x\rVert/r, 1)`
    (floored at :math:`10^{-3}` so the added nearest sources count), and
    :math:`\hat f(x) = c`:

    .. math::
        \begin{bmatrix} c \\ B^\top \end{bmatrix}
        = \Big(\sum_j w_j p_j p_j^\top + \epsilon I\Big)^{-1}
          \sum_j w_j p_j f_j^\top,\quad p_j = [1, (y_j - x)/r],

    with a ridge :math:`\epsilon = 10^{-8} \sum_j w_j` on the gradient block only,
    against degenerate (e.g. collinear) neighbourhoods. Constant fields are
    reproduced exactly, affine ones up to the ridge.

    Parameters
    ----------
    y : Tensor
        ``[M, d]`` sources.
    f : Tensor
        ``[M, C]`` values at the sources.
    x : Tensor
        ``[Q, d]`` queries.
    r : float
        Support radius.
    min_neighbours : int
        Nearest sources always used (default: ``3``; raised to ``2(d + 1)``).

    Returns
    -------
    Tensor
        ``[Q, C]``.
    """
    if f.dim() != 2 or len(f) != len(y):
        raise ValueError(
            f"moving_least_squares: `f` must be [{len(y)}, C], got {list(f.shape)}"
        )
    dim = y.shape[1]
    src, dst = radius(y, x, r, max(int(min_neighbours), 2 * dim + 2))
    offset = (y[src] - x[dst]) / r
    q = offset.norm(dim=-1).clamp(max=1.0)
    w = ((1 - q) ** 4 * (1 + 4 * q)).clamp_min(1e-3)
    p = torch.cat([torch.ones_like(q)[:, None], offset], 1)  # [E, d + 1]
    wp = w[:, None] * p
    gram = x.new_zeros(len(x), dim + 1, dim + 1).index_add_(
        0, dst, wp[:, :, None] * p[:, None, :]
    )
    rhs = x.new_zeros(len(x), dim + 1, f.shape[1]).index_add_(
        0, dst, wp[:, :, None] * f[src][:, None, :]
    )
    ridge = torch.ones(dim + 1, dtype=x.dtype, device=x.device)
    ridge[0] = 0.0  # on the gradient only: constants stay exact
    scale = gram[:, :1, :1]  # the total weight: a scale-free ridge
    return torch.linalg.solve(gram + 1e-8 * scale * torch.diag(ridge), rhs)[:, 0]
