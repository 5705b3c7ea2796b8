import networkx as nx
import numpy as np
import pandas as pd
import pytest
import torch
from torch_geometric.data import TemporalData
from torch_geometric.loader import TemporalDataLoader

from dyngraph.data import from_networkx, from_pandas, from_pyg
from dyngraph.data.convert import to_networkx, to_pandas, to_pyg
from dyngraph.data.events import EventStream


def assert_same_stream(a: EventStream, b: EventStream, *, ids: bool = True) -> None:
    assert a.fields().keys() == b.fields().keys()
    for key, value in a.fields().items():
        other = getattr(b, key)
        assert other.dtype == value.dtype, key
        assert torch.equal(other, value), key
    assert a.num_nodes == b.num_nodes
    if ids:
        assert a.name == b.name
        if a.node_ids is None:
            assert b.node_ids is None
        else:
            assert b.node_ids.tolist() == a.node_ids.tolist()


def plain_stream() -> EventStream:
    # integer times with ties between different pairs; nodes 5 and 7 isolated
    return EventStream(
        [0, 2, 1, 3, 2, 6, 0],
        [1, 3, 0, 0, 1, 4, 6],
        [4, 1, 1, 2, 1, 3, 2],
        num_nodes=8,
    )


def rich_stream() -> EventStream:
    rng = np.random.default_rng(3)
    n = 40
    return EventStream(
        rng.integers(0, 9, n),
        rng.integers(0, 9, n),
        np.round(rng.uniform(0, 5, n), 1),  # float times with ties
        sign=rng.choice([-1, 1], n),
        weight=rng.integers(1, 11, n).astype(np.float32) / 2,
        msg=rng.normal(size=(n, 3)),
        y=rng.integers(0, 3, n),
        num_nodes=12,
        node_ids=np.array([f"user{k}" for k in range(12)]),
        name="rich",
    )


STREAMS = [plain_stream, rich_stream]


@pytest.mark.parametrize("make", STREAMS)
def test_pyg_round_trip(make):
    s = make()
    data = to_pyg(s)
    assert isinstance(data, TemporalData)
    assert set(data.keys()) == set(s.fields())
    assert data.t.dtype == s.t.dtype
    back = from_pyg(data, num_nodes=s.num_nodes)
    assert_same_stream(s, back, ids=False)
    via_methods = EventStream.from_pyg(s.to_pyg(), num_nodes=s.num_nodes)
    assert_same_stream(s, via_methods, ids=False)


def test_pyg_without_num_nodes_uses_max_id_plus_one():
    s = plain_stream()
    assert from_pyg(to_pyg(s)).num_nodes == 7  # node 7 is isolated


def test_pyg_loader_slices_sign_and_weight():
    s = rich_stream()
    batches = list(TemporalDataLoader(to_pyg(s), batch_size=16))
    assert [b.num_events for b in batches] == [16, 16, 8]
    assert torch.equal(torch.cat([b.sign for b in batches]), s.sign)
    assert torch.equal(torch.cat([b.weight for b in batches]), s.weight)
    assert torch.equal(torch.cat([b.msg for b in batches]), s.msg)


def test_from_pyg_sorts_and_checks_fields():
    data = TemporalData(
        src=torch.tensor([0, 1]),
        dst=torch.tensor([1, 2]),
        t=torch.tensor([5.0, 1.0]),
        sign=torch.tensor([1, -1]),
    )
    s = from_pyg(data)
    assert s.t.tolist() == [1.0, 5.0]
    assert s.sign.tolist() == [-1, 1]
    with pytest.raises(ValueError, match="`src`, `dst` and `t`"):
        from_pyg(TemporalData(src=torch.tensor([0]), dst=torch.tensor([1])))


@pytest.mark.parametrize("make", STREAMS)
def test_networkx_round_trip(make):
    s = make()
    graph = to_networkx(s)
    assert isinstance(graph, nx.MultiDiGraph)
    assert graph.number_of_nodes() == s.num_nodes
    assert graph.number_of_edges() == s.num_events
    back = from_networkx(graph)
    assert_same_stream(s, back)
    assert_same_stream(s, EventStream.from_networkx(s.to_networkx()))


