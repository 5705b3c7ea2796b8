r"""PiVeM: the Piecewise-Velocity Model for continuous-time dynamic networks.

Celikkanat, Nakis and Mørup, *Piecewise-Velocity Model for Learning
Continuous-time Dynamic Node Representations*, LoG 2022.

Every node :math:`i` moves in :math:`\mathbb R^D` along a continuous,
piecewise-linear trajectory: the horizon :math:`[0, T]` is cut into
:math:`B` equal bins of width :math:`\Delta = T / B` and inside bin
:math:`b = [t_b, t_{b+1})` the node moves with the constant velocity
:math:`v_i^{(b)}`,

.. math::

    x_i(t) = x_i^{(0)} + \Delta \sum_{b' < b(t)} v_i^{(b')}
    + (t - t_{b(t)})\, v_i^{(b(t))}.

The events of an unordered pair :math:`\{i, j\}` form an inhomogeneous
Poisson process with intensity

.. math::

    \lambda_{ij}(t) = \exp\big(\beta_i + \beta_j
    - \lVert x_i(t) - x_j(t)\rVert^2\big),

and the log-likelihood of the events :math:`\mathcal E` is

.. math::

    \log p(\mathcal E) = \sum_{i<j}\Big[\sum_{e \in \mathcal E_{ij}}
    \log\lambda_{ij}(t_e) - \int_0^T \lambda_{ij}(t)\,dt\Big].

The event term is computed from per-(pair, bin) sufficient statistics
(:class:`BinStatistics`), the integral in closed form bin by bin
(:func:`segment_integral`), and a Kronecker-structured Gaussian-process
prior (:meth:`PiVeM.neg_log_prior`) makes velocities smooth in time and
correlated within soft communities.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from dyngraph.data.events import EventStream
from dyngraph.training import FitResult, checkpoint, distributed, fit

__all__ = [
    "FORECAST_RULES",
    "BinStatistics",
    "NodeBatch",
    "PiVeM",
    "bin_statistics",
    "segment_integral",
    "to_unit_interval",
    "worker_threads",
]

# Below this value of max(|p|, q) (see segment_integral) the fourth-order
# midpoint series is used; its relative truncation error is O(max^6) and the
# closed form's cancellation error is O(eps / max), so both stay below about
# 1e-11 in float64 and 1e-6 in float32.
_SERIES_THRESHOLD = 1e-2
_JITTER = 1e-5
# bytes of temporaries and autograd buffers per (pair, bin) cell while a
# block's value and gradient are computed (measured peak: about 0.8 KB)
_BYTES_PER_CELL = 1024
_MAX_BLOCK_CELLS = 1 << 16
# a worker thread of the blocked integral per this many (pair, bin) cells:
# below it, handing blocks to threads costs more than it saves
_CELLS_PER_WORKER = 1 << 17
_BLOCKS_PER_WORKER = 8
_MIN_BLOCK_CELLS = 1 << 12
_EXTRAPOLATION = ("static", "last_velocity")
FORECAST_RULES = ("diffuse", "recent", "static", "last_velocity", "integrated")


_WORKERS = threading.local()


@contextlib.contextmanager
def worker_threads(workers: int | None = None) -> Iterator[int]:
    r"""Run PiVeM steps on ``workers`` worker threads with single-threaded kernels.

    Inside the context torch's intra-op threads are set to 1 and the blocks
    of :meth:`PiVeM.integral_term` are shared out among ``workers`` Python
    threads (default: ``torch.get_num_threads()`` on entry). A step is
    thousands of small kernels; split over intra-op threads each of them
    ends in a synchronisation, and the idle threads spin, so on a machine
    where other processes hold the cores two threads were up to 5x slower
    than one. Here only the big part, the integral over all pairs, is
    parallel, with one synchronisation per block. :meth:`PiVeM.fit` runs
    inside this context.

    Yields
    ------
    int
        The number of workers.
    """
    threads = torch.get_num_threads()
    workers = threads if workers is None else int(workers)
    if workers < 1:
        raise ValueError(f"worker_threads: `workers` must be >= 1, got {workers}")
    previous = getattr(_WORKERS, "count", None)
    _WORKERS.count = workers
    torch.set_num_threads(1)
    try:
        yield workers
    finally:
        torch.set_num_threads(threads)
        _WORKERS.count = previous


def _worker_count() -> int:
    count = getattr(_WORKERS, "count", None)
    return torch.get_num_threads() if count is None else count


class _WorkerTuner:
    r"""Worker count of the blocked integral, chosen from measured speed.

    Whether a second worker thread helps depends on what else runs on the
    cores: on a quiet machine two workers share the blocks; where other
    processes hold the cores, each worker thread waits for the interpreter
    lock held by a descheduled sibling after every kernel, and two were
    slower than one. No work-size rule gets both cases right, so the
    choice is measured: the first calls try ``most`` workers and one
    worker, later calls use ``most`` workers only where their running mean
    of seconds per (pair, bin) cell (half weight to the last call) is below
    ``margin`` times that of one worker, and the other count is tried
    again after ``explore_every`` calls, so the choice follows a changing
    load. Each re-check that leaves the choice as it was doubles the wait
    before the next one (up to ``max_every`` calls), so a losing count
    costs little once the choice is settled; a change resets the wait. A
    re-check's time replaces the count's stale mean. On a machine whose
    other processes hold the cores (load average about 3 on 2 cores) two
    workers took 1.1-1.9x as long as one for Dept3 and a 300-node graph;
    on a quiet one they were faster.
    """

    def __init__(
        self, explore_every: int = 8, margin: float = 0.9, max_every: int = 32
    ) -> None:
        self.explore_every = explore_every
        self.max_every = max(max_every, explore_every)
        self.margin = margin
        self.seconds_per_cell: dict[int, float] = {}
        self.calls = 0
        self.wait = explore_every
        self.next_check = explore_every
        self.best: int | None = None
        self.exploring: int | None = None

    def choose(self, most: int) -> int:
        """Workers for the next call, at most ``most``."""
        if most <= 1:
            return 1
        self.calls += 1
        options = (most, 1)
        for workers in options:
            if workers not in self.seconds_per_cell:
                return workers
        rate = self.seconds_per_cell
        # more workers only when clearly faster: a tie goes to one worker
        best = most if rate[most] < self.margin * rate[1] else 1
        if self.best is not None and best != self.best:
            self.wait = self.explore_every  # the last re-check changed it
            self.next_check = self.calls + self.wait
        elif self.calls >= self.next_check:
            if self.best is not None:  # a re-check confirmed the choice
                self.wait = min(2 * self.wait, self.max_every)
            self.next_check = self.calls + self.wait
            self.best = best
            self.exploring = options[1] if best == options[0] else options[0]
            return self.exploring
        self.best = best
        return best

    def record(self, workers: int, seconds: float, cells: int) -> None:
        """Add a call's time on ``workers`` workers for ``cells`` cells.

        A re-check's time replaces the count's old (stale) mean.
        """
        rate = seconds / max(1, cells)
        old = self.seconds_per_cell.get(workers)
        if workers == self.exploring:
            old, self.exploring = None, None
        self.seconds_per_cell[workers] = rate if old is None else (old + rate) / 2


def segment_integral(
    dx: Tensor, dv: Tensor, bias: Tensor, tau: Tensor | float, length: Tensor | float
) -> Tensor:
    r"""Integrate :math:`\exp(s - \lVert\Delta x + \tau\,\Delta v\rVert^2)` exactly.

    The integral runs over :math:`\tau \in [\tau_0, \tau_0 + L]`. With
    :math:`h = \lVert\Delta v\rVert`, the squared distance along the
    segment is :math:`u(\tau)^2 + d_\ast^2` with
    :math:`u(\tau) = \langle\Delta x + \tau\Delta v, \Delta v\rangle / h`
    and :math:`d_\ast` the distance of closest approach, so

    .. math::

        \int_{\tau_0}^{\tau_0 + L} \lambda\,d\tau
        = \frac{\sqrt\pi}{2h}\, e^{s - d_\ast^2}
          \big[\operatorname{erf}(u_1) - \operatorname{erf}(u_0)\big].

    It is evaluated in a numerically stable form. With
    :math:`\operatorname{erfcx}(u) = e^{u^2}\operatorname{erfc}(u)` and the
    rates :math:`\lambda_k = e^{s - d_\ast^2 - u_k^2}` at the two ends, the
    difference of erfs is rewritten, mirroring the segment when it ends
    before the closest approach, with complementary error functions of
    non-negative arguments only:

    .. math::

        \int \lambda\,d\tau = \frac{\sqrt\pi}{2h}\times\begin{cases}
        \lambda_0\operatorname{erfcx}(u_0) - \lambda_1\operatorname{erfcx}(u_1)
            & 0 \le u_0,\\
        \lambda_1\operatorname{erfcx}(-u_1) - \lambda_0\operatorname{erfcx}(-u_0)
            & u_1 \le 0,\\
        2e^{s - d_\ast^2} - \lambda_0\operatorname{erfcx}(-u_0)
            - \lambda_1\operatorname{erfcx}(u_1) & u_0 < 0 < u_1,
        \end{cases}

    computed as :math:`\lambda_k\operatorname{erfcx}(|u_k|) = e^{s -
    d_\ast^2}\operatorname{erfc}(|u_k|)`, i.e. with signs
    :math:`\sigma_k = \pm 1` of :math:`u_k` (:math:`\sigma_0 = 1` at
    :math:`u_0 = 0`),

    .. math::

        \int \lambda\,d\tau = \frac{\sqrt\pi}{2h}\, e^{s - d_\ast^2}
        \big[\sigma_0\operatorname{erfc}|u_0| - \sigma_1\operatorname{erfc}|u_1|
        + \sigma_1 - \sigma_0\big].

    No term is a difference of erfs close to :math:`\pm 1`, so nothing
    cancels in the tails (where :math:`\operatorname{erf}(u_1) -
    \operatorname{erf}(u_0)` rounds to zero for :math:`|u| \gtrsim 6`); a
    term underflows only where the rate at that end underflows, since
    :math:`d_\ast^2 + u_k^2` is the squared distance there. By
    Cauchy-Schwarz :math:`d_\ast^2 \ge 0`, so nothing overflows. The
    ``erfc`` form is used instead of ``erfcx`` because it is the same
    quantity and an order of magnitude faster on CPU.

    For a short or slow segment, with :math:`p = L\langle\Delta x_m, \Delta v\rangle`
    (:math:`\Delta x_m` at the midpoint :math:`\tau_m`) and :math:`q = Lh`
    both below ``1e-2``, the midpoint series

    .. math::

        L\,\lambda(\tau_m)\Big(1 + \frac{2p^2 - q^2}{12}
        + \frac{q^4/2 - 2p^2q^2 + 2p^4/3}{80}\Big)

    is used instead: a polynomial in :math:`\Delta v`, so the value and
    its gradient are exact and finite at :math:`\Delta v = 0`.

    Parameters
    ----------
    dx : Tensor
        Relative position :math:`x_i - x_j` at :math:`\tau = 0`, ``[..., D]``.
    dv : Tensor
        Relative velocity :math:`v_i - v_j`, ``[..., D]``.
    bias : Tensor
        Log-rate offset :math:`s = \beta_i + \beta_j`, ``[...]``.
    tau : Tensor or float
        Start :math:`\tau_0` of the segment, broadcast against ``bias``.
    length : Tensor or float
        Length :math:`L \ge 0` of the segment, broadcast against ``bias``.

    Returns
    -------
    Tensor
        The integral, the broadcast shape of ``bias``, ``tau`` and ``length``.
    """
    return _segment_integral_gram(
        dx.square().sum(-1), (dx * dv).sum(-1), dv.square().sum(-1), bias, tau, length
    )


def _segment_integral_gram(
    x2: Tensor,
    xv: Tensor,
    v2: Tensor,
    bias: Tensor,
    tau: Tensor | float,
    length: Tensor | float,
) -> Tensor:
    r""":func:`segment_integral` from the Gram entries.

    The inputs are :math:`\lVert\Delta x\rVert^2`,
    :math:`\langle\Delta x, \Delta v\rangle` and :math:`\lVert\Delta
    v\rVert^2`. With the segment start :math:`\Delta x_0 = \Delta x +
    \tau_0\Delta v`, :math:`u_0 = \langle\Delta x_0, \Delta v\rangle / h`,
    :math:`u_1 = u_0 + Lh` and :math:`d_\ast^2 = \lVert\Delta x_0\rVert^2 -
    u_0^2`.
    """
    if isinstance(tau, (int, float)) and tau == 0:
        a0, d0 = xv, x2
    else:
        tau = torch.as_tensor(tau, dtype=x2.dtype, device=x2.device)
        a0 = xv + tau * v2
        d0 = x2 + tau * (xv + a0)
    if not isinstance(length, (int, float)):
        length = torch.as_tensor(length, dtype=x2.dtype, device=x2.device)
    half = length / 2
    a_mid = a0 + half * v2
    p = length * a_mid
    q2 = v2 * length**2
    thr = _SERIES_THRESHOLD
    use_series = (q2 < thr * thr) & (p.abs() < thr)
    pc, qc = p.clamp(-thr, thr).square(), q2.clamp(max=thr * thr)
    correction = (2 * pc - qc) / 12 + (
        qc.square() / 2 - 2 * pc * qc + 2 * pc.square() / 3
    ) / 80
    rate_mid = torch.exp(bias - (d0 + half * (a0 + a_mid)))
    series = length * rate_mid * (1 + correction)
    h = torch.where(use_series | (v2 <= 0), 1.0, v2).sqrt()
    u0 = a0 / h
    u1 = u0 + length * h
    sign0 = torch.where(u0 >= 0, 1.0, -1.0).to(x2.dtype)
    sign1 = torch.where(u1 > 0, 1.0, -1.0).to(x2.dtype)
    closest = torch.exp(bias - (d0 - u0.square()).clamp(min=0))
    erfcs = sign0 * torch.erfc(u0.abs()) - sign1 * torch.erfc(u1.abs())
    closed = closest * (erfcs + (sign1 - sign0)) * (math.sqrt(math.pi) / 2) / h
    return torch.where(use_series, series, closed)


@dataclass(frozen=True)
class BinStatistics:
    r"""Sufficient statistics of the events per non-empty (pair, bin) cell.

    For pair :math:`i < j` and bin :math:`b` with in-bin offsets
    :math:`\tau_e = t_e - t_b`: :math:`n` events,
    :math:`s_1 = \sum_e \tau_e` and :math:`s_2 = \sum_e \tau_e^2`. Then

    .. math::

        \sum_{e} \log\lambda_{ij}(t_e) = n(\beta_i + \beta_j)
        - n\lVert\Delta x\rVert^2 - 2 s_1\langle\Delta x, \Delta v\rangle
        - s_2\lVert\Delta v\rVert^2,

    with :math:`\Delta x, \Delta v` the relative position at :math:`t_b`
    and the relative velocity in bin :math:`b`.

    Attributes
    ----------
    row, col : Tensor
        Pair endpoints with ``row < col``, ``[nnz]`` (int64).
    bin : Tensor
        Bin index, ``[nnz]`` (int64).
    count, s1, s2 : Tensor
        :math:`n, s_1, s_2`, ``[nnz]``.
    num_nodes : int
        Number of nodes.
    """

    row: Tensor
    col: Tensor
    bin: Tensor
    count: Tensor
    s1: Tensor
    s2: Tensor
    num_nodes: int

    def to(self, device: torch.device | str, dtype: torch.dtype) -> BinStatistics:
        """Move to ``device``; ``count``, ``s1`` and ``s2`` become ``dtype``."""
        return BinStatistics(
            self.row.to(device),
            self.col.to(device),
            self.bin.to(device),
            self.count.to(device, dtype),
            self.s1.to(device, dtype),
            self.s2.to(device, dtype),
            self.num_nodes,
        )


def bin_statistics(
    stream: EventStream, num_bins: int, horizon: float = 1.0
) -> BinStatistics:
    r"""Collapse an event stream into per-(pair, bin) sufficient statistics.

    Events are undirected (``(i, j)`` and ``(j, i)`` are the same pair) and
    self-loops are dropped. An event at :math:`t` falls in bin
    :math:`\lfloor t B / T\rfloor` (computed after rounding :math:`tB/T` to
    9 decimals, so that times on a bin edge do not flip bins); an event at
    :math:`t = T` goes to the last bin. Cost :math:`O(|\mathcal E|)`, once.

    Parameters
    ----------
    stream : EventStream
        Events with times in :math:`[0, T]` (see :func:`to_unit_interval`).
    num_bins : int
        Number of bins :math:`B`.
    horizon : float
        The horizon :math:`T` (default: ``1.0``).

    Returns
    -------
    BinStatistics
        The statistics (float64), on the stream's device.

    Raises
    ------
    ValueError
        When a time lies outside ``[0, horizon]``.
    """
    t = stream.t.to(torch.float64)
    if t.numel() and (float(t.min()) < 0 or float(t.max()) > horizon):
        raise ValueError(
            f"PiVeM needs event times in [0, {horizon}], got "
            f"[{float(t.min())}, {float(t.max())}]; normalise them first with "
            "dyngraph.models.pivem.to_unit_interval(stream)"
        )
    keep = stream.src != stream.dst
    row = torch.minimum(stream.src, stream.dst)[keep]
    col = torch.maximum(stream.src, stream.dst)[keep]
    t = t[keep]
    width = horizon / num_bins
    scaled = torch.round(t / width * 1e9) / 1e9
    b = scaled.floor().long().clamp(0, num_bins - 1)
    tau = (t - b * width).clamp(0, width)
    n = stream.num_nodes
    key = (row * n + col) * num_bins + b
    cells, inverse = torch.unique(key, return_inverse=True)
    zeros = torch.zeros(cells.shape, dtype=torch.float64, device=t.device)
    count = zeros.index_add(0, inverse, torch.ones_like(tau))
    s1 = zeros.index_add(0, inverse, tau)
    s2 = zeros.index_add(0, inverse, tau.square())
    pair, bins = cells // num_bins, cells % num_bins
    return BinStatistics(pair // n, pair % n, bins, count, s1, s2, n)


def to_unit_interval(
    stream: EventStream, start: float | None = None, end: float | None = None
) -> tuple[EventStream, float, float]:
    r"""Map event times to :math:`[0, 1]` by :math:`t \mapsto (t - t_0) / (t_1 - t_0)`.

    Parameters
    ----------
    stream : EventStream
        Events in any time unit.
    start, end : float, optional
        :math:`t_0, t_1` (default: the first and last event time).

    Returns
    -------
    stream : EventStream
        The events with float64 times in :math:`[0, 1]` (same nodes).
    start, end : float
        The :math:`t_0, t_1` used, to map predictions back.
    """
    t = stream.t.to(torch.float64)
    t0 = float(t[0]) if start is None else float(start)
    t1 = float(t[-1]) if end is None else float(end)
    if not t1 > t0:
        raise ValueError(
            f"to_unit_interval needs end > start, got start={t0}, end={t1}"
        )
    out = EventStream(
        stream.src,
        stream.dst,
        ((t - t0) / (t1 - t0)).clamp(0.0, 1.0),
        num_nodes=stream.num_nodes,
        node_ids=stream.node_ids,
        name=stream.name,
        assume_sorted=True,
    )
    return out, t0, t1


@dataclass(frozen=True)
class NodeBatch:
    """One training step of :class:`PiVeM`: the input of :meth:`PiVeM.forward`.

    Attributes
    ----------
    stats : BinStatistics
        Per-(pair, bin) statistics of the training events.
    nodes : Tensor or None
        The batch's nodes; ``None`` is the whole graph (exact likelihood).
    masked_pairs : Tensor or None
        Sorted keys :math:`iN + j` of pairs left out of the likelihood.
    scale_likelihood : bool
        Scale a node batch's likelihood to the full graph (see
        :meth:`PiVeM.loss`).
    """

    stats: BinStatistics
    nodes: Tensor | None = None
    masked_pairs: Tensor | None = None
    scale_likelihood: bool = True


class PiVeM(nn.Module):
    r"""The Piecewise-Velocity Model (PiVeM) of a continuous-time network.

    Learns initial positions :math:`x^{(0)} \in \mathbb R^{N\times D}`,
    per-bin velocities :math:`v \in \mathbb R^{B\times N\times D}`, node
    biases :math:`\beta \in \mathbb R^N` and the hyperparameters of a
    Kronecker-structured Gaussian-process prior on
    :math:`u = \operatorname{vec}[x^{(0)}; v^{(0)}; \dots; v^{(B-1)}]`
    (node-centred, ordered time slot, node, dimension):

    .. math::

        u \sim \mathcal N\big(0, \lambda^2(\sigma^2 I
        + (L_B \otimes C \otimes I_D)(L_B \otimes C \otimes I_D)^\top)\big),

    where :math:`L_B L_B^\top = \operatorname{blockdiag}(c^2,
    k(\bar t_b, \bar t_{b'})) + 10^{-5} I` with the RBF kernel
    :math:`k(t, t') = e^{-(t - t')^2 / 2\ell^2}` on the bin centres and
    :math:`C = \operatorname{softmax}_\text{row}(Q) \in \mathbb R^{N\times K}`
    are soft community memberships. :math:`\sigma \ge 5/B`, :math:`\ell`,
    :math:`c` and :math:`Q` are learned; the scale :math:`\lambda` is fixed
    (large means a weak prior).

    See the module docstring for the trajectories, the intensity and the
    likelihood. Time runs on :math:`[0, T]` with :math:`T` = ``horizon``;
    normalise real timestamps with :func:`to_unit_interval`. Computation
    happens on the device and in the dtype of the parameters.

    Parameters
    ----------
    num_nodes : int
        Number of nodes :math:`N`.
    dim : int
        Latent dimension :math:`D` (default: ``2``).
    num_bins : int
        Number of velocity bins :math:`B` (default: ``100``).
    num_communities : int
        Number of soft communities :math:`K` of the prior (default: ``10``).
    prior_lambda : float or None
        Prior scale :math:`\lambda`; ``None`` drops the prior (default:
        ``1e5``, almost flat, as in the reference implementation).
    horizon : float
        End :math:`T` of the training time range (default: ``1.0``).
    static : bool
        Keep all velocities at zero: the static latent distance model
        baseline (default: ``False``).
    memory_budget : int
        Bytes that the blocks of the full-batch integral may hold (default:
        ``2**28``, 256 MiB); see :meth:`integral_term`.
    seed : int, optional
        Seed of the initialisation (default: ``None``, the global
        generator).
    dtype : torch.dtype
        Parameter dtype (default: ``torch.float64``).
    device : torch.device or str, optional
        Parameter device (default: CPU).
    """

    history_: list[FitResult]

    def __init__(
        self,
        num_nodes: int,
        dim: int = 2,
        num_bins: int = 100,
        num_communities: int = 10,
        prior_lambda: float | None = 1e5,
        horizon: float = 1.0,
        *,
        static: bool = False,
        memory_budget: int = 1 << 28,
        seed: int | None = None,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        for name, value in (
            ("num_nodes", num_nodes - 1),
            ("dim", dim),
            ("num_bins", num_bins),
            ("num_communities", num_communities),
            ("horizon", horizon),
        ):
            if not value > 0:
                raise ValueError(
                    f"PiVeM: `{name}` must be positive (num_nodes >= 2), got "
                    f"{value if name != 'num_nodes' else num_nodes}"
                )
        if prior_lambda is not None and not prior_lambda > 0:
            raise ValueError(
                f"PiVeM: `prior_lambda` must be positive or None, got {prior_lambda}"
            )
        self.num_nodes, self.dim, self.num_bins = num_nodes, dim, num_bins
        self.num_communities, self.prior_lambda = num_communities, prior_lambda
        self.horizon, self.static, self.seed = float(horizon), static, seed
        if not memory_budget > 0:
            raise ValueError(
                f"PiVeM: `memory_budget` must be a positive number of bytes, got "
                f"{memory_budget}"
            )
        self.memory_budget = int(memory_budget)
        # worker counts of the blocked integral, per work size (log2 cells)
        self._tuners: dict[int, _WorkerTuner] = {}
        kw: dict[str, Any] = {"dtype": dtype, "device": device}
        self.x0 = nn.Parameter(torch.empty(num_nodes, dim, **kw))
        self.v = nn.Parameter(torch.empty(num_bins, num_nodes, dim, **kw))
        self.beta = nn.Parameter(torch.empty(num_nodes, **kw))
        self.log_sigma = nn.Parameter(torch.empty((), **kw))
        self.log_lengthscale = nn.Parameter(torch.empty((), **kw))
        self.log_c = nn.Parameter(torch.empty((), **kw))
        self.q = nn.Parameter(torch.empty(num_nodes, num_communities, **kw))
        # end of the observed activity (set by fit), saved with the model
        self.register_buffer("observed_end", torch.tensor(float(horizon), **kw))
        self.history_ = []
        self.metadata_: dict[str, Any] = {}
        self.reset_parameters()

    @property
    def bin_width(self) -> float:
        r"""The bin width :math:`\Delta = T / B`."""
        return self.horizon / self.num_bins

    @property
    def sigma_min(self) -> float:
        r"""Lower bound :math:`5 / B` of :math:`\sigma`."""
        return 5.0 / self.num_bins

    def reset_parameters(self) -> None:
        r"""Initialise as the reference implementation does.

        :math:`x^{(0)}, \beta \sim \mathcal U(-1, 1)`, :math:`v = 0`,
        :math:`\sigma - 5/B \sim \mathcal U(1/B, 3/B)`,
        :math:`\ell \sim \mathcal U(1/B, 1 - 1/B)`, :math:`c = 1`,
        :math:`Q \sim \mathcal U(0, 1)`. The draws are made on the CPU, so
        a seed gives the same initial values on every device.
        """
        gen = None if self.seed is None else torch.Generator().manual_seed(self.seed)
        inv_b = 1.0 / self.num_bins

        def uniform(param: Tensor, low: float, high: float) -> Tensor:
            draw = torch.rand(param.shape, generator=gen, dtype=param.dtype)
            return param.copy_(low + (high - low) * draw)

        with torch.no_grad():
            uniform(self.x0, -1, 1)
            self.v.zero_()
            uniform(self.beta, -1, 1)
            uniform(self.log_sigma, inv_b, 3 * inv_b).log_()
            uniform(self.log_lengthscale, inv_b, 1 - inv_b).log_()
            self.log_c.zero_()
            uniform(self.q, 0, 1)

    def extra_repr(self) -> str:
        """Summarise the configuration in ``repr``."""
        return (
            f"num_nodes={self.num_nodes}, dim={self.dim}, num_bins={self.num_bins}, "
            f"num_communities={self.num_communities}, "
            f"prior_lambda={self.prior_lambda}, horizon={self.horizon}, "
            f"static={self.static}"
        )

    # ------------------------------------------------------------------
    # trajectories and intensities

    def initial_positions(self) -> Tensor:
        r"""Node-centred :math:`x^{(0)}`, ``[N, D]``."""
        return self.x0 - self.x0.mean(0)

    def velocities(self) -> Tensor:
        r"""Velocities :math:`v`, centred over nodes in each bin, ``[B, N, D]``."""
        if self.static:
            return torch.zeros_like(self.v)
        return self.v - self.v.mean(1, keepdim=True)

    def bin_start_positions(self) -> Tensor:
        r"""Positions :math:`x(t_b)` at the bin edges, ``[B + 1, N, D]``."""
        x0, v = self.initial_positions(), self.velocities()
        return torch.cat([x0.unsqueeze(0), self.bin_width * v]).cumsum(0)

    def _node_states(self, nodes: Tensor) -> tuple[Tensor, Tensor]:
        r"""Bin-start positions and velocities of ``nodes``, ``[n, D, B]`` each.

        Node-major, so that gathering pairs copies contiguous rows; only the
        centring means touch all :math:`N` nodes.
        """
        x0 = (self.x0[nodes] - self.x0.mean(0)).unsqueeze(-1)
        if self.static:
            v = torch.zeros(
                nodes.numel(), self.dim, self.num_bins, dtype=x0.dtype, device=x0.device
            )
        else:
            v = (self.v[:, nodes] - self.v.mean(1, keepdim=True)).permute(1, 2, 0)
        x = torch.cat([x0, self.bin_width * v[..., :-1]], -1).cumsum(-1)
        return x, v

    def _as_time(self, t: Tensor | float) -> Tensor:
        return torch.as_tensor(t, dtype=self.x0.dtype, device=self.x0.device)

    def _check_extrapolate(self, extrapolate: str) -> None:
        if extrapolate not in _EXTRAPOLATION:
            raise ValueError(
                f"PiVeM: `extrapolate` must be one of {_EXTRAPOLATION}, "
                f"got {extrapolate!r}"
            )

    def _segments(self, extrapolate: str) -> tuple[Tensor, Tensor, Tensor]:
        r"""Edges ``[B + 2]``, start positions and velocities of B + 1 segments.

        The last segment is :math:`[T, \infty)`, starting at :math:`x(T)` with
        the last bin's velocity or zero velocity (``extrapolate``).
        """
        self._check_extrapolate(extrapolate)
        x, v = self.bin_start_positions(), self.velocities()
        tail = v[-1:] if extrapolate == "last_velocity" else torch.zeros_like(v[-1:])
        edges = (
            torch.arange(self.num_bins + 2, dtype=x.dtype, device=x.device)
            * self.bin_width
        )
        edges[-1] = math.inf
        return edges, x, torch.cat([v, tail])

    def positions(
        self,
        t: Tensor | float,
        nodes: Tensor | None = None,
        extrapolate: str = "static",
    ) -> Tensor:
        r"""Return the latent positions :math:`x_i(t)`.

        Past the horizon (:math:`t > T`) positions are extrapolated:
        ``"static"`` keeps every node at :math:`x_i(T)`, ``"last_velocity"``
        continues with the last bin's velocity,
        :math:`x_i(T) + (t - T)\, v_i^{(B-1)}`.

        Parameters
        ----------
        t : Tensor or float
            Times :math:`\ge 0`, shape ``[M]`` (a scalar counts as ``M = 1``).
        nodes : Tensor, optional
            Node ids, ``[K]`` (default: all nodes).
        extrapolate : {"static", "last_velocity"}
            Rule for :math:`t > T` (default: ``"static"``).

        Returns
        -------
        Tensor
            ``[M, K, D]``.
        """
        times = self._as_time(t).reshape(-1)
        if times.numel() and float(times.min()) < 0:
            raise ValueError("PiVeM.positions: times must be >= 0")
        edges, x, v = self._segments(extrapolate)
        seg = (torch.searchsorted(edges, times.contiguous(), right=True) - 1).clamp(
            0, self.num_bins
        )
        if nodes is not None:
            index = torch.as_tensor(nodes, dtype=torch.long, device=x.device)
            x, v = x[:, index], v[:, index]
        tau = (times - edges[seg]).view(-1, 1, 1)
        return x[seg] + tau * v[seg]

    def intensity(
        self,
        i: Tensor,
        j: Tensor,
        t: Tensor | float,
        extrapolate: str = "static",
    ) -> Tensor:
        r"""Return :math:`\lambda_{ij}(t)` for broadcast ``i``, ``j``, ``t``.

        See :meth:`positions` for ``extrapolate``.
        """
        edges, x, v = self._segments(extrapolate)
        i, j, times = torch.broadcast_tensors(
            torch.as_tensor(i, device=x.device),
            torch.as_tensor(j, device=x.device),
            self._as_time(t),
        )
        seg = (torch.searchsorted(edges, times.contiguous(), right=True) - 1).clamp(
            0, self.num_bins
        )
        tau = (times - edges[seg]).unsqueeze(-1)
        dx = x[seg, i] - x[seg, j] + tau * (v[seg, i] - v[seg, j])
        return torch.exp(self.beta[i] + self.beta[j] - dx.square().sum(-1))

    def integrated_intensity(
        self,
        i: Tensor,
        j: Tensor,
        t0: Tensor | float,
        t1: Tensor | float,
        extrapolate: str = "static",
    ) -> Tensor:
        r"""Return :math:`\int_{t_0}^{t_1}\lambda_{ij}(t)\,dt` in closed form.

        The interval is split at the bin edges (and at :math:`T`, beyond
        which positions are extrapolated as in :meth:`positions`) and each
        piece is integrated with :func:`segment_integral`.

        Parameters
        ----------
        i, j : Tensor
            Node ids.
        t0, t1 : Tensor or float
            Bounds with :math:`0 \le t_0 \le t_1`; all four broadcast.
        extrapolate : {"static", "last_velocity"}
            Rule for :math:`t > T` (default: ``"static"``).

        Returns
        -------
        Tensor
            The broadcast shape of the arguments.
        """
        edges, x, v = self._segments(extrapolate)
        i, j, lo, hi = torch.broadcast_tensors(
            torch.as_tensor(i, device=x.device),
            torch.as_tensor(j, device=x.device),
            self._as_time(t0),
            self._as_time(t1),
        )
        if bool((lo > hi).any() | (lo < 0).any()):
            raise ValueError("PiVeM.integrated_intensity needs 0 <= t0 <= t1")
        first = (torch.searchsorted(edges, lo.contiguous(), right=True) - 1).clamp(
            0, self.num_bins
        )
        last = (torch.searchsorted(edges, hi.contiguous(), right=True) - 1).clamp(
            0, self.num_bins
        )
        span = int((last - first).max()) + 1 if lo.numel() else 1
        total = torch.zeros(lo.shape, dtype=x.dtype, device=x.device)
        bias = self.beta[i] + self.beta[j]
        for k in range(span):
            seg = (first + k).clamp(max=self.num_bins)
            a = torch.maximum(lo, edges[seg])
            length = (torch.minimum(hi, edges[seg + 1]) - a).clamp(min=0)
            length = torch.where(first + k <= last, length, torch.zeros_like(length))
            total = total + segment_integral(
                x[seg, i] - x[seg, j],
                v[seg, i] - v[seg, j],
                bias,
                a - edges[seg],
                length,
            )
        return total

    def bin_integrals(self, i: Tensor, j: Tensor, chunk: int = 4096) -> Tensor:
        r"""Return :math:`\int_{t_b}^{t_{b+1}}\lambda_{ij}(t)\,dt` per bin, ``[P, B]``.

        Evaluated without gradients in chunks of ``chunk`` pairs.
        """
        i = torch.as_tensor(i, device=self.x0.device).reshape(-1)
        j = torch.as_tensor(j, device=self.x0.device).reshape(-1)
        out = []
        with torch.no_grad():
            x, v = self._node_states(torch.arange(self.num_nodes, device=i.device))
            for a, b in zip(i.split(chunk), j.split(chunk), strict=True):
                dx, dv = x[a] - x[b], v[a] - v[b]
                out.append(
                    _segment_integral_gram(
                        dx.square().sum(1),
                        (dx * dv).sum(1),
                        dv.square().sum(1),
                        (self.beta[a] + self.beta[b]).unsqueeze(-1),
                        0.0,
                        self.bin_width,
                    )
                )
        if not out:
            return torch.zeros(0, self.num_bins, dtype=self.x0.dtype)
        return torch.cat(out)

    def forecast(
        self,
        i: Tensor,
        j: Tensor,
        t0: Tensor | float,
        t1: Tensor | float,
        rule: str = "diffuse",
        timescale: float | None = None,
    ) -> Tensor:
        r"""Forecast the expected number of events of a pair in a window.

        The part of a window inside :math:`[0, T]` is the exact
        :math:`\int\lambda_{ij}`; the part past the horizon,
        :math:`L = (t_1 - \max(t_0, T))_+`, is forecast by ``rule``:

        * ``"diffuse"`` (default): the model's dynamics carried past the
          last observation. From the state at bin :math:`b` (positions at
          the bin centre :math:`\bar t_b`), a node's position a time
          :math:`\ell` later is taken as uncertain, Gaussian with the
          per-dimension variance :math:`s^2(\ell)` of the fitted
          trajectories' own displacements over :math:`\ell`
          (:meth:`displacement_variance`). The relative position of two
          nodes then has variance :math:`2s^2` per dimension and the
          expected rate at time :math:`t` is, in closed form,

          .. math::

              \mathbb E[\lambda_{ij}(t)\mid b] =
              \big(1 + 4s^2(\ell_b)\big)^{-D/2}
              \exp\Big(\beta_i + \beta_j - \frac{\lVert x_i(\bar t_b) -
              x_j(\bar t_b)\rVert^2}{1 + 4s^2(\ell_b)}\Big),

          with :math:`\ell_b = t - \bar t_b - (T - T_o)`, evaluated at the
          middle of the window's part past :math:`T`; these are averaged
          with the weights :math:`w_b` of ``"recent"`` (below), default
          timescale :math:`h = T/10`. The further ahead, the more distances
          are flattened towards the biases :math:`\beta_i + \beta_j`, by
          as much as the trajectories actually move: a network whose nodes
          drift a lot is forecast mostly by node activity, a stable one by
          its current distances. The silent stretch :math:`[T_o, T]` after
          the last event does not count as elapsed time, since no event
          moved the trajectories there. :math:`\ell` is rounded to whole
          bins and capped at the observed period.
        * ``"recent"``: :math:`L` times the pair's recent rate,
          the average of its rate over the observed training period
          weighted by :math:`w(t) = e^{-(T_o - t)/h}`, taken bin by bin,

          .. math::

              \bar\lambda_{ij} = \frac{\sum_{t_b < T_o} w_b
              \int_{t_b}^{t_{b+1}}\lambda_{ij}\,dt}{\Delta\sum_{t_b < T_o}
              w_b},\qquad w_b = e^{-(T_o - \bar t_b)/h},

          with :math:`\bar t_b` the bin centres, :math:`T_o` the end of the
          last bin holding a training event (the buffer ``observed_end``,
          set by :meth:`fit`; :math:`T` before a fit) and the timescale
          :math:`h` (default: :math:`3\Delta`, three bins). Two reasons:
          the last bins of a trajectory are constrained by few events, so
          freezing the positions at :math:`x(T)` (``"static"``) reads a
          noisy estimate, while the weighting averages over the last
          :math:`\sim h` of the trajectory and still follows its drift;
          and bins after the last event are fitted to no event at all
          (their rates only fall under the integral term), so they carry no
          information about who interacts next and are left out.
          :math:`h \to 0` approaches the last observed bin's mean rate,
          :math:`h \to \infty` the mean rate up to :math:`T_o`.
        * ``"static"``: positions frozen at :math:`x(T)`
          (:meth:`integrated_intensity` with ``extrapolate="static"``).
        * ``"last_velocity"``: nodes keep the last bin's velocity.
        * ``"integrated"``: :math:`L\,\frac1T\int_0^T\lambda_{ij}\,dt`, the
          whole-period rate (the reference implementation scores future
          windows by :math:`\int_0^T\lambda_{ij}`, the same ranking for
          windows of equal length).

        Parameters
        ----------
        i, j : Tensor
            Node ids, ``[M]``.
        t0, t1 : Tensor or float
            Window bounds with :math:`0 \le t_0 \le t_1`, broadcast to ``[M]``.
        rule : {"diffuse", "recent", "static", "last_velocity", "integrated"}
            Forecast rule past the horizon (default: ``"diffuse"``).
        timescale : float, optional
            :math:`h` of ``"diffuse"`` and ``"recent"`` (default: :math:`T/10`
            and three bins, :math:`3\Delta`).

        Returns
        -------
        Tensor
            ``[M]``.
        """
        if rule not in FORECAST_RULES:
            raise ValueError(
                f"PiVeM.forecast: `rule` must be one of {FORECAST_RULES}, got {rule!r}"
            )
        if timescale is not None:
            h = float(timescale)
        else:
            h = self.horizon / 10 if rule == "diffuse" else 3 * self.bin_width
        if not h > 0:
            raise ValueError(f"PiVeM.forecast: `timescale` must be > 0, got {h}")
        i, j, lo, hi = torch.broadcast_tensors(
            torch.as_tensor(i, device=self.x0.device),
            torch.as_tensor(j, device=self.x0.device),
            self._as_time(t0),
            self._as_time(t1),
        )
        if rule in ("static", "last_velocity"):
            return self.integrated_intensity(i, j, lo, hi, extrapolate=rule)
        horizon = self._as_time(self.horizon)
        inside = self.integrated_intensity(
            i, j, torch.minimum(lo, horizon), torch.minimum(hi, horizon)
        )
        past = (hi - torch.maximum(lo, horizon)).clamp(min=0)
        centres = (
            torch.arange(self.num_bins, dtype=lo.dtype, device=lo.device) + 0.5
        ) * self.bin_width
        if rule == "integrated":
            weight = torch.ones_like(centres)
        else:
            # bins up to the last observed one, weights relative to that bin
            # so that none underflows to 0/0
            observed = self._observed_bins()
            weight = torch.exp(-(centres[observed - 1] - centres) / h)
            weight[observed:] = 0
        if rule == "diffuse":
            at = 0.5 * (torch.maximum(lo, horizon) + hi)
            rate = self._diffused_rate(i, j, at, weight[:observed], centres)
            return inside + past * rate / weight.sum()
        rate = self.bin_integrals(i.reshape(-1), j.reshape(-1)) @ weight
        rate = rate.view(lo.shape) / (self.bin_width * weight.sum())
        return inside + past * rate

    def _observed_bins(self) -> int:
        """Return the number of bins up to ``observed_end`` (at least one)."""
        observed = round(float(self.observed_end) / self.bin_width)
        return min(max(1, observed), self.num_bins)

    @torch.no_grad()
    def displacement_variance(self) -> Tensor:
        r"""Return the variance :math:`s^2(k\Delta)` of displacements over k bins.

        Per dimension, over the bin edges up to ``observed_end``
        (:math:`t_m`),

        .. math::

            s^2(k\Delta) = \frac{1}{D\,N\,(m + 1 - k)}\sum_{b=0}^{m-k}
            \sum_i \lVert x_i(t_{b+k}) - x_i(t_b)\rVert^2,
            \qquad k = 0, \dots, m:

        how far the fitted trajectories move in a given time. Used by the
        ``"diffuse"`` forecast.

        Returns
        -------
        Tensor
            ``[m + 1]``.
        """
        m = self._observed_bins()
        x = self.bin_start_positions()[: m + 1]
        return torch.stack(
            [
                (x[k:] - x[: m + 1 - k]).square().sum(-1).mean() / self.dim
                for k in range(m + 1)
            ]
        )

    def _diffused_rate(
        self, i: Tensor, j: Tensor, at: Tensor, weight: Tensor, centres: Tensor
    ) -> Tensor:
        """``sum_b weight_b * E[rate at `at` | state at bin b]`` (see forecast)."""
        s2 = self.displacement_variance()
        m = s2.numel() - 1
        silent = self.horizon - float(self.observed_end)
        x = self.bin_start_positions()
        mid = 0.5 * (x[:-1] + x[1:])
        bias = self.beta[i] + self.beta[j]
        out = torch.zeros(at.shape, dtype=x.dtype, device=x.device)
        for b in range(weight.numel()):
            lag = ((at - centres[b] - silent) / self.bin_width).round()
            spread = 1 + 4 * s2[lag.clamp(0, m).long()]
            dist = (mid[b, i] - mid[b, j]).square().sum(-1)
            out = out + weight[b] * torch.exp(
                bias - dist / spread - 0.5 * self.dim * torch.log(spread)
            )
        return out

    # ------------------------------------------------------------------
    # likelihood and prior

    def event_term(
        self,
        stats: BinStatistics,
        nodes: Tensor | None = None,
        *,
        shard: distributed.Context | None = None,
    ) -> Tensor:
        r"""Return the event term :math:`\sum_e \log\lambda_{i_e j_e}(t_e)`.

        Parameters
        ----------
        stats : BinStatistics
            The training events' statistics.
        nodes : Tensor, optional
            Restrict to pairs with both endpoints in ``nodes`` (default: all).
        shard : Context, optional
            Sum only this rank's contiguous share of the (pair, bin) records
            (:func:`dyngraph.training.distributed.shard`; default: all).
        """
        row, col, b = stats.row, stats.col, stats.bin
        n, s1, s2 = stats.count, stats.s1, stats.s2
        if nodes is not None:
            inside = torch.zeros(self.num_nodes, dtype=torch.bool, device=row.device)
            inside[nodes] = True
            keep = inside[row] & inside[col]
            row, col, b, n, s1, s2 = (z[keep] for z in (row, col, b, n, s1, s2))
        if shard is not None:
            part = distributed.shard(row.numel(), shard)
            row, col, b, n, s1, s2 = (z[part] for z in (row, col, b, n, s1, s2))
        used, local = torch.unique(torch.cat([row, col]), return_inverse=True)
        x, v = self._node_states(used)
        lrow, lcol = local[: row.numel()], local[row.numel() :]
        dx = x[lrow, :, b] - x[lcol, :, b]
        dv = v[lrow, :, b] - v[lcol, :, b]
        return (
            n * (self.beta[row] + self.beta[col] - dx.square().sum(-1))
            - 2 * s1 * (dx * dv).sum(-1)
            - s2 * dv.square().sum(-1)
        ).sum()

    def _pair_integral(self, row: Tensor, col: Tensor) -> Tensor:
        """Unblocked per-pair integrals ``[P]`` (the reference for the blocks)."""
        used, local = torch.unique(torch.cat([row, col]), return_inverse=True)
        x, v = self._node_states(used)
        lrow, lcol = local[: row.numel()], local[row.numel() :]
        return _moving_pairs(x, v, self.beta[used], lrow, lcol, self.bin_width)

    def _pair_integral_at_rest(self, row: Tensor, col: Tensor) -> Tensor:
        x = self.initial_positions()
        return _resting_pairs(x, self.beta, row, col, self.horizon)

    def at_rest(self) -> bool:
        r"""Whether every node stays at :math:`x_i^{(0)}` and is kept there.

        True for the static model, and for PiVeM while its (centred)
        velocities are zero and not trained (the first phase of
        :meth:`fit`). The integral is then
        :math:`T e^{\beta_i + \beta_j - \lVert x_i^{(0)} - x_j^{(0)}\rVert^2}`,
        one term per pair instead of :math:`B`.
        """
        if self.static:
            return True
        if self.v.requires_grad and torch.is_grad_enabled():
            return False
        return not bool(self.velocities().any())

    def block_cells(self, memory_budget: int | None = None) -> int:
        r"""(pair, bin) cells per block of :meth:`integral_term`.

        A cell of a block holds about ``_BYTES_PER_CELL`` bytes of
        temporaries and autograd buffers while its gradient is computed, and
        each of the workers (:func:`worker_threads`) holds one block, so
        ``memory_budget // (_BYTES_PER_CELL * workers)`` cells fit the
        budget; blocks are capped at ``2**16`` cells (about 0.5 MB per
        float64 array, so that the elementwise passes stay in cache) and
        hold at least one pair.
        """
        budget = self.memory_budget if memory_budget is None else memory_budget
        workers = max(1, _worker_count())
        cells = budget // (_BYTES_PER_CELL * workers)
        return int(max(self.num_bins, min(cells, _MAX_BLOCK_CELLS)))

    def integral_term(
        self,
        row: Tensor,
        col: Tensor,
        weight: Tensor | None = None,
        memory_budget: int | None = None,
    ) -> Tensor:
        r"""Return :math:`\sum_{(i,j)} w_{ij}\int_0^T\lambda_{ij}(t)\,dt` over pairs.

        Each pair's integral is the sum of :math:`B` closed-form bin
        integrals (:func:`segment_integral`), or a single term when the
        nodes are at rest (:meth:`at_rest`). The :math:`P \times B` cells
        are never held at once: pairs are cut into blocks of
        :meth:`block_cells` cells, and each block's value and its gradient
        with respect to the node states (bin-start positions, velocities,
        biases of its nodes) are computed in one pass and accumulated, so
        memory stays :math:`O(\text{budget} + NDB)` whatever :math:`P`.
        The result and its gradient equal those of the unblocked sum (up
        to the order of floating-point additions).

        On large graphs (a worker per ``2**17`` cells) the blocks are shared
        out dynamically among the worker threads of :func:`worker_threads`
        (default: ``torch.get_num_threads()``), each running single-threaded
        kernels: one synchronisation per block instead of one per
        elementwise kernel. Whether the workers beat a single one is
        measured as the fit runs (:class:`_WorkerTuner`, per work size),
        since on cores held by other processes they can lose to it.

        Parameters
        ----------
        row, col : Tensor
            Pair endpoints, ``[P]``.
        weight : Tensor, optional
            Pair weights ``[P]`` (default: all ones).
        memory_budget : int, optional
            Bytes for the blocks (default: the model's ``memory_budget``).
        """
        used, local = torch.unique(torch.cat([row, col]), return_inverse=True)
        lrow, lcol = local[: row.numel()], local[row.numel() :]

        def pairs(start: int, stop: int) -> tuple[Tensor, Tensor, Tensor | None]:
            w = None if weight is None else weight[start:stop]
            return lrow[start:stop], lcol[start:stop], w

        return self._blocked_integral(used, pairs, row.numel(), memory_budget)

    def all_pairs_integral(
        self,
        nodes: Tensor | None = None,
        masked_pairs: Tensor | None = None,
        memory_budget: int | None = None,
        *,
        shard: distributed.Context | None = None,
    ) -> Tensor:
        r"""Return the integral term over all pairs :math:`i < j` among ``nodes``.

        The same as :meth:`integral_term` over all pairs of ``nodes``
        (default: all nodes) with the ``masked_pairs`` (sorted keys
        :math:`iN + j`) weighted 0, but no :math:`O(P)` index array is
        built: each block's pairs are decoded from a range of flat
        upper-triangle indices :math:`k` of the :math:`n` sorted nodes, row
        :math:`a` being the last with :math:`s_a = a n - a(a+1)/2 \le k` and
        column :math:`k - s_a + a + 1`. With ``shard`` (a
        :class:`~dyngraph.training.distributed.Context`) only that rank's
        contiguous share of the flat indices is summed.
        """
        device = self.x0.device
        if nodes is None:
            nodes = torch.arange(self.num_nodes, device=device)
        nodes = torch.sort(torch.as_tensor(nodes, device=device)).values
        n = nodes.numel()
        lengths = torch.arange(n - 1, -1, -1, device=device)
        starts = torch.cumsum(lengths, 0) - lengths

        def pairs(start: int, stop: int) -> tuple[Tensor, Tensor, Tensor | None]:
            k = torch.arange(start, stop, device=device)
            a = torch.searchsorted(starts, k, right=True) - 1
            b = k - starts[a] + a + 1
            if masked_pairs is None:
                return a, b, None
            keys = nodes[a] * self.num_nodes + nodes[b]
            return a, b, (~_isin_sorted(keys, masked_pairs)).to(self.x0.dtype)

        count = n * (n - 1) // 2
        if shard is None:
            return self._blocked_integral(nodes, pairs, count, memory_budget)
        part = distributed.shard(count, shard)

        def share(start: int, stop: int) -> tuple[Tensor, Tensor, Tensor | None]:
            return pairs(part.start + start, part.start + stop)

        return self._blocked_integral(
            nodes, share, part.stop - part.start, memory_budget
        )

    def _blocked_integral(
        self, used: Tensor, pairs: Any, count: int, memory_budget: int | None
    ) -> Tensor:
        if self.at_rest():
            cells, width = 1, self.horizon
            states: tuple[Tensor, ...] = (
                self.initial_positions()[used],
                self.beta[used],
            )
            fn = _resting_block
        else:
            cells, width = self.num_bins, self.bin_width
            x, v = self._node_states(used)
            states = (x, v, self.beta[used])
            fn = _moving_block
        size = max(1, self.block_cells(memory_budget) // cells)
        tuner = self._tuners.setdefault(
            max(1, count * cells).bit_length(), _WorkerTuner()
        )
        return _BlockedPairSum.apply(
            fn, width, size, cells, pairs, count, tuner, *states
        )

    def log_likelihood(
        self,
        stats: BinStatistics,
        nodes: Tensor | None = None,
        masked_pairs: Tensor | None = None,
    ) -> Tensor:
        r"""Poisson-process log-likelihood over all pairs among ``nodes``.

        Parameters
        ----------
        stats : BinStatistics
            Statistics of the observed events (masked pairs must have none).
        nodes : Tensor, optional
            Node ids of a batch (default: all nodes).
        masked_pairs : Tensor, optional
            Sorted keys :math:`iN + j` (:math:`i < j`) of unobserved pairs,
            left out of the integral (default: none).
        """
        integral = self.all_pairs_integral(nodes, masked_pairs)
        return self.event_term(stats, nodes) - integral

    def _pairs(self, nodes: Tensor | None) -> tuple[Tensor, Tensor]:
        device = self.x0.device
        if nodes is None:
            nodes = torch.arange(self.num_nodes, device=device)
        nodes = torch.sort(torch.as_tensor(nodes, device=device)).values
        upper = torch.triu_indices(nodes.numel(), nodes.numel(), 1, device=device)
        return nodes[upper[0]], nodes[upper[1]]

    def prior_factors(self) -> tuple[Tensor, Tensor, Tensor]:
        r"""Return :math:`\sigma`, the time Gram :math:`L_B L_B^\top` and :math:`C`."""
        sigma = self.sigma_min + self.log_sigma.exp()
        b = self.num_bins
        centres = torch.arange(b, dtype=self.x0.dtype, device=self.x0.device) + 0.5
        centres = centres * self.bin_width
        ell = self.log_lengthscale.exp()
        kernel = torch.exp(
            -(centres[:, None] - centres[None, :]).square() / (2 * ell**2)
        )
        gram = torch.zeros(b + 1, b + 1, dtype=self.x0.dtype, device=self.x0.device)
        gram[0, 0] = (2 * self.log_c).exp()
        gram[1:, 1:] = kernel
        gram = gram + _JITTER * torch.eye(b + 1, dtype=gram.dtype, device=gram.device)
        return sigma, gram, torch.softmax(self.q, dim=-1)

    def prior_vector(self) -> Tensor:
        r"""Return the prior vector :math:`u`, ``[B + 1, N, D]``."""
        return torch.cat([self.initial_positions().unsqueeze(0), self.velocities()])

    def neg_log_prior(self) -> Tensor:
        r"""Return :math:`-\log p(u)` of the Kronecker-structured GP prior, exactly.

        With :math:`\Sigma = \lambda^2(\sigma^2 I + K K^\top)`,
        :math:`K = L_B \otimes C \otimes I_D` and :math:`n = (B+1)ND`,
        Woodbury's identity and the matrix-determinant lemma give

        .. math::

            u^\top\Sigma^{-1}u = \lambda^{-2}\big(\sigma^{-2}\lVert u\rVert^2
            - \sigma^{-4}\, w^\top R^{-1} w\big),\quad
            \log|\Sigma| = n\log\lambda^2\sigma^2 + \log|R|,

        with :math:`w = K^\top u` and :math:`R = I + \sigma^{-2}
        (L_B^\top L_B) \otimes (C^\top C) \otimes I_D`. Eigendecomposing
        :math:`C^\top C = U\operatorname{diag}(\mu)U^\top` splits :math:`R`
        into :math:`K` blocks :math:`I + \sigma^{-2}\mu_k L_B^\top L_B` of
        size :math:`B + 1`, each Cholesky-factored. The Kronecker product
        is never formed: :math:`w_{bkd} = \sum_{t,n}(L_B)_{tb}\,u_{tnd}\,
        C_{nk}`. Cost :math:`O(K(B+1)^3 + (B+1)^2 ND + (B+1)NKD)`.

        Returns ``0`` when ``prior_lambda`` is ``None``.
        """
        if self.prior_lambda is None:
            return torch.zeros((), dtype=self.x0.dtype, device=self.x0.device)
        sigma, gram, memberships = self.prior_factors()
        chol = torch.linalg.cholesky(gram)
        u = self.prior_vector()
        n = u.numel()
        mu, rotation = torch.linalg.eigh(memberships.T @ memberships)
        grouped = torch.einsum("tnd,nk->tkd", u, memberships @ rotation)
        w = torch.einsum("tb,tad->adb", chol, grouped)
        eye = torch.eye(self.num_bins + 1, dtype=u.dtype, device=u.device)
        blocks = eye + (mu.clamp(min=0) / sigma**2).view(-1, 1, 1) * (chol.T @ chol)
        factor = torch.linalg.cholesky(blocks)
        z = torch.linalg.solve_triangular(factor, w.transpose(1, 2), upper=False)
        logdet_r = (
            self.dim * 2 * torch.log(torch.diagonal(factor, dim1=-2, dim2=-1)).sum()
        )
        scale2 = self.prior_lambda**2
        quad = (u.square().sum() / sigma**2 - z.square().sum() / sigma**4) / scale2
        logdet = n * (math.log(scale2) + 2 * torch.log(sigma)) + logdet_r
        return 0.5 * (n * math.log(2 * math.pi) + logdet + quad)

    def loss(
        self,
        stats: BinStatistics,
        nodes: Tensor | None = None,
        masked_pairs: Tensor | None = None,
        scale_likelihood: bool = True,
    ) -> Tensor:
        r"""Negative log-posterior of one (node-batch) step.

        For a batch of :math:`b` of the :math:`N` nodes the likelihood of the
        pairs among them is multiplied by :math:`\binom N2 / \binom b2`. A
        pair lies in a uniformly random batch with probability
        :math:`\binom b2 / \binom N2` (masked or not), so this is an
        unbiased estimate of the full likelihood and the prior's weight does
        not depend on the batch size. ``scale_likelihood=False`` reproduces
        the reference implementation (unscaled batch likelihood).

        Under torchrun (several processes) each rank evaluates a contiguous
        share of the batch's events and pairs, scaled by the number of
        ranks, plus the whole prior: DDP's average of the ranks' gradients
        is then the gradient of the one-process loss.
        """
        world = distributed.context()
        if world.distributed:
            # this rank's share of the events and pairs, times the world size:
            # DDP's average of the ranks' gradients is the whole batch's
            loglik = world.world_size * (
                self.event_term(stats, nodes, shard=world)
                - self.all_pairs_integral(nodes, masked_pairs, shard=world)
            )
        else:
            loglik = self.log_likelihood(stats, nodes, masked_pairs)
        if scale_likelihood and nodes is not None:
            b = torch.as_tensor(nodes).numel()
            loglik = loglik * (self.num_nodes * (self.num_nodes - 1) / (b * (b - 1)))
        return -loglik + self.neg_log_prior()

    def forward(self, batch: NodeBatch) -> Tensor:
        """Training loss of one step: :meth:`loss` of ``batch``."""
        return self.loss(
            batch.stats, batch.nodes, batch.masked_pairs, batch.scale_likelihood
        )

    # ------------------------------------------------------------------
    # training

    def phases(self) -> list[list[str]]:
        r"""Parameter names trained in each phase of the default schedule.

        Cumulative, as in the paper: positions and biases; then the
        velocities; then the prior's hyperparameters (only with a prior).
        A static model skips the velocity phase.
        """
        out = [["x0", "beta"]]
        if not self.static:
            out.append(out[-1] + ["v"])
        if self.prior_lambda is not None:
            out.append(out[-1] + ["log_sigma", "log_lengthscale", "log_c", "q"])
        return out

    def fit(
        self,
        events: EventStream | BinStatistics,
        *,
        epochs: int = 100,
        lr: float = 0.1,
        batch_size: int | None = None,
        masked_pairs: Tensor | None = None,
        scale_likelihood: bool = True,
        checkpoint_dir: str | Path | None = None,
        seed: int = 0,
        progress: bool = True,
    ) -> PiVeM:
        r"""Fit with the paper's three-phase schedule and the shared fit loop.

        The epochs are split as equally as possible over :meth:`phases`; each
        phase runs :func:`dyngraph.training.fit` with a fresh Adam optimiser
        over its (cumulative) parameters. Full-graph training uses one exact
        step per epoch; with ``batch_size`` every epoch partitions the nodes
        at random into batches of that size and takes one step per batch on
        all pairs inside it (a fraction of about ``batch_size / N`` of the
        pairs per epoch), see :meth:`loss` for the scaling.

        Parameters
        ----------
        events : EventStream or BinStatistics
            Training events with times in ``[0, horizon]``.
        epochs : int
            Total number of epochs over all phases (default: ``100``).
        lr : float
            Adam learning rate (default: ``0.1``).
        batch_size : int, optional
            Nodes per batch (default: ``None``, the full graph).
        masked_pairs : Tensor, optional
            Sorted keys :math:`iN + j` of unobserved pairs (completion).
        scale_likelihood : bool
            Scale batch likelihoods to the full graph (default: ``True``).
        checkpoint_dir : str or Path, optional
            Folder for one checkpoint per phase; existing ones are resumed.
        seed : int
            Seed of the batch sampling (default: ``0``).
        progress : bool
            Show progress bars (default: ``True``).

        Returns
        -------
        PiVeM
            ``self``, with the per-phase :class:`FitResult` in ``history_``.
        """
        stats = (
            events
            if isinstance(events, BinStatistics)
            else (bin_statistics(events, self.num_bins, self.horizon))
        )
        if stats.num_nodes != self.num_nodes:
            raise ValueError(
                f"PiVeM.fit: the events have {stats.num_nodes} nodes, the model "
                f"{self.num_nodes}"
            )
        stats = stats.to(self.x0.device, self.x0.dtype)
        if masked_pairs is not None:
            masked_pairs = torch.sort(masked_pairs.to(self.x0.device)).values
        if batch_size is not None and not 2 <= batch_size:
            raise ValueError(f"PiVeM.fit: batch_size must be >= 2, got {batch_size}")
        full = batch_size is None or batch_size >= self.num_nodes
        phases = self.phases()
        split = [
            epochs // len(phases) + (k < epochs % len(phases))
            for k in range(len(phases))
        ]

        def batches(phase: int) -> Any:
            def make(epoch: int) -> Iterator[NodeBatch]:
                if full:
                    yield NodeBatch(stats, None, masked_pairs, scale_likelihood)
                    return
                gen = torch.Generator().manual_seed(
                    seed * 1_000_003 + 1009 * phase + epoch
                )
                order = torch.randperm(self.num_nodes, generator=gen).to(self.x0.device)
                for chunk in order.split(batch_size):
                    if chunk.numel() >= 2:
                        yield NodeBatch(stats, chunk, masked_pairs, scale_likelihood)

            return make

        self.history_ = []
        params = dict(self.named_parameters())
        with worker_threads():
            self._fit_phases(
                phases, split, params, batches, lr, checkpoint_dir, seed, progress
            )
        for param in params.values():
            param.requires_grad_(True)
        self.set_observed_end(stats)
        return self

    def set_observed_end(self, stats: BinStatistics) -> None:
        r"""Set ``observed_end``, the end of the last bin holding an event of ``stats``.

        :meth:`fit` calls it with the training events; the ``"recent"``
        forecast averages the rates up to it (see :meth:`forecast`).
        """
        last = int(stats.bin.max()) + 1 if stats.bin.numel() else self.num_bins
        self.observed_end.fill_(last * self.bin_width)

    def _fit_phases(
        self,
        phases: list[list[str]],
        split: list[int],
        params: dict[str, nn.Parameter],
        batches: Any,
        lr: float,
        checkpoint_dir: str | Path | None,
        seed: int,
        progress: bool,
    ) -> None:
        for k, (names, count) in enumerate(zip(phases, split, strict=True)):
            for name, param in params.items():
                param.requires_grad_(name in names)
            optimizer = torch.optim.Adam([params[n] for n in names], lr=lr)
            path = (
                None
                if checkpoint_dir is None
                else Path(checkpoint_dir) / f"phase{k}.pt"
            )
            self.history_.append(
                fit(
                    # under torchrun: DDP over this phase's trainable parameters
                    distributed.wrap(self, broadcast_buffers=False),
                    epochs=count,
                    optimizer=optimizer,
                    batches=batches(k),
                    checkpoint=path,
                    seed=seed,
                    progress=progress,
                    desc=f"PiVeM phase {k + 1}/{len(phases)}",
                )
            )

    # ------------------------------------------------------------------
    # persistence

    def config(self) -> dict[str, Any]:
        """Return the constructor arguments that rebuild this model."""
        return {
            "num_nodes": self.num_nodes,
            "dim": self.dim,
            "num_bins": self.num_bins,
            "num_communities": self.num_communities,
            "prior_lambda": self.prior_lambda,
            "horizon": self.horizon,
            "static": self.static,
            "memory_budget": self.memory_budget,
            "seed": self.seed,
        }

    def save(self, path: str | Path, **metadata: Any) -> Path:
        """Save the configuration, weights and ``metadata`` (e.g. a time range).

        The file is a :mod:`dyngraph.training.checkpoint` (tensors and
        primitives, written atomically); ``metadata`` holds primitives only.
        """
        return checkpoint.save(
            path,
            kind="PiVeM",
            config={
                **self.config(),
                "dtype": str(self.x0.dtype).removeprefix("torch."),
            },
            state=self.state_dict(),
            metadata=metadata,
        )

    @classmethod
    def load(
        cls, path: str | Path, map_location: torch.device | str | None = None
    ) -> PiVeM:
        """Load a model written by :meth:`save`; its metadata is in ``metadata_``.

        Raises
        ------
        dyngraph.training.CheckpointError
            When ``path`` is not a PiVeM checkpoint.
        """
        saved = checkpoint.load(path, kind="PiVeM", map_location=map_location)
        config = dict(saved.config)
        dtype = getattr(torch, config.pop("dtype"))
        model = cls(**config, dtype=dtype, device=map_location)
        # files written before the buffer existed: the whole horizon observed
        state = {"observed_end": model.observed_end.clone(), **saved.state}
        model.load_state_dict(state)
        model.metadata_ = saved.metadata
        return model


def _moving_pairs(
    x: Tensor,
    v: Tensor,
    beta: Tensor,
    row: Tensor,
    col: Tensor,
    width: float,
) -> Tensor:
    """Per-pair integrals ``[P]`` over all bins of node-major ``x``, ``v``."""
    dx = x.index_select(0, row) - x.index_select(0, col)
    dv = v.index_select(0, row) - v.index_select(0, col)
    values = _segment_integral_gram(
        dx.square().sum(1),
        (dx * dv).sum(1),
        dv.square().sum(1),
        (beta[row] + beta[col]).unsqueeze(-1),
        0.0,
        width,
    )
    return values.sum(-1)


def _resting_pairs(
    x: Tensor, beta: Tensor, row: Tensor, col: Tensor, horizon: float
) -> Tensor:
    """Per-pair integrals ``[P]`` of nodes resting at ``x`` ``[n, D]``."""
    dist = (x[row] - x[col]).square().sum(-1)
    return horizon * torch.exp(beta[row] + beta[col] - dist)


def _segment_integral_grads(
    x2: Tensor, xv: Tensor, v2: Tensor, bias: Tensor, length: float
) -> tuple[Tensor, Tensor, Tensor]:
    r"""Bin integral from :math:`\tau_0 = 0` and its derivatives, in closed form.

    For :math:`I = \int_0^L e^{s - x_2 - 2\tau x_v - \tau^2 v_2}\,d\tau`
    with the Gram entries :math:`x_2 = \lVert\Delta x\rVert^2`,
    :math:`x_v = \langle\Delta x, \Delta v\rangle`, :math:`v_2 =
    \lVert\Delta v\rVert^2` (the value of :func:`segment_integral`):
    :math:`\partial_s I = I`, :math:`\partial_{x_2} I = -I`, and the two
    returned derivatives are :math:`\partial_{x_v} I = -2\int\tau\lambda`
    and :math:`\partial_{v_2} I = -\int\tau^2\lambda`. On the closed-form
    branch, with :math:`h = \sqrt{v_2}`, :math:`u_0 = x_v / h`, :math:`u_1
    = u_0 + Lh` and :math:`\lambda_k` the rates at the two ends
    (integration by parts of :math:`d\lambda/d\tau = -2(x_v + \tau
    v_2)\lambda`),

    .. math::

        \partial_{x_v} I = \frac{2u_0 I}{h} + \frac{\lambda_1 - \lambda_0}{v_2},
        \qquad
        \partial_{v_2} I = \frac{-(u_0^2 + \tfrac12) I
        + (\lambda_0 - \lambda_1)\,u_0 / (2h) + \lambda_1 L / 2}{v_2};

    on the series branch (:func:`segment_integral`) the derivatives of the
    midpoint series :math:`L\lambda_m(1 + c(p^2, q^2))` with
    :math:`p = L x_v + L^2 v_2 / 2`, :math:`q^2 = L^2 v_2`. These are the
    derivatives autograd takes of :func:`segment_integral`, as a handful of
    elementwise passes instead of a recorded graph.

    Returns
    -------
    tuple of Tensor
        :math:`I`, :math:`\partial_{x_v} I`, :math:`\partial_{v_2} I`.
    """
    half = length / 2
    a_mid = xv + half * v2
    p = length * a_mid
    q2 = v2 * length**2
    thr = _SERIES_THRESHOLD
    use_series = (q2 < thr * thr) & (p.abs() < thr)
    pc, qc = p.clamp(-thr, thr).square(), q2.clamp(max=thr * thr)
    correction = (2 * pc - qc) / 12 + (
        qc.square() / 2 - 2 * pc * qc + 2 * pc.square() / 3
    ) / 80
    scaled_rate = length * torch.exp(bias - (x2 + half * (xv + a_mid)))
    series = scaled_rate * (1 + correction)
    d_p2 = 1 / 6 + (4 * pc / 3 - 2 * qc) / 80
    d_q2 = -1 / 12 + (qc - 2 * pc) / 80
    series_xv = length * (2 * scaled_rate * d_p2 * p - series)
    series_v2 = length**2 * (scaled_rate * (d_p2 * p + d_q2) - series / 4)
    v2c = torch.where(use_series | (v2 <= 0), 1.0, v2)
    h = v2c.sqrt()
    u0 = xv / h
    u1 = u0 + length * h
    sign0 = torch.where(u0 >= 0, 1.0, -1.0).to(x2.dtype)
    sign1 = torch.where(u1 > 0, 1.0, -1.0).to(x2.dtype)
    closest = torch.exp(bias - (x2 - u0.square()).clamp(min=0))
    erfcs = sign0 * torch.erfc(u0.abs()) - sign1 * torch.erfc(u1.abs())
    closed = closest * (erfcs + (sign1 - sign0)) * (math.sqrt(math.pi) / 2) / h
    rate0 = closest * torch.exp(-u0.square())
    rate1 = closest * torch.exp(-u1.square())
    closed_xv = (2 * u0 * h * closed + (rate1 - rate0)) / v2c
    closed_v2 = (
        (rate0 - rate1) * u0 / (2 * h) + rate1 * half - (u0.square() + 0.5) * closed
    ) / v2c
    return (
        torch.where(use_series, series, closed),
        torch.where(use_series, series_xv, closed_xv),
        torch.where(use_series, series_v2, closed_v2),
    )


def _moving_block(
    x: Tensor,
    v: Tensor,
    beta: Tensor,
    row: Tensor,
    col: Tensor,
    width: float,
    weight: Tensor | None,
    grads: list[Tensor] | None,
) -> Tensor:
    r"""Weighted sum of the pairs' integrals :math:`\sum_p w_p \int_0^T\lambda_p`.

    Pairs ``row, col`` index the node-major states ``x, v`` (``[n, D, B]``).

    With ``grads`` (accumulators shaped like ``x, v, beta``) the gradient is
    added into them by the chain rule through the Gram entries
    (:func:`_segment_integral_grads`): with :math:`I_{pb}` weighted,
    :math:`g_{\Delta x} = -2I\,\Delta x + \partial_{x_v}I\,\Delta v`,
    :math:`g_{\Delta v} = \partial_{x_v}I\,\Delta x + 2\partial_{v_2}I\,\Delta v`,
    :math:`g_\beta = \sum_b I`, scattered with :math:`+` to ``row`` and
    :math:`-` (:math:`+` for :math:`\beta`) to ``col``.
    """
    dx = x.index_select(0, row) - x.index_select(0, col)
    dv = v.index_select(0, row) - v.index_select(0, col)
    x2, xv, v2 = dx.square().sum(1), (dx * dv).sum(1), dv.square().sum(1)
    bias = (beta[row] + beta[col]).unsqueeze(-1)
    if grads is None:
        values = _segment_integral_gram(x2, xv, v2, bias, 0.0, width)
        if weight is not None:
            values = values * weight.unsqueeze(-1)
        return values.sum()
    values, g_xv, g_v2 = _segment_integral_grads(x2, xv, v2, bias, width)
    if weight is not None:
        w = weight.unsqueeze(-1)
        values, g_xv, g_v2 = values * w, g_xv * w, g_v2 * w
    g_xv = g_xv.unsqueeze(1)
    g_dx = (-2 * values).unsqueeze(1) * dx + g_xv * dv
    g_dv = g_xv * dx + (2 * g_v2).unsqueeze(1) * dv
    per_pair = values.sum(-1)
    gx, gv, gbeta = grads
    gx.index_add_(0, row, g_dx).index_add_(0, col, g_dx, alpha=-1)
    gv.index_add_(0, row, g_dv).index_add_(0, col, g_dv, alpha=-1)
    gbeta.index_add_(0, row, per_pair).index_add_(0, col, per_pair)
    return per_pair.sum()


def _resting_block(
    x: Tensor,
    beta: Tensor,
    row: Tensor,
    col: Tensor,
    horizon: float,
    weight: Tensor | None,
    grads: list[Tensor] | None,
) -> Tensor:
    r""":math:`\sum_p w_p T e^{\beta_i + \beta_j - \lVert x_i - x_j\rVert^2}`.

    With ``grads`` (shaped like ``x, beta``) its gradient is added into them.
    """
    dx = x.index_select(0, row) - x.index_select(0, col)
    values = horizon * torch.exp(beta[row] + beta[col] - dx.square().sum(-1))
    if weight is not None:
        values = values * weight
    if grads is not None:
        g_dx = (-2 * values).unsqueeze(-1) * dx
        gx, gbeta = grads
        gx.index_add_(0, row, g_dx).index_add_(0, col, g_dx, alpha=-1)
        gbeta.index_add_(0, row, values).index_add_(0, col, values)
    return values.sum()


class _BlockedPairSum(torch.autograd.Function):
    r""":math:`\sum_p w_p f_p(\text{states})` over pair blocks, gradients included.

    ``fn(*states, row, col, width, weight, grads)`` returns the weighted
    sum over pairs whose endpoints index dimension 0 of every state tensor
    and, given accumulators ``grads``, adds its gradient into them in
    closed form (:func:`_moving_block`, :func:`_resting_block`);
    ``pairs(start, stop)`` returns the ``row, col`` and weights (or
    ``None``) of pairs ``start:stop`` of ``count``, each with ``cells``
    cells. The forward pass evaluates block after block and, when a
    gradient is wanted, accumulates it into dense tensors, which the
    backward pass only scales: no autograd graph is recorded at all. A
    ``tuner`` (:class:`_WorkerTuner`, or ``None``) picks the number of
    worker threads and is told how long the call took.
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        fn: Any,
        width: float,
        size: int,
        cells: int,
        pairs: Any,
        count: int,
        tuner: _WorkerTuner | None,
        *states: Tensor,
    ) -> Tensor:
        need = any(ctx.needs_input_grad[7:])
        workers = min(_worker_count(), max(1, count * cells // _CELLS_PER_WORKER))
        if tuner is not None:
            workers = tuner.choose(workers)
        chosen = workers
        began = time.perf_counter()
        if workers > 1:
            # at least _BLOCKS_PER_WORKER blocks each, so that a worker held up
            # by another process delays the end by a small block only
            even = -(-count // (workers * _BLOCKS_PER_WORKER))
            size = max(1, min(size, max(even, _MIN_BLOCK_CELLS // cells)))
        starts = range(0, count, size)
        workers = min(workers, len(starts))
        lock = threading.Lock()
        cursor = iter(starts)

        def work() -> tuple[Tensor, list[Tensor]]:
            total = torch.zeros((), dtype=states[0].dtype, device=states[0].device)
            grads = [torch.zeros_like(s) for s in states] if need else None
            while True:
                with lock:
                    start = next(cursor, None)
                if start is None:
                    return total, grads or []
                r, c, w = pairs(start, min(start + size, count))
                total = total + fn(*states, r, c, width, w, grads)

        # every kernel of a block runs on one thread (see worker_threads)
        with torch.no_grad(), worker_threads(_worker_count()):
            if workers <= 1:
                results = [work()]
            else:
                with ThreadPoolExecutor(workers) as pool:
                    futures = [pool.submit(work) for _ in range(workers)]
                    results = [f.result() for f in futures]
        total = sum((r[0] for r in results[1:]), results[0][0])
        if tuner is not None:
            tuner.record(chosen, time.perf_counter() - began, count * cells)
        if need:
            grads = [
                sum((r[1][k] for r in results[1:]), results[0][1][k])
                for k in range(len(states))
            ]
            ctx.save_for_backward(*grads)
        return total

    @staticmethod
    def backward(ctx: Any, grad_out: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        grads = ctx.saved_tensors
        return (None,) * 7 + tuple(grad_out * g for g in grads)


def _isin_sorted(keys: Tensor, sorted_keys: Tensor) -> Tensor:
    if sorted_keys.numel() == 0:
        return torch.zeros_like(keys, dtype=torch.bool)
    pos = torch.searchsorted(sorted_keys, keys).clamp(max=sorted_keys.numel() - 1)
    return sorted_keys[pos] == keys
