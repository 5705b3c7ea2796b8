r"""MixER: a sparse mixture of context-conditioned expert vector fields.

After Nzoyem, Barton & Deakin, "Towards Foundational Models for Dynamical
System Reconstruction: Hierarchical Meta-Learning via Mixture of Experts"
(arXiv:2502.05335). Environments :math:`e=1..E` (parameter settings of one
or several ODE families) each get a learned context :math:`\xi_e\in\mathbb
R^C`; a gate that reads only the context,

.. math::
    G(\xi) = \mathrm{softmax}\big(W^\top[\xi; 1]\big),\qquad
    W\in\mathbb R^{(C+1)\times M},

routes each environment to exactly one of ``M`` experts,
:math:`m(e)=\arg\max_m G_m(\xi_e)` (lowest index on ties), and the
environment's trajectories solve :math:`\dot y=f_{m(e)}(y;\xi_e)`. The
routed output is *not* scaled by the gate (as in the reference).

**Gate update** (``gate_update="least_squares"``, the default; the gate is
a buffer outside autograd). Given the contexts :math:`\Xi` and the
expert-by-environment loss matrix :math:`L_{em}` (trajectory MSE of expert
``m`` alone on environment ``e``):

1. K-means with :math:`K=M` on the contexts with the mean absolute
   (:math:`L_1`) distance :math:`d(\xi,c)=\frac1C\sum_k|\xi_k-c_k|`,
   centroids warm-started from the previous update (the first from
   :math:`U(-10^{-3},10^{-3})`), at most ``kmeans_iters`` iterations,
   converged when successive centroids agree within ``kmeans_tol``; the
   centroid of a cluster is its members' mean. **If a cluster is empty or
   K-means has not converged, the update is skipped** (counted in
   ``gate_skips``); a skipped update keeps no centroids, so the next one
   draws its start afresh until one succeeds.
2. :math:`\bar L_{km}=\mathrm{median}_{e\in\mathcal C_k}L_{em}`.
3. A one-to-one assignment of clusters to experts: greedy in cluster order
   (``"greedy"``, the reference's) or optimal (``"hungarian"``).
4. One-hot targets :math:`Y_{e\cdot}=\mathbb 1_{m(k(e))}` and the
   minimum-norm least squares :math:`W=[\Xi+\varepsilon,\mathbf 1]^+Y`,
   :math:`\varepsilon\sim\mathcal N(0,\sigma^2)`, in float64; the gate is
   overwritten with :math:`W`.

``gate_update="gradient_descent"`` is the naive mixture of experts: the gate
is a parameter trained with the experts, and the routed output is scaled by
its gate value, :math:`\dot y=G_{m(e)}(\xi_e)f_{m(e)}(y;\xi_e)` (otherwise
the gate would get no gradient). ``gate_update="fixed"`` routes environment
``e`` to expert ``e mod M``: with ``M = 1`` a single context-conditioned
expert (CoDA-like), with ``M = E`` one model per environment.

**Training** (:meth:`MixER.fit`) is the proximal alternating minimisation
of the reference: every outer step keeps copies :math:`\theta^-,\Xi^-`, takes
``inner_steps[0]`` steps on the contexts for
:math:`\mathcal L+\frac{\beta_\xi}{2}\lVert\Xi-\Xi^-\rVert^2/|\Xi|`, then
``inner_steps[1]`` steps on the experts for
:math:`\mathcal L+\frac{\beta_\theta}{2}\lVert\theta-\theta^-\rVert^2/|\theta|`,
with a gate update every ``gate_update_every`` inner steps;
:math:`\mathcal L` is the mean over environments of the trajectory MSE.
One outer step is one epoch of :func:`dyngraph.training.fit`, so progress,
checkpoints and bit-exact resume are the shared ones.

**Batched solves.** Routing is constant during a solve (the gate reads only
the contexts), so every environment with its expert's context-conditioned
weights goes into one ``torchdiffeq.odeint`` call (see
:mod:`~dyngraph.models.mixer.experts`); so does the ``E x M`` loss matrix.

**Adaptation** (:meth:`MixER.adapt`): new environments get zero contexts and
only those are optimised; experts and gate are frozen, and each new
environment is routed through its own adapted context.

Departures from the reference (JAX): Adam instead of AdaBelief; a fixed-step
``rk4`` on the data grid by default (CoDA's solver on these sets; ``dopri5``
with the reference's tolerances is an option); no environment subsampling,
context splitting or self-modulation.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torchdiffeq import odeint

from dyngraph.models.mixer.experts import EXPERTS, ExpertBank
from dyngraph.systems.environments import Environments
from dyngraph.training import FitResult, SavesCheckpoint, distributed, fit

__all__ = ["GATE_UPDATES", "GateUpdateInfo", "MixER", "MixERBatch"]

GATE_UPDATES = ("least_squares", "gradient_descent", "fixed")
"""How the gate learns: K-means + least squares, gradient descent, or not."""

ASSIGNMENTS = ("greedy", "hungarian")


@dataclass
class GateUpdateInfo:
    """What one :meth:`MixER.update_gate` did.

    Attributes
    ----------
    skipped : bool
        Whether the gate was left untouched.
    reason : str
        Why it was skipped (``""`` when it was not).
    cluster_of_env : tensor or None
        ``[E]`` K-means cluster of every environment.
    expert_of_cluster : tensor or None
        ``[M]`` expert assigned to every cluster.
    """

    skipped: bool
    reason: str = ""
    cluster_of_env: Tensor | None = None
    expert_of_cluster: Tensor | None = None


@dataclass
class MixERBatch:
    """One training step: the data, the phase and the proximal anchor.

    Attributes
    ----------
    x : tensor, shape ``[E, B, T, d]``
        Trajectories.
    t : tensor, shape ``[T]``
        Their times.
    phase : {"context", "model"}
        Which parameters this step moves.
    anchor : list of tensor
        The values at the start of the outer step of the parameters that
        move (the proximal term's centre).
    beta : float
        The proximal weight.
    """

    x: Tensor
    t: Tensor
    phase: str
    anchor: list[Tensor]
    beta: float


def _kmeans_l1(
    points: Tensor, centroids: Tensor, iters: int, tol: float
) -> tuple[Tensor | None, Tensor, str]:
    """Lloyd iterations, mean absolute distance: ``(labels, centroids, reason)``."""
    num = centroids.shape[0]
    for _ in range(iters):
        dist = torch.cdist(points, centroids, p=1) / points.shape[1]
        labels = dist.argmin(dim=1)
        counts = torch.bincount(labels, minlength=num)
        if (counts == 0).any():
            return (
                None,
                centroids,
                f"empty cluster(s) {torch.nonzero(counts == 0).flatten().tolist()}",
            )
        sums = torch.zeros_like(centroids).index_add_(0, labels, points)
        new = sums / counts.unsqueeze(1).to(points.dtype)
        if (new - centroids).abs().max() <= tol:
            return labels, new, ""
        centroids = new
    return None, centroids, f"K-means did not converge in {iters} iterations"


def _assign(cost: Tensor, how: str) -> Tensor:
    """One-to-one cluster -> expert assignment minimising ``cost [M, M]``."""
    if how == "hungarian":
        from scipy.optimize import linear_sum_assignment

        rows, cols = linear_sum_assignment(cost.cpu().numpy())
        out = torch.empty(cost.shape[0], dtype=torch.long)
        out[torch.as_tensor(rows)] = torch.as_tensor(cols, dtype=torch.long)
        return out
    used: list[int] = []
    out = torch.empty(cost.shape[0], dtype=torch.long)
    for k in range(cost.shape[0]):
        row = cost[k].clone()
        row[used] = math.inf
        out[k] = int(row.argmin())
        used.append(int(out[k]))
    return out


class MixER(SavesCheckpoint, nn.Module):
    r"""Sparse top-1 mixture of context-conditioned neural ODE experts.

    See the module docstring for the maths.

    Parameters
    ----------
    num_envs : int
        Number of training environments ``E`` (one context each).
    dim : int
        State dimension ``d``.
    num_experts : int
        ``M`` (default: ``3``).
    context_dim : int
        ``C`` (default: ``2``).
    expert : {"hyper", "mlp"}
        The expert architecture (:data:`~dyngraph.models.mixer.experts.EXPERTS`;
        default: ``"hyper"``, CoDA's).
    hidden, depth : int
        Width and number of hidden layers of the experts (default: ``64``,
        ``3``).
    gate_update : {"least_squares", "gradient_descent", "fixed"}
        How the gate learns (default: ``"least_squares"``).
    assignment : {"greedy", "hungarian"}
        Cluster-to-expert assignment of the gate update (default:
        ``"greedy"``).
    kmeans_iters, kmeans_tol : int, float
        K-means limits (default: ``20``, ``1e-4``).
    ls_noise : float
        :math:`\sigma` of the least-squares input noise (default: ``1e-4``).
    method : str
        torchdiffeq solver (default: ``"rk4"`` on the data grid).
    step_size : float, optional
        Fixed-step solvers' step (default: the data grid's).
    rtol, atol : float
        Adaptive solvers' tolerances (default: ``1e-3``, ``1e-6``).
    seed : int
        Seed of the initial weights and gate (default: ``0``).
    dtype : torch.dtype
        Floating point type (default: ``torch.float32``).
    device : str or torch.device, optional
        Where the model lives (default: CPU).

    ``save(path, **metadata)`` writes the configuration, weights, contexts
    and gate, and ``MixER.load(path)`` reads them back with the metadata in
    ``metadata_`` (:class:`~dyngraph.training.SavesCheckpoint`; no pickles).
    """

    checkpoint_kind = "MixER"

    def __init__(
        self,
        num_envs: int,
        dim: int,
        *,
        num_experts: int = 3,
        context_dim: int = 2,
        expert: str = "hyper",
        hidden: int = 64,
        depth: int = 3,
        gate_update: str = "least_squares",
        assignment: str = "greedy",
        kmeans_iters: int = 20,
        kmeans_tol: float = 1e-4,
        ls_noise: float = 1e-4,
        method: str = "rk4",
        step_size: float | None = None,
        rtol: float = 1e-3,
        atol: float = 1e-6,
        seed: int = 0,
        dtype: torch.dtype = torch.float32,
        device: str | torch.device | None = None,
    ) -> None:
        super().__init__()
        for name, value in (
            ("num_envs", num_envs),
            ("dim", dim),
            ("num_experts", num_experts),
            ("context_dim", context_dim),
            ("kmeans_iters", kmeans_iters),
        ):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"MixER: `{name}` must be an int >= 1, got {value!r}")
        if expert not in EXPERTS:
            raise ValueError(
                f"MixER: unknown expert {expert!r}; choose one of {sorted(EXPERTS)}"
            )
        if gate_update not in GATE_UPDATES:
            raise ValueError(
                f"MixER: unknown gate_update {gate_update!r}; choose one of "
                f"{list(GATE_UPDATES)}"
            )
        if assignment not in ASSIGNMENTS:
            raise ValueError(
                f"MixER: unknown assignment {assignment!r}; choose one of "
                f"{list(ASSIGNMENTS)}"
            )
        if ls_noise < 0 or kmeans_tol < 0:
            raise ValueError("MixER: `ls_noise` and `kmeans_tol` must be >= 0")
        if step_size is not None and not step_size > 0:
            raise ValueError(f"MixER: `step_size` must be > 0, got {step_size}")
        self.num_envs = num_envs
        self.dim = dim
        self.num_experts = num_experts
        self.context_dim = context_dim
        self.expert = expert
        self.hidden = hidden
        self.depth = depth
        self.gate_update = gate_update
        self.assignment = assignment
        self.kmeans_iters = kmeans_iters
        self.kmeans_tol = kmeans_tol
        self.ls_noise = ls_noise
        self.method = method
        self.step_size = step_size
        self.rtol = rtol
        self.atol = atol
        self.seed = seed
        self.experts: ExpertBank = EXPERTS[expert](
            num_experts, dim, context_dim, hidden=hidden, depth=depth, seed=seed
        )
        self.contexts = nn.Parameter(torch.zeros(num_envs, context_dim))
        gate = torch.empty(context_dim + 1, num_experts)
        bound = 1 / math.sqrt(context_dim + 1)
        gen = torch.Generator().manual_seed(seed + 1)
        gate.uniform_(-bound, bound, generator=gen)
        if gate_update == "gradient_descent":
            self.gate_weight = nn.Parameter(gate)
        else:
            self.register_buffer("gate_weight", gate)
        self.register_buffer("centroids", torch.zeros(num_experts, context_dim))
        self.register_buffer("centroids_set", torch.zeros((), dtype=torch.bool))
        self.register_buffer("gate_updates", torch.zeros((), dtype=torch.long))
        self.register_buffer("gate_skips", torch.zeros((), dtype=torch.long))
        self.to(device=device, dtype=dtype)

    def extra_repr(self) -> str:
        """Summarise the configuration in ``repr``."""
        return (
            f"num_envs={self.num_envs}, dim={self.dim}, "
            f"num_experts={self.num_experts}, "
            f"context_dim={self.context_dim}, expert={self.expert!r}, "
            f"gate_update={self.gate_update!r}"
        )

    @property
    def _like(self) -> Tensor:
        return self.contexts

    # ------------------------------------------------------------------
    # gate and routing

    def gate(self, contexts: Tensor) -> Tensor:
        r"""Gate values :math:`G(\xi)=\mathrm{softmax}(W^\top[\xi;1])`, ``[E, M]``."""
        ones = torch.ones_like(contexts[:, :1])
        return torch.softmax(
            torch.cat([contexts, ones], dim=1) @ self.gate_weight, dim=1
        )

    def route(self, contexts: Tensor) -> Tensor:
        """Top-1 expert of every context, ``[E]`` (lowest index on ties).

        With ``gate_update="fixed"`` environment ``e`` goes to ``e mod M``.
        """
        if self.gate_update == "fixed":
            return (
                torch.arange(contexts.shape[0], device=contexts.device)
                % self.num_experts
            )
        with torch.no_grad():
            return self.gate(contexts).argmax(dim=1)

    # ------------------------------------------------------------------
    # solving

    def solve(
        self,
        x0: Tensor,
        t: Tensor,
        experts: Tensor,
        contexts: Tensor,
        scale: Tensor | None = None,
    ) -> Tensor:
        r"""Integrate every environment with its expert, in one ``odeint`` call.

        Parameters
        ----------
        x0 : tensor, shape ``[E, N, d]``
            ``N`` initial states per environment.
        t : tensor, shape ``[T]``
            Output times.
        experts : tensor, shape ``[E]``
            Expert of every environment.
        contexts : tensor, shape ``[E, C]``
            Their contexts.
        scale : tensor, shape ``[E]``, optional
            Factor of every environment's vector field (the gate value of
            the naive MoE) (default: none).

        Returns
        -------
        tensor, shape ``[E, N, T, d]``
        """
        weights = self.experts.weights(experts, contexts)
        factor = None if scale is None else scale.reshape(-1, 1, 1)

        def func(_: Tensor, y: Tensor) -> Tensor:
            dy = self.experts.field(y, weights)
            return dy if factor is None else dy * factor

        options = {} if self.step_size is None else {"step_size": self.step_size}
        out = odeint(
            func,
            x0,
            t,
            method=self.method,
            rtol=self.rtol,
            atol=self.atol,
            options=options,
        )
        return out.permute(1, 2, 0, 3)

    def predict(self, x0: Tensor, t: Tensor, contexts: Tensor | None = None) -> Tensor:
        """Routed trajectories ``[E, N, T, d]`` from ``x0 [E, N, d]``.

        ``contexts`` default to the training contexts.
        """
        ctx = self.contexts if contexts is None else contexts
        experts = self.route(ctx)
        scale = None
        if self.gate_update == "gradient_descent":
            scale = self.gate(ctx).gather(1, experts[:, None]).squeeze(1)
        return self.solve(x0, t, experts, ctx, scale)

    def env_losses(
        self, x: Tensor, t: Tensor, contexts: Tensor | None = None
    ) -> Tensor:
        """Trajectory MSE of every environment, ``[E]``, for data ``x [E, B, T, d]``."""
        pred = self.predict(x[:, :, 0], t, contexts)
        return (pred - x).pow(2).mean(dim=(1, 2, 3))

    def loss_matrix(
        self, x: Tensor, t: Tensor, contexts: Tensor | None = None
    ) -> Tensor:
        r"""Trajectory MSE of every expert alone on every environment, ``[E, M]``.

        All ``E M`` pairs are integrated in one ``odeint`` call, without
        gradients and without the naive MoE's gate scaling.
        """
        ctx = self.contexts if contexts is None else contexts
        num_env, num = ctx.shape[0], self.num_experts
        experts = torch.arange(num, device=ctx.device).repeat(num_env)
        with torch.no_grad():
            pred = self.solve(
                x[:, :, 0].repeat_interleave(num, dim=0),
                t,
                experts,
                ctx.detach().repeat_interleave(num, dim=0),
            )
            target = x.repeat_interleave(num, dim=0)
            return (pred - target).pow(2).mean(dim=(1, 2, 3)).reshape(num_env, num)

    # ------------------------------------------------------------------
    # the least-squares gate update

    def update_gate(
        self,
        contexts: Tensor,
        loss_matrix: Tensor,
        *,
        generator: torch.Generator | None = None,
    ) -> GateUpdateInfo:
        """K-means, cluster-to-expert assignment and least squares (module docstring).

        Parameters
        ----------
        contexts : tensor, shape ``[E, C]``
            The contexts.
        loss_matrix : tensor, shape ``[E, M]``
            Loss of every expert on every environment (:meth:`loss_matrix`).
        generator : torch.Generator, optional
            Source of the first centroids and of the noise (default: torch's
            global generator, which :func:`dyngraph.training.fit` seeds and
            checkpoints).

        Returns
        -------
        GateUpdateInfo
            ``skipped`` when a cluster is empty or K-means did not converge;
            the gate and the centroids are then untouched.
        """
        if self.gate_update != "least_squares":
            raise ValueError(
                f"MixER.update_gate: the gate is updated by {self.gate_update!r}, not "
                "least squares"
            )
        num_env, num = contexts.shape[0], self.num_experts
        if loss_matrix.shape != (num_env, num):
            raise ValueError(
                f"MixER.update_gate: `loss_matrix` must have shape [{num_env}, {num}], "
                f"got {list(loss_matrix.shape)}"
            )
        self.gate_updates += 1
        points = contexts.detach().to(torch.float64)
        device = points.device
        if bool(self.centroids_set):
            start = self.centroids.to(torch.float64)
        else:
            draw = torch.rand(
                num, self.context_dim, generator=generator, dtype=torch.float64
            )
            start = ((2 * draw - 1) * 1e-3).to(device)
        labels, centroids, reason = _kmeans_l1(
            points, start, self.kmeans_iters, self.kmeans_tol
        )
        if labels is None:
            self.gate_skips += 1
            return GateUpdateInfo(skipped=True, reason=reason)
        losses = loss_matrix.detach().to(torch.float64)
        cost = torch.stack(
            [losses[labels == k].median(dim=0).values for k in range(num)]
        )
        expert_of_cluster = _assign(cost.cpu(), self.assignment).to(device)
        targets = torch.nn.functional.one_hot(expert_of_cluster[labels], num).to(
            torch.float64
        )
        noise = torch.randn(points.shape, generator=generator, dtype=torch.float64).to(
            device
        )
        design = torch.cat(
            [points + self.ls_noise * noise, torch.ones_like(points[:, :1])], 1
        )
        weight = torch.linalg.pinv(design) @ targets
        with torch.no_grad():
            self.gate_weight.copy_(weight.to(self.gate_weight.dtype))
            self.centroids.copy_(centroids.to(self.centroids.dtype))
            self.centroids_set.fill_(True)
        return GateUpdateInfo(False, "", labels, expert_of_cluster)

    # ------------------------------------------------------------------
    # training

    def model_parameters(self) -> list[nn.Parameter]:
        """Return the experts' parameters (and the gate's, for the naive MoE)."""
        params = list(self.experts.parameters())
        if isinstance(self.gate_weight, nn.Parameter):
            params.append(self.gate_weight)
        return params

    context_l1_: float = 0.0
    """Weight of the contexts' L1 penalty in :meth:`forward` (set by :meth:`fit`)."""

    def forward(self, batch: MixERBatch) -> Tensor:
        """Return the loss of one PAM step: mean environment MSE + proximal term.

        Under torchrun (several processes) each rank integrates its share of
        every environment's trajectories; its squared errors are summed,
        divided by the whole batch's count and multiplied by the number of
        ranks, so DDP's average of the gradients is the one-process one.
        The penalties depend on the parameters only and are the same on
        every rank.
        """
        world = distributed.context()
        if world.distributed:
            x = batch.x[:, distributed.shard(batch.x.shape[1], world)]
            pred = self.predict(x[:, :, 0], batch.t)
            loss = distributed.global_mean((pred - x).pow(2).sum(), batch.x.numel())
        else:
            loss = self.env_losses(batch.x, batch.t).mean()
        if self.context_l1_ > 0:
            loss = loss + self.context_l1_ * self.contexts.abs().mean()
        moving = (
            [self.contexts] if batch.phase == "context" else self.model_parameters()
        )
        count = sum(p.numel() for p in moving)
        distance = sum(
            (p - a).pow(2).sum() for p, a in zip(moving, batch.anchor, strict=True)
        )
        return loss + 0.5 * batch.beta * distance / count

    def _check_data(self, data: Environments, where: str, num_envs: int | None) -> None:
        if not isinstance(data, Environments):
            raise TypeError(
                f"MixER.{where}: expected an Environments, got {type(data).__name__}"
            )
        if data.dim != self.dim:
            raise ValueError(
                f"MixER.{where}: the data have {data.dim} states, the model {self.dim}"
            )
        if num_envs is not None and data.num_environments != num_envs:
            raise ValueError(
                f"MixER.{where}: the data have {data.num_environments} environments, "
                f"the model {num_envs} contexts"
            )

    def fit(
        self,
        train: Environments,
        *,
        outer_steps: int = 100,
        inner_steps: tuple[int, int] = (12, 12),
        lr: float = 1e-3,
        lr_context: float = 1e-3,
        beta: tuple[float, float] = (10.0, 10.0),
        gate_update_every: int = 5,
        context_l1: float = 0.0,
        lr_milestones: tuple[float, ...] = (1 / 3, 2 / 3),
        lr_gamma: float = 0.4,
        checkpoint: str | Path | None = None,
        seed: int = 0,
        progress: bool = True,
    ) -> MixER:
        r"""Proximal alternating minimisation with periodic gate updates.

        Parameters
        ----------
        train : Environments
            ``E`` environments, one per context.
        outer_steps : int
            Outer steps, i.e. epochs of the shared fit loop (default:
            ``100``).
        inner_steps : (int, int)
            Steps on the contexts, then on the experts, per outer step
            (default: ``(12, 12)``).
        lr, lr_context : float
            Adam learning rates of the experts and of the contexts (default:
            ``1e-3`` both). The experts' rate is multiplied by ``lr_gamma``
            at each fraction ``lr_milestones`` of the outer steps.
        beta : (float, float)
            Proximal weights of the context and expert phases (default:
            ``(10, 10)``).
        gate_update_every : int
            Inner steps between least-squares gate updates; the gate is
            also updated after the last inner step of every outer step
            (default: ``5``).
        context_l1 : float
            Weight of :math:`\mathrm{mean}|\Xi|` in the loss (default: ``0``).
        lr_milestones, lr_gamma
            The experts' step schedule (default: ``(1/3, 2/3)``, ``0.4``).
        checkpoint : str or Path, optional
            Fit-state file (resumed from when it exists).
        seed : int
            Seed of the fit (K-means starts, least-squares noise)
            (default: ``0``).
        progress : bool
            Show a progress bar (default: ``True``).

        Returns
        -------
        MixER
            ``self``; ``history_`` holds the :class:`FitResult` and
            ``gate_history_`` the skip flag of every gate update.
        """
        self._check_data(train, "fit", self.num_envs)
        for name, value in (
            ("outer_steps", outer_steps),
            ("gate_update_every", gate_update_every),
        ):
            if value < 1:
                raise ValueError(f"MixER.fit: `{name}` must be >= 1, got {value}")
        if len(inner_steps) != 2 or min(inner_steps) < 0 or sum(inner_steps) < 1:
            raise ValueError(
                f"MixER.fit: `inner_steps` must be two counts >= 0, got {inner_steps}"
            )
        if lr <= 0 or lr_context <= 0 or min(beta) < 0:
            raise ValueError("MixER.fit: learning rates must be > 0 and `beta` >= 0")
        data = train.to(self._like.device, self._like.dtype)
        self.context_l1_ = float(context_l1)
        model_params = self.model_parameters()
        optimizer = torch.optim.Adam(
            [
                {"params": [self.contexts], "lr": lr_context},
                {"params": model_params, "lr": lr},
            ]
        )
        marks = [m * outer_steps for m in lr_milestones]
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer,
            [lambda _: 1.0, lambda epoch: lr_gamma ** sum(epoch >= m for m in marks)],
        )
        self.gate_history_: list[bool] = []

        def toggle(phase: str | None) -> None:
            self.contexts.requires_grad_(phase in (None, "context"))
            for p in model_params:
                p.requires_grad_(phase in (None, "model"))

        def batches(epoch: int) -> Iterator[MixERBatch]:
            anchors = {
                "context": [self.contexts.detach().clone()],
                "model": [p.detach().clone() for p in model_params],
            }
            schedule = ["context"] * inner_steps[0] + ["model"] * inner_steps[1]
            try:
                for done, phase in enumerate(schedule, start=1):
                    toggle(phase)
                    b = beta[0] if phase == "context" else beta[1]
                    yield MixERBatch(data.x, data.t, phase, anchors[phase], b)
                    # here the loop has stepped on that batch
                    if self.gate_update == "least_squares" and (
                        done % gate_update_every == 0 or done == len(schedule)
                    ):
                        toggle(None)
                        self.refresh_gate(data)
            finally:
                toggle(None)

        self.history_: FitResult = fit(
            # under torchrun: DDP; the phase's frozen parameters get no gradient
            distributed.wrap(self, find_unused_parameters=True),
            epochs=outer_steps,
            optimizer=optimizer,
            batches=batches,
            scheduler=scheduler,
            checkpoint=checkpoint,
            seed=seed,
            progress=progress,
            desc="MixER",
        )
        return self

    def refresh_gate(self, data: Environments) -> GateUpdateInfo:
        """Compute the loss matrix on ``data`` and run :meth:`update_gate`."""
        info = self.update_gate(self.contexts, self.loss_matrix(data.x, data.t))
        if hasattr(self, "gate_history_"):
            self.gate_history_.append(info.skipped)
        return info

    # ------------------------------------------------------------------
    # adaptation and evaluation

    def adapt(
        self,
        data: Environments,
        *,
        steps: int = 500,
        lr: float = 1e-2,
        seed: int = 0,
        progress: bool = True,
    ) -> Tensor:
        r"""Fit contexts of new environments, everything else frozen.

        Parameters
        ----------
        data : Environments
            The new environments' (few) trajectories.
        steps : int
            Adam steps on the contexts (default: ``500``).
        lr : float
            Their learning rate (default: ``1e-2``).
        seed : int
            Seed of the loop (default: ``0``).
        progress : bool
            Show a progress bar (default: ``True``).

        Returns
        -------
        tensor, shape ``[E_new, C]``
            The adapted contexts (pass them to :meth:`evaluate`).
        """
        self._check_data(data, "adapt", None)
        if self.gate_update == "fixed" and self.num_experts > 1:
            raise ValueError(
                "MixER.adapt: with fixed routing and several experts (a model per "
                "environment) a new environment has no expert to adapt"
            )
        if steps < 1 or not lr > 0:
            raise ValueError("MixER.adapt: `steps` must be >= 1 and `lr` > 0")
        adapter = _ContextAdapter(self, data.to(self._like.device, self._like.dtype))
        optimizer = torch.optim.Adam([adapter.contexts], lr=lr)
        frozen = [p for p in self.parameters()]
        flags = [p.requires_grad for p in frozen]
        for p in frozen:
            p.requires_grad_(False)
        try:
            fit(
                adapter,
                epochs=steps,
                optimizer=optimizer,
                seed=seed,
                progress=progress,
                desc="adapt",
            )
        finally:
            for p, flag in zip(frozen, flags, strict=True):
                p.requires_grad_(flag)
        return adapter.contexts.detach().clone()

    def evaluate(
        self, data: Environments, contexts: Tensor | None = None
    ) -> dict[str, float]:
        """Trajectory MSE and relative MSE on ``data`` (see :mod:`dyngraph.metrics`).

        ``contexts`` default to the training ones (then ``data`` must hold
        the training environments).
        """
        from dyngraph.metrics import relative_mse, trajectory_mse

        self._check_data(
            data, "evaluate", self.num_envs if contexts is None else contexts.shape[0]
        )
        data = data.to(self._like.device, self._like.dtype)
        with torch.no_grad():
            pred = self.predict(data.x[:, :, 0], data.t, contexts)
        return {
            "mse": trajectory_mse(data.x, pred),
            "rel_mse": relative_mse(data.x, pred),
        }

    # ------------------------------------------------------------------
    # persistence

    def config(self) -> dict[str, Any]:
        """Return the constructor arguments that rebuild this model."""
        return {
            "num_envs": self.num_envs,
            "dim": self.dim,
            "num_experts": self.num_experts,
            "context_dim": self.context_dim,
            "expert": self.expert,
            "hidden": self.hidden,
            "depth": self.depth,
            "gate_update": self.gate_update,
            "assignment": self.assignment,
            "kmeans_iters": self.kmeans_iters,
            "kmeans_tol": self.kmeans_tol,
            "ls_noise": self.ls_noise,
            "method": self.method,
            "step_size": self.step_size,
            "rtol": self.rtol,
            "atol": self.atol,
            "seed": self.seed,
        }

    def checkpoint_config(self) -> dict[str, Any]:
        """:meth:`config` and the dtype: what :meth:`save` stores beside the state."""
        return {**self.config(), "dtype": str(self._like.dtype).removeprefix("torch.")}

    @classmethod
    def from_config(
        cls,
        config: dict[str, Any],
        state: Mapping[str, Any],
        map_location: Any = "cpu",
    ) -> MixER:
        """Build a MixER of a saved :meth:`checkpoint_config` on ``map_location``."""
        config = dict(config)
        dtype = getattr(torch, config.pop("dtype"))
        return cls(**config, dtype=dtype, device=map_location)


class _ContextAdapter(nn.Module):
    """The contexts of new environments, fitted through a frozen MixER."""

    def __init__(self, model: MixER, data: Environments) -> None:
        super().__init__()
        self.model = [model]  # not a submodule: its weights are not ours
        self.data = data
        like = model.contexts
        self.contexts = nn.Parameter(
            torch.zeros(
                data.num_environments,
                model.context_dim,
                dtype=like.dtype,
                device=like.device,
            )
        )

    def forward(self, _: Any) -> Tensor:
        model = self.model[0]
        return model.env_losses(self.data.x, self.data.t, self.contexts).mean()
