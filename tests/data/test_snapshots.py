import math
from collections import defaultdict

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from torch_geometric.data import Data

from dyngraph.data.events import EventStream
from dyngraph.data.snapshots import snapshots, to_static

VALUES = ["count", "weight", "sign", "binary"]


def random_stream(seed: int, n: int = 300, num_nodes: int = 12) -> EventStream:
    rng = np.random.default_rng(seed)
    return EventStream(
        rng.integers(0, num_nodes - 2, n),  # the last two nodes stay isolated
        rng.integers(0, num_nodes - 2, n),  # self-loops included
        np.round(rng.uniform(0, 10, n), 1),  # ties and events on boundaries
        sign=rng.choice([-1, 1], n),
        weight=rng.integers(-3, 4, n).astype(float),  # zero sums happen
        num_nodes=num_nodes,
    )


def brute_force(stream, value, directed, keep):
    """Aggregate with a dict, event by event."""
    table = defaultdict(float)
    for k in range(stream.num_events):
        if not keep(float(stream.t[k])):
            continue
        i, j = int(stream.src[k]), int(stream.dst[k])
        a = {
            "count": 1.0,
            "binary": 1.0,
            "weight": float(stream.weight[k]),
            "sign": float(stream.sign[k]),
        }[value]
        table[i, j] += a
        if not directed and i != j:
            table[j, i] += a
    if value == "binary":
        table = {key: 1.0 for key in table}
    return dict(table)


def as_dict(matrix: sp.csr_matrix) -> dict:
    coo = matrix.tocoo()
    return {
        (int(i), int(j)): float(v)
        for i, j, v in zip(coo.row, coo.col, coo.data, strict=True)
    }


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("directed", [True, False])
def test_to_static_matches_brute_force(seed, value, directed):
    s = random_stream(seed)
    for start, end in [(None, None), (2.5, 7.0), (3.3, None), (None, 0.0)]:
        matrix = to_static(s, value, directed, start=start, end=end)
        assert isinstance(matrix, sp.csr_matrix)
        assert matrix.shape == (12, 12)
        assert matrix.has_canonical_format
        lo = -math.inf if start is None else start
        hi = math.inf if end is None else end
        expected = brute_force(s, value, directed, lambda t, a=lo, b=hi: a <= t < b)
        assert as_dict(matrix) == pytest.approx(expected)
        if not directed:
            assert (matrix != matrix.T).nnz == 0


def test_to_static_keeps_pairs_whose_values_cancel():
    s = EventStream([0, 0, 1], [1, 1, 2], [0.0, 1.0, 2.0], sign=[1, -1, 1])
    matrix = to_static(s, "sign")
    assert as_dict(matrix) == {(0, 1): 0.0, (1, 2): 1.0}
    assert s.to_scipy("count", directed=False).toarray().tolist() == [
        [0, 2, 0],
        [2, 0, 1],
        [0, 1, 0],
    ]


def test_to_static_errors():
    s = EventStream([0], [1], [0.0])
    with pytest.raises(ValueError, match="stream has none"):
        to_static(s, "weight")
    with pytest.raises(ValueError, match="value must be one of"):
        to_static(s, "mean")


def check_snapshots(s, result_pyg, result_scipy, bounds, value, directed, last_closed):
    assert len(result_pyg) == len(result_scipy) == len(bounds) - 1
    for k, (data, matrix) in enumerate(zip(result_pyg, result_scipy, strict=True)):
        lo, hi = bounds[k], bounds[k + 1]
        closed = last_closed and k == len(bounds) - 2
        expected = brute_force(
            s,
            value,
            directed,
            lambda t, a=lo, b=hi, c=closed: a <= t < b or (c and t == b),
        )
        assert as_dict(matrix) == pytest.approx(expected)
        assert isinstance(data, Data)
        assert data.num_nodes == s.num_nodes
        assert (data.t_start, data.t_end) == pytest.approx((lo, hi))
        pairs = list(zip(*data.edge_index.tolist(), strict=True))
        got = dict(zip(pairs, data.edge_weight.tolist(), strict=True))
        assert got == pytest.approx(expected)
        assert data.edge_weight.dtype == torch.float32


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("directed", [True, False])
def test_time_windows_match_brute_force(value, directed):
    s = random_stream(2)
    kwargs = {"value": value, "directed": directed}
    t0, t1 = float(s.t[0]), float(s.t[-1])
    for mode, arg in [("window", 0.7), ("window", 1.0), ("num_snapshots", 6)]:
        pyg = snapshots(s, **{mode: arg}, **kwargs)
        scipy_ = snapshots(s, **{mode: arg}, format="scipy", **kwargs)
        if mode == "window":
            count = math.ceil((t1 - t0) / arg)
            bounds = t0 + arg * np.arange(count + 1)
        else:
            bounds = np.linspace(t0, t1, arg + 1)
        assert bounds[-1] >= t1
        check_snapshots(s, pyg, scipy_, bounds, value, directed, last_closed=True)
        if value != "binary":  # the snapshots partition the events
            total = sum(m.toarray() for m in scipy_)
            whole = to_static(s, value, directed).toarray()
            np.testing.assert_allclose(total, whole)


