r"""A graph neural ODE predictor on an adaptive probe graph (SparseDiff-style).

After `"Sparse Diffusion Autoencoder for Test-time Adapting Prediction of
Complex Systems" <https://arxiv.org/abs/2505.17459>`_ (Cheng et al., NeurIPS
2025). One forecast step of :class:`GraphODE`:

1. **Encode** (:func:`~dyngraph.models.graphode.coarsen.encode`): the last
   :math:`T` frames are coarsened by a codebook into :math:`M` probes and a
   complete probe graph with region-adjacency weights :math:`w_{mn}`.
2. **Evolve**: each probe's history and position are embedded,
   :math:`z_m(0) = \mathrm{MLP}([p_{m,t-T+1:t}, \phi(x_m)])`, and integrated by
   ``torchdiffeq.odeint`` over a real interval :math:`[0, \Delta t]`,

   .. math::
       \frac{dz}{dt} = (A - I)\,z + g(z),

   with :math:`A` row-stochastic attention (the mean over heads of
   :math:`\mathrm{softmax}_n((W_q z_m)^\top W_k z_n/\sqrt d + e_{mn})`, the
   bias :math:`e_{mn}` an MLP of :math:`w_{mn}` and the periodic distance),
   or the normalised adjacency :math:`D^{-1/2}(W + I)D^{-1/2}`; :math:`A` is
   fixed during the solve, computed from :math:`z(0)` (GRAND). :math:`g` is
   an optional local reaction MLP. The probe values advance by
   :math:`p_{t+1} = p_t + L(p_{t-T+1:t}) + \gamma\,[R(z(\Delta t)) - R(z(0))]`
   with a linear read-out :math:`R` (initialised at zero) and an optional
   linear autoregressive skip :math:`L` shared by all probes, set by ridge
   least squares on the pixel series of the training trajectories before
   training, its ridge chosen on held-out rollouts, and then frozen
   (:meth:`GraphODE.init_autoregression`), so the ODE learns what a linear
   autoregression misses. The weight :math:`\gamma` is chosen after training
   by free rollouts (:meth:`GraphODE.choose_gain`; ``0`` drops the ODE) of
   the training trajectories, or of held-out ones (``select_on="held_out"``,
   :func:`selection_split`).
3. **Decode**: a linear map, per channel and per age :math:`s` (frames since
   the last encoding), of the features of :meth:`GraphODE.features`: the
   piecewise-constant fill (each pixel takes its probe's value), an
   inverse-squared-distance kNN interpolation :math:`K` of the probes, the
   residuals of both at the encoding time (the encoder saw the full field
   then) and, with the skip, the pixel forecast :math:`a` (:math:`L` run at
   every pixel of the current history) and its interpolation from the
   probes. The default with the skip is :math:`a + K(p - a_p)`: every pixel
   is carried forward by :math:`L` and corrected by the interpolated
   increment of the neural ODE at the probes (:math:`p - a_p`), so the
   field between probes evolves instead of keeping the residuals of the
   encoding time; without the skip it is the blend of fill and
   interpolation plus those residuals (from ``blend``, exact at the
   encoding time). :meth:`GraphODE.calibrate` (off by default: it was worse
   on the benchmark) fits the map on true probe values of the training
   windows as a ridge regression toward the default, the ridge chosen on
   held-out windows; :meth:`GraphODE.choose_gain` falls back to the default
   when it gives better free rollouts. Optionally corrected by a small
   convolutional refiner. The decoded frame takes the predicted probe
   values at the probes. SparseDiff's diffusion decoder is not implemented
   (a later option).
4. **Re-encode** when :class:`~dyngraph.models.graphode.coarsen.ReencodeRule`
   fires, on the predicted frames, keeping the old probes inside their new
   regions where it can.

Departures from the reference release: its ODE call integrates over a single
time point and returns its input; it has no encoder or predictor training
and no adaptive re-encoding; here the probe dynamics, read-out and refiner
are trained end to end on multi-step rollouts of the decoded field, and the
encoder is k-means on raw histories (no learned VQ-VAE).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from torch import Tensor, nn
from torchdiffeq import odeint, odeint_adjoint

from dyngraph.data.fields import Field
from dyngraph.models.graphode.coarsen import ProbeGraph, ReencodeRule, encode
from dyngraph.training import FitResult, distributed, fit, shuffled_batches
from dyngraph.training.checkpoint import SavesCheckpoint

__all__ = [
    "GraphODE",
    "GraphODEFunc",
    "Rollout",
    "periodic_distance",
    "selection_split",
    "windows",
]

Coupling = Literal["attention", "adjacency"]


CALIBRATION_RIDGES: tuple[float, ...] = (1e-6, 1e-4, 1e-2, 1.0, 1e2)
"""Scale-free ridges toward the default decoder tried by
:meth:`GraphODE.calibrate` (beside the default itself)."""

AUTOREGRESSION_RIDGES: tuple[float, ...] = (1.0, 1e-2, 1e-4, 1e-6)
"""Ridges of the autoregressive skip tried by :meth:`GraphODE.init_autoregression`."""


def _held_out(trajectories: int, per: int, device: torch.device) -> Tensor:
    """``[trajectories * per]`` mask of held-out windows (trajectory order).

    The odd trajectories, or the odd windows when there is one trajectory.
    """
    index = torch.arange(trajectories * per, device=device)
    return (index // per if trajectories >= 2 else index) % 2 == 1


def selection_split(
    trajectories: int, frames: int, history: int
) -> tuple[Tensor, slice, Tensor, slice]:
    """Split training data into a fit part and a held-out selection part.

    The rule, the same for every system: every fourth trajectory (indices 3,
    7, ...) is held out, or the last one when there are two or three; a single
    trajectory keeps its first frames and holds out its last
    ``max(history + 1, frames // 4)`` frames.

    Returns
    -------
    tuple
        ``(fit_trajectories, fit_frames, held_trajectories, held_frames)``:
        index tensors of trajectories and slices of frames.
    """
    index = torch.arange(trajectories)
    everything = slice(0, frames)
    if trajectories >= 4:
        held = index % 4 == 3
        return index[~held], everything, index[held], everything
    if trajectories >= 2:
        return index[:-1], everything, index[-1:], everything
    tail = max(history + 1, frames // 4)
    return index, slice(0, frames - tail), index, slice(frames - tail, frames)


def _ridge_solve(gram: Tensor, rhs: Tensor, prior: Tensor, ridge: float) -> Tensor:
    r"""Solve a ridge regression toward a prior, from its normal equations.

    Returns ``[O, F]`` :math:`\arg\min_m \lVert y - Fm\rVert^2 + \lambda \bar g
    \lVert m - m_0\rVert^2` given the Gram ``[F, F]`` and :math:`F^\top y`
    ``[F, O]`` (:math:`\bar g` the mean diagonal of the Gram); ``ridge = inf``
    returns the prior :math:`m_0` ``[O, F]``.
    """
    if math.isinf(ridge):
        return prior.clone()
    scale = ridge * gram.diagonal().mean().clamp_min(1e-300)
    eye = torch.eye(gram.shape[0], dtype=gram.dtype, device=gram.device)
    return torch.linalg.solve(gram + scale * eye, rhs + scale * prior.T).T


def _choose_ridge(
    fit_part: tuple[Tensor, Tensor],
    held_part: tuple[Tensor, Tensor],
    prior: Tensor,
    ridges: tuple[float, ...],
) -> float:
    r"""Pick the ridge (or ``inf``: the prior) of least held-out squared error.

    ``fit_part`` and ``held_part`` are (Gram, :math:`F^T y`) pairs; the
    held-out error of :math:`m` is
    :math:`\sum_o m_o^\top G m_o - 2 m_o^\top r_o` up to a constant. With no
    held-out data the prior is kept.
    """
    gram, rhs = held_part
    if not bool(gram.abs().sum() > 0):
        return math.inf
    best, best_error = math.inf, None
    for ridge in (math.inf, *ridges):
        mix = _ridge_solve(*fit_part, prior, ridge)
        error = float(
            torch.einsum("of,fg,og->", mix, gram, mix) - 2 * (mix * rhs.T).sum()
        )
        if best_error is None or error < best_error - 1e-12 * abs(best_error):
            best, best_error = ridge, error
    return best


def periodic_distance(a: Tensor, b: Tensor) -> Tensor:
    """``[..., P, Q]`` distances between points in the unit torus."""
    diff = (a.unsqueeze(-2) - b.unsqueeze(-3)).abs()
    diff = torch.minimum(diff, 1 - diff)
    return diff.norm(dim=-1)


def windows(values: Tensor, length: int, stride: int = 1) -> Tensor:
    """``[W, length, ...]``: every window of ``[B, T, ...]`` frames.

    Windows start every ``stride`` frames of each trajectory, in trajectory
    order.
    """
    return torch.stack(
        [
            values[b, s : s + length]
            for b in range(values.shape[0])
            for s in range(0, values.shape[1] - length + 1, stride)
        ]
    )


class GraphODEFunc(nn.Module):
    r"""Right-hand side :math:`f(z) = (A - I) z + g(z)` on the probe graph.

    Set :math:`A` (``[B, M, M]``, rows summing to one) with
    :meth:`set_coupling` before a solve.

    Parameters
    ----------
    hidden : int
        Size of :math:`z`.
    reaction : bool
        Add the local term :math:`g(z) = \mathrm{MLP}(z)` (default: ``True``).
    """

    def __init__(self, hidden: int, reaction: bool = True) -> None:
        super().__init__()
        self.reaction = (
            nn.Sequential(
                nn.Linear(hidden, hidden), nn.Tanh(), nn.Linear(hidden, hidden)
            )
            if reaction
            else None
        )
        self.coupling: Tensor | None = None
        self.evaluations = 0

    def reset_parameters(self) -> None:
        """Reset the reaction MLP."""
        if self.reaction is not None:
            for layer in self.reaction:
                if isinstance(layer, nn.Linear):
                    layer.reset_parameters()

    def set_coupling(self, coupling: Tensor) -> None:
        """Fix :math:`A` for the next solve."""
        self.coupling = coupling

    def forward(self, t: Tensor, z: Tensor) -> Tensor:
        """Return :math:`f(z)` (autonomous: ``t`` is unused)."""
        if self.coupling is None:
            raise RuntimeError("GraphODEFunc: call set_coupling(A) before solving")
        self.evaluations += 1
        out = torch.bmm(self.coupling, z) - z
        if self.reaction is not None:
            out = out + self.reaction(z)
        return out


@dataclass
class Rollout:
    """What :meth:`GraphODE.rollout` returns.

    Attributes
    ----------
    frames : Tensor
        ``[B, S, C, H, W]`` forecast frames (in data units).
    reencoded : Tensor
        ``[B, S]`` booleans: whether the graph was re-encoded before step ``s``.
    graphs : list of (int, ProbeGraph)
        The step at which each encoding took effect, and the graphs.
    """

    frames: Tensor
    reencoded: Tensor
    graphs: list[tuple[int, ProbeGraph]]

    @property
    def reencode_rate(self) -> float:
        """Share of steps at which the rule fired (over fields and steps)."""
        return float(self.reencoded.float().mean()) if self.reencoded.numel() else 0.0


class GraphODE(SavesCheckpoint, nn.Module):
    r"""Graph neural ODE forecaster of a 2-D field from a sparse probe graph.

    See the module docstring for the maths.

    Parameters
    ----------
    channels : int
        Field channels ``C``.
    history : int
        Frames per pixel history ``T`` (default: ``10``).
    num_probes : int
        Codes, hence probes, ``M`` (default: ``30``).
    hidden : int
        Size of the probe state :math:`z` (default: ``64``).
    heads : int
        Attention heads (default: ``4``).
    coupling : {"attention", "adjacency"}
        Row-stochastic attention or the normalised adjacency (default:
        ``"attention"``).
    reaction : bool
        Local reaction term :math:`g` (default: ``True``).
    dt : float
        Length of the integration interval of one step (default: ``1.0``).
    method : str
        torchdiffeq solver (default: ``"rk4"``).
    step_size : float or None
        Step of a fixed-step solver (default: ``dt / 4``).
    adjoint : bool
        Back-propagate with ``odeint_adjoint`` (default: ``False``).
    knn : int
        Probes in the kNN interpolation (default: ``3``).
    blend : float
        Weight of the kNN interpolation against the piecewise-constant fill
        (default: ``0.5``).
    refiner : bool
        Learned convolutional refiner of the decoded field (default:
        ``False``).
    autoregressive : bool
        The linear autoregressive skip :math:`L` of the probe step, set by
        least squares (default: ``True``).
    calibration_horizon : int
        Ages since encoding with their own decoder map, and the length of
        the free rollouts that choose ridges and the ODE's weight (default:
        ``20``).
    iters : int
        k-means iterations (default: ``25``).
    seed : int
        Seed of the weights and of k-means (default: ``0``).
    """

    checkpoint_kind = "GraphODE"

    def __init__(
        self,
        channels: int,
        history: int = 10,
        num_probes: int = 30,
        hidden: int = 64,
        heads: int = 4,
        coupling: Coupling = "attention",
        reaction: bool = True,
        dt: float = 1.0,
        method: str = "rk4",
        step_size: float | None = None,
        adjoint: bool = False,
        knn: int = 3,
        blend: float = 0.5,
        refiner: bool = False,
        autoregressive: bool = True,
        calibration_horizon: int = 20,
        iters: int = 25,
        seed: int = 0,
    ) -> None:
        super().__init__()
        for name, value, low in (
            ("channels", channels, 1),
            ("history", history, 1),
            ("num_probes", num_probes, 1),
            ("hidden", hidden, 1),
            ("heads", heads, 1),
            ("knn", knn, 1),
            ("calibration_horizon", calibration_horizon, 1),
        ):
            if not isinstance(value, int) or value < low:
                raise ValueError(
                    f"GraphODE: `{name}` must be an int >= {low}, got {value!r}"
                )
        if hidden % heads:
            raise ValueError(
                f"GraphODE: `hidden` ({hidden}) must be a multiple of `heads` ({heads})"
            )
        if coupling not in ("attention", "adjacency"):
            raise ValueError(
                "GraphODE: `coupling` must be 'attention' or 'adjacency', "
                f"got {coupling!r}"
            )
        if not (math.isfinite(dt) and dt > 0):
            raise ValueError(f"GraphODE: `dt` must be a finite number > 0, got {dt}")
        if not 0 <= blend <= 1:
            raise ValueError(f"GraphODE: `blend` must be in [0, 1], got {blend}")
        self._config: dict[str, Any] = {
            "channels": channels,
            "history": history,
            "num_probes": num_probes,
            "hidden": hidden,
            "heads": heads,
            "coupling": coupling,
            "reaction": reaction,
            "dt": dt,
            "method": method,
            "step_size": step_size,
            "adjoint": adjoint,
            "knn": knn,
            "blend": blend,
            "refiner": refiner,
            "autoregressive": autoregressive,
            "calibration_horizon": calibration_horizon,
            "iters": iters,
            "seed": seed,
        }
        self.channels, self.history, self.num_probes = channels, history, num_probes
        self.hidden, self.heads, self.coupling = hidden, heads, coupling
        self.dt, self.method, self.adjoint = dt, method, adjoint
        self.step_size = dt / 4 if step_size is None else step_size
        self.knn, self.blend, self.iters, self.seed = knn, blend, iters, seed
        self.embed = nn.Sequential(
            nn.Linear(history * channels + 4, hidden),
            nn.LayerNorm(hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
        )
        self.query = nn.Linear(hidden, hidden, bias=False)
        self.key = nn.Linear(hidden, hidden, bias=False)
        self.edge = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, heads))
        self.func = GraphODEFunc(hidden, reaction)
        self.readout = nn.Linear(hidden, channels)
        self.ar = nn.Linear(history * channels, channels) if autoregressive else None
        if self.ar is not None:  # set by least squares, not by the optimiser
            self.ar.requires_grad_(False)
        self.refine = (
            nn.Sequential(
                nn.Conv2d(3 * channels, 32, 3, padding=1, padding_mode="circular"),
                nn.GELU(),
                nn.Conv2d(32, channels, 3, padding=1, padding_mode="circular"),
            )
            if refiner
            else None
        )
        self.register_buffer("mean", torch.zeros(channels))
        self.register_buffer("std", torch.ones(channels))
        self.register_buffer("gain", torch.ones(()))
        self.register_buffer(
            "mix", self.default_mix().repeat(calibration_horizon, 1, 1)
        )
        self._train_data: dict[str, Any] | None = None
        self.reset_parameters()

    # -- parameters ---------------------------------------------------------

    def reset_parameters(self) -> None:
        """Reset every learnable parameter (seeded by ``seed``)."""
        state = torch.random.get_rng_state()
        torch.manual_seed(self.seed)
        for module in self.modules():
            if module is not self and hasattr(module, "reset_parameters"):
                module.reset_parameters()
        nn.init.zeros_(self.readout.weight)
        nn.init.zeros_(self.readout.bias)
        if self.ar is not None:
            nn.init.zeros_(self.ar.weight)
            nn.init.zeros_(self.ar.bias)
        if self.refine is not None:
            nn.init.zeros_(self.refine[-1].weight)
            nn.init.zeros_(self.refine[-1].bias)
        torch.random.set_rng_state(state)

    def default_mix(self) -> Tensor:
        r"""``[C, GC]`` the default decoder map, from ``blend`` :math:`\beta`.

        Channel :math:`c` reads its own features: with the autoregressive
        skip (``G = 6``) with weights :math:`(0, 1, 0, 0, 1, -1)`, the pixel
        forecast corrected by the interpolated probe increments; without it
        (``G = 4``) with weights :math:`(1-\beta, \beta, 1-\beta, \beta)`
        (see :meth:`features` and :meth:`fill`).
        """
        c, beta = self.channels, self.blend
        prior = (
            [1 - beta, beta, 1 - beta, beta]
            if self.ar is None
            else [0.0, 1.0, 0.0, 0.0, 1.0, -1.0]
        )
        groups = len(prior)
        return torch.einsum("oc,j->ocj", torch.eye(c), torch.tensor(prior)).reshape(
            c, groups * c
        )

    @property
    def device(self) -> torch.device:
        """The device of the weights."""
        return self.readout.weight.device

    def normalise(self, values: Tensor) -> Tensor:
        """Channel-standardise ``[..., C, H, W]`` values."""
        return (values - self.mean.view(-1, 1, 1)) / self.std.view(-1, 1, 1)

    def denormalise(self, values: Tensor) -> Tensor:
        """Invert :meth:`normalise`."""
        return values * self.std.view(-1, 1, 1) + self.mean.view(-1, 1, 1)

    # -- the pieces ---------------------------------------------------------

    def encode(self, history: Tensor, prefer: Tensor | None = None) -> ProbeGraph:
        """Probe graphs of normalised ``[B, T, C, H, W]`` histories.

        ``prefer``: pixels to keep as probes where they can (see
        :func:`~dyngraph.models.graphode.coarsen.encode`).
        """
        return encode(
            history, self.num_probes, iters=self.iters, seed=self.seed, prefer=prefer
        )

    def coupling_matrix(self, z: Tensor, graph: ProbeGraph) -> Tensor:
        """``[B, M, M]`` row-stochastic :math:`A` for states ``z`` ``[B, M, d]``."""
        b, m, _ = z.shape
        eye = torch.eye(m, dtype=torch.bool, device=z.device)
        if self.coupling == "adjacency":
            w = graph.weights + torch.eye(m, device=z.device)
            d = w.sum(2).rsqrt()
            a = d.unsqueeze(2) * w * d.unsqueeze(1)
            return a / a.sum(2, keepdim=True)
        dist = periodic_distance(graph.positions, graph.positions)
        bias = self.edge(torch.stack([graph.weights, dist], -1)).permute(0, 3, 1, 2)
        head = self.hidden // self.heads
        q = self.query(z).view(b, m, self.heads, head).transpose(1, 2)
        k = self.key(z).view(b, m, self.heads, head).transpose(1, 2)
        score = q @ k.transpose(-1, -2) / math.sqrt(head) + bias
        score = score.masked_fill(eye, float("-inf"))
        return score.softmax(-1).mean(1)

    def integrate(self, z0: Tensor, t: Tensor, coupling: Tensor) -> Tensor:
        """Solve :math:`dz/dt = f(z)` from ``z0`` at the times ``t``.

        Parameters
        ----------
        z0 : Tensor
            ``[B, M, d]`` initial state.
        t : Tensor
            ``[K]`` increasing times, ``K >= 2`` (torchdiffeq returns ``z0``
            and takes no step for a single time point).
        coupling : Tensor
            ``[B, M, M]`` the fixed :math:`A`.

        Returns
        -------
        Tensor
            ``[K, B, M, d]``.
        """
        t = torch.as_tensor(t, dtype=z0.dtype, device=z0.device)
        if t.dim() != 1 or t.numel() < 2:
            raise ValueError(
                "GraphODE.integrate: `t` must hold at least two times (start and end "
                f"of the interval), got shape {list(t.shape)}: with one time point "
                "torchdiffeq takes no step and returns the input"
            )
        if not bool((t[1:] > t[:-1]).all()):
            raise ValueError("GraphODE.integrate: `t` must be strictly increasing")
        self.func.set_coupling(coupling)
        options = (
            {"step_size": self.step_size}
            if self.method
            in ("rk4", "euler", "midpoint", "explicit_adams", "implicit_adams")
            else None
        )
        solve = odeint_adjoint if self.adjoint else odeint
        return solve(self.func, z0, t, method=self.method, options=options)

    def _knn_weights(self, graph: ProbeGraph) -> Tensor:
        """``[B, N, M]`` inverse-squared-distance weights of the nearest probes."""
        h, w = graph.grid
        rows = torch.arange(h * w, device=graph.positions.device)
        pixels = torch.stack([rows // w / h, rows % w / w], 1)
        pixels = pixels.to(graph.positions.dtype)
        dist = periodic_distance(
            pixels.expand(graph.positions.shape[0], -1, -1), graph.positions
        )
        k = min(self.knn, graph.num_probes)
        near, idx = dist.topk(k, dim=2, largest=False)
        weight = 1.0 / near.clamp_min(1e-6) ** 2
        out = torch.zeros_like(dist).scatter_(2, idx, weight)
        return out / out.sum(2, keepdim=True)

    def pixel_forecast(self, history: Tensor) -> Tensor:
        r"""``[B, C, N]``: the skip :math:`L` applied at every pixel.

        :math:`a = u_t + L(u_{t-T+1:t})` for the last ``T`` frames of the
        normalised ``[B, T', C, H, W]`` ``history`` (during a rollout: the
        decoded frames). :math:`L` is fitted on pixel series
        (:meth:`init_autoregression`), so it applies to every pixel alike.
        """
        if self.ar is None:
            raise RuntimeError("GraphODE.pixel_forecast: needs `autoregressive=True`")
        history = history[:, -self.history :]
        b, t, c, h, w = history.shape
        lags = history.permute(0, 3, 4, 1, 2).reshape(b, h * w, t * c)
        last = history[:, -1].reshape(b, c, h * w)
        return last + self.ar(lags).transpose(1, 2)

    def features(
        self,
        probes: Tensor,
        graph: ProbeGraph,
        start: dict[str, Tensor],
        forecast: Tensor | None = None,
    ) -> Tensor:
        r"""``[B, C, G, N]``: the decoder's features of probe values ``[B, C, M]``.

        :math:`F_1 = P p` the piecewise-constant fill (every pixel takes its
        probe's value), :math:`F_2 = K p` the kNN interpolation, and the
        residuals :math:`F_3 = u_e - P p_e`, :math:`F_4 = u_e - K p_e` of the
        two at the encoding time :math:`e` (``start``, from :meth:`_start`).
        With the autoregressive skip (``G = 6``) also the pixel forecast
        :math:`F_5 = a` (:meth:`pixel_forecast`, ``forecast``) and its kNN
        interpolation from the probes :math:`F_6 = K a_p`, so that
        :math:`F_5 + F_2 - F_6 = a + K(p - a_p)` carries every pixel forward
        by :math:`L` and corrects it by the interpolated error of :math:`L`
        at the probes, instead of freezing the residuals of time :math:`e`.
        Without ``forecast`` they are zero (right only for maps that give
        them no weight, such as :meth:`default_mix`).
        """
        c = probes.shape[1]
        coarse = torch.gather(
            probes, 2, graph.assignment.unsqueeze(1).expand(-1, c, -1)
        )
        smooth = probes @ start["knn"].transpose(1, 2)
        parts = [coarse, smooth, start["residual_fill"], start["residual_knn"]]
        if self.ar is not None:
            if forecast is None:
                parts += [torch.zeros_like(smooth)] * 2
            else:
                at = torch.gather(
                    forecast, 2, graph.probes.unsqueeze(1).expand(-1, c, -1)
                )
                parts += [forecast, at @ start["knn"].transpose(1, 2)]
        return torch.stack(parts, 2)

    def fill(
        self,
        probes: Tensor,
        graph: ProbeGraph,
        start: dict[str, Tensor],
        forecast: Tensor | None = None,
    ) -> Tensor:
        r"""``[B, C, N]``: the linear decode :math:`\sum_j \mathrm{mix}_{cj} F_j`.

        The default ``mix`` (:meth:`default_mix`) is, with the
        autoregressive skip, :math:`F_5 + F_2 - F_6 = a + K(p - a_p)` (the
        pixel forecast corrected by the interpolated probe increments);
        without it, from ``blend`` :math:`\beta`,
        :math:`(1-\beta)(F_1 + F_3) + \beta (F_2 + F_4)`: the blend of the
        piecewise-constant fill and the kNN interpolation plus the blended
        residual of the encoding time, exact at that time.
        :meth:`calibrate` fits ``mix`` by least squares instead.
        """
        feats = self.features(probes, graph, start, forecast).flatten(1, 2)
        age = start["age"].clamp(1, self.mix.shape[0]) - 1
        return torch.einsum("bfn,bof->bon", feats, self.mix[age])

    def decode(
        self,
        probes: Tensor,
        graph: ProbeGraph,
        start: dict[str, Tensor],
        forecast: Tensor | None = None,
    ) -> Tensor:
        """``[B, C, H, W]`` field from probe values ``[B, C, M]`` (normalised).

        ``forecast`` is the :meth:`pixel_forecast` of the current history
        (see :meth:`features`).
        """
        b = probes.shape[0]
        h, w = graph.grid
        base = self.fill(probes, graph, start, forecast).view(b, self.channels, h, w)
        if self.refine is None:
            return base
        coarse = self.features(probes, graph, start)[:, :, 0].reshape_as(base)
        residual = start["residual_fill"].reshape_as(base)
        return base + self.refine(torch.cat([coarse, residual, base], 1))

    def _start(self, history: Tensor, graph: ProbeGraph) -> dict[str, Tensor]:
        """Per-encoding tensors: kNN weights and the residuals at encoding time."""
        b, _, c, h, w = history.shape
        knn = self._knn_weights(graph)
        last = history[:, -1].reshape(b, c, h * w)
        probes = torch.gather(last, 2, graph.probes.unsqueeze(1).expand(-1, c, -1))
        coarse = torch.gather(
            probes, 2, graph.assignment.unsqueeze(1).expand(-1, c, -1)
        )
        return {
            "age": torch.ones(b, dtype=torch.long, device=history.device),
            "knn": knn,
            "residual_fill": last - coarse,
            "residual_knn": last - probes @ knn.transpose(1, 2),
        }

    def step(
        self, history: Tensor, graph: ProbeGraph, start: dict[str, Tensor]
    ) -> Tensor:
        """One forecast step: normalised ``[B, T, C, H, W]`` to ``[B, C, H, W]``."""
        b, t, c, h, w = history.shape
        flat = history.reshape(b, t, c, h * w)
        index = graph.probes.view(b, 1, 1, -1).expand(-1, t, c, -1)
        series = torch.gather(flat, 3, index)  # [B, T, C, M]
        feats = series.permute(0, 3, 1, 2).reshape(b, -1, t * c)
        angle = 2 * math.pi * graph.positions
        z0 = self.embed(torch.cat([feats, angle.sin(), angle.cos()], 2))
        zt = self.integrate(
            z0, torch.tensor([0.0, self.dt]), self.coupling_matrix(z0, graph)
        )[-1]
        delta = self.gain * (self.readout(zt) - self.readout(z0))
        index = graph.probes.unsqueeze(1).expand(-1, c, -1)
        if self.ar is None:
            forecast, base = None, series[:, -1]
        else:  # L at every pixel once; the probes read their own forecast
            forecast = self.pixel_forecast(history)
            base = torch.gather(forecast, 2, index)
        probes = base + delta.transpose(1, 2)
        frame = self.decode(probes, graph, start, forecast)
        # the decode passes through the probes: their state is what was
        # predicted, not the decoder's rebuild of it
        return frame.reshape(b, c, h * w).scatter(2, index, probes).view(b, c, h, w)

    # -- rollout ------------------------------------------------------------

    def rollout(
        self,
        history: Tensor,
        steps: int,
        rule: ReencodeRule | None = None,
        observed: Tensor | None = None,
    ) -> Rollout:
        """Forecast ``steps`` frames from the last ``history`` frames.

        Parameters
        ----------
        history : Tensor
            ``[B, T', C, H, W]`` observed frames in data units, ``T' >= T``
            (the last ``T`` are used).
        steps : int
            Frames to forecast, ``>= 1``.
        rule : ReencodeRule, optional
            When to re-encode on the predicted frames (default:
            ``ReencodeRule("adaptive")``).
        observed : Tensor, optional
            ``[B, S', C, H, W]`` frames observed after ``history`` (data
            units, ``S' >= steps - 1``). When given, the rule and the encoder
            read the observed histories instead of the predicted ones: the
            probe graph (partition, probes, weights) follows the truth while
            every forecast still feeds on its own frames. With the true
            frames this is the graph a rule on predicted frames aims for, so
            comparing with it shows how much re-encoding can gain (used by
            :func:`~dyngraph.models.graphode.evaluate.compare`); also a way to
            re-encode on data that arrive during a forecast.

        Returns
        -------
        Rollout
        """
        rule = ReencodeRule() if rule is None else rule
        if history.dim() != 5 or history.shape[2] != self.channels:
            raise ValueError(
                "GraphODE.rollout: `history` must have shape "
                f"[B, T, {self.channels}, H, W], "
                f"got {list(history.shape)}"
            )
        if history.shape[1] < self.history:
            raise ValueError(
                f"GraphODE.rollout: `history` holds {history.shape[1]} frames, "
                "the model "
                f"needs the last {self.history}"
            )
        if steps < 1:
            raise ValueError(f"GraphODE.rollout: `steps` must be >= 1, got {steps}")
        if observed is not None and (
            observed.dim() != 5
            or observed.shape[0] != history.shape[0]
            or observed.shape[2:] != history.shape[2:]
            or observed.shape[1] < steps - 1
        ):
            raise ValueError(
                "GraphODE.rollout: `observed` must have shape "
                f"[{history.shape[0]}, >= {steps - 1}, "
                f"{', '.join(map(str, history.shape[2:]))}], "
                f"got {list(observed.shape)}"
            )
        buffer = self.normalise(history[:, -self.history :].to(self.device))
        seen = (
            None
            if observed is None
            else self.normalise(
                torch.cat(
                    [history[:, -self.history :], observed[:, : steps - 1]], 1
                ).to(self.device)
            )
        )
        graph = self.encode(buffer)
        start = self._start(buffer, graph)
        since = torch.zeros(buffer.shape[0], dtype=torch.long, device=self.device)
        frames, fired, graphs = [], [], [(0, graph)]
        for s in range(steps):
            # what the rule and the encoder read: the predicted histories, or
            # the observed ones (the state stays the prediction either way)
            source = buffer if seen is None else seen[:, s : s + self.history]
            again = (
                rule.fires(source, graph, since)
                if s
                else torch.zeros_like(since, dtype=torch.bool)
            )
            if bool(again.any()):
                rows = again.nonzero().flatten()
                # keep the old probes where they can: their histories are
                # predicted states, not decoded interpolations
                fresh = self.encode(source[rows], graph.probes[rows])
                graph = graph.replace(rows, fresh)
                new = self._start(buffer[rows], fresh)
                for key in start:
                    start[key] = start[key].clone()
                    start[key][rows] = new[key]
                since[rows] = 0
                graphs.append((s, graph))
            fired.append(again)
            frame = self.step(buffer, graph, start)
            start["age"] = start["age"] + 1
            frames.append(frame)
            buffer = torch.cat([buffer[:, 1:], frame.unsqueeze(1)], 1)
            since += 1
        return Rollout(
            self.denormalise(torch.stack(frames, 1)),
            torch.stack(fired, 1),
            graphs,
        )

    # -- training -----------------------------------------------------------

    def forward(self, batch: Tensor) -> Tensor:
        """Training loss of a batch of window indices (see :meth:`fit`).

        Each window's last ``T`` true frames are encoded, ``horizon`` frames
        are rolled out (without re-encoding) and the loss is the mean squared
        error of the decoded, normalised frames. Under ``torchrun`` each rank
        takes its shard of ``batch`` and the loss is scaled so that DDP's
        averaged gradient is that of the global batch mean.
        """
        data = self._train_data
        if data is None:
            raise RuntimeError(
                "GraphODE.forward: call fit(field) (it sets the training windows)"
            )
        count = len(batch)
        batch = batch[distributed.shard(count)].to(self.device)
        windows = data["windows"][batch]
        graph = data["graph"]
        graph = ProbeGraph(
            **{
                name: getattr(graph, name)[batch]
                for name in (
                    "assignment",
                    "probes",
                    "positions",
                    "weights",
                    "codes",
                    "center",
                    "consistency",
                )
            },
            grid=graph.grid,
        )
        buffer = windows[:, : self.history]
        start = self._start(buffer, graph)
        total = windows.new_zeros(())
        horizon = windows.shape[1] - self.history
        for s in range(horizon):
            frame = self.step(buffer, graph, start)
            start["age"] = start["age"] + 1
            truth = windows[:, self.history + s]
            total = total + ((frame - truth) ** 2).mean((1, 2, 3)).sum()
            buffer = torch.cat([buffer[:, 1:], frame.unsqueeze(1)], 1)
        return distributed.global_mean(total / horizon, count)

    @torch.no_grad()
    def calibrate(self, values: Tensor, stride: int = 1) -> Tensor:
        r"""Fit the decoder's ``mix`` on true probe values, shrunk to the default.

        Every ``history + S`` frames of each normalised trajectory (starting
        every ``stride`` frames; ``S`` is ``calibration_horizon``, clipped to
        the frames there are) are encoded from their first ``history``
        frames. At each age :math:`s = 1..S` (frames after the encoding) the
        true values of the probes are decoded through the features :math:`F`
        of :meth:`features`, and per age and channel :math:`c`

        .. math::
            \mathrm{mix}_{s,c}(\lambda) = \operatorname{arg\,min}_m \sum_{w,i}
            \Big(u_{c,i}(s) - \sum_j m_j F_{c,j,i}(s)\Big)^2
            + \lambda\,\bar g\,\lVert m - m^{(0)}_c\rVert^2 ,

        ridge regression toward the default :math:`m^{(0)}` (from ``blend``;
        :math:`\bar g` the mean diagonal of the Gram matrix, so that
        :math:`\lambda` is scale-free). :math:`\lambda` is chosen per age
        among :data:`CALIBRATION_RIDGES` and :math:`\infty` (the default
        itself) by the error on held-out windows (the odd trajectories, or
        the odd windows of a single trajectory), then the map is refitted on
        every window. So the calibrated decoder falls back to the default
        wherever least squares does not help on data it was not fitted on.
        Ages beyond ``S`` use the last fit. The decode depends on the age, so
        that a rollout which re-encodes often uses short-age coefficients.
        The pixel forecast features (:meth:`pixel_forecast`) read the
        history as a rollout does: the observed frames, then the frames
        decoded by the maps of the earlier ages (with the true probe
        values at the probes), so they carry the decoder's own errors.

        Parameters
        ----------
        values : Tensor
            ``[B, T, C, H, W]`` normalised trajectories, ``T > history``.
        stride : int
            Frames between window starts (default: ``1``).

        Returns
        -------
        Tensor
            ``[S, C]`` the root-mean-square residual of the fit per age and
            channel. The chosen :math:`\lambda` per age are in
            ``calibration_ridge_`` (``inf``: the default).
        """
        horizon = min(self.mix.shape[0], values.shape[1] - self.history)
        if horizon < 1:
            raise ValueError(
                f"GraphODE.calibrate: `values` holds {values.shape[1]} frames, "
                f"calibration needs more than history = {self.history}"
            )
        wins = windows(values.to(self.device), self.history + horizon, stride)
        per = len(range(0, values.shape[1] - self.history - horizon + 1, stride))
        held = _held_out(values.shape[0], per, wins.device)
        buffer = wins[:, : self.history]
        graph = self.encode(buffer)
        start = self._start(buffer, graph)
        b, _, c, h, w = wins.shape
        index = graph.probes.unsqueeze(1).expand(-1, c, -1)
        prior = self.default_mix().to(wins.device, torch.float64)
        errors, chosen = [], []
        for s in range(horizon):
            frame = wins[:, self.history + s].reshape(b, c, h * w)
            probes = torch.gather(frame, 2, index)
            forecast = None if self.ar is None else self.pixel_forecast(buffer)
            feats = self.features(probes, graph, start, forecast).flatten(1, 2)
            feats, frame = feats.double(), frame.double()
            parts = [
                (
                    torch.einsum("bfn,bgn->fg", feats[rows], feats[rows]),
                    torch.einsum("bfn,bon->fo", feats[rows], frame[rows]),
                )
                for rows in (~held, held)
            ]
            ridge = _choose_ridge(parts[0], parts[1], prior, CALIBRATION_RIDGES)
            gram = parts[0][0] + parts[1][0]
            rhs = parts[0][1] + parts[1][1]
            mix = _ridge_solve(gram, rhs, prior, ridge)  # [C, 4C]
            self.mix[s] = mix.to(self.mix)
            fit = torch.einsum("bfn,of->bon", feats, mix)
            errors.append((frame - fit).pow(2).mean((0, 2)).sqrt())
            chosen.append(ridge)
            decoded = fit.to(buffer).scatter(2, index, probes).view(b, c, h, w)
            buffer = torch.cat([buffer[:, 1:], decoded.unsqueeze(1)], 1)
        self.mix[horizon:] = self.mix[horizon - 1]
        self.calibration_ridge_ = chosen
        return torch.stack(errors).float()

    @torch.no_grad()
    def init_autoregression(
        self, values: Tensor, ridge: float | None = None, max_series: int = 4096
    ) -> Tensor:
        r"""Set the linear skip :math:`L` by ridge least squares on pixel series.

        The probe step is :math:`p_{t+1} = p_t + L(p_{t-T+1:t}) + R(z(\Delta
        t)) - R(z(0))`. :math:`L` is shared by every probe, and a probe is a
        pixel, so before the predictor is trained :math:`L` (weights
        :math:`W_L` and bias) minimises
        :math:`\sum \lVert u_{t+1} - u_t - L(u_{t-T+1:t})\rVert^2 + \lambda n
        \lVert W_L\rVert^2` over the series :math:`u` of the pixels of the
        training trajectories (at most ``max_series`` per trajectory, evenly
        spaced; :math:`n` one-step pairs), so that the neural ODE learns what
        a linear autoregression of each probe misses. Without ``ridge``,
        :math:`\lambda` is chosen among :data:`AUTOREGRESSION_RIDGES` by the
        error of free multi-step rollouts (``calibration_horizon`` steps, no
        teacher forcing) on held-out series (the odd trajectories, or the odd
        pixels of a single trajectory), since a one-step fit can extrapolate
        badly; then :math:`L` is refitted on every series.

        Parameters
        ----------
        values : Tensor
            ``[B, T', C, H, W]`` normalised trajectories, ``T' > history``.
        ridge : float, optional
            A fixed :math:`\lambda` (default: chosen by validation).
        max_series : int
            Pixels per trajectory used (default: ``4096``).

        Returns
        -------
        Tensor
            ``[C]`` the root-mean-square one-step residual per channel; the
            :math:`\lambda` used is in ``autoregression_ridge_``.
        """
        if self.ar is None:
            raise RuntimeError(
                "GraphODE.init_autoregression: needs `autoregressive=True`"
            )
        if values.dim() != 5 or values.shape[1] <= self.history:
            raise ValueError(
                "GraphODE.init_autoregression: `values` must have shape "
                f"[B, T, C, H, W] with T > history = {self.history}, "
                f"got {list(values.shape)}"
            )
        b, length, c, h, w = values.shape
        keep = torch.linspace(0, h * w - 1, min(max_series, h * w)).round().long()
        series = values.reshape(b, length, c, h * w)[..., keep.to(values.device)]
        series = series.permute(0, 3, 1, 2).double()  # [B, S, L, C]
        if b >= 2:
            fit_part, val_part = series[0::2].flatten(0, 1), series[1::2].flatten(0, 1)
        else:
            fit_part, val_part = series[0, 0::2], series[0, 1::2]
        if ridge is None:
            horizon = min(self.mix.shape[0], length - self.history)
            scores = {}
            for lam in AUTOREGRESSION_RIDGES:
                coef = self._ar_least_squares(fit_part, lam)
                scores[lam] = self._ar_rollout_error(coef, val_part, horizon)
            ridge = min(scores, key=lambda lam: scores[lam])
            self.autoregression_scores_ = scores
        coef = self._ar_least_squares(series.flatten(0, 1), ridge)
        self.ar.weight.copy_(coef[:-1].T.to(self.ar.weight))
        self.ar.bias.copy_(coef[-1].to(self.ar.bias))
        self.autoregression_ridge_ = ridge
        x, y = self._ar_pairs(series.flatten(0, 1))
        resid = y - x @ coef
        return resid.pow(2).mean(0).sqrt().float()

    def _ar_pairs(self, series: Tensor) -> tuple[Tensor, Tensor]:
        """Lagged inputs (with a constant) and increments of ``[S, L, C]`` series."""
        t = self.history
        steps = range(series.shape[1] - t)
        x = torch.cat([series[:, s : s + t].flatten(1) for s in steps])
        y = torch.cat([series[:, s + t] - series[:, s + t - 1] for s in steps])
        return torch.cat([x, torch.ones_like(x[:, :1])], 1), y

    def _ar_least_squares(self, series: Tensor, ridge: float) -> Tensor:
        """``[T*C + 1, C]`` ridge coefficients (the constant not penalised)."""
        x, y = self._ar_pairs(series)
        gram = x.T @ x
        penalty = ridge * x.shape[0] * torch.eye(x.shape[1], dtype=x.dtype)
        # a trace-relative floor keeps ridge = 0 solvable on collinear lags
        penalty += 1e-12 * gram.diagonal().mean() * torch.eye(x.shape[1], dtype=x.dtype)
        penalty[-1, -1] = 0.0
        return torch.linalg.solve(gram + penalty.to(x.device), x.T @ y)

    def _ar_rollout_error(self, coef: Tensor, series: Tensor, horizon: int) -> float:
        """Mean squared error of free ``horizon``-step rollouts of ``[S, L, C]``."""
        t, total, count = self.history, 0.0, 0
        every = max(1, (series.shape[1] - t - horizon) // 4)
        for s in range(0, series.shape[1] - t - horizon + 1, every):
            buffer = series[:, s : s + t]
            for k in range(horizon):
                lags = torch.cat(
                    [buffer.flatten(1), torch.ones_like(buffer[:, 0, :1])], 1
                )
                step = buffer[:, -1] + lags @ coef
                total += float((step - series[:, s + t + k]).pow(2).mean())
                count += 1
                buffer = torch.cat([buffer[:, 1:], step.unsqueeze(1)], 1)
        return total / count if math.isfinite(total) else math.inf

    @torch.no_grad()
    def choose_gain(
        self, values: Tensor, gains: tuple[float, ...] = (1.0, 0.5, 0.25, 0.0)
    ) -> dict[tuple[str, float], float]:
        r"""Set the weight :math:`\gamma` of the neural ODE's increment and the decoder.

        The probe step is :math:`p_{t+1} = p_t + L(p_{t-T+1:t}) +
        \gamma\,[R(z(\Delta t)) - R(z(0))]`, trained with :math:`\gamma = 1`
        on short rollouts. Every :math:`\gamma` in ``gains``, with the
        default decoder (``"default"``, :meth:`default_mix`) and, when the
        current ``mix`` differs from it, with that one (``"calibrated"``,
        tried first), is scored by
        the mean squared error of free ``calibration_horizon``-step rollouts
        (no re-encoding) of windows of ``values`` starting every ``history``
        frames; the best pair is kept (earlier candidates win ties). So a
        correction learnt on short windows that degrades long rollouts is
        shrunk or dropped (:math:`\gamma = 0`: the linear autoregression
        alone), and a calibrated decoder that fits true probe values but
        hurts rollouts falls back to the default.

        Parameters
        ----------
        values : Tensor
            ``[B, T', C, H, W]`` normalised trajectories, ``T' > history``.
        gains : tuple of float
            The candidates (default: ``(1, 0.5, 0.25, 0)``).

        Returns
        -------
        dict
            The error of every ``(decoder, gain)`` candidate.
        """
        horizon = min(self.mix.shape[0], values.shape[1] - self.history)
        if horizon < 1:
            raise ValueError(
                f"GraphODE.choose_gain: `values` holds {values.shape[1]} frames, "
                f"needs more than history = {self.history}"
            )
        wins = windows(values.to(self.device), self.history + horizon, self.history)
        buffer0 = wins[:, : self.history]
        graph = self.encode(buffer0)
        default = self.default_mix().to(self.mix).expand_as(self.mix)
        mixes = {"default": default.clone()}
        if not torch.equal(self.mix, default):
            mixes = {"calibrated": self.mix.clone(), **mixes}
        scores: dict[tuple[str, float], float] = {}
        for decoder, mix in mixes.items():
            self.mix.copy_(mix)
            for gain in gains:
                self.gain.fill_(gain)
                start, buffer, total = self._start(buffer0, graph), buffer0, 0.0
                for s in range(horizon):
                    frame = self.step(buffer, graph, start)
                    start["age"] = start["age"] + 1
                    total += float((frame - wins[:, self.history + s]).pow(2).mean())
                    buffer = torch.cat([buffer[:, 1:], frame.unsqueeze(1)], 1)
                score = total / horizon
                scores[(decoder, gain)] = score if math.isfinite(score) else math.inf
        best = next(iter(scores))
        for key, score in scores.items():
            if score < scores[best]:
                best = key
        self.mix.copy_(mixes[best[0]])
        self.gain.fill_(best[1])
        self.decoder_ = best[0]
        return scores

    def set_training_windows(self, field: Field, horizon: int, stride: int) -> int:
        """Set the normalisation and the windows :meth:`forward` reads.

        Every ``history + horizon`` frames of each trajectory, starting every
        ``stride`` frames, with the probe graph of its first ``history``
        frames. :meth:`fit` calls it (and clears the windows afterwards).

        Returns
        -------
        int
            The number of windows (the indices a batch holds).
        """
        values = field.values.to(self.device)
        with torch.no_grad():
            self.mean.copy_(values.mean((0, 1, 3, 4)))
            self.std.copy_(values.std((0, 1, 3, 4)).clamp_min(1e-6))
            norm = self.normalise(values)
            wins = windows(norm, self.history + horizon, stride)
            graph = self.encode(wins[:, : self.history])
        self._train_data = {"windows": wins, "graph": graph}
        return wins.shape[0]

    def fit(
        self,
        field: Field,
        *,
        epochs: int = 30,
        lr: float = 3e-3,
        batch_size: int = 16,
        horizon: int = 4,
        stride: int = 1,
        calibrate: bool = False,
        choose_gain: bool = True,
        select_on: Literal["training", "held_out"] = "training",
        refit: bool = True,
        checkpoint: str | Path | None = None,
        seed: int = 0,
        progress: bool = False,
    ) -> GraphODE:
        """Fit on every window of ``field`` with :func:`dyngraph.training.fit`.

        A window is ``history + horizon`` consecutive frames of one trajectory,
        starting every ``stride`` frames; its probe graph is encoded once from
        its first ``history`` (true) frames. The channel mean and standard
        deviation of ``field`` become the model's normalisation.

        Parameters
        ----------
        field : Field
            Training trajectories on a 2-D grid.
        epochs, lr, batch_size : int, float, int
            Adam epochs, learning rate and windows per step (defaults: ``30``,
            ``3e-3``, ``16``).
        horizon : int
            Frames rolled out per window in the loss (default: ``4``).
        stride : int
            Frames between window starts (default: ``1``).
        calibrate : bool
            Fit the decoder's ``mix`` (:meth:`calibrate`) before the predictor
            is trained; ``False`` (default) keeps :meth:`default_mix`. With
            the pixel forecast in the default decoder the calibration, fitted
            on true probe values, made free rollouts worse on the benchmark
            (README, graph ODE section).
        choose_gain : bool
            After training, set the weight of the neural ODE's increment and
            pick the calibrated or the default decoder by :meth:`choose_gain`;
            ``False`` fits on all of ``field`` and keeps the weight at ``1``
            (default: ``True``).
        select_on : {"training", "held_out"}
            Where :meth:`choose_gain` scores: ``"training"`` (default) on all
            of ``field``, which the fit trained on; ``"held_out"`` on a part
            (:func:`selection_split`: every fourth trajectory, or the last one
            of two or three, or the last quarter of the frames of a single
            trajectory) held out from the normalisation, the autoregressive
            skip, the calibration and the training of a selection fit on the
            rest. The default stays ``"training"``: on the benchmark the
            held-out choice was worse overall (README, graph ODE section).
        refit : bool
            With ``select_on="held_out"``, then refit from the initial weights
            on all of ``field`` with the chosen decoder (the calibration only
            when the calibrated one was chosen) and weight, as the
            autoregressive skip is refitted after its ridge is chosen;
            ``False`` keeps the selection fit (default: ``True``). The
            checkpoint belongs to the final fit.
        checkpoint : str or Path, optional
            Fit-state file; an existing one is resumed from (bit-exact).
        seed : int
            Seed of the batches (default: ``0``).
        progress : bool
            Show a progress bar (default: ``False``).

        Returns
        -------
        GraphODE
            ``self``, with the :class:`~dyngraph.training.FitResult` in
            ``fit_result_``.
        """
        if not isinstance(field, Field) or len(field.grid) != 2:
            raise ValueError("GraphODE.fit: `field` must be a Field on a 2-D grid")
        if field.values.shape[2] != self.channels:
            raise ValueError(
                f"GraphODE.fit: `field` has {field.values.shape[2]} channels, "
                "the model "
                f"{self.channels}"
            )
        for name, value in (
            ("horizon", horizon),
            ("stride", stride),
            ("batch_size", batch_size),
        ):
            if value < 1:
                raise ValueError(f"GraphODE.fit: `{name}` must be >= 1, got {value}")
        length = self.history + horizon
        if field.num_frames < length:
            raise ValueError(
                f"GraphODE.fit: `field` has {field.num_frames} frames, a window needs "
                f"history + horizon = {length}"
            )
        if select_on not in ("training", "held_out"):
            raise ValueError(
                "GraphODE.fit: `select_on` must be 'training' or 'held_out', "
                f"got {select_on!r}"
            )
        if choose_gain and select_on == "training":
            self._fit_part(
                field,
                epochs,
                lr,
                batch_size,
                horizon,
                stride,
                calibrate,
                checkpoint,
                seed,
                progress,
            )
            norm = self.normalise(field.values.to(self.device))
            self.gain_scores_ = self.choose_gain(norm)
            return self
        if choose_gain:
            fit_b, fit_t, held_b, held_t = selection_split(
                field.num_trajectories, field.num_frames, self.history
            )
            held = field.trajectories(held_b).frames(held_t)
            part = field.trajectories(fit_b).frames(fit_t)
            if part.num_frames < length:
                raise ValueError(
                    f"GraphODE.fit: `field` has one trajectory of "
                    f"{field.num_frames} frames; holding out the last "
                    f"{held.num_frames} for `choose_gain` leaves fewer than "
                    f"history + horizon = {length} (give more frames or "
                    "trajectories, or `choose_gain=False`)"
                )
            initial = {k: v.clone() for k, v in self.state_dict().items()}
            self._fit_part(
                part,
                epochs,
                lr,
                batch_size,
                horizon,
                stride,
                calibrate,
                None,
                seed,
                progress,
            )
            scores = self.choose_gain(self.normalise(held.values.to(self.device)))
            decoder, gain = self.decoder_, float(self.gain)
            if not refit:
                self.gain_scores_ = scores
                return self
            self.load_state_dict(initial)
            calibrate = calibrate and decoder == "calibrated"
        self._fit_part(
            field,
            epochs,
            lr,
            batch_size,
            horizon,
            stride,
            calibrate,
            checkpoint,
            seed,
            progress,
        )
        if choose_gain:
            self.gain.fill_(gain)
            self.decoder_, self.gain_scores_ = decoder, scores
        return self

    def _fit_part(
        self,
        field: Field,
        epochs: int,
        lr: float,
        batch_size: int,
        horizon: int,
        stride: int,
        calibrate: bool,
        checkpoint: str | Path | None,
        seed: int,
        progress: bool,
    ) -> None:
        """One fit of :meth:`fit` on ``field``: skip, calibration, training."""
        n = self.set_training_windows(field, horizon, stride)
        norm = self.normalise(field.values.to(self.device))
        if self.ar is not None:
            self.autoregression_fit_ = self.init_autoregression(norm)
        if calibrate:
            self.decoder_fit_ = self.calibrate(norm, stride)
        optimizer = torch.optim.Adam(
            [p for p in self.parameters() if p.requires_grad], lr=lr
        )
        try:
            self.fit_result_: FitResult = fit(
                distributed.wrap(self),  # DDP under torchrun, else self
                epochs=epochs,
                optimizer=optimizer,
                batches=shuffled_batches(n, batch_size, seed),
                checkpoint=checkpoint,
                seed=seed,
                progress=progress,
                desc="fit graphode",
            )
        finally:
            self._train_data = None
