r"""The GNS encode-process-decode processor on PyG ``MessagePassing``.

After "Learning to Simulate Complex Physics with Graph Networks"
(Sanchez-Gonzalez et al., ICML 2020). Node features :math:`v_i` and edge
features :math:`e_{ij}` are encoded by MLPs into :math:`h_i, h_{ij}`; then
:math:`L` unshared interaction-network steps with residuals,

.. math::
    m_{ij} = \phi_e([h_i, h_j, h_{ij}]),\qquad
    h_i \leftarrow h_i + \phi_v\big([h_i, \textstyle\sum_{j\to i} m_{ij}]\big),
    \qquad h_{ij} \leftarrow h_{ij} + m_{ij},

and a decoder MLP (without LayerNorm) reads out a ``dim``-vector per node
(GNS: the normalised acceleration). MLPs have ``mlp_layers`` hidden layers of
``hidden`` units with ReLU; the encoder and processor MLPs end in
LayerNorm. GNS's defaults are ``hidden = 128``, ``layers = 10``,
``mlp_layers = 2``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.nn import MessagePassing

__all__ = ["GNS", "InteractionNetwork", "mlp"]


def mlp(inputs: int, hidden: int, outputs: int, layers: int, norm: bool) -> nn.Module:
    """Build an MLP with ``layers`` hidden ReLU layers, optionally LayerNorm last."""
    mods: list[nn.Module] = []
    size = inputs
    for _ in range(layers):
        mods += [nn.Linear(size, hidden), nn.ReLU()]
        size = hidden
    mods.append(nn.Linear(size, outputs))
    if norm:
        mods.append(nn.LayerNorm(outputs))
    return nn.Sequential(*mods)


class InteractionNetwork(MessagePassing):
    r"""One residual interaction-network step (sum aggregation).

    Parameters
    ----------
    hidden : int
        Size of the node and edge latents.
    mlp_layers : int
        Hidden layers of :math:`\phi_e` and :math:`\phi_v` (default: ``2``).
    """

    def __init__(self, hidden: int, mlp_layers: int = 2) -> None:
        super().__init__(aggr="add")
        self.edge_mlp = mlp(3 * hidden, hidden, hidden, mlp_layers, True)
        self.node_mlp = mlp(2 * hidden, hidden, hidden, mlp_layers, True)

    def forward(
        self, h: Tensor, edge_index: Tensor, e: Tensor
    ) -> tuple[Tensor, Tensor]:
        """Return the updated ``(h, e)``; ``edge_index[0]`` is the source ``j``."""
        src, dst = edge_index
        msg = self.edge_mlp(torch.cat([h[dst], h[src], e], -1))
        agg = self.propagate(edge_index, msg=msg, size=(h.shape[0], h.shape[0]))
        return h + self.node_mlp(torch.cat([h, agg], -1)), e + msg

    def message(self, msg: Tensor) -> Tensor:
        """Pass the precomputed messages :math:`m_{ij}` on."""
        return msg


class GNS(nn.Module):
    """Encode-process-decode graph network (see the module docstring).

    Parameters
    ----------
    node_in, edge_in : int
        Sizes of the raw node and edge features.
    out : int
        Output size per node.
    hidden : int
        Latent size (default: ``128``).
    layers : int
        Interaction-network steps (default: ``10``).
    mlp_layers : int
        Hidden layers per MLP (default: ``2``).
    """

    def __init__(
        self,
        node_in: int,
        edge_in: int,
        out: int,
        hidden: int = 128,
        layers: int = 10,
        mlp_layers: int = 2,
    ) -> None:
        super().__init__()
        self.node_encoder = mlp(node_in, hidden, hidden, mlp_layers, True)
        self.edge_encoder = mlp(edge_in, hidden, hidden, mlp_layers, True)
        self.processor = nn.ModuleList(
            InteractionNetwork(hidden, mlp_layers) for _ in range(layers)
        )
        self.decoder = mlp(hidden, hidden, out, mlp_layers, False)

    def reset_parameters(self) -> None:
        """Reset every layer."""
        for module in self.modules():
            if isinstance(module, nn.Linear | nn.LayerNorm):
                module.reset_parameters()

    def forward(self, nodes: Tensor, edge_index: Tensor, edges: Tensor) -> Tensor:
        """Return ``[N, out]`` from nodes ``[N, node_in]``, edges ``[E, edge_in]``."""
        h, e = self.node_encoder(nodes), self.edge_encoder(edges)
        for step in self.processor:
            h, e = step(h, edge_index, e)
        return self.decoder(h)
