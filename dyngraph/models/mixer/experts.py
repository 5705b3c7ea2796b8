r"""Banks of context-conditioned vector-field experts, batched over environments.

A bank holds ``M`` experts :math:`f_m(y;\xi)` of one architecture with their
weights stacked along a leading expert axis. :meth:`ExpertBank.weights`
gathers, for every environment :math:`e` of a solve, the weights of its
expert :math:`m(e)` conditioned on its context :math:`\xi_e`;
:meth:`ExpertBank.field` then evaluates all environments at once with
batched matrix products. One ``odeint`` call therefore integrates every
environment with its own expert, and the ``E x M`` loss matrix of the gate
update is one call too.

* :class:`HyperExperts` (CoDA, Kirchmeyer et al. 2022): a root MLP whose
  flattened weights are :math:`\theta_e=\theta_{0,m}+W_{h,m}\,\xi_e`, with a
  bias-free linear hypernetwork :math:`W_{h,m}`;
* :class:`ContextMLPExperts` (NCF-style, Nzoyem et al. 2025): a state
  encoder and a context encoder whose outputs are concatenated and fed to a
  main MLP, :math:`f_m(y;\xi)=g_m([a_m(y);c_m(\xi)])`.

All hidden activations are Swish (SiLU).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod

import torch
from torch import Tensor, nn
from torch.nn import functional as F

__all__ = ["EXPERTS", "ContextMLPExperts", "ExpertBank", "HyperExperts"]

Weights = list[tuple[Tensor, Tensor]]


def _mlp(h: Tensor, layers: Weights, last_linear: bool = True) -> Tensor:
    """Apply layers ``(W [E, out, in], b [E, out])`` to ``h [E, N, in]``."""
    for index, (weight, bias) in enumerate(layers):
        h = torch.baddbmm(bias.unsqueeze(1), h, weight.transpose(1, 2))
        if index < len(layers) - 1 or not last_linear:
            h = F.silu(h)
    return h


def _uniform(
    shape: tuple[int, ...], bound: float, generator: torch.Generator
) -> Tensor:
    return (2 * torch.rand(shape, generator=generator, dtype=torch.float64) - 1) * bound


class ExpertBank(nn.Module, ABC):
    """``M`` context-conditioned vector fields with stacked weights.

    Parameters
    ----------
    num_experts : int
        ``M``.
    dim : int
        State dimension ``d``.
    context_dim : int
        Context dimension ``C``.
    """

    def __init__(self, num_experts: int, dim: int, context_dim: int) -> None:
        super().__init__()
        for name, value in (
            ("num_experts", num_experts),
            ("dim", dim),
            ("context_dim", context_dim),
        ):
            if value < 1:
                raise ValueError(f"{type(self).__name__}: `{name}` must be >= 1")
        self.num_experts = num_experts
        self.dim = dim
        self.context_dim = context_dim

    @abstractmethod
    def weights(
        self, experts: Tensor, contexts: Tensor
    ) -> tuple[Weights, Tensor | None]:
        """Return the weights of expert ``experts[e]`` at ``contexts[e]``, for all e.

        Parameters
        ----------
        experts : tensor, shape ``[E]``
            Expert index of every environment.
        contexts : tensor, shape ``[E, C]``
            Their contexts.

        Returns
        -------
        (layers, extra)
            ``layers`` a list of ``(W [E, out, in], b [E, out])``; ``extra``
            a per-environment input ``[E, k]`` concatenated to the state
            features (or ``None``).
        """

    @abstractmethod
    def field(self, y: Tensor, weights: tuple[Weights, Tensor | None]) -> Tensor:
        r"""Evaluate :math:`\dot y` for ``y [E, N, d]`` with :meth:`weights`."""


class HyperExperts(ExpertBank):
    r"""CoDA experts: a root MLP with weights :math:`\theta_0+W_h\xi`.

    Parameters
    ----------
    num_experts, dim, context_dim : int
        See :class:`ExpertBank`.
    hidden : int
        Width of the root MLP (default: ``64``, CoDA's).
    depth : int
        Number of hidden layers (default: ``3``: ``d-64-64-64-d``).
    seed : int
        Seed of the initial weights (default: ``0``).

    Notes
    -----
    :math:`\theta_0` starts like ``nn.Linear`` (uniform within
    :math:`1/\sqrt{\text{fan-in}}`) and :math:`W_h` within a tenth of that,
    so that zero contexts start at the root network and still receive a
    gradient (with :math:`W_h=0` neither contexts nor :math:`W_h` would
    move).
    """

    def __init__(
        self,
        num_experts: int,
        dim: int,
        context_dim: int,
        *,
        hidden: int = 64,
        depth: int = 3,
        seed: int = 0,
    ) -> None:
        super().__init__(num_experts, dim, context_dim)
        if hidden < 1 or depth < 1:
            raise ValueError("HyperExperts: `hidden` and `depth` must be >= 1")
        sizes = [dim] + [hidden] * depth + [dim]
        self.shapes = list(zip(sizes[1:], sizes[:-1], strict=True))
        self.num_weights = sum(o * i + o for o, i in self.shapes)
        self.seed = seed
        self.theta0 = nn.Parameter(torch.empty(num_experts, self.num_weights))
        self.hyper = nn.Parameter(
            torch.empty(num_experts, self.num_weights, context_dim)
        )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw the initial weights from ``seed``."""
        gen = torch.Generator().manual_seed(self.seed)
        bounds = torch.cat(
            [torch.full((o * i + o,), 1 / math.sqrt(i)) for o, i in self.shapes]
        ).double()
        with torch.no_grad():
            theta = _uniform(tuple(self.theta0.shape), 1.0, gen) * bounds
            hyper = _uniform(tuple(self.hyper.shape), 0.1, gen) * bounds[:, None]
            self.theta0.copy_(theta)
            self.hyper.copy_(hyper)

    def weights(
        self, experts: Tensor, contexts: Tensor
    ) -> tuple[Weights, Tensor | None]:
        r"""Gather :math:`\theta_0+W_h\xi` of every environment's expert."""
        theta = self.theta0[experts] + torch.einsum(
            "epc,ec->ep", self.hyper[experts], contexts
        )
        layers: Weights = []
        start = 0
        for out, inp in self.shapes:
            w = theta[:, start : start + out * inp].reshape(-1, out, inp)
            start += out * inp
            layers.append((w, theta[:, start : start + out]))
            start += out
        return layers, None

    def field(self, y: Tensor, weights: tuple[Weights, Tensor | None]) -> Tensor:
        """Evaluate the root MLP with every environment's weights."""
        return _mlp(y, weights[0])


class ContextMLPExperts(ExpertBank):
    r"""NCF-style experts: :math:`g_m([a_m(y);\ c_m(\xi)])`.

    The state encoder :math:`a_m` is one Swish layer ``d -> hidden``, the
    context encoder :math:`c_m` two Swish layers ``C -> hidden -> hidden``,
    and the main network :math:`g_m` an MLP ``2 hidden -> hidden (x depth)
    -> d``.

    Parameters
    ----------
    num_experts, dim, context_dim : int
        See :class:`ExpertBank`.
    hidden : int
        Width of every layer (default: ``64``).
    depth : int
        Hidden layers of the main network (default: ``2``).
    seed : int
        Seed of the initial weights (default: ``0``).
    """

    def __init__(
        self,
        num_experts: int,
        dim: int,
        context_dim: int,
        *,
        hidden: int = 64,
        depth: int = 2,
        seed: int = 0,
    ) -> None:
        super().__init__(num_experts, dim, context_dim)
        if hidden < 1 or depth < 1:
            raise ValueError("ContextMLPExperts: `hidden` and `depth` must be >= 1")
        self.seed = seed
        self.context_shapes = [(hidden, context_dim), (hidden, hidden)]
        self.state_shapes = [(hidden, dim)]
        main = [2 * hidden] + [hidden] * depth + [dim]
        self.main_shapes = list(zip(main[1:], main[:-1], strict=True))
        self.all_shapes = self.context_shapes + self.state_shapes + self.main_shapes
        self.weight = nn.ParameterList(
            nn.Parameter(torch.empty(num_experts, o, i)) for o, i in self.all_shapes
        )
        self.bias = nn.ParameterList(
            nn.Parameter(torch.empty(num_experts, o)) for o, _ in self.all_shapes
        )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw the initial weights from ``seed`` (``nn.Linear``'s bounds)."""
        gen = torch.Generator().manual_seed(self.seed)
        with torch.no_grad():
            for w, b, (_, inp) in zip(
                self.weight, self.bias, self.all_shapes, strict=True
            ):
                bound = 1 / math.sqrt(inp)
                w.copy_(_uniform(tuple(w.shape), bound, gen))
                b.copy_(_uniform(tuple(b.shape), bound, gen))

    def weights(
        self, experts: Tensor, contexts: Tensor
    ) -> tuple[Weights, Tensor | None]:
        """Gather every environment's expert layers and encode its context."""
        layers = [
            (w[experts], b[experts])
            for w, b in zip(self.weight, self.bias, strict=True)
        ]
        n_ctx = len(self.context_shapes)
        encoded = _mlp(contexts.unsqueeze(1), layers[:n_ctx], last_linear=False)
        return layers[n_ctx:], encoded.squeeze(1)

    def field(self, y: Tensor, weights: tuple[Weights, Tensor | None]) -> Tensor:
        """Encode the states, append the encoded contexts, apply the main MLP."""
        layers, encoded = weights
        if encoded is None:
            raise ValueError(
                "ContextMLPExperts.field: weights lack the encoded contexts"
            )
        n_state = len(self.state_shapes)
        state = _mlp(y, layers[:n_state], last_linear=False)
        context = encoded.unsqueeze(1).expand(-1, y.shape[1], -1)
        return _mlp(torch.cat([state, context], dim=-1), layers[n_state:])


EXPERTS: dict[str, type[ExpertBank]] = {
    "hyper": HyperExperts,
    "mlp": ContextMLPExperts,
}
"""Expert banks by name: ``"hyper"`` (CoDA) and ``"mlp"`` (NCF-style)."""