def test_explicit_range_gives_empty_snapshots():
    s = EventStream([0, 1, 2], [1, 2, 0], [0.15, 0.17, 0.93], num_nodes=4)
    result = snapshots(s, num_snapshots=10, start=0.0, end=1.0)
    assert [d.edge_index.shape[1] for d in result] == [0, 2] + [0] * 7 + [1]
    assert result[3].t_start == pytest.approx(0.3)
    assert result[0].edge_index.dtype == torch.long
    # an event at exactly `end` belongs to the last window
    s = EventStream([0, 1], [1, 2], [0.0, 1.0])
    assert [d.num_edges for d in snapshots(s, num_snapshots=4)] == [1, 0, 0, 1]
    assert [d.num_edges for d in snapshots(s, window=0.5)] == [1, 1]


@pytest.mark.parametrize("per", [1, 7, 50, 1000])
def test_event_count_windows(per):
    s = random_stream(4)
    result = snapshots(s, events_per_snapshot=per, value="weight")
    mats = snapshots(s, events_per_snapshot=per, value="weight", format="scipy")
    assert len(result) == math.ceil(s.num_events / per)
    for k, (data, matrix) in enumerate(zip(result, mats, strict=True)):
        chunk = s[k * per : (k + 1) * per]
        assert data.t_start == chunk.start_time
        assert data.t_end == chunk.end_time
        assert (matrix != to_static(chunk, "weight")).nnz == 0
        got = dict(
            zip(
                zip(*data.edge_index.tolist(), strict=True),
                data.edge_weight.tolist(),
                strict=True,
            )
        )
        assert got == pytest.approx(brute_force(chunk, "weight", True, lambda t: True))


def test_tensors_are_made_once():
    result = snapshots(random_stream(5), num_snapshots=5)
    storages = {d.edge_index.untyped_storage().data_ptr() for d in result}
    assert len(storages) == 1


def test_snapshot_errors():
    s = random_stream(0)
    with pytest.raises(ValueError, match="exactly one"):
        snapshots(s)
    with pytest.raises(ValueError, match="exactly one"):
        snapshots(s, window=1.0, num_snapshots=3)
    with pytest.raises(ValueError, match="positive integer"):
        snapshots(s, num_snapshots=0)
    with pytest.raises(ValueError, match="window must be positive"):
        snapshots(s, window=-1.0)
    with pytest.raises(ValueError, match="format"):
        snapshots(s, window=1.0, format="dense")
    with pytest.raises(ValueError, match="before start"):
        snapshots(s, window=1.0, start=5.0, end=1.0)
    single = EventStream([0], [1], [2.0])
    with pytest.raises(ValueError, match="end > start"):
        snapshots(single, num_snapshots=3)
    assert snapshots(s, events_per_snapshot=5, start=20.0, end=30.0) == []


def test_huge_node_count_uses_the_overflow_safe_sort():
    # 2**31 nodes: (group, src, dst) no longer fits one int64 key
    big = 2**31
    s = EventStream(
        [big - 1, 0, big - 1, 5, 0],
        [3, big - 2, 3, 5, big - 2],
        [0.0, 0.1, 0.2, 0.6, 0.9],
        weight=[1.0, 2.0, 3.0, 4.0, 5.0],
        num_nodes=big,
    )
    result = snapshots(s, num_snapshots=2, value="weight", directed=False)
    got = [
        dict(
            zip(
                zip(*d.edge_index.tolist(), strict=True),
                d.edge_weight.tolist(),
                strict=True,
            )
        )
        for d in result
    ]
    assert got == [
        {(0, big - 2): 2.0, (big - 2, 0): 2.0, (3, big - 1): 4.0, (big - 1, 3): 4.0},
        {(0, big - 2): 5.0, (big - 2, 0): 5.0, (5, 5): 4.0},
    ]
