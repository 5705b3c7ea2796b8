"""``to_pyg()`` feeds PyG's own TGN: ``TGNMemory`` and ``LastNeighborLoader``."""

import pytest
import torch
from torch_geometric.loader import TemporalDataLoader
from torch_geometric.nn import TransformerConv
from torch_geometric.nn.models.tgn import (
    IdentityMessage,
    LastAggregator,
    LastNeighborLoader,
    TGNMemory,
)

from dyngraph.data.convert import to_pyg
from dyngraph.data.events import EventStream
from dyngraph.data.synthetic import signed_faction_network


def unix_like_stream(num_nodes=30, num_events=400):
    """Float times that are whole numbers (like Unix seconds), no ``msg``."""
    stream, _ = signed_faction_network(
        num_nodes, num_events=num_events, horizon=1e6, weighted=False, seed=0
    )
    fields = stream.fields()
    fields["t"] = torch.floor(fields["t"].double())
    return EventStream(**fields, num_nodes=num_nodes)


def run_pyg_tgn(data, num_nodes, batch_size=50):
    """One training epoch of PyG's ``examples/tgn.py``, shrunk; mean loss."""
    torch.manual_seed(0)
    dim = 8
    memory = TGNMemory(
        num_nodes,
        data.msg.size(-1),
        dim,
        dim,
        message_module=IdentityMessage(data.msg.size(-1), dim, dim),
        aggregator_module=LastAggregator(),
    )
    conv = TransformerConv(dim, dim, heads=1, edge_dim=dim + data.msg.size(-1))
    head = torch.nn.Linear(2 * dim, 1)
    neighbors = LastNeighborLoader(num_nodes, size=5)
    params = [*memory.parameters(), *conv.parameters(), *head.parameters()]
    optimizer = torch.optim.Adam(params, lr=1e-3)
    assoc = torch.empty(num_nodes, dtype=torch.long)
    memory.train()
    losses = []
    for batch in TemporalDataLoader(
        data, batch_size=batch_size, neg_sampling_ratio=1.0
    ):
        optimizer.zero_grad()
        n_id, edge_index, e_id = neighbors(batch.n_id)
        assoc[n_id] = torch.arange(n_id.size(0))
        z, last_update = memory(n_id)
        rel_t = last_update[edge_index[0]] - data.t[e_id]
        attr = torch.cat([memory.time_enc(rel_t.to(z.dtype)), data.msg[e_id]], -1)
        z = conv(z, edge_index, attr)

        def score(src, dst, z=z):
            return head(torch.cat([z[assoc[src]], z[assoc[dst]]], -1)).squeeze(-1)

        pos, neg = score(batch.src, batch.dst), score(batch.src, batch.neg_dst)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(
            torch.cat([pos, neg]),
            torch.cat([torch.ones_like(pos), torch.zeros_like(neg)]),
        )
        memory.update_state(batch.src, batch.dst, batch.t, batch.msg)
        neighbors.insert(batch.src, batch.dst)
        loss.backward()
        optimizer.step()
        memory.detach()
        losses.append(loss.item())
    memory.eval()  # flushes the stored messages into the memory
    return memory, neighbors, losses


def test_pyg_tgn_runs_on_to_pyg_output():
    stream = unix_like_stream()
    data = to_pyg(stream, msg_dim=4, integer_time=True)
    assert data.t.dtype == torch.long and torch.equal(data.t, stream.t.long())
    assert data.msg.shape == (stream.num_events, 4) and not data.msg.any()
    memory, neighbors, losses = run_pyg_tgn(data, stream.num_nodes)
    assert len(losses) == 8 and all(torch.isfinite(torch.tensor(losses)))
    # after the flush every node's last update is its latest event
    latest = torch.zeros(stream.num_nodes, dtype=torch.long)
    for node in (data.src, data.dst):
        latest.scatter_reduce_(0, node, data.t, reduce="amax")
    assert torch.equal(memory.last_update, latest)
    assert neighbors.cur_e_id == stream.num_events


def test_what_pyg_tgn_needs_without_the_options():
    stream = unix_like_stream(num_events=100)
    plain = to_pyg(stream)
    assert "msg" not in plain and plain.t.is_floating_point()
    with pytest.raises(AttributeError):  # no msg
        run_pyg_tgn(plain, stream.num_nodes)
    with pytest.raises(RuntimeError, match="dtypes match"):  # float times
        run_pyg_tgn(to_pyg(stream, msg_dim=2), stream.num_nodes)
    # a stream's own msg is kept and checked against msg_dim
    with_msg = EventStream(**stream.fields(), msg=torch.ones(100, 3))
    assert torch.equal(to_pyg(with_msg, msg_dim=3).msg, with_msg.msg)
    with pytest.raises(ValueError, match=r"msg has shape \(100, 3\)"):
        to_pyg(with_msg, msg_dim=2)


def test_integer_time_refuses_fractional_times():
    stream = EventStream([0, 1], [1, 2], [0.0, 1.5])
    with pytest.raises(ValueError, match="event 1 has time 1.5"):
        stream.to_pyg(integer_time=True)
    assert stream.to_pyg(integer_time=False).t.dtype == torch.float64
    with pytest.raises(ValueError, match="msg_dim"):
        to_pyg(stream, msg_dim=-1)
