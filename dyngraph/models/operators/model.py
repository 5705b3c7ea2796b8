r"""A sparse graph neural operator for particle dynamics (GIOROM-style).

After "Reduced-Order Neural Operators: Learning Lagrangian Dynamics on
Highly Sparse Graphs" (Viswanath et al., arXiv 2407.03925). The dense state
of :math:`N` particles is advanced on a sample of :math:`M = \lceil rN\rceil`
of them and read back anywhere:

1. **Subsample** (:func:`~dyngraph.models.operators.sampling.subsample`):
   farthest-point or random, seeded, on the reference (first) frame; the
   same particles are followed through the trajectory.
2. **Time-step** the sample with a GNS processor
   (:class:`~dyngraph.models.operators.gns.GNS`), with the GNS conventions
   of :mod:`dyngraph.data.particles`: the last :math:`C` velocities
   (normalised by :math:`\sqrt{\sigma_v^2 + \sigma_n^2}`), the boundary
   features, a type embedding; edges of the radius graph on the latest
   position with features :math:`[(x_i - x_j)/R, \lVert x_i - x_j\rVert/R]`;
   the output is the normalised acceleration and
   :math:`v_{t+1} = v_t + a_t`, :math:`x_{t+1} = x_t + v_{t+1}` (time in
   frames). The radius grows as the sample thins,
   :math:`R = R_0\, r^{-1/d}` (``scale_radius``), which keeps the expected
   number of neighbours of the dense graph.
3. **Decode** with a kernel integral
   (:class:`~dyngraph.models.operators.gno.KernelIntegral`) from the sample
   to any query points :math:`q` given in the reference configuration,
   as GIOROM's full-order decoder: the input is the sample's displacement
   :math:`u_j = x_j(t) - x_j(0)`, the output the query's displacement, so
   :math:`\hat x_q(t) = q + \hat u(q)`. ``decoder="nearest"`` instead gives
   each query the displacement of its nearest sample particle (the
   non-learned peer); with ``ratio = 1`` it is the identity, i.e. a plain
   GNS on all particles. ``decoder="flow"`` decodes in the CURRENT
   configuration instead (Lagrangian, for solids and mixing fluids alike):
   each query carries its own velocity, starting from the rollout's initial
   condition (the last two window frames), and gains the sample's
   acceleration :math:`a_j = x_j(t+1) - 2x_j(t) + x_j(t-1)` interpolated at
   its own current position,

   .. math::
       v_q(t+1) = v_q(t) + \mathcal{I}[a](x_q(t)),\quad
       x_q(t+1) = x_q(t) + v_q(t+1),

   with :math:`\mathcal{I}` the affine moving least squares of
   :func:`~dyngraph.models.operators.gno.moving_least_squares` (exact for
   affine fields: uniform, rotating, shearing flow); ``"flow_nearest"``
   uses the nearest sample particle (its non-learned peer, the identity at
   ``ratio = 1``). Interpolating velocities instead, or displacements from
   frame 0, loses each fluid particle's own velocity, which the sample does
   not determine (``benchmarks/operators.py`` measures the floors).
   ``"flow"`` is the default: it is the decoder the benchmark's targets are
   met with.
4. **Query points anywhere** (:meth:`SparseGraphOperator.trace`): with the
   ``"flow"`` decoders, points :math:`q` given in the reference
   configuration are passive tracers of the same flow. They start at
   :math:`x_q(0) = q` with the sample's first displacement interpolated
   there, :math:`x_q(1) = q + \mathcal{I}[x_j(1) - x_j(0)](q)`, and are
   then advected as above by the sample's accelerations, through the true
   frames of the input window and on through the predicted ones. With
   ``"gno"`` and ``"nearest"`` the queries are decoded in the reference
   configuration as in 3.

Training (:meth:`SparseGraphOperator.fit`) minimises the sum of the GNS
one-step loss (mean squared error of the normalised acceleration on noisy
inputs: random-walk noise of std :math:`\sigma_n` on the last velocity, the
target corrected for the velocity noise) and the decoder loss (mean squared
error of the normalised dense displacements, from true sample states). The
two parts share no weights, so with Adam this is the same as training them
apart (GIOROM's split set-up), in one loop. Kinematic particles
(:data:`~dyngraph.data.particles.KINEMATIC`) get no noise and no loss, and
are set to the truth during a rollout.

Departures from the reference: no latent-grid operator block inside the
processor (GIOROM's GNO-in / GNOT / GNO-out), plain GNS interaction
networks with sum aggregation instead of distance-damped means plus
SSGConv; the decoder always sees at least ``min_neighbours`` sources.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from torch import Tensor, nn

from dyngraph.data.neighbours import radius_graph
from dyngraph.data.particles import KINEMATIC, NUM_TYPES, Particles, boundary_features
from dyngraph.models.operators.gno import (
    KernelIntegral,
    moving_least_squares,
    nearest_interpolation,
)
from dyngraph.models.operators.gns import GNS
from dyngraph.models.operators.sampling import SAMPLERS, subsample
from dyngraph.training import (
    FitResult,
    SavesCheckpoint,
    distributed,
    fit,
    shuffled_batches,
)

__all__ = ["DECODERS", "Rollout", "SparseGraphOperator"]

DECODERS = ("gno", "nearest", "flow", "flow_nearest")
"""The decoders :class:`SparseGraphOperator` accepts."""


@dataclass
class Rollout:
    """What :meth:`SparseGraphOperator.rollout` returns.

    Attributes
    ----------
    sparse_index : Tensor
        ``[M]`` indices of the simulated particles.
    sparse : Tensor
        ``[S, M, d]`` their predicted positions.
    dense : Tensor
        ``[S, Q, d]`` the decoded positions at the query points.
    query : Tensor
        ``[Q, d]`` the query points in the reference configuration (frame 0).
    """

    sparse_index: Tensor
    sparse: Tensor
    dense: Tensor
    query: Tensor


class SparseGraphOperator(SavesCheckpoint, nn.Module):
    r"""Learn particle dynamics on a sparse sample, evaluate at any point.

    See the module docstring for the maths.

    Parameters
    ----------
    dim : int
        Spatial dimension ``d`` (default: ``2``).
    ratio : float
        Sampling ratio :math:`r \in (0, 1]` (default: ``0.25``).
    sampling : {"fps", "random"}
        How the sample is drawn (default: ``"fps"``).
    radius : float
        Connectivity radius :math:`R_0` of the dense graph (default:
        ``0.035``: about ten neighbours at the systems' spacing 0.02).
    scale_radius : bool
        Use :math:`R = R_0 r^{-1/d}` on the sample (default: ``True``).
    history : int
        Positions per input window, :math:`C + 1` (default: ``6``, GNS's).
    hidden : int
        Latent size (default: ``64``; GNS uses ``128``).
    layers : int
        Interaction-network steps (default: ``4``; GNS uses ``10``).
    mlp_layers : int
        Hidden layers per MLP (default: ``2``).
    type_dim : int
        Size of the particle-type embedding (default: ``16``).
    noise_std : float
        Training noise :math:`\sigma_n` on the last input velocity
        (default: ``3e-4``; GNS uses ``6.7e-4`` for its datasets).
    decoder : {"gno", "nearest", "flow", "flow_nearest"}
        Kernel-integral or nearest-neighbour decoder of displacements in the
        reference configuration, or Lagrangian decoding of accelerations in
        the current one by moving least squares or nearest neighbour
        (default: ``"flow"``, the benchmarked one; it has no weights).
    decoder_radius : float, optional
        Radius of the decoder's neighbourhoods (default: :math:`R`).
    decoder_hidden : int
        Width of the kernel MLP (default: ``64``).
    min_neighbours : int
        Nearest sources in every decoder neighbourhood (default: ``3``).
    seed : int
        Seed of the weights and of the sampling (default: ``0``).

    ``save(path, **metadata)`` and ``SparseGraphOperator.load(path)`` go
    through :class:`~dyngraph.training.SavesCheckpoint` (the configuration,
    weights and statistics; no pickles).
    """

    checkpoint_kind = "SparseGraphOperator"

    def __init__(
        self,
        dim: int = 2,
        ratio: float = 0.25,
        sampling: Literal["fps", "random"] = "fps",
        radius: float = 0.035,
        scale_radius: bool = True,
        history: int = 6,
        hidden: int = 64,
        layers: int = 4,
        mlp_layers: int = 2,
        type_dim: int = 16,
        noise_std: float = 3e-4,
        decoder: Literal["gno", "nearest", "flow", "flow_nearest"] = "flow",
        decoder_radius: float | None = None,
        decoder_hidden: int = 64,
        min_neighbours: int = 3,
        seed: int = 0,
    ) -> None:
        super().__init__()
        for name, value, low in (
            ("dim", dim, 2),
            ("history", history, 2),
            ("hidden", hidden, 1),
            ("layers", layers, 1),
            ("mlp_layers", mlp_layers, 0),
            ("type_dim", type_dim, 1),
            ("decoder_hidden", decoder_hidden, 1),
            ("min_neighbours", min_neighbours, 1),
        ):
            if not isinstance(value, int) or value < low:
                raise ValueError(
                    f"SparseGraphOperator: `{name}` must be an int >= {low}, "
                    f"got {value!r}"
                )
        if dim > 3:
            raise ValueError(f"SparseGraphOperator: `dim` must be 2 or 3, got {dim}")
        if not (math.isfinite(ratio) and 0 < ratio <= 1):
            raise ValueError(
                f"SparseGraphOperator: `ratio` must be in (0, 1], got {ratio}"
            )
        if sampling not in SAMPLERS:
            raise ValueError(
                f"SparseGraphOperator: `sampling` must be one of {SAMPLERS}, "
                f"got {sampling!r}"
            )
        if decoder not in DECODERS:
            raise ValueError(
                f"SparseGraphOperator: `decoder` must be one of {DECODERS}, "
                f"got {decoder!r}"
            )
        for name, value in (("radius", radius), ("decoder_radius", decoder_radius)):
            if value is not None and not (math.isfinite(value) and value > 0):
                raise ValueError(
                    f"SparseGraphOperator: `{name}` must be a finite number > 0, "
                    f"got {value}"
                )
        if not (math.isfinite(noise_std) and noise_std >= 0):
            raise ValueError(
                f"SparseGraphOperator: `noise_std` must be >= 0, got {noise_std}"
            )
        self._config: dict[str, Any] = {
            "dim": dim,
            "ratio": ratio,
            "sampling": sampling,
            "radius": radius,
            "scale_radius": scale_radius,
            "history": history,
            "hidden": hidden,
            "layers": layers,
            "mlp_layers": mlp_layers,
            "type_dim": type_dim,
            "noise_std": noise_std,
            "decoder": decoder,
            "decoder_radius": decoder_radius,
            "decoder_hidden": decoder_hidden,
            "min_neighbours": min_neighbours,
            "seed": seed,
        }
        self.dim, self.ratio, self.sampling, self.history = (
            dim,
            ratio,
            sampling,
            history,
        )
        self.noise_std, self.decoder_kind, self.seed = noise_std, decoder, seed
        self.graph_radius = radius * ratio ** (-1 / dim) if scale_radius else radius
        self.decoder_radius = decoder_radius or self.graph_radius
        self.min_neighbours = min_neighbours
        velocities = history - 1
        self.type_embedding = nn.Embedding(NUM_TYPES, type_dim)
        self.gns = GNS(
            velocities * dim + 2 * dim + type_dim,
            dim + 1,
            dim,
            hidden=hidden,
            layers=layers,
            mlp_layers=mlp_layers,
        )
        self.decoder = (
            KernelIntegral(
                dim,
                dim,
                dim,
                self.decoder_radius,
                hidden=decoder_hidden,
                min_neighbours=min_neighbours,
            )
            if decoder == "gno"
            else None
        )
        for name in ("vel_mean", "acc_mean"):
            self.register_buffer(name, torch.zeros(dim))
        for name in ("vel_std", "acc_std", "disp_std"):
            self.register_buffer(name, torch.ones(dim))
        self.register_buffer("box", torch.tensor([[0.0, 1.0]] * dim))
        self._train_data: dict[str, Any] | None = None
        self.reset_parameters()

    # -- parameters ---------------------------------------------------------

    def reset_parameters(self) -> None:
        """Reset every learnable parameter (seeded by ``seed``)."""
        state = torch.random.get_rng_state()
        torch.manual_seed(self.seed)
        nn.init.xavier_uniform_(self.type_embedding.weight)
        self.gns.reset_parameters()
        if self.decoder is not None:
            self.decoder.reset_parameters()
        torch.random.set_rng_state(state)

    @property
    def device(self) -> torch.device:
        """The device of the weights."""
        return self.type_embedding.weight.device

    @property
    def dtype(self) -> torch.dtype:
        """The dtype of the weights."""
        return self.type_embedding.weight.dtype

    @property
    def acc_scale(self) -> Tensor:
        r"""``[d]`` the acceleration scale :math:`\sqrt{\sigma_a^2 + \sigma_n^2}`.

        As GNS, the noise std is folded into the data's: the noisy targets
        carry a velocity correction of the order of :math:`\sigma_n`.
        """
        return torch.sqrt(self.acc_std**2 + self.noise_std**2)

    def sample(self, reference: Tensor, offset: int = 0) -> Tensor:
        """``[M]`` indices of the sample of reference positions ``[N, d]``.

        Drawn with ``seed + offset`` (the training trajectory ``b`` uses
        ``offset = b``).
        """
        return subsample(reference, self.ratio, self.sampling, self.seed + offset)

    # -- the pieces ---------------------------------------------------------

    def _graph(self, window: Tensor, types: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Node features, edges and edge features of one ``[C + 1, M, d]`` window."""
        last = window[-1]
        vel = window[1:] - window[:-1]
        scale = torch.sqrt(self.vel_std**2 + self.noise_std**2)
        vel = (vel - self.vel_mean) / scale
        vel = vel.transpose(0, 1).reshape(len(last), -1)
        bound = boundary_features(last, self.box, self.graph_radius)
        nodes = torch.cat([vel, bound, self.type_embedding(types)], -1)
        edge_index = radius_graph(last, self.graph_radius, loop=True)
        src, dst = edge_index
        offset = (last[dst] - last[src]) / self.graph_radius
        edges = torch.cat([offset, offset.norm(dim=-1, keepdim=True)], -1)
        return nodes, edge_index, edges

    def accelerations(self, windows: list[Tensor], types: list[Tensor]) -> list[Tensor]:
        """Normalised accelerations ``[M_k, d]`` of windows ``[C + 1, M_k, d]``.

        The windows are joined into one disconnected graph for one pass.
        """
        parts = [self._graph(w, t) for w, t in zip(windows, types, strict=True)]
        offsets = torch.tensor([0] + [len(w[-1]) for w in windows]).cumsum(0)
        nodes = torch.cat([p[0] for p in parts])
        edge_index = torch.cat(
            [p[1] + int(o) for p, o in zip(parts, offsets[:-1], strict=True)], 1
        )
        edges = torch.cat([p[2] for p in parts])
        out = self.gns(nodes, edge_index, edges)
        return list(out.split([len(w[-1]) for w in windows]))

    def step(self, window: Tensor, types: Tensor) -> Tensor:
        """``[M, d]`` next positions after a ``[C + 1, M, d]`` window (Euler)."""
        acc = self.accelerations([window], [types])[0] * self.acc_scale + self.acc_mean
        return window[-1] + (window[-1] - window[-2]) + acc

    def decode(
        self,
        reference: Tensor,
        positions: Tensor,
        query: Tensor,
        edge_index: Tensor | None = None,
    ) -> Tensor:
        """``[..., Q, d]`` positions at the query points from the sample's.

        Parameters
        ----------
        reference : Tensor
            ``[M, d]`` the sample's reference positions.
        positions : Tensor
            ``[..., M, d]`` its current positions.
        query : Tensor
            ``[Q, d]`` query points in the reference configuration.
        edge_index : Tensor, optional
            Precomputed neighbourhoods
            (:meth:`KernelIntegral.neighbourhoods`).
        """
        if self.decoder_kind in ("flow", "flow_nearest"):
            raise ValueError(
                f"SparseGraphOperator.decode: decoder {self.decoder_kind!r} decodes "
                "in the current configuration, along the sample's motion; use "
                "trace (query points as tracers) or rollout(..., query=...)"
            )
        disp = positions - reference
        if self.decoder is None:
            return query + nearest_interpolation(reference, disp, query)
        out = self.decoder(reference, disp / self.disp_std, query, edge_index)
        return query + out * self.disp_std

    def interpolate(
        self, y: Tensor, f: Tensor, x: Tensor, nearest: bool = False
    ) -> Tensor:
        """``[Q, C]`` values ``f`` ``[M, C]`` at ``y`` read at ``x`` (``"flow"``).

        Moving least squares, or the nearest source with ``nearest`` or the
        ``"flow_nearest"`` decoder.
        """
        if nearest or self.decoder_kind == "flow_nearest":
            return nearest_interpolation(y, f, x)
        return moving_least_squares(y, f, x, self.decoder_radius, self.min_neighbours)

    def advect(
        self,
        sparse: Tensor,
        acceleration: Tensor,
        query: Tensor,
        velocity: Tensor,
        nearest: bool = False,
    ) -> tuple[Tensor, Tensor]:
        r"""One Lagrangian decoding step of the ``"flow"`` decoders.

        Parameters
        ----------
        sparse : Tensor
            ``[M, d]`` the sample's positions :math:`x_j(t)`.
        acceleration : Tensor
            ``[M, d]`` its accelerations
            :math:`x_j(t+1) - 2x_j(t) + x_j(t-1)` (per frame squared).
        query, velocity : Tensor
            ``[Q, d]`` the queries' :math:`x_q(t)` and
            :math:`v_q(t) = x_q(t) - x_q(t-1)`.
        nearest : bool
            Interpolate by nearest neighbour (default: ``False``).

        Returns
        -------
        tuple of Tensor
            :math:`x_q(t+1)` and :math:`v_q(t+1)`.
        """
        velocity = velocity + self.interpolate(sparse, acceleration, query, nearest)
        return query + velocity, velocity

    # -- rollout ------------------------------------------------------------

    def rollout(
        self,
        particles: Particles,
        trajectory: int = 0,
        steps: int | None = None,
        query: Tensor | None = None,
    ) -> Rollout:
        """Roll out one trajectory from its first ``history`` true frames.

        The sample is drawn on frame 0 (the reference configuration), with
        the model's ``seed``; kinematic particles follow the truth.

        Parameters
        ----------
        particles : Particles
            The trajectories (their box must be the training box).
        trajectory : int
            Which one (default: ``0``).
        steps : int, optional
            Frames to predict (default: all after the window).
        query : Tensor, optional
            ``[Q, d]`` query points in the reference configuration (frame 0),
            anywhere. With ``"gno"`` and ``"nearest"`` they are decoded
            there; with the ``"flow"`` decoders they are passive tracers of
            the sample's motion (:meth:`trace`, from frame 0 through the
            window and the rollout). By default every particle: with the
            ``"flow"`` decoders each then starts from its true position and
            velocity at the window's last frame (the initial condition a
            full-resolution GNS is given) and is advected from there
            (:meth:`advect_rollout`).

        Returns
        -------
        Rollout
            ``dense`` holds the positions of the query points (or of every
            particle) at the ``steps`` predicted frames.
        """
        self._check_particles(particles, "rollout")
        if not 0 <= trajectory < particles.num_trajectories:
            raise ValueError(
                f"SparseGraphOperator.rollout: `trajectory` must be in "
                f"[0, {particles.num_trajectories}), got {trajectory}"
            )
        most = particles.num_frames - self.history
        steps = most if steps is None else steps
        if not 1 <= steps <= most:
            raise ValueError(
                f"SparseGraphOperator.rollout: `steps` must be in [1, {most}] (frames "
                f"after the first {self.history}), got {steps}"
            )
        pos = particles.positions[trajectory].to(self.device, self.dtype)
        reference = pos[0]
        tracers = query is not None
        query = self._check_query(query, "rollout") if tracers else reference
        index = self.sample(reference)
        types = particles.types[index].to(self.device)
        kinematic = types == KINEMATIC
        h = self.history
        window = pos[:h, index]
        out = []
        with torch.no_grad():
            for s in range(steps):
                nxt = self.step(window, types)
                truth = pos[h + s, index]
                nxt = torch.where(kinematic.unsqueeze(1), truth, nxt)
                out.append(nxt)
                window = torch.cat([window[1:], nxt.unsqueeze(0)])
            sparse = torch.stack(out)
            if self.decoder_kind in ("flow", "flow_nearest"):
                if tracers:
                    frames = torch.cat([pos[:h, index], sparse])
                    dense = self.trace(frames, query)[-steps:]
                else:
                    dense = self.advect_rollout(
                        pos[:h, index], sparse, pos[h - 1], pos[h - 1] - pos[h - 2]
                    )
                return Rollout(index, sparse, dense, query)
            edges = (
                self.decoder.neighbourhoods(reference[index], query)
                if self.decoder is not None
                else None
            )
            dense = self.decode(reference[index], sparse, query, edges)
        return Rollout(index, sparse, dense, query)

    def _check_query(self, query: Any, where: str) -> Tensor:
        """``query`` as a ``[Q, d]`` tensor of the model's device and dtype."""
        if not isinstance(query, Tensor):
            raise TypeError(
                f"SparseGraphOperator.{where}: `query` must be a Tensor [Q, "
                f"{self.dim}], got {type(query).__name__}"
            )
        if query.dim() != 2 or query.shape[1] != self.dim or not len(query):
            raise ValueError(
                f"SparseGraphOperator.{where}: `query` must be [Q, {self.dim}] with "
                f"Q >= 1, got {list(query.shape)}"
            )
        if not query.is_floating_point() or not torch.isfinite(query).all():
            raise ValueError(
                f"SparseGraphOperator.{where}: `query` must hold finite floating "
                "point coordinates"
            )
        return query.to(self.device, self.dtype)

    def trace(self, frames: Tensor, query: Tensor, nearest: bool = False) -> Tensor:
        r"""``[T - 1, Q, d]`` query points carried as tracers by the sample.

        The ``"flow"`` decoders' evaluation anywhere: a tracer starts at
        :math:`x_q(0) = q` and takes the sample's first displacement
        interpolated there, :math:`x_q(1) = q + \mathcal{I}[x_j(1) -
        x_j(0)](q)` (so :math:`v_q(1)` is the interpolated sample velocity),
        then :meth:`advect` steps it with the sample's accelerations
        interpolated at its own position.

        Parameters
        ----------
        frames : Tensor
            ``[T, M, d]`` the sample's positions at consecutive frames from
            the reference one (:meth:`rollout`: the true window, then the
            predicted frames), ``T >= 2``.
        query : Tensor
            ``[Q, d]`` tracer positions at ``frames[0]``.
        nearest : bool
            Interpolate by nearest neighbour (default: ``False``; also with
            the ``"flow_nearest"`` decoder).

        Returns
        -------
        Tensor
            The tracers at ``frames[1:]``.
        """
        if frames.dim() != 3 or frames.shape[2] != self.dim or len(frames) < 2:
            raise ValueError(
                f"SparseGraphOperator.trace: `frames` must be [T, M, {self.dim}] "
                f"with T >= 2, got {list(frames.shape)}"
            )
        query = self._check_query(query, "trace").to(frames.dtype)
        first = self.interpolate(frames[0], frames[1] - frames[0], query, nearest)
        start = query + first
        if len(frames) == 2:
            return start.unsqueeze(0)
        rest = self.advect_rollout(frames[:2], frames[2:], start, first, nearest)
        return torch.cat([start.unsqueeze(0), rest])

    def advect_rollout(
        self,
        window: Tensor,
        sparse: Tensor,
        query: Tensor,
        velocity: Tensor | None = None,
        nearest: bool = False,
    ) -> Tensor:
        """``[S, Q, d]`` queries advected by the sample (``"flow"`` decoders).

        ``window`` ``[C + 1, M, d]`` holds the sample's frames before
        its rollout ``sparse`` ``[S, M, d]``; ``query`` the queries'
        positions at the window's last frame and ``velocity`` (default:
        interpolated from the sample) their velocity there; ``nearest`` as
        in :meth:`advect`. :meth:`trace` starts queries at the reference
        frame instead.
        """
        frames = torch.cat([window[-2:], sparse])
        if velocity is None:
            velocity = self.interpolate(
                frames[1], frames[1] - frames[0], query, nearest
            )
        out = []
        for s in range(len(sparse)):
            acc = frames[s + 2] - 2 * frames[s + 1] + frames[s]
            query, velocity = self.advect(frames[s + 1], acc, query, velocity, nearest)
            out.append(query)
        return torch.stack(out)

    # -- training -----------------------------------------------------------

    def _check_particles(self, particles: Any, where: str) -> None:
        if not isinstance(particles, Particles):
            raise TypeError(
                f"SparseGraphOperator.{where}: `particles` must be Particles, got "
                f"{type(particles).__name__}"
            )
        if particles.dim != self.dim:
            raise ValueError(
                f"SparseGraphOperator.{where}: the particles are {particles.dim}-D, "
                f"the model {self.dim}-D"
            )
        if particles.num_frames < self.history + 1:
            raise ValueError(
                f"SparseGraphOperator.{where}: the trajectories have "
                f"{particles.num_frames} frames; a window of `history` = "
                f"{self.history} and a target need {self.history + 1}"
            )

    def set_training_samples(self, particles: Particles) -> int:
        """Set the sample, statistics and training examples :meth:`forward` reads.

        Every trajectory ``b`` is subsampled on its frame 0 (seed
        ``seed + b``); the normalisation statistics are those of the sampled
        trajectories (:meth:`Particles.statistics`) and of their
        displacements from frame 0. An example is a (trajectory, frame)
        pair whose window and target fit. :meth:`fit` calls it (and clears
        the examples afterwards).

        Returns
        -------
        int
            The number of examples (the indices a batch holds).
        """
        self._check_particles(particles, "fit")
        pos = particles.positions.to(self.device, self.dtype)
        index = torch.stack(
            [self.sample(pos[b, 0], b) for b in range(particles.num_trajectories)]
        )
        rows = torch.arange(particles.num_trajectories, device=pos.device)[:, None]
        sparse = pos[rows, :, index].transpose(1, 2)  # [B, T, M, d]
        types = particles.types.to(self.device)
        sample_types = types[index]
        stats = Particles(sparse, types=sample_types[0]).statistics()
        disp = pos - pos[:, :1]
        with torch.no_grad():
            for name, value in stats.items():
                getattr(self, name).copy_(
                    value.clamp_min(1e-12) if "std" in name else value
                )
            moving = disp[:, :, types != KINEMATIC].reshape(-1, self.dim)
            self.disp_std.copy_(moving.std(0).clamp_min(1e-6))
            self.box.copy_(particles.box)
        edges = (
            [
                self.decoder.neighbourhoods(pos[b, 0, index[b]], pos[b, 0])
                for b in range(particles.num_trajectories)
            ]
            if self.decoder is not None
            else None
        )
        frames = range(self.history - 1, particles.num_frames - 1)
        examples = torch.tensor(
            [(b, t) for b in range(particles.num_trajectories) for t in frames]
        )
        self._train_data = {
            "dense": pos,
            "sparse": sparse,
            "index": index,
            "types": sample_types,
            "edges": edges,
            "examples": examples,
        }
        return len(examples)

    def _noise(self, shape: torch.Size, seed: int) -> Tensor:
        """``[C + 1, M, d]`` random-walk position noise (the first position none)."""
        gen = torch.Generator().manual_seed(seed)
        steps = self.history - 1
        vel = torch.randn((steps, *shape), generator=gen, dtype=torch.float64)
        vel = (vel * (self.noise_std / math.sqrt(steps))).cumsum(0)
        pos = torch.cat([torch.zeros(1, *shape, dtype=torch.float64), vel.cumsum(0)])
        return pos.to(self.device, self.dtype)

    def forward(self, batch: Tensor) -> Tensor:
        """Training loss of a batch ``[n, 2]`` of (example index, noise seed).

        Per example: the GNS one-step loss on the noisy window (mean over
        moving sample particles and dimensions) plus, with the ``"gno"``
        decoder, the decoder loss on the true sample state of the window's
        last frame (mean over the dense particles and dimensions). Under
        ``torchrun`` each rank takes its shard of ``batch`` and the loss is
        scaled so that DDP's averaged gradient is that of the global batch
        mean.
        """
        data = self._train_data
        if data is None:
            raise RuntimeError(
                "SparseGraphOperator.forward: call fit(particles) (it sets the "
                "training examples)"
            )
        count = len(batch)
        batch = batch[distributed.shard(count)]
        if not len(batch):  # a rank without examples still joins DDP's reduction
            return sum(p.sum() * 0 for p in self.parameters())
        windows, types, targets, masks = [], [], [], []
        for example, seed in batch.tolist():
            b, t = data["examples"][example].tolist()
            window = data["sparse"][b, t - self.history + 1 : t + 1]
            kind = data["types"][b]
            moving = (kind != KINEMATIC).unsqueeze(1).to(window.dtype)
            noise = self._noise(window.shape[1:], seed) * moving
            noisy = window + noise
            nxt = data["sparse"][b, t + 1] + noise[-1]
            acc = nxt - 2 * noisy[-1] + noisy[-2]
            windows.append(noisy)
            types.append(kind)
            targets.append((acc - self.acc_mean) / self.acc_scale)
            masks.append(kind != KINEMATIC)
        preds = self.accelerations(windows, types)
        total = torch.zeros((), dtype=self.dtype, device=self.device)
        for pred, target, mask in zip(preds, targets, masks, strict=True):
            total = total + ((pred - target)[mask] ** 2).mean()
        if self.decoder is not None:
            for example, _ in batch.tolist():
                b, t = data["examples"][example].tolist()
                index = data["index"][b]
                dense = data["dense"][b]
                out = self.decode(
                    dense[0, index], dense[t, index], dense[0], data["edges"][b]
                )
                total = total + (((out - dense[t]) / self.disp_std) ** 2).mean()
        return distributed.global_mean(total, count)

    def fit(
        self,
        particles: Particles,
        *,
        epochs: int = 20,
        lr: float = 1e-3,
        batch_size: int = 8,
        checkpoint: str | Path | None = None,
        seed: int = 0,
        progress: bool = False,
    ) -> SparseGraphOperator:
        """Fit on every (trajectory, frame) example with :func:`dyngraph.training.fit`.

        Parameters
        ----------
        particles : Particles
            Training trajectories (their box is stored as the model's).
        epochs, lr, batch_size : int, float, int
            Adam epochs, learning rate and examples per step (defaults:
            ``20``, ``1e-3``, ``8``).
        checkpoint : str or Path, optional
            Fit-state file; an existing one is resumed from (bit-exact).
        seed : int
            Seed of the batch order and the training noise (default: ``0``).
        progress : bool
            Show a progress bar (default: ``False``).

        Returns
        -------
        SparseGraphOperator
            ``self``, with the :class:`~dyngraph.training.FitResult` in
            ``fit_result_``.
        """
        for name, value in (("epochs", epochs), ("batch_size", batch_size)):
            if not isinstance(value, int) or value < (0 if name == "epochs" else 1):
                raise ValueError(
                    f"SparseGraphOperator.fit: `{name}` must be an int >= "
                    f"{0 if name == 'epochs' else 1}, got {value!r}"
                )
        if not (math.isfinite(lr) and lr > 0):
            raise ValueError(f"SparseGraphOperator.fit: `lr` must be > 0, got {lr}")
        n = self.set_training_samples(particles)
        optimizer = torch.optim.Adam(self.parameters(), lr=lr)

        try:
            self.fit_result_: FitResult = fit(
                distributed.wrap(self),  # DDP under torchrun, else self
                epochs=epochs,
                optimizer=optimizer,
                batches=shuffled_batches(n, batch_size, seed, noise=True),
                checkpoint=checkpoint,
                seed=seed,
                progress=progress,
                desc="fit operators",
            )
        finally:
            self._train_data = None
        return self
