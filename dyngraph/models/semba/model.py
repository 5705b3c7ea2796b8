r"""SEMBA: representation learning on continuous-time dynamic signed networks.

Sharma et al., *Representation Learning in Continuous-Time Dynamic Signed
Networks*, CIKM 2023 (arXiv:2207.03408). Every node keeps a positive and a
negative memory, updated from signed events routed by structural balance;
graph attention over the recent temporal neighbourhood turns the memories
into embeddings, and a pair head predicts link existence, link sign, a 3-way
signed link class or the signed weight of future events.

The module has three layers:

* :class:`SignedMemory`: the two memories and their balance-routed update,
  mirroring the API of PyG's :class:`~torch_geometric.nn.models.tgn.TGNMemory`;
* :class:`SignedTemporalModel`: what every signed temporal model shares (the
  recent-neighbour graph, the pair head, the four task losses and the
  leakage-free ``predict`` then ``observe`` order);
* :class:`SEMBA`: the memory plus a :class:`~torch_geometric.nn.TransformerConv`
  embedding.

:func:`stream_predictions` runs a model over a stream batch by batch, the
protocol used for validation and test.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn import TransformerConv
from torch_geometric.nn.models.tgn import (
    IdentityMessage,
    LastNeighborLoader,
    MeanAggregator,
    TimeEncoder,
)
from torch_geometric.utils import scatter

from dyngraph.data.events import EventStream
from dyngraph.data.loader import TemporalBatch, TemporalBatchLoader
from dyngraph.data.sampling import NegativeSampler
from dyngraph.data.splits import TemporalSplit, chronological_split
from dyngraph.metrics import average_precision, f1_scores, rmse, roc_auc
from dyngraph.training import FitResult, distributed, fit
from dyngraph.training import checkpoint as ckpt

__all__ = [
    "MONITOR",
    "SEMBA",
    "FixedTimeEncoder",
    "TASKS",
    "SignedMemory",
    "SignedTemporalModel",
    "StreamPredictions",
    "selection_metrics",
    "stream_predictions",
]

Task = Literal["existence", "sign", "three_way", "weight"]
TASKS: tuple[str, ...] = ("existence", "sign", "three_way", "weight")
_OUT = {"existence": 1, "sign": 1, "three_way": 3, "weight": 1}


def _check_task(task: str) -> str:
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose one of {list(TASKS)}")
    return task


def _log1p_column(x: Tensor) -> Tensor:
    return x.log1p().unsqueeze(-1)


class FixedTimeEncoder(TimeEncoder):
    r"""Time encoding with fixed, geometrically spaced frequencies.

    :math:`\phi(\Delta)_k = \cos(\omega_k \Delta)` with
    :math:`\omega_k = \alpha^{-(k-1)/\beta}`, :math:`\alpha = \beta =
    \sqrt{d}`, :math:`k = 1..d` (GraphMixer's encoding, Cong et al., ICLR
    2023), not trained. PyG's :class:`TimeEncoder` draws its frequencies
    uniformly in :math:`[-1, 1]` and trains them: with gaps of hundreds of
    time units almost every draw aliases, so the encoding of a large gap is
    seed-dependent noise that the memory and attention must learn around.
    The fixed frequencies span :math:`1` to about :math:`10^{-4}` per time
    unit for :math:`d = 32`, so short and long gaps stay distinguishable
    under every seed.
    """

    def reset_parameters(self) -> None:
        """Set the fixed frequencies (no bias) and freeze them."""
        d = self.out_channels
        alpha = d**0.5
        omega = alpha ** (-torch.arange(d, dtype=torch.float64) / alpha)
        with torch.no_grad():
            self.lin.weight.copy_(omega.view(d, 1).to(self.lin.weight.dtype))
            self.lin.bias.zero_()
        self.lin.weight.requires_grad_(False)
        self.lin.bias.requires_grad_(False)


class SignedMemory(nn.Module):
    r"""Positive and negative node memories routed by structural balance.

    Node :math:`i` keeps :math:`s_i^+, s_i^- \in \mathbb{R}^d` and the time
    :math:`\tau_i` of its last update. A signed event
    :math:`(i, j, t, \sigma, r)` with raw message :math:`r` produces one
    message per endpoint and sign (here for :math:`i`; :math:`j` gets the
    mirror image):

    .. math::
        m_i^+ &= \mathrm{MSG}^+\big(s_i^+,\, s_j^{\sigma},\,
            [r \,\|\, \delta],\, \phi(t - \tau_i)\big), \\
        m_i^- &= \mathrm{MSG}^-\big(s_i^-,\, s_j^{-\sigma},\,
            [r \,\|\, \delta],\, \phi(t - \tau_i)\big),

    where :math:`s_j^{+1} = s_j^+`, :math:`s_j^{-1} = s_j^-`,
    :math:`\delta = 1` at the source and :math:`0` at the destination, and
    :math:`\phi(\Delta) = \cos(w\Delta + b)` is PyG's
    :class:`~torch_geometric.nn.models.tgn.TimeEncoder`. This is the balance
    rule of the paper's pipeline figure: across a positive edge like reads
    like (a friend's friend is a friend, a friend's enemy an enemy); across
    a negative edge the positive memory reads the partner's negative memory
    (the enemy of my enemy is a friend) and the negative memory reads the
    partner's positive one. The messages of a node are aggregated per sign,
    :math:`M_i^\pm = \mathrm{AGG}(\{m_i^\pm\})`, and each memory has its own
    GRU cell, :math:`s_i^\pm \leftarrow \mathrm{GRU}^\pm(M_i^\pm, s_i^\pm)`.

    .. note::
        The released reference code routes differently: positive events
        never reach :math:`s^-`, and negative events reach :math:`s^-` twice
        (with the partner's :math:`s^-` and :math:`s^+`). This module
        implements the paper's rule above, not the released code.

    Updates are lazy, as in :class:`~torch_geometric.nn.models.tgn.TGNMemory`:
    :meth:`update_state` first applies the messages still pending for the
    nodes of the new events, then stores the new events as pending, and
    :meth:`forward` returns the memories *with* the pending messages applied
    (differentiably, without storing them). So the message and GRU
    parameters receive gradients from the predictions that read the
    memory, and a batch's own events never reach the memory read when
    predicting it. The persisted update runs without gradient, so no
    ``detach`` is needed between optimizer steps. Pending messages are kept
    as tensors, not per-node dictionaries.

    Parameters
    ----------
    num_nodes : int
        Number of nodes.
    raw_msg_dim : int
        Size of the raw event message :math:`r`.
    memory_dim : int
        Size :math:`d` of each of the two memories.
    time_dim : int
        Size of the time encoding.
    message_module : torch.nn.Module, optional
        :math:`\mathrm{MSG}^+`, called as ``module(s_own, s_partner,
        raw_msg, time_enc)`` with ``raw_msg`` of size ``raw_msg_dim + 1``
        (the direction flag is appended); it needs an ``out_channels``
        attribute. A deep copy serves as :math:`\mathrm{MSG}^-` (default:
        :class:`~torch_geometric.nn.models.tgn.IdentityMessage`, the
        concatenation).
    aggregator_module : torch.nn.Module, optional
        ``module(msg, index, t, dim_size)`` (default:
        :class:`~torch_geometric.nn.models.tgn.MeanAggregator`, as in the
        reference code; :class:`~torch_geometric.nn.models.tgn.LastAggregator`
        is TGN's choice).
    time_encoder : TimeEncoder, optional
        :math:`\phi`, with ``out_channels == time_dim`` (default: PyG's
        learned :class:`~torch_geometric.nn.models.tgn.TimeEncoder`).
    """

    def __init__(
        self,
        num_nodes: int,
        raw_msg_dim: int,
        memory_dim: int,
        time_dim: int,
        message_module: nn.Module | None = None,
        aggregator_module: nn.Module | None = None,
        time_encoder: TimeEncoder | None = None,
    ) -> None:
        super().__init__()
        if num_nodes < 1 or raw_msg_dim < 0 or memory_dim < 1 or time_dim < 1:
            raise ValueError(
                "SignedMemory: num_nodes, memory_dim and time_dim must be positive "
                f"and raw_msg_dim >= 0, got {num_nodes}, {memory_dim}, {time_dim}, "
                f"{raw_msg_dim}"
            )
        self.num_nodes = num_nodes
        self.raw_msg_dim = raw_msg_dim
        self.memory_dim = memory_dim
        self.time_dim = time_dim
        if message_module is None:
            message_module = IdentityMessage(raw_msg_dim + 1, memory_dim, time_dim)
        self.msg_pos = message_module
        self.msg_neg = copy.deepcopy(message_module)
        self.aggr = (
            aggregator_module if aggregator_module is not None else (MeanAggregator())
        )
        if time_encoder is not None and time_encoder.out_channels != time_dim:
            raise ValueError(
                f"SignedMemory: time_encoder has {time_encoder.out_channels} "
                f"channels, time_dim is {time_dim}"
            )
        self.time_enc = (
            time_encoder if time_encoder is not None else TimeEncoder(time_dim)
        )
        self.gru_pos = nn.GRUCell(message_module.out_channels, memory_dim)
        self.gru_neg = nn.GRUCell(message_module.out_channels, memory_dim)
        self.register_buffer("memory", torch.zeros(num_nodes, 2 * memory_dim))
        self.register_buffer("last_update", torch.zeros(num_nodes))
        self._pending: dict[str, Tensor] = {}
        self.reset_parameters()

    @property
    def device(self) -> torch.device:
        """Device of the memory."""
        return self.memory.device

    def reset_parameters(self) -> None:
        """Reset all learnable parameters and the state."""
        for module in (self.msg_pos, self.msg_neg, self.aggr):
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
        self.time_enc.reset_parameters()
        self.gru_pos.reset_parameters()
        self.gru_neg.reset_parameters()
        self.reset_state()

    def reset_state(self) -> None:
        """Zero the memories and update times and drop pending messages."""
        self.memory.zero_()
        self.last_update.zero_()
        long = torch.empty(0, dtype=torch.long, device=self.device)
        self._pending = {
            "node": long,
            "partner": long.clone(),
            "sign": long.clone(),
            "t": self.memory.new_empty(0),
            "raw": self.memory.new_empty(0, self.raw_msg_dim + 1),
        }

    def forward(self, n_id: Tensor) -> tuple[Tensor, Tensor]:
        r"""Memories :math:`[s^+ \| s^-]` and last-update times of ``n_id``.

        Pending messages are applied on the fly (differentiably), without
        changing the stored state.

        Parameters
        ----------
        n_id : Tensor
            Unique node ids, shape ``[n]``.

        Returns
        -------
        memory : Tensor
            Shape ``[n, 2 * memory_dim]``.
        last_update : Tensor
            Shape ``[n]``.
        """
        return self._updated(n_id)

    def routed_messages(self, select: Tensor) -> tuple[Tensor, Tensor]:
        r"""Messages :math:`(m^+, m^-)` of the pending entries ``select``.

        Parameters
        ----------
        select : Tensor
            Positions in the pending store (``long``) or a boolean mask.

        Returns
        -------
        tuple of Tensor
            :math:`m^+` and :math:`m^-`, each ``[k, out_channels]``.
        """
        p = {k: v[select] for k, v in self._pending.items()}
        d = self.memory_dim
        own, partner = self.memory[p["node"]], self.memory[p["partner"]]
        positive = (p["sign"] > 0).unsqueeze(-1)
        same = torch.where(positive, partner[:, :d], partner[:, d:])
        cross = torch.where(positive, partner[:, d:], partner[:, :d])
        enc = self.time_enc(p["t"] - self.last_update[p["node"]])
        m_pos = self.msg_pos(own[:, :d], same, p["raw"], enc)
        m_neg = self.msg_neg(own[:, d:], cross, p["raw"], enc)
        return m_pos, m_neg

    def _updated(self, n_id: Tensor) -> tuple[Tensor, Tensor]:
        memory, last = self.memory[n_id], self.last_update[n_id]
        local = torch.full((self.num_nodes,), -1, dtype=torch.long, device=self.device)
        local[n_id] = torch.arange(n_id.numel(), device=self.device)
        index = local[self._pending["node"]]
        select = torch.nonzero(index >= 0).view(-1)
        if select.numel() == 0:
            return memory, last
        index, t = index[select], self._pending["t"][select]
        m_pos, m_neg = self.routed_messages(select)
        n = n_id.numel()
        a_pos = self.aggr(m_pos, index, t, n)
        a_neg = self.aggr(m_neg, index, t, n)
        d = self.memory_dim
        new = torch.cat(
            [self.gru_pos(a_pos, memory[:, :d]), self.gru_neg(a_neg, memory[:, d:])],
            dim=-1,
        )
        touched = torch.zeros(n, dtype=torch.bool, device=self.device)
        touched[index] = True
        memory = torch.where(touched.unsqueeze(-1), new, memory)
        latest = scatter(t, index, 0, dim_size=n, reduce="max")
        last = torch.where(touched, torch.maximum(latest, last), last)
        return memory, last

    def update_state(
        self, src: Tensor, dst: Tensor, t: Tensor, raw_msg: Tensor, sign: Tensor
    ) -> None:
        """Apply the pending messages of the events' nodes, then store the events.

        Parameters
        ----------
        src, dst : Tensor
            Endpoints, shape ``[B]``.
        t : Tensor
            Event times (float, the model's time unit), shape ``[B]``.
        raw_msg : Tensor
            Raw messages, shape ``[B, raw_msg_dim]``.
        sign : Tensor
            Signs in ``{-1, +1}``, shape ``[B]``.
        """
        n_id = torch.cat([src, dst]).unique()
        with torch.no_grad():
            memory, last = self._updated(n_id)
            self.memory[n_id] = memory
            self.last_update[n_id] = last
            keep = torch.ones(self.num_nodes, dtype=torch.bool, device=self.device)
            keep[n_id] = False
            keep = keep[self._pending["node"]]
            ones, zeros = raw_msg.new_ones(len(src), 1), raw_msg.new_zeros(len(src), 1)
            new = {
                "node": torch.cat([src, dst]),
                "partner": torch.cat([dst, src]),
                "sign": sign.long().repeat(2),
                "t": t.to(self.memory.dtype).repeat(2),
                "raw": torch.cat(
                    [
                        torch.cat([raw_msg, ones], dim=-1),
                        torch.cat([raw_msg, zeros], dim=-1),
                    ]
                ).to(self.memory.dtype),
            }
            self._pending = {
                k: torch.cat([v[keep], new[k]]) for k, v in self._pending.items()
            }

    def get_extra_state(self) -> dict[str, Tensor]:
        """Pending messages, saved with the ``state_dict``."""
        return {k: v.clone() for k, v in self._pending.items()}

    def set_extra_state(self, state: dict[str, Tensor]) -> None:
        """Restore the pending messages saved by :meth:`get_extra_state`."""
        self._pending = {k: v.to(self.device) for k, v in state.items()}

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}({self.num_nodes}, "
            f"memory_dim={self.memory_dim}, time_dim={self.time_dim})"
        )


class SignedTemporalModel(nn.Module):
    r"""Shared machinery of the signed temporal link models.

    Subclasses define :meth:`node_state` (the node inputs of the embedding
    and their last-update times) and :meth:`update_memory`; this class
    holds the recent-neighbour graph
    (:class:`~torch_geometric.nn.models.tgn.LastNeighborLoader`), the
    embedding :class:`~torch_geometric.nn.TransformerConv`, the pair head,
    the losses of the four tasks and the event order.

    The embedding of node :math:`i` attends over its ``num_neighbors`` most
    recent neighbours :math:`u` with edge attributes
    :math:`[\phi(\tau_u - t_e) \,\|\, |w_e|/c \,\|\, \sigma_e]` (the sign
    only with ``sign_edge_attr``). The head is PyG's TGN link predictor
    with a product term, :math:`h(z_s, z_d) = W_o\,\mathrm{ReLU}(W_s z_s +
    W_d z_d + W_p (z_s \odot z_d))`; with ``recency`` it also reads the time
    since each endpoint's last event, :math:`W_r [\psi(t - \tau_s) \,\|\,
    \psi(t - \tau_d)]` inside the ReLU, where :math:`t` is the pair's query
    time (the event's time; a sampled pair's is its event's),
    :math:`\tau_i` the time of :math:`i`'s last observed event (``0``, the
    time origin, for a node not seen yet) and :math:`\psi` the fixed
    geometric encoding of :class:`FixedTimeEncoder`. The embedding does not
    see :math:`t` (its edge times are relative to :math:`\tau_u`, as in
    PyG's TGN example), so without it the head cannot tell a node active an
    hour ago from one silent for a year. It has :math:`k` outputs per task:

    ======================  ===  ==================================================
    task                    k    target and loss
    ======================  ===  ==================================================
    ``"existence"``         1    event :math:`1`, sampled pair :math:`0`; BCE
    ``"sign"``              1    :math:`\sigma=+1 \mapsto 1`, :math:`-1 \mapsto 0`;
                                 BCE, negatives weighted by ``neg_weight``
    ``"three_way"``         3    positive 0, negative 1, sampled pair 2; cross
                                 entropy with class weights
                                 :math:`(1, \text{neg\_weight}, 1)`
    ``"weight"``            1    :math:`\sigma |w| / c`; MSE
    ======================  ===  ==================================================

    with :math:`c` = ``weight_scale``. The weighted losses are normalised
    by the total weight, :math:`\sum_b \omega_b \ell_b / \sum_b \omega_b`.

    Events are used in the only leakage-free order: :meth:`predict` (or
    :meth:`loss`) for a batch reads the state left by earlier batches, and
    only then :meth:`observe` adds the batch's events to the memory and the
    neighbour graph.

    Parameters
    ----------
    num_nodes : int
        Number of nodes.
    node_dim : int
        Size of the node inputs returned by :meth:`node_state`.
    time_encoder : TimeEncoder
        Time encoder of the edge attributes (usually the memory's).
    embedding_dim : int
        Embedding size; a multiple of ``heads``.
    task : {"existence", "sign", "three_way", "weight"}
        What the head predicts.
    num_neighbors : int
        Recent neighbours per node (default: ``10``).
    heads : int
        Attention heads (default: ``2``).
    dropout : float
        Attention dropout (default: ``0.1``).
    sign_edge_attr : bool
        Put the event sign on the attention edges (default: ``True``).
    neg_weight : float
        Loss weight of negative events in ``"sign"`` and ``"three_way"``
        (default: ``1.0``; :meth:`balanced_neg_weight` gives
        :math:`n_+/n_-`).
    weight_scale : float
        Scale :math:`c` of the weights (default: ``1.0``).
    time_origin : float
        Time subtracted from event times (default: ``0.0``).
    time_unit : float
        Event times are divided by this after subtracting ``time_origin``,
        e.g. ``86400`` for Unix seconds to days (default: ``1.0``).
    node_embedding_dim : int
        Size of a learned per-node embedding appended to the node inputs
        (default: ``0``, none).
    recency : bool
        Give the head the time since each endpoint's last event (see
        above; default: ``False``). Each gap :math:`\Delta` enters as
        :math:`[\psi(\Delta) \,\|\, \log(1 + \Delta)]`: the logarithm keeps
        gaps longer than the slowest frequency of :math:`\psi` apart. On
        Bitcoin-OTC it raised SEMBA's test existence ROC-AUC (seeds 0, 1,
        3 epochs) from 0.899 / 0.888 to 0.921 / 0.927 and the TGB-protocol
        MRR from 0.346 / 0.337 to 0.408 / 0.411. On the generated factions
        network, whose events have no bursts of activity, an earlier form
        (without the logarithm) left existence as it was and lowered the
        3-way macro-F1 by 0.04 (three seeds), so :class:`SEMBA` turns it on
        for ``"existence"`` only.
    """

    def __init__(
        self,
        num_nodes: int,
        node_dim: int,
        time_encoder: TimeEncoder,
        embedding_dim: int,
        task: Task,
        *,
        num_neighbors: int = 10,
        heads: int = 2,
        dropout: float = 0.1,
        sign_edge_attr: bool = True,
        neg_weight: float = 1.0,
        weight_scale: float = 1.0,
        time_origin: float = 0.0,
        time_unit: float = 1.0,
        node_embedding_dim: int = 0,
        recency: bool = False,
    ) -> None:
        super().__init__()
        self.task = _check_task(task)
        if embedding_dim % heads:
            raise ValueError(
                f"embedding_dim={embedding_dim} must be a multiple of heads={heads}"
            )
        if neg_weight <= 0 or weight_scale <= 0 or time_unit <= 0:
            raise ValueError(
                "neg_weight, weight_scale and time_unit must be positive, got "
                f"{neg_weight}, {weight_scale}, {time_unit}"
            )
        self.num_nodes = num_nodes
        self.embedding_dim = embedding_dim
        self.num_neighbors = num_neighbors
        self.sign_edge_attr = sign_edge_attr
        self.neg_weight = float(neg_weight)
        self.weight_scale = float(weight_scale)
        self.time_origin = float(time_origin)
        self.time_unit = float(time_unit)
        self.edge_time_enc = time_encoder
        self.node_embedding = (
            nn.Embedding(num_nodes, node_embedding_dim) if node_embedding_dim else None
        )
        edge_dim = time_encoder.out_channels + 1 + int(sign_edge_attr)
        self.conv = TransformerConv(
            node_dim + node_embedding_dim,
            embedding_dim // heads,
            heads=heads,
            dropout=dropout,
            edge_dim=edge_dim,
        )
        self.lin_src = nn.Linear(embedding_dim, embedding_dim)
        self.lin_dst = nn.Linear(embedding_dim, embedding_dim)
        self.lin_pair = nn.Linear(embedding_dim, embedding_dim, bias=False)
        self.lin_out = nn.Linear(embedding_dim, _OUT[self.task])
        self.recency = bool(recency)
        if self.recency:
            self.recency_enc = FixedTimeEncoder(time_encoder.out_channels)
            self.lin_recency = nn.Linear(
                2 * (time_encoder.out_channels + 1), embedding_dim
            )
        self.neighbors = LastNeighborLoader(num_nodes, size=num_neighbors)
        self._history: dict[str, Tensor] = {}
        self._reset_history()

    # -- to be provided by subclasses ---------------------------------------
    def node_state(self, n_id: Tensor) -> tuple[Tensor, Tensor]:
        """Node inputs ``[n, node_dim]`` and last-update times ``[n]``."""
        raise NotImplementedError

    def update_memory(self, events: EventStream, t: Tensor) -> None:
        """Add ``events`` (times ``t`` in model units) to the node memory."""
        raise NotImplementedError

    def reset_memory(self) -> None:
        """Reset the node memory."""
        raise NotImplementedError

    # -- state ----------------------------------------------------------------
    def _reset_history(self) -> None:
        device = self.lin_out.weight.device
        self._history = {
            "t": torch.empty(0, device=device),
            "weight": torch.empty(0, device=device),
            "sign": torch.empty(0, device=device),
        }

    def reset_parameters(self) -> None:
        """Reset all learnable parameters and the state."""
        self.fit_state_ = None
        self.edge_time_enc.reset_parameters()
        if self.node_embedding is not None:
            nn.init.normal_(self.node_embedding.weight, std=0.1)
        self.conv.reset_parameters()
        for lin in (self.lin_src, self.lin_dst, self.lin_pair, self.lin_out):
            lin.reset_parameters()
        if self.recency:
            self.recency_enc.reset_parameters()
            self.lin_recency.reset_parameters()
        self.reset_state()

    def reset_state(self) -> None:
        """Forget all events: memory, neighbour graph and event history."""
        self.reset_memory()
        self.neighbors = LastNeighborLoader(
            self.num_nodes, size=self.num_neighbors, device=self.lin_out.weight.device
        )
        self._reset_history()

    def _timeline(self) -> dict[str, Any]:
        return {
            "history": {k: v.clone() for k, v in self._history.items()},
            # empty slots (e_id < 0) hold uninitialised memory in PyG's
            # loader; zero them so that equal states save equal files
            "neighbors": self.neighbors.neighbors.masked_fill(
                self.neighbors.e_id < 0, 0
            ),
            "e_id": self.neighbors.e_id.clone(),
            "cur_e_id": self.neighbors.cur_e_id,
        }

    def get_extra_state(self) -> dict[str, Any]:
        """Neighbours, event history and ``fit_state_``, for the ``state_dict``."""
        state = self._timeline()
        if getattr(self, "fit_state_", None) is not None:
            state["fit_state"] = self.fit_state_
        return state

    def snapshot_state(self) -> dict[str, Any]:
        """Copy the whole event state: memory, neighbours and history."""
        snap: dict[str, Any] = {
            "memory": copy.deepcopy(self.memory.state_dict()),
            "timeline": self._timeline(),
        }
        for name in ("msg_s_store", "msg_d_store"):  # TGNMemory keeps these aside
            store = getattr(self.memory, name, None)
            if store is not None:
                snap[name] = copy.deepcopy(store)
        return snap

    def restore_state(self, snap: dict[str, Any]) -> None:
        """Go back to a state taken by :meth:`snapshot_state` (weights included)."""
        self.memory.load_state_dict(copy.deepcopy(snap["memory"]))
        self._set_timeline(snap["timeline"])
        for name in ("msg_s_store", "msg_d_store"):
            if name in snap:
                setattr(self.memory, name, copy.deepcopy(snap[name]))

    def set_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`get_extra_state` saved."""
        self.fit_state_ = state.get("fit_state")
        self._set_timeline(state)

    def _set_timeline(self, state: dict[str, Any]) -> None:
        device = self.lin_out.weight.device
        self._history = {k: v.to(device) for k, v in state["history"].items()}
        self.neighbors = LastNeighborLoader(
            self.num_nodes, size=self.num_neighbors, device=device
        )
        self.neighbors.neighbors.copy_(state["neighbors"])
        self.neighbors.e_id.copy_(state["e_id"])
        self.neighbors.cur_e_id = int(state["cur_e_id"])

    def model_time(self, t: Tensor) -> Tensor:
        r"""Event times in model units, :math:`(t - t_0) / u` (float32)."""
        device = self.lin_out.weight.device
        return ((t.to(torch.float64) - self.time_origin) / self.time_unit).to(
            device=device, dtype=torch.float32
        )

    def _weights(self, events: EventStream) -> Tensor:
        device = self.lin_out.weight.device
        if events.weight is None:
            return torch.ones(events.num_events, device=device)
        return events.weight.to(device=device, dtype=torch.float32).abs()

    @staticmethod
    def _signs(events: EventStream) -> Tensor:
        if events.sign is None:
            raise ValueError(
                "the events carry no sign; signed models need "
                "EventStream(..., sign=...) with values -1/+1"
            )
        return events.sign

    @staticmethod
    def balanced_neg_weight(events: EventStream) -> float:
        r"""Class weight :math:`n_+ / n_-` of negative events in ``events``."""
        sign = SignedTemporalModel._signs(events)
        neg = int((sign < 0).sum())
        return (sign.numel() - neg) / max(neg, 1)

    # -- forward pass ----------------------------------------------------------
    def embed(self, n_id: Tensor) -> Tensor:
        """Embeddings ``[n, embedding_dim]`` of the nodes ``n_id`` (unique)."""
        return self._embed(n_id)[0]

    def _embed(self, n_id: Tensor) -> tuple[Tensor, Tensor]:
        """Embeddings of ``n_id`` and their last-update times."""
        all_id, edge_index, e_id = self.neighbors(n_id)
        x, last_update = self.node_state(all_id)
        if self.node_embedding is not None:
            x = torch.cat([x, self.node_embedding(all_id)], dim=-1)
        rel_t = last_update[edge_index[0]] - self._history["t"][e_id]
        attr = [
            self.edge_time_enc(rel_t),
            (self._history["weight"][e_id] / self.weight_scale).unsqueeze(-1),
        ]
        if self.sign_edge_attr:
            attr.append(self._history["sign"][e_id].unsqueeze(-1))
        z = self.conv(x, edge_index, torch.cat(attr, dim=-1))
        local = torch.empty(self.num_nodes, dtype=torch.long, device=z.device)
        local[all_id] = torch.arange(all_id.numel(), device=z.device)
        return z[local[n_id]], last_update[local[n_id]]

    def score(self, src: Tensor, dst: Tensor, t: Tensor | None = None) -> Tensor:
        r"""Head output for the pairs ``(src, dst)``: ``[B]`` or ``[B, 3]``.

        Uses only the events observed so far. Logits for ``"existence"`` and
        ``"sign"`` (probability of a link / of a positive sign after a
        sigmoid), class logits for ``"three_way"``, the scaled signed
        weight :math:`\hat y / c` for ``"weight"``. With ``recency``, ``t``
        (model units, ``[B]``) is each pair's query time.
        """
        device = self.lin_out.weight.device
        src, dst = src.to(device), dst.to(device)
        n_id = torch.cat([src, dst]).unique()
        z, last = self._embed(n_id)
        local = torch.empty(self.num_nodes, dtype=torch.long, device=device)
        local[n_id] = torch.arange(n_id.numel(), device=device)
        z_src, z_dst = z[local[src]], z[local[dst]]
        h = self.lin_src(z_src) + self.lin_dst(z_dst) + self.lin_pair(z_src * z_dst)
        if self.recency:
            if t is None:
                raise ValueError("score: a model with recency needs the pairs' times t")
            t = t.to(device=device, dtype=last.dtype)
            since = [(t - last[local[x]]).clamp_min(0) for x in (src, dst)]
            feats = [f(x) for x in since for f in (self.recency_enc, _log1p_column)]
            h = h + self.lin_recency(torch.cat(feats, -1))
        out = self.lin_out(h.relu())
        return out if self.task == "three_way" else out.squeeze(-1)

    def _pairs(self, batch: TemporalBatch) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Event pairs, then the valid sampled negative pairs, and their times."""
        events = batch.events
        t = self.model_time(events.t)
        if self.task not in ("existence", "three_way"):
            return events.src, events.dst, events.src[:0], t
        if batch.neg_dst is None or batch.neg_mask is None:
            raise ValueError(
                f"task {self.task!r} needs sampled negatives: build the "
                "TemporalBatchLoader with neg_sampler=NegativeSampler(...)"
            )
        neg_mask = batch.neg_mask.to(events.src.device)
        neg_src = events.src.unsqueeze(-1).expand_as(batch.neg_dst)[neg_mask]
        neg_dst = batch.neg_dst.to(events.src.device)[neg_mask]
        neg_t = t.unsqueeze(-1).expand(neg_mask.shape)[neg_mask.to(t.device)]
        return (
            torch.cat([events.src, neg_src]),
            torch.cat([events.dst, neg_dst]),
            neg_mask,
            torch.cat([t, neg_t]),
        )

    def loss(self, batch: TemporalBatch) -> Tensor:
        """Task loss of ``batch`` from the state before it (see the class).

        Under torchrun (several processes) each rank scores its shard of the
        batch's pairs (:meth:`_sharded_loss`); every rank still observes the
        whole batch, so the memory stays the same on all of them.
        """
        if distributed.context().distributed:
            return self._sharded_loss(batch)
        events = batch.events
        src, dst, _, t = self._pairs(batch)
        out = self.score(src, dst, t)
        device = out.device
        b = events.num_events
        sign = self._signs(events).to(device)
        if self.task == "weight":
            target = sign.float() * self._weights(events) / self.weight_scale
            return F.mse_loss(out, target)
        if self.task == "sign":
            target = (sign > 0).float()
            weight = torch.where(sign > 0, 1.0, self.neg_weight)
            per = F.binary_cross_entropy_with_logits(out, target, reduction="none")
            return (weight * per).sum() / weight.sum()
        if self.task == "existence":
            target = torch.zeros_like(out)
            target[:b] = 1.0
            return F.binary_cross_entropy_with_logits(out, target)
        target = torch.full((out.size(0),), 2, dtype=torch.long, device=device)
        target[:b] = (sign < 0).long()
        weight = out.new_tensor([1.0, self.neg_weight, 1.0])
        return F.cross_entropy(out, target, weight=weight)

    def _sharded_loss(self, batch: TemporalBatch) -> Tensor:
        r"""Return this rank's part of :meth:`loss`, scaled for DDP's average.

        With per-pair losses :math:`\ell_p`, weights :math:`w_p` (class or
        sign weights, 1 otherwise) and the pairs :math:`P_r` of rank
        :math:`r` out of :math:`W`, rank :math:`r` returns
        :math:`W \sum_{p \in P_r} w_p \ell_p / \sum_p w_p`; DDP averages
        the ranks' gradients, which gives the gradient of the one-process
        loss of the whole batch.
        """
        events = batch.events
        src, dst, _, t = self._pairs(batch)
        device = self.lin_out.weight.device
        part = distributed.shard(src.numel())
        out = self.score(src[part], dst[part], t[part])
        b = events.num_events
        sign = self._signs(events).to(device)
        if self.task == "weight":
            target = sign.float() * self._weights(events) / self.weight_scale
            weight = torch.ones_like(target)
            per = (out - target[part]) ** 2
        elif self.task == "sign":
            target = (sign > 0).float()
            weight = torch.where(sign > 0, 1.0, self.neg_weight)
            per = F.binary_cross_entropy_with_logits(
                out, target[part], reduction="none"
            )
        elif self.task == "existence":
            target = torch.zeros(src.numel(), device=device)
            target[:b] = 1.0
            weight = torch.ones_like(target)
            per = F.binary_cross_entropy_with_logits(
                out, target[part], reduction="none"
            )
        else:
            target = torch.full((src.numel(),), 2, dtype=torch.long, device=device)
            target[:b] = (sign < 0).long()
            weight = out.new_tensor([1.0, self.neg_weight, 1.0])[target]
            per = F.cross_entropy(out, target[part], reduction="none")
        world = distributed.context().world_size
        return (weight[part] * per).sum() * world / weight.sum()

    def forward(self, batch: TemporalBatch) -> Tensor:
        """Training loss of ``batch`` from the state before it (:meth:`loss`)."""
        return self.loss(batch)

    def predict(self, batch: TemporalBatch) -> tuple[Tensor, Tensor | None]:
        """Predictions for ``batch`` from the state before it.

        Returns
        -------
        event : Tensor
            Per event: probability of a link (``"existence"``), of a
            positive sign (``"sign"``), class probabilities ``[B, 3]``
            (``"three_way"``) or the signed weight (``"weight"``).
        sampled : Tensor or None
            The same for the sampled pairs, ``[B, Q]`` (``[B, Q, 3]``),
            ``NaN`` where ``neg_mask`` is ``False``; ``None`` for the tasks
            without negatives.
        """
        src, dst, neg_mask, t = self._pairs(batch)
        out = self.score(src, dst, t)
        if self.task == "weight":
            out = out * self.weight_scale
        elif self.task == "three_way":
            out = out.softmax(dim=-1)
        else:
            out = out.sigmoid()
        b = batch.events.num_events
        if self.task not in ("existence", "three_way"):
            return out, None
        shape = (*neg_mask.shape, *out.shape[1:])
        sampled = out.new_full(shape, float("nan"))
        sampled[neg_mask] = out[b:]
        return out[:b], sampled

    def observe(self, events: EventStream) -> None:
        """Add ``events`` to the memory, the neighbour graph and the history.

        Call after predicting them (never before).
        """
        device = self.lin_out.weight.device
        src, dst = events.src.to(device), events.dst.to(device)
        t = self.model_time(events.t)
        sign = self._signs(events).to(device)
        self.update_memory(events, t)
        self.neighbors.insert(src, dst)
        self._history = {
            "t": torch.cat([self._history["t"], t]),
            "weight": torch.cat([self._history["weight"], self._weights(events)]),
            "sign": torch.cat([self._history["sign"], sign.float()]),
        }

    @torch.no_grad()
    def observe_stream(self, stream: EventStream, batch_size: int = 200) -> None:
        """Observe ``stream`` batch by batch without predicting.

        Used e.g. to rebuild the state over the training events before
        evaluation. The batch size matters: events of one batch update the memory
        together.
        """
        for batch in TemporalBatchLoader(stream, batch_size):
            self.observe(batch.events)

    def training_step(self, batch: TemporalBatch) -> Tensor:
        """Loss of ``batch``, then observe it: the ``step`` of :func:`fit`."""
        loss = self(batch)
        self.observe(batch.events)
        return loss

    def fit(
        self,
        stream: EventStream,
        split: TemporalSplit | None = None,
        *,
        epochs: int = 5,
        lr: float = 1e-3,
        batch_size: int = 200,
        seed: int = 0,
        patience: int | None = None,
        checkpoint: str | Path | None = None,
        progress: bool = False,
    ) -> SignedTemporalModel:
        """Fit with :func:`dyngraph.training.fit`; keep the best epoch.

        Each epoch resets the state and runs over the training events
        (predict a batch, step on its loss, then observe it); the validation
        pass continues the memory from the end of training. The state at the
        end of the best epoch's training pass is kept in ``fit_state_`` (and
        saved with the model), so that evaluation continues that timeline
        instead of replaying the training events with the final weights. The monitored
        metric is validation AP (existence), ROC-AUC (sign), macro-F1 (3-way)
        or RMSE (weight), see :data:`MONITOR`; the best epoch's weights are
        kept.

        Parameters
        ----------
        stream : EventStream
            The whole signed stream; negatives are drawn from its
            destinations.
        split : TemporalSplit, optional
            Its chronological split (default: 70/15/15 by time).
        epochs, lr, batch_size, seed, patience, checkpoint, progress
            As in :func:`dyngraph.training.fit`; ``lr`` of Adam (defaults:
            ``5``, ``1e-3``, ``200``, ``0``, none, none, ``False``).

        Returns
        -------
        SignedTemporalModel
            ``self``, with the :class:`~dyngraph.training.FitResult` in
            ``history_``, the training speed (events per second,
            validation excluded) in ``events_per_second_`` and the state
            after the best epoch's training pass in ``fit_state_`` (``None``
            when no epoch was run here, e.g. when resuming a finished fit
            whose checkpoint predates it).
        """
        if split is None:
            split = chronological_split(stream, 0.15, 0.15)
        task = self.task
        train_sampler = _sampler(stream, seed)
        needs_negatives = task in ("existence", "three_way")
        val_seconds = [0.0]
        key, mode = MONITOR[task]
        best: list[float] = []
        self.fit_state_: dict[str, Any] | None = None

        def batches(epoch: int) -> Iterable[TemporalBatch]:
            self.reset_state()
            return TemporalBatchLoader(
                split.train,
                batch_size,
                neg_sampler=train_sampler if needs_negatives else None,
            )

        def validate() -> dict[str, float]:
            begin = time.perf_counter()
            snap = self.snapshot_state()  # the end of this epoch's training pass
            sampler = _sampler(stream, seed + 1) if needs_negatives else None
            pred = stream_predictions(
                self, split.val, batch_size=batch_size, neg_sampler=sampler
            )
            metrics = selection_metrics(task, split.val, pred)
            value = metrics[key]
            if not best or (value > best[0] if mode == "max" else value < best[0]):
                best[:] = [value]  # the loop's rule: the first best epoch is kept
                self.fit_state_ = snap
            val_seconds[0] += time.perf_counter() - begin
            return metrics

        optimizer = torch.optim.Adam(self.parameters(), lr=lr)
        # under torchrun: DDP averages the gradients; the memory is a buffer
        # that every rank updates alike, so it is not broadcast
        wrapped = distributed.wrap(
            self, find_unused_parameters=True, broadcast_buffers=False
        )

        def step(batch: TemporalBatch) -> Tensor:  # training_step through DDP
            loss = wrapped(batch)
            self.observe(batch.events)
            return loss

        begin = time.perf_counter()
        result = fit(
            wrapped,
            self.training_step if wrapped is self else step,
            epochs=epochs,
            optimizer=optimizer,
            batches=batches,
            validate=validate,
            monitor=key,
            mode=mode,
            patience=patience,
            checkpoint=checkpoint,
            seed=seed,
            progress=progress,
            desc=f"{type(self).__name__} {task}",
        )
        seconds = time.perf_counter() - begin - val_seconds[0]
        run = len(result.history) - (result.resumed_from or 0)
        self.history_: FitResult = result
        self.events_per_second_ = (
            run * split.train.num_events / seconds if run and seconds > 0 else 0.0
        )
        return self


class SEMBA(SignedTemporalModel):
    r"""SEMBA: signed event memory with balanced aggregation.

    From `"Representation Learning in Continuous-Time Dynamic Signed
    Networks" <https://arxiv.org/abs/2207.03408>`_ (Sharma et al., CIKM
    2023). Node :math:`i` has a positive and a negative memory
    :math:`s_i^+, s_i^-` (:class:`SignedMemory`), updated by the structural
    balance rule: for a positive event each memory reads the partner's
    memory of the same sign, for a negative event :math:`s_i^+` reads
    :math:`s_j^-` and :math:`s_i^-` reads :math:`s_j^+`. The raw message of
    an event is :math:`r = [|w|/c,\ \sigma]`. The embedding is graph
    attention (:class:`~torch_geometric.nn.TransformerConv`) over the
    node's most recent neighbours,

    .. math::
        z_i = W_1 x_i + \sum_{u \in \mathcal{N}(i)} \alpha_{iu}
            \big(W_2 x_u + W_e e_{iu}\big),
        \qquad x_i = [s_i^+ \,\|\, s_i^-],

    with edge attributes :math:`e_{iu} = [\phi(\tau_u - t_{iu}) \,\|\,
    |w_{iu}|/c \,\|\, \sigma_{iu}]`, and the pair head and losses of
    :class:`SignedTemporalModel` predict one of the four tasks.

    .. note::
        The released reference code does not route by the balance rule
        (positive events never reach :math:`s^-`; negative events reach
        :math:`s^-` twice); this implementation follows the paper. Unlike
        the reference code it also keeps one node id per user (no
        source/destination id doubling), attends over the ``num_neighbors``
        most recent neighbours instead of every past edge, puts the sign on
        the attention edges and in the raw message, and inserts a batch's
        events only after predicting it (the reference leaks them into the
        graph used to predict the batch).

    Parameters
    ----------
    num_nodes : int
        Number of nodes.
    memory_dim : int
        Size of each of :math:`s^+, s^-` (default: ``64``).
    time_dim : int
        Size of the time encoding (default: ``32``).
    embedding_dim : int
        Size of :math:`z` (default: ``64``).
    task : {"existence", "sign", "three_way", "weight"}
        Prediction task (default: ``"sign"``).
    message_module : torch.nn.Module, optional
        Message function of :class:`SignedMemory` (default: identity, i.e.
        concatenation).
    aggregator_module : torch.nn.Module, optional
        Message aggregator (default: mean).
    time_encoding : {"learned", "fixed"}
        PyG's learned :class:`~torch_geometric.nn.models.tgn.TimeEncoder`
        (default) or :class:`FixedTimeEncoder` (on generated signed networks
        it narrowed the spread of link existence over seeds on two networks
        and widened it on a third).
    recency : bool, optional
        Give the pair head the time since each endpoint's last event
        (``recency`` of :class:`SignedTemporalModel`; default: on for
        ``"existence"`` only, see there).
    **kwargs
        ``num_neighbors``, ``heads``, ``dropout``, ``sign_edge_attr``,
        ``neg_weight``, ``weight_scale``, ``time_origin``, ``time_unit``,
        ``node_embedding_dim`` of :class:`SignedTemporalModel`.

    Examples
    --------
    >>> from dyngraph.data import signed_faction_network
    >>> stream, _ = signed_faction_network(20, num_events=100, seed=0)
    >>> model = SEMBA(stream.num_nodes, 8, 4, 8, task="sign")
    >>> p, _ = model.predict(TemporalBatch(stream[:10], None, None, 0, 10))
    >>> model.observe(stream[:10])
    >>> p.shape
    torch.Size([10])
    """

    def __init__(
        self,
        num_nodes: int,
        memory_dim: int = 64,
        time_dim: int = 32,
        embedding_dim: int = 64,
        task: Task = "sign",
        *,
        message_module: nn.Module | None = None,
        aggregator_module: nn.Module | None = None,
        time_encoding: Literal["learned", "fixed"] = "learned",
        recency: bool | None = None,
        **kwargs: Any,
    ) -> None:
        if recency is None:
            recency = task == "existence"
        if time_encoding not in ("learned", "fixed"):
            raise ValueError(
                f"unknown time_encoding {time_encoding!r}; choose 'learned' or 'fixed'"
            )
        memory = SignedMemory(
            num_nodes,
            2,
            memory_dim,
            time_dim,
            message_module,
            aggregator_module,
            time_encoder=FixedTimeEncoder(time_dim)
            if time_encoding == "fixed"
            else None,
        )
        super().__init__(
            num_nodes,
            2 * memory_dim,
            memory.time_enc,
            embedding_dim,
            task,
            recency=recency,
            **kwargs,
        )
        self.memory = memory
        self._config = {
            "num_nodes": num_nodes,
            "memory_dim": memory_dim,
            "time_dim": time_dim,
            "embedding_dim": embedding_dim,
            "task": task,
            "time_encoding": time_encoding,
            "recency": bool(recency),
            **kwargs,
        }
        self._modules_given = {
            "message_module": message_module is not None,
            "aggregator_module": aggregator_module is not None,
        }
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Reset all learnable parameters and the state."""
        self.memory.reset_parameters()
        super().reset_parameters()

    def reset_memory(self) -> None:
        """Reset the two memories (see :meth:`SignedMemory.reset_state`)."""
        self.memory.reset_state()

    def node_state(self, n_id: Tensor) -> tuple[Tensor, Tensor]:
        r"""Memories :math:`[s^+ \| s^-]` and last-update times of ``n_id``."""
        return self.memory(n_id)

    def update_memory(self, events: EventStream, t: Tensor) -> None:
        """Route ``events`` into the signed memories."""
        device = self.lin_out.weight.device
        sign = self._signs(events).to(device)
        raw = torch.stack([self._weights(events) / self.weight_scale, sign.float()], 1)
        self.memory.update_state(
            events.src.to(device), events.dst.to(device), t, raw, sign
        )

    def save(self, path: str | Path) -> Path:
        """Save the configuration, parameters and state (memory, neighbours).

        The file is a :mod:`dyngraph.training.checkpoint` (tensors and
        primitives only). A model built with a custom ``message_module`` or
        ``aggregator_module`` cannot be saved this way: its modules would have
        to be pickled.
        """
        custom = [name for name, given in self._modules_given.items() if given]
        if custom:
            raise ValueError(
                f"SEMBA.save: a model built with a custom {' and '.join(custom)} "
                "cannot be saved safely (the module would be pickled); save "
                "model.state_dict() and rebuild the model with the same modules"
            )
        return ckpt.save(
            path, kind="SEMBA", config=self._config, state=self.state_dict()
        )

    @classmethod
    def load(cls, path: str | Path, map_location: Any = "cpu") -> SEMBA:
        """Load a model written by :meth:`save` (never unpickles objects).

        Raises
        ------
        dyngraph.training.CheckpointError
            When ``path`` is not a SEMBA checkpoint.
        """
        saved = ckpt.load(path, kind="SEMBA", map_location=map_location)
        model = cls(**saved.config)
        model.load_state_dict(saved.state)
        return model


@dataclass
class StreamPredictions:
    """Output of :func:`stream_predictions`.

    Attributes
    ----------
    event : Tensor
        Prediction per event (see :meth:`SignedTemporalModel.predict`).
    sampled : Tensor or None
        Predictions for the sampled pairs, ``NaN`` where invalid.
    neg_mask : Tensor or None
        Validity of the sampled pairs.
    """

    event: Tensor
    sampled: Tensor | None
    neg_mask: Tensor | None


@torch.no_grad()
def stream_predictions(
    model: SignedTemporalModel,
    stream: EventStream,
    *,
    batch_size: int = 200,
    neg_sampler: NegativeSampler | None = None,
) -> StreamPredictions:
    """Predict every event of ``stream`` batch by batch, without leakage.

    For each batch: predict from the current state, then observe the
    batch. The model's state continues from wherever it is (e.g. the end of
    training before validation); call ``model.reset_state()`` first to start
    fresh. The model is put in evaluation mode.

    Parameters
    ----------
    model : SignedTemporalModel
        The model.
    stream : EventStream
        Events to predict, in time order after those already observed.
    batch_size : int
        Events per batch (default: ``200``).
    neg_sampler : NegativeSampler, optional
        Negatives for ``"existence"`` and ``"three_way"`` (seed it for
        reproducible evaluation).

    Returns
    -------
    StreamPredictions
        Per-event and per-negative predictions.
    """
    model.eval()
    events, sampled, masks = [], [], []
    for batch in TemporalBatchLoader(stream, batch_size, neg_sampler=neg_sampler):
        event, neg = model.predict(batch)
        model.observe(batch.events)
        events.append(event.cpu())
        if neg is not None:
            sampled.append(neg.cpu())
            masks.append(batch.neg_mask.cpu())
    return StreamPredictions(
        torch.cat(events),
        torch.cat(sampled) if sampled else None,
        torch.cat(masks) if masks else None,
    )


MONITOR = {
    "existence": ("ap", "max"),
    "sign": ("auc", "max"),
    "three_way": ("macro_f1", "max"),
    "weight": ("rmse", "min"),
}
"""The validation metric that selects the best epoch, and its direction."""


def _labels(stream: EventStream) -> tuple[Tensor, Tensor]:
    r"""Sign labels (1 = positive) and signed weights :math:`\sigma|w|`."""
    sign = stream.sign
    if sign is None:
        raise ValueError("the stream has no signs; signed evaluation needs them")
    weight = (
        torch.ones(stream.num_events)
        if stream.weight is None
        else stream.weight.float().abs()
    )
    return (sign > 0).long(), sign.float() * weight


def _sampler(stream: EventStream, seed: int) -> NegativeSampler:
    return NegativeSampler("random", num_negatives=1, seed=seed).fit(stream)


def selection_metrics(
    task: str, events: EventStream, pred: StreamPredictions
) -> dict[str, float]:
    """Threshold-free metrics of one split, used for model selection.

    ROC-AUC (``"sign"``), RMSE (``"weight"``), ROC-AUC and AP against the
    sampled negatives (``"existence"``), macro- and negative-class F1 of the
    arg-max class (``"three_way"``).
    """
    positive, signed = _labels(events)
    if task == "sign":
        return {"auc": roc_auc(positive, pred.event)}
    if task == "weight":
        return {"rmse": rmse(signed, pred.event)}
    assert pred.sampled is not None and pred.neg_mask is not None
    sampled = pred.sampled[pred.neg_mask]
    if task == "existence":
        score = torch.cat([pred.event, sampled])
        label = torch.cat([torch.ones(len(pred.event)), torch.zeros(len(sampled))])
        return {"auc": roc_auc(label, score), "ap": average_precision(label, score)}
    label = torch.cat([1 - positive, torch.full((len(sampled),), 2)])
    guess = torch.cat([pred.event, sampled]).argmax(dim=-1)
    f1 = f1_scores(label, guess, labels=[0, 1, 2])
    return {"macro_f1": f1["macro"], "neg_f1": f1["per_class"][1]}
