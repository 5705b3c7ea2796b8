r"""Seeded synthetic networks with known ground truth.

* :func:`latent_space_network`: nodes move with piecewise-constant
  velocities in a latent space and interact as inhomogeneous Poisson
  processes with rate :math:`\exp(\beta_i + \beta_j - \lVert x_i(t) -
  x_j(t) \rVert^2)` (the PiVeM model), simulated exactly.
* :func:`signed_faction_network`: a signed temporal network obeying
  structural balance, with recurring pairs.
* :func:`delaunay_graph`: the Delaunay triangulation of random points.

Every generator takes ``seed``: an ``int`` or a
:class:`numpy.random.Generator`; the same seed gives the same output.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
from scipy.spatial import Delaunay
from torch import Tensor

from dyngraph.data.events import EventStream

__all__ = [
    "LatentSpaceTruth",
    "delaunay_graph",
    "latent_space_network",
    "signed_faction_network",
]

Seed = int | np.random.Generator
TensorLike = Tensor | np.ndarray | float | int

# Below this value of w (1 + |m|) (see _segment_integral) the midpoint series
# is used; its truncation error is O((w (1 + |m|))^4) relative.
_SERIES_THRESHOLD = 1e-3


def _rng(seed: Seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (bool, float)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(
            f"seed must be an int or a numpy.random.Generator, got {seed!r}"
        )
    return np.random.default_rng(int(seed))


def _as_float64(value: TensorLike) -> Tensor:
    return torch.as_tensor(value, dtype=torch.float64)


def _segment_integral(
    dx: Tensor, dv: Tensor, bias: Tensor, tau_a: Tensor, length: Tensor
) -> Tensor:
    r"""Integrate :math:`\exp(s - \lVert\Delta x + \tau\Delta v\rVert^2)`.

    Over :math:`\tau \in [\tau_a, \tau_a + L]`, in closed form. With
    :math:`h = \lVert\Delta v\rVert`, :math:`r = \langle\Delta x, \Delta
    v\rangle / h` and :math:`u(\tau) = \tau h + r`, the squared distance
    is :math:`u^2 + \lVert\Delta x\rVert^2 - r^2`, so

    .. math::

        \int \lambda\, d\tau = \frac{\sqrt\pi}{2h}
        e^{s - \lVert\Delta x\rVert^2 + r^2}
        \big[\operatorname{erf}(u_c) - \operatorname{erf}(u_a)\big].

    When :math:`u_a, u_c` share a sign the erf difference cancels; it is
    rewritten with :math:`\operatorname{erfcx}` as
    :math:`\lambda(\tau_a)\operatorname{erfcx}(u_a) - \lambda(\tau_c)
    \operatorname{erfcx}(u_c)` (mirrored for negative arguments). For a
    small :math:`w = hL` the midpoint series :math:`L\,\lambda(\tau_m)
    (1 + (2m^2 - 1) w^2 / 12)`, :math:`m = u(\tau_m)`, is used instead.

    Parameters
    ----------
    dx, dv : Tensor
        Relative position at :math:`\tau = 0` and relative velocity,
        shape ``[..., D]``.
    bias : Tensor
        :math:`s = \beta_i + \beta_j`, shape ``[...]``.
    tau_a, length : Tensor
        Start offset and length (:math:`\ge 0`) of the interval, ``[...]``.
    """

    def rate(tau: Tensor) -> Tensor:
        return torch.exp(bias - (dx + tau.unsqueeze(-1) * dv).square().sum(-1))

    h = dv.norm(dim=-1)
    h_safe = torch.where(h > 0, h, torch.ones_like(h))
    r = (dx * dv).sum(-1) / h_safe
    u_a = tau_a * h + r
    w = length * h
    u_c = u_a + w
    mid = u_a + w / 2
    series = length * rate(tau_a + length / 2) * (1 + (2 * mid**2 - 1) * w**2 / 12)
    rate_a, rate_c = rate(tau_a), rate(tau_a + length)
    positive = rate_a * torch.special.erfcx(u_a) - rate_c * torch.special.erfcx(u_c)
    negative = rate_c * torch.special.erfcx(-u_c) - rate_a * torch.special.erfcx(-u_a)
    min_sq = ((dx * dx).sum(-1) - r**2).clamp(min=0)
    mixed = torch.exp(bias - min_sq) * (torch.erf(u_c) - torch.erf(u_a))
    closed = torch.where(u_a >= 0, positive, torch.where(u_c <= 0, negative, mixed))
    closed = closed * (math.sqrt(math.pi) / 2) / h_safe
    return torch.where(w * (1 + mid.abs()) < _SERIES_THRESHOLD, series, closed)


@dataclass(frozen=True, eq=False)
class LatentSpaceTruth:
    r"""Ground truth of :func:`latent_space_network`.

    Node :math:`i` starts at :math:`x_i^{(0)}` and moves with velocity
    :math:`v_i^{(b)}` in bin :math:`b = [e_b, e_{b+1})`:

    .. math::

        x_i(t) = x_i^{(0)} + \sum_{b' < b} (e_{b'+1} - e_{b'})\, v_i^{(b')}
        + (t - e_b)\, v_i^{(b)}, \qquad
        \lambda_{ij}(t) = \exp\big(\beta_i + \beta_j
        - \lVert x_i(t) - x_j(t)\rVert^2\big).

    Attributes
    ----------
    x0 : Tensor
        Initial positions, ``[num_nodes, dim]`` (float64).
    v : Tensor
        Velocities, ``[num_bins, num_nodes, dim]`` (float64).
    beta : Tensor
        Node biases, ``[num_nodes]`` (float64).
    communities : Tensor
        Community of every node, ``[num_nodes]`` (int64).
    bin_edges : Tensor
        :math:`e_0 = 0 < \dots < e_B = 1`, ``[num_bins + 1]`` (float64).
    """

    x0: Tensor
    v: Tensor
    beta: Tensor
    communities: Tensor
    bin_edges: Tensor

    @property
    def num_nodes(self) -> int:
        """Number of nodes."""
        return int(self.x0.shape[0])

    @property
    def num_bins(self) -> int:
        """Number of velocity bins."""
        return int(self.v.shape[0])

    def bin_start_positions(self) -> Tensor:
        """Positions at the bin edges, ``[num_bins + 1, num_nodes, dim]``."""
        steps = torch.diff(self.bin_edges).view(-1, 1, 1) * self.v
        return self.x0 + torch.cat([torch.zeros_like(self.x0[None]), steps]).cumsum(0)

    def _locate(self, t: Tensor) -> tuple[Tensor, Tensor]:
        """Bin index (clamped to the horizon) and offset of every time."""
        b = torch.searchsorted(self.bin_edges, t.contiguous(), right=True) - 1
        b = b.clamp(0, self.num_bins - 1)
        return b, t - self.bin_edges[b]

    def positions(self, t: TensorLike, nodes: TensorLike | None = None) -> Tensor:
        """Return the latent positions at the times ``t``.

        Parameters
        ----------
        t : float or array-like
            Times, shape ``[T]`` (a scalar counts as ``T = 1``). Outside
            ``[0, 1]`` the first/last bin's velocity is extrapolated.
        nodes : array-like of int, optional
            Node ids, shape ``[M]`` (default: all nodes).

        Returns
        -------
        Tensor
            ``[T, M, dim]`` (float64).
        """
        times = _as_float64(t).reshape(-1)
        b, tau = self._locate(times)
        starts, v = self.bin_start_positions()[:-1], self.v
        if nodes is not None:
            index = torch.as_tensor(nodes, dtype=torch.long).reshape(-1)
            starts, v = starts[:, index], v[:, index]
        return starts[b] + tau.view(-1, 1, 1) * v[b]

    def intensity(self, i: TensorLike, j: TensorLike, t: TensorLike) -> Tensor:
        r"""Return the pair intensity :math:`\lambda_{ij}(t)`.

        Parameters
        ----------
        i, j : int or array-like of int
            Node ids, broadcast against ``t``.
        t : float or array-like
            Times; extrapolated outside ``[0, 1]`` as in :meth:`positions`.

        Returns
        -------
        Tensor
            The broadcast shape of ``i``, ``j`` and ``t`` (float64).
        """
        i_t = torch.as_tensor(i, dtype=torch.long)
        j_t = torch.as_tensor(j, dtype=torch.long)
        i_t, j_t, times = torch.broadcast_tensors(i_t, j_t, _as_float64(t))
        b, tau = self._locate(times)
        starts = self.bin_start_positions()
        dx = starts[b, i_t] - starts[b, j_t]
        dv = self.v[b, i_t] - self.v[b, j_t]
        dist_sq = (dx + tau.unsqueeze(-1) * dv).square().sum(-1)
        return torch.exp(self.beta[i_t] + self.beta[j_t] - dist_sq)

    def integrated_intensity(
        self,
        i: TensorLike,
        j: TensorLike,
        t0: TensorLike = 0.0,
        t1: TensorLike = 1.0,
    ) -> Tensor:
        r"""Return the expected event count :math:`\int_{t_0}^{t_1}\lambda_{ij}\,dt`.

        The interval is split at the bin edges and every piece is
        integrated in closed form (erf/erfcx expression, see
        :func:`_segment_integral`), accurate to about :math:`10^{-12}`
        relative in float64, also for nearly equal velocities.

        Parameters
        ----------
        i, j : int or array-like of int
            Node ids.
        t0, t1 : float or array-like
            Interval bounds with :math:`0 \le t_0 \le t_1 \le 1` (default:
            the whole horizon). All four arguments broadcast together.

        Returns
        -------
        Tensor
            The broadcast shape of the arguments (float64).

        Raises
        ------
        ValueError
            When an interval is reversed or leaves ``[0, 1]``.
        """
        i_t = torch.as_tensor(i, dtype=torch.long)
        j_t = torch.as_tensor(j, dtype=torch.long)
        i_t, j_t, lo, hi = torch.broadcast_tensors(
            i_t, j_t, _as_float64(t0), _as_float64(t1)
        )
        first, last = self.bin_edges[0], self.bin_edges[-1]
        if bool((lo > hi).any() | (lo < first).any() | (hi > last).any()):
            raise ValueError(
                "integrated_intensity needs "
                f"{float(first)} <= t0 <= t1 <= {float(last)}"
            )
        edges = self.bin_edges.view(-1, *([1] * lo.dim()))
        piece_lo = torch.maximum(lo, edges[:-1])
        length = (torch.minimum(hi, edges[1:]) - piece_lo).clamp(min=0)
        starts = self.bin_start_positions()[:-1]
        pieces = _segment_integral(
            starts[:, i_t] - starts[:, j_t],
            self.v[:, i_t] - self.v[:, j_t],
            (self.beta[i_t] + self.beta[j_t]).expand(length.shape),
            piece_lo - edges[:-1],
            length,
        )
        return pieces.sum(0)


def _community_centres(
    rng: np.random.Generator,
    num_communities: int,
    dim: int,
    radius: float,
    amplitude: float,
    times: np.ndarray,
) -> np.ndarray:
    r"""Community centres :math:`c_k(t)` at ``times``, ``[T, K, dim]``.

    :math:`c_k(t) = R\,u_k + A \sin(2\pi f_k t + \varphi_k)` (elementwise
    over dimensions), with directions :math:`u_k` evenly spaced on the
    circle at a random rotation (``dim = 2``) or drawn on the unit sphere, frequencies
    :math:`f_k \in [0.5, 1.5]` and random phases, so communities drift
    towards and away from each other over time.
    """
    if dim == 2:
        angle = 2 * np.pi * np.arange(num_communities) / num_communities
        angle = angle + rng.uniform(0, 2 * np.pi)
        direction = np.stack([np.cos(angle), np.sin(angle)], axis=-1)
    else:
        direction = rng.normal(size=(num_communities, dim))
        direction /= np.linalg.norm(direction, axis=-1, keepdims=True)
    freq = rng.uniform(0.5, 1.5, size=(num_communities, 1))
    phase = rng.uniform(0, 2 * np.pi, size=(num_communities, dim))
    wave = np.sin(2 * np.pi * freq * times[:, None, None] + phase)
    return radius * direction + amplitude * wave


def _check_positive(**values: float) -> None:
    for name, value in values.items():
        if not value > 0:
            raise ValueError(f"{name} must be positive, got {value!r}")


def latent_space_network(
    num_nodes: int = 60,
    num_bins: int = 20,
    dim: int = 2,
    *,
    num_communities: int = 4,
    radius: float = 2.0,
    amplitude: float = 1.5,
    spread: float = 0.35,
    node_speed: float = 0.5,
    beta_mean: float = 1.0,
    beta_std: float = 0.3,
    seed: Seed = 0,
) -> tuple[EventStream, LatentSpaceTruth]:
    r"""Simulate a continuous-time network from the piecewise-velocity model.

    Nodes live in :math:`\mathbb R^D` on the time horizon :math:`[0, 1]`,
    split into ``num_bins`` equal bins. Node :math:`i` of community
    :math:`k` starts at :math:`x_i^{(0)} = c_k(0) + \text{spread}\,
    \varepsilon_i` and moves with the piecewise-constant velocity

    .. math::

        v_i^{(b)} = \frac{c_k(e_{b+1}) - c_k(e_b)}{e_{b+1} - e_b}
        + \text{node\_speed}\ \eta_i^{(b)},

    where :math:`c_k(t) = R u_k + A \sin(2\pi f_k t + \varphi_k)` is a
    smooth community trajectory (communities approach and leave each
    other, so inter-community rates change a lot over time) and
    :math:`\varepsilon, \eta` are standard normal. Biases are
    :math:`\beta_i \sim \mathcal N(\beta_\text{mean}, \beta_\text{std}^2)`.
    Every unordered pair :math:`i < j` then interacts as an inhomogeneous
    Poisson process with intensity

    .. math::

        \lambda_{ij}(t) = \exp\big(\beta_i + \beta_j
        - \lVert x_i(t) - x_j(t)\rVert^2\big).

    Simulation is exact, by thinning per pair and bin: inside bin
    :math:`b` the squared distance is a quadratic in the offset, so its
    minimum on the bin (at :math:`\tau^\ast = \operatorname{clip}(-\langle
    \Delta x, \Delta v\rangle / \lVert\Delta v\rVert^2, 0, \Delta)`) gives
    the maximum rate :math:`\bar\lambda`; candidates arrive at rate
    :math:`\bar\lambda` and are kept with probability
    :math:`\lambda(t) / \bar\lambda`.

    The defaults (60 nodes, 20 bins, 4 communities) give about 3,000
    events in a few milliseconds.

    Parameters
    ----------
    num_nodes : int
        Number of nodes (default: ``60``).
    num_bins : int
        Number of equal velocity bins on ``[0, 1]`` (default: ``20``).
    dim : int
        Latent dimension :math:`D` (default: ``2``).
    num_communities : int
        Number of communities; node :math:`i` is in community
        :math:`\lfloor iK / N\rfloor` (default: ``4``).
    radius : float
        Distance :math:`R` of the community anchors from the origin
        (default: ``2.0``).
    amplitude : float
        Amplitude :math:`A` of the community motion (default: ``1.5``).
    spread : float
        Standard deviation of the initial positions around the community
        centre (default: ``0.35``).
    node_speed : float
        Standard deviation of the node-specific velocity noise (default:
        ``0.5``).
    beta_mean, beta_std : float
        Mean and standard deviation of the node biases (default: ``1.0``,
        ``0.3``).
    seed : int or numpy.random.Generator
        Randomness (default: ``0``).

    Returns
    -------
    stream : EventStream
        Undirected events, each stored once with ``src < dst``, float64
        times in ``[0, 1]``, ``num_nodes`` nodes.
    truth : LatentSpaceTruth
        Positions, velocities, biases, communities and bin edges.

    Raises
    ------
    ValueError
        For non-positive sizes, or when no event was drawn
        (raise ``beta_mean``).
    """
    _check_positive(num_bins=num_bins, dim=dim, num_communities=num_communities)
    if num_nodes < 2:
        raise ValueError(f"latent_space_network needs num_nodes >= 2, got {num_nodes}")
    if num_communities > num_nodes:
        raise ValueError(
            f"num_communities={num_communities} exceeds num_nodes={num_nodes}"
        )
    rng = _rng(seed)
    edges = np.linspace(0.0, 1.0, num_bins + 1)
    width = 1.0 / num_bins
    communities = np.arange(num_nodes) * num_communities // num_nodes
    centres = _community_centres(rng, num_communities, dim, radius, amplitude, edges)
    x0 = centres[0, communities] + spread * rng.normal(size=(num_nodes, dim))
    v = np.diff(centres, axis=0)[:, communities] / width
    v = v + node_speed * rng.normal(size=(num_bins, num_nodes, dim))
    beta = beta_mean + beta_std * rng.normal(size=num_nodes)
    truth = LatentSpaceTruth(
        x0=torch.from_numpy(x0),
        v=torch.from_numpy(v),
        beta=torch.from_numpy(beta),
        communities=torch.from_numpy(communities),
        bin_edges=torch.from_numpy(edges),
    )
    starts = truth.bin_start_positions().numpy()
    row, col = np.triu_indices(num_nodes, k=1)
    bias = beta[row] + beta[col]
    pieces: list[tuple[np.ndarray, np.ndarray]] = []
    for b in range(num_bins):
        dx = starts[b, row] - starts[b, col]
        dv = v[b, row] - v[b, col]
        speed_sq = (dv * dv).sum(-1)
        tau_min = np.clip(
            -(dx * dv).sum(-1) / np.where(speed_sq > 0, speed_sq, 1.0), 0.0, width
        )
        closest = dx + tau_min[:, None] * dv
        bound = np.exp(bias - (closest * closest).sum(-1))
        pair = np.repeat(np.arange(row.shape[0]), rng.poisson(bound * width))
        tau = rng.uniform(0.0, width, size=pair.shape[0])
        gap = dx[pair] + tau[:, None] * dv[pair]
        rate = np.exp(bias[pair] - (gap * gap).sum(-1))
        keep = rng.uniform(size=pair.shape[0]) * bound[pair] < rate
        pieces.append((pair[keep], edges[b] + tau[keep]))
    pair = np.concatenate([p for p, _ in pieces])
    times = np.concatenate([t for _, t in pieces])
    if pair.size == 0:
        raise ValueError(
            "latent_space_network drew no events; raise beta_mean or "
            "num_nodes, or lower the distances (radius, spread)"
        )
    stream = EventStream(
        torch.from_numpy(row[pair]),
        torch.from_numpy(col[pair]),
        torch.from_numpy(times),
        num_nodes=num_nodes,
        name="latent_space",
    )
    return stream, truth


def signed_faction_network(
    num_nodes: int = 100,
    num_factions: int = 2,
    num_events: int = 5000,
    *,
    noise: float = 0.05,
    homophily: float = 0.7,
    repeat: float = 0.5,
    recency: float = 50.0,
    activity_shape: float = 1.5,
    horizon: float = 1.0,
    weighted: bool = True,
    seed: Seed = 0,
) -> tuple[EventStream, Tensor]:
    r"""Simulate a signed temporal network that obeys structural balance.

    Nodes are split into ``num_factions`` factions of near-equal size
    (assigned at random). Relations are friendly inside a faction and
    hostile across factions. Without noise, two factions make every
    triangle balanced (the product of its signs is positive); more
    factions give weak balance (all-negative triangles occur, but never a
    triangle with exactly one negative edge). Event times are a homogeneous
    Poisson process on ``[0, horizon]`` conditioned on ``num_events``
    events (sorted uniform times). Event :math:`n` is

    * with probability ``repeat`` (and :math:`n > 0`), a **repeat** of an
      earlier event :math:`n - g`, :math:`g \sim \text{Geometric}(1 /
      \text{recency})` truncated to :math:`g \le n`: same source,
      destination, sign and weight, so recently active relations recur
      and a memory model has something to learn;
    * otherwise a **new relation**: the source is drawn proportionally to
      a node activity :math:`a_i \sim \text{Pareto}(\text{activity\_shape})`
      (heavy-tailed: some nodes are hubs); with probability
      ``homophily`` the destination is drawn from the source's faction,
      otherwise from the other nodes, in both cases proportionally to
      activity and never the source itself. Its sign is
      :math:`\sigma = +1` within a faction and :math:`-1` across, flipped
      with probability ``noise``; its weight (a rating magnitude, as in
      Bitcoin-OTC) is :math:`1 + \text{Binomial}(9, 0.2)` for a positive
      and :math:`1 + \text{Binomial}(9, 0.4)` for a negative relation.

    So the fraction of events whose sign agrees with the factions is
    :math:`1 - \text{noise}` in expectation. A pair drawn again as a new
    relation gets a fresh sign flip, so a pair's sign can change over time
    and its most recent sign is the best predictor of the next one.

    Parameters
    ----------
    num_nodes : int
        Number of nodes (default: ``100``).
    num_factions : int
        Number of factions, at least 2 (default: ``2``).
    num_events : int
        Number of events (default: ``5000``).
    noise : float
        Probability of flipping a new relation's sign (default: ``0.05``).
    homophily : float
        Probability that a new relation stays inside the source's faction
        (default: ``0.7``).
    repeat : float
        Probability that an event repeats a recent relation (default:
        ``0.5``).
    recency : float
        Mean look-back, in events, of a repeat (default: ``50.0``).
    activity_shape : float
        Pareto shape of the node activities; smaller is more skewed
        (default: ``1.5``).
    horizon : float
        End of the time range (default: ``1.0``).
    weighted : bool
        Attach rating magnitudes as ``weight`` (default: ``True``); the
        signed rating is ``sign * weight``.
    seed : int or numpy.random.Generator
        Randomness (default: ``0``).

    Returns
    -------
    stream : EventStream
        Directed events with ``sign`` (and ``weight``), no self-loops.
    factions : Tensor
        Faction of every node, ``[num_nodes]`` (int64).

    Raises
    ------
    ValueError
        For out-of-range probabilities or sizes.
    """
    if num_factions < 2 or num_nodes < 2 * num_factions:
        raise ValueError(
            "signed_faction_network needs num_factions >= 2 and at least two "
            f"nodes per faction; got num_nodes={num_nodes}, "
            f"num_factions={num_factions}"
        )
    for name, p in (("noise", noise), ("homophily", homophily), ("repeat", repeat)):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{name} must be a probability in [0, 1], got {p}")
    _check_positive(
        num_events=num_events,
        recency=recency,
        activity_shape=activity_shape,
        horizon=horizon,
    )
    rng = _rng(seed)
    factions = rng.permutation(np.arange(num_nodes) % num_factions)
    activity = 1.0 + rng.pareto(activity_shape, size=num_nodes)
    times = np.sort(rng.uniform(0.0, horizon, size=num_events))

    # Which earlier event each event repeats (itself when it is new).
    new = rng.uniform(size=num_events) >= repeat
    new[0] = True
    lag = rng.geometric(1.0 / recency, size=num_events)
    parent = np.arange(num_events)
    parent = np.where(new, parent, np.maximum(parent - lag, 0))
    while True:
        grand = parent[parent]
        if np.array_equal(grand, parent):
            break
        parent = grand

    roots = np.flatnonzero(new)
    src = rng.choice(num_nodes, size=roots.size, p=activity / activity.sum())
    same = rng.uniform(size=roots.size) < homophily
    dst = np.empty_like(src)
    for faction in range(num_factions):
        member = factions == faction
        for inside in (True, False):
            allowed = activity * (member if inside else ~member)
            pending = np.flatnonzero(member[src] & (same == inside))
            while pending.size:  # redraw self-loops; a faction has >= 2 nodes
                dst[pending] = rng.choice(
                    num_nodes, size=pending.size, p=allowed / allowed.sum()
                )
                pending = pending[dst[pending] == src[pending]]
    sign = np.where(factions[src] == factions[dst], 1, -1)
    sign = np.where(rng.uniform(size=roots.size) < noise, -sign, sign)
    magnitude = 1 + rng.binomial(9, np.where(sign > 0, 0.2, 0.4))

    slot = np.empty(num_events, dtype=np.int64)
    slot[roots] = np.arange(roots.size)
    relation = slot[parent]
    stream = EventStream(
        torch.from_numpy(src[relation]),
        torch.from_numpy(dst[relation]),
        torch.from_numpy(times),
        sign=torch.from_numpy(sign[relation]),
        weight=torch.from_numpy(magnitude[relation]) if weighted else None,
        num_nodes=num_nodes,
        name="signed_factions",
    )
    return stream, torch.from_numpy(factions)


def delaunay_graph(
    num_points: int, *, seed: Seed = 0
) -> tuple[sp.csr_matrix, np.ndarray]:
    r"""Delaunay triangulation of uniform random points in the unit square.

    Parameters
    ----------
    num_points : int
        Number of points :math:`n \ge 3`.
    seed : int or numpy.random.Generator
        Randomness (default: ``0``).

    Returns
    -------
    adjacency : scipy.sparse.csr_matrix
        Symmetric ``[n, n]`` float64 matrix with a 1 for every edge of the
        triangulation. It is planar and connected with
        :math:`|E| = 3n - 3 - h \le 3n - 6` edges (:math:`h` points on the
        convex hull).
    points : numpy.ndarray
        The points, ``[n, 2]``.

    Raises
    ------
    ValueError
        When ``num_points < 3``.
    """
    if num_points < 3:
        raise ValueError(f"delaunay_graph needs num_points >= 3, got {num_points}")
    points = _rng(seed).uniform(size=(num_points, 2))
    simplices = Delaunay(points).simplices
    row = simplices[:, [0, 1, 2]].reshape(-1)
    col = simplices[:, [1, 2, 0]].reshape(-1)
    adjacency = sp.coo_matrix(
        (
            np.ones(2 * row.size),
            (np.concatenate([row, col]), np.concatenate([col, row])),
        ),
        shape=(num_points, num_points),
    ).tocsr()
    adjacency.data[:] = 1.0
    return adjacency, points