def test_networkx_edges_and_nodes():
    s = rich_stream()
    graph = to_networkx(s)
    assert graph.nodes[3]["node_id"] == "user3"
    assert graph.graph["name"] == "rich"
    for k in range(s.num_events):
        u, v = int(s.src[k]), int(s.dst[k])
        attrs = graph.edges[u, v, k]  # the key is the event position
        assert attrs["t"] == s.t[k].item()
        assert attrs["sign"] == int(s.sign[k])
        assert attrs["weight"] == float(s.weight[k])
        assert np.array_equal(attrs["msg"], s.msg[k].numpy())
    plain = to_networkx(plain_stream())
    assert "node_id" not in plain.nodes[0]
    assert plain.degree(7) == 0 and plain.degree(5) == 0


def test_from_undirected_networkx_graph():
    graph = nx.Graph()
    graph.add_node("z")
    graph.add_edge("a", "b", t=2.0)
    graph.add_edge("b", "c", t=1.0, weight=3.0)
    with pytest.raises(ValueError, match="1 of 2 edges have attribute 'weight'"):
        from_networkx(graph)
    graph.edges["a", "b"]["weight"] = 0.5
    s = from_networkx(graph)
    assert s.num_events == 2  # one event per undirected edge
    assert s.num_nodes == 4
    assert s.node_ids.tolist() == ["z", "a", "b", "c"]
    assert s.node_ids[s.src].tolist() == ["b", "a"]
    assert s.node_ids[s.dst].tolist() == ["c", "b"]
    assert s.weight.tolist() == [3.0, 0.5]


def test_from_networkx_errors_and_labels():
    graph = nx.MultiGraph()
    graph.add_edge((0, 1), (1, 1), time=3)
    graph.add_edge((0, 1), (1, 1), time=1)
    with pytest.raises(ValueError, match="time_attr="):
        from_networkx(graph)
    s = from_networkx(graph, time_attr="time")
    assert s.t.tolist() == [1, 3]
    assert s.node_ids.tolist() == [(0, 1), (1, 1)]
    with pytest.raises(ValueError, match="no edges"):
        from_networkx(nx.Graph([]))


@pytest.mark.parametrize("make", STREAMS)
def test_pandas_round_trip(make):
    s = make()
    frame = to_pandas(s)
    back = from_pandas(frame)
    assert_same_stream(s, back)
    assert_same_stream(s, EventStream.from_pandas(s.to_pandas()))


def test_pandas_columns():
    s = rich_stream()
    frame = to_pandas(s)
    assert list(frame.columns) == [
        "src",
        "dst",
        "src_id",
        "dst_id",
        "t",
        "sign",
        "weight",
        "y",
        "msg_0",
        "msg_1",
        "msg_2",
    ]
    assert frame["src_id"].tolist() == [f"user{k}" for k in s.src.tolist()]
    assert frame["sign"].dtype == np.int8
    assert frame.attrs["num_nodes"] == 12
    assert list(to_pandas(plain_stream()).columns) == ["src", "dst", "t"]


def test_pandas_without_attrs_and_with_raw_ids():
    s = rich_stream()
    frame = pd.DataFrame(to_pandas(s).to_dict("list"))  # attrs are gone
    assert frame.attrs == {}
    assert from_pandas(frame).num_nodes == int(max(s.src.max(), s.dst.max())) + 1
    back = from_pandas(frame, num_nodes=12, node_ids=s.node_ids)
    assert_same_stream(s, back, ids=False)
    # string ids are mapped to 0..N-1; only the nodes that occur survive
    mapped = from_pandas(frame, src="src_id", dst="dst_id", msg=[], y=[])
    assert mapped.node_ids[mapped.src].tolist() == frame["src_id"].tolist()
    assert mapped.msg is None and mapped.y is None
    assert torch.equal(mapped.sign, s.sign)
    with pytest.raises(ValueError, match="derived"):
        from_pandas(frame, src="src_id", dst="dst_id", num_nodes=12)


def test_pandas_named_columns_and_errors():
    frame = pd.DataFrame(
        {"a": [3, 1], "b": [1, 2], "when": [0.5, 0.1], "r": [-2.0, 5.0], "y_0": [1, 2]}
    )
    frame["y_1"] = [3, 4]
    s = from_pandas(frame, src="a", dst="b", t="when", weight="r")
    assert s.t.tolist() == [0.1, 0.5]
    assert s.weight.tolist() == [5.0, -2.0]
    assert s.y.tolist() == [[2, 4], [1, 3]]
    assert s.sign is None
    with pytest.raises(KeyError, match="'sign'"):
        from_pandas(frame, src="a", dst="b", t="when", sign="sign")
    with pytest.raises(KeyError, match="src/dst/t"):
        from_pandas(frame)
