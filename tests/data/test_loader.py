import math
from collections import Counter

import numpy as np
import pytest
import torch
from torch_geometric.data import TemporalData
from torch_geometric.loader import TemporalDataLoader

from dyngraph.data.events import EventStream
from dyngraph.data.loader import TemporalBatchLoader, sliding_window_updates
from dyngraph.data.sampling import NegativeSampler

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def random_stream(seed=0, n=103, num_nodes=15, max_t=40, float_t=False):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, max_t, n).astype(float if float_t else int)
    if float_t:
        t += rng.random(n)
    return EventStream(
        rng.integers(0, num_nodes, n),
        rng.integers(0, num_nodes, n),
        t,
        weight=rng.random(n),
        num_nodes=num_nodes,
    )


@pytest.mark.parametrize("batch_size", [1, 10, 103, 500])
@pytest.mark.parametrize("drop_last", [False, True])
def test_batches_match_pyg_temporal_data_loader(batch_size, drop_last):
    s = random_stream()
    ours = list(TemporalBatchLoader(s, batch_size, drop_last=drop_last))
    data = TemporalData(src=s.src, dst=s.dst, t=s.t)
    pyg = list(TemporalDataLoader(data, batch_size=batch_size, drop_last=drop_last))
    assert (
        len(ours)
        == len(pyg)
        == len(TemporalBatchLoader(s, batch_size, drop_last=drop_last))
    )
    for a, b in zip(ours, pyg, strict=True):
        assert torch.equal(a.events.src, b.src)
        assert torch.equal(a.events.t, b.t)
        assert a.stop - a.start == len(a) == b.num_events
        assert a.neg_dst is None and a.neg_mask is None


def test_batches_are_views_and_cover_the_stream():
    s = random_stream()
    batches = list(TemporalBatchLoader(s, 25))
    assert [(b.start, b.stop) for b in batches] == [
        (0, 25), (25, 50), (50, 75), (75, 100), (100, 103)
    ]  # fmt: skip
    for b in batches:
        assert b.events.src.data_ptr() == s.src[b.start :].data_ptr()
        assert b.events.weight.data_ptr() == s.weight[b.start :].data_ptr()
    assert torch.equal(torch.cat([b.events.dst for b in batches]), s.dst)


@pytest.mark.parametrize("span", [1, 2.5, 7, 100])
@pytest.mark.parametrize("float_t", [False, True])
def test_time_span_batches_match_reference(span, float_t):
    s = random_stream(1, max_t=60, float_t=float_t)
    t = s.t.tolist()
    groups = {}
    for k, x in enumerate(t):
        groups.setdefault(math.floor((x - t[0]) / span), []).append(k)
    loader = TemporalBatchLoader(s, time_span=span)
    batches = list(loader)
    assert len(loader) == len(batches) == len(groups)
    for b, (k, idx) in zip(batches, sorted(groups.items()), strict=True):
        assert list(range(b.start, b.stop)) == idx
        lo, hi = t[0] + k * span, t[0] + (k + 1) * span
        assert all(lo <= x < hi for x in b.events.t.tolist())
        assert b.events.src.data_ptr() == s.src[b.start :].data_ptr()


def test_empty_time_spans_are_skipped():
    s = EventStream([0, 1, 2, 3], [1, 2, 3, 0], [0.0, 0.5, 10.0, 31.0])
    spans = [b.events.t.tolist() for b in TemporalBatchLoader(s, time_span=1.0)]
    assert spans == [[0.0, 0.5], [10.0], [31.0]]


def test_loader_draws_negatives_per_batch_reproducibly():
    s = random_stream(2, n=200)
    history = NegativeSampler("historical", 2, seed=4).fit(s)
    for sampler in (NegativeSampler(num_negatives=3, seed=4), history):
        q = sampler.num_negatives
        first = list(TemporalBatchLoader(s, 40, neg_sampler=sampler))
        sampler.fit(s)  # restarts the generator
        second = list(TemporalBatchLoader(s, 40, neg_sampler=sampler))
        for a, b in zip(first, second, strict=True):
            assert a.neg_dst.shape == a.neg_mask.shape == (len(a), q)
            assert torch.equal(a.neg_dst, b.neg_dst)
        for batch in first:  # TGB's rule, within the batch
            ev = batch.events
            positives = set(
                zip(ev.src.tolist(), ev.dst.tolist(), ev.t.tolist(), strict=True)
            )
            for src, t, negs in zip(
                ev.src.tolist(), ev.t.tolist(), batch.neg_dst.tolist(), strict=True
            ):
                assert all((src, d, t) not in positives for d in negs)


def test_loader_device_argument_on_cpu_keeps_views():
    s = random_stream()
    batch = next(iter(TemporalBatchLoader(s, 10, device="cpu")))
    assert batch.events.src.data_ptr() == s.src.data_ptr()


def test_loader_on_an_empty_view():
    s = random_stream()[5:5]
    assert len(TemporalBatchLoader(s, 10)) == 0
    assert list(TemporalBatchLoader(s, time_span=1.0)) == []


def test_loader_errors():
    s = random_stream()
    with pytest.raises(ValueError, match="exactly one"):
        TemporalBatchLoader(s)
    with pytest.raises(ValueError, match="exactly one"):
        TemporalBatchLoader(s, 10, time_span=1.0)
    with pytest.raises(ValueError, match="positive"):
        TemporalBatchLoader(s, 0)
    with pytest.raises(ValueError, match="positive"):
        TemporalBatchLoader(s, time_span=0.0)
    with pytest.raises(ValueError, match="drop_last"):
        TemporalBatchLoader(s, time_span=1.0, drop_last=True)
    with pytest.raises(TypeError, match="NegativeSampler"):
        TemporalBatchLoader(s, 10, neg_sampler="random")


def window_graph(stream, lo, hi):
    counts = Counter()
    for u, v, t in zip(
        stream.src.tolist(), stream.dst.tolist(), stream.t.tolist(), strict=True
    ):
        if lo <= t < hi and u != v:
            counts[(min(u, v), max(u, v))] += 1
    return counts


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize(("window", "step"), [(10, 3), (5, 5), (4, 9), (7.5, 2.5)])
def test_sliding_window_updates_rebuild_the_window_graph(seed, window, step):
    s = random_stream(seed, n=150, num_nodes=8, max_t=60, float_t=seed == 2)
    present = {}
    times = []
    for update in sliding_window_updates(s, window, step):
        times.append(update.time)
        insert = list(map(tuple, update.insert.T.tolist()))
        delete = list(map(tuple, update.delete.T.tolist()))
        assert all(u < v for u, v in insert + delete)
        for edge in delete:
            assert edge in present
            del present[edge]
        for edge, w in zip(insert, update.insert_weight.tolist(), strict=True):
            assert edge not in present
            present[edge] = w
        expected = window_graph(s, update.time - window, update.time)
        assert set(present) == set(expected)
        for edge in insert:
            assert present[edge] == expected[edge]
    assert times[0] == s.start_time + window
    assert np.allclose(np.diff(times), step)
    assert times[-1] > s.end_time
    assert len(times) == 1 or times[-2] <= s.end_time


def test_sliding_window_start_self_loops_and_first_update():
    s = EventStream([0, 1, 2, 2, 3], [1, 0, 2, 3, 2], [0, 1, 2, 3, 4])
    updates = list(sliding_window_updates(s, 3, 1, start=2))
    assert [u.time for u in updates] == [2, 3, 4, 5]
    # window [-1, 2): events (0,1) twice; the (2,2) self-loop never appears
    assert updates[0].insert.tolist() == [[0], [1]]
    assert updates[0].insert_weight.tolist() == [2]
    assert updates[0].delete.shape == (2, 0)
    assert updates[2].insert.tolist() == [[2], [3]]  # window [1, 4)
    assert updates[3].delete.tolist() == [[0], [1]]  # window [2, 5)
    assert updates[3].insert.shape == (2, 0)
    with pytest.raises(ValueError, match="positive"):
        sliding_window_updates(s, 0, 1)  # checked eagerly, before iterating
    with pytest.raises(ValueError, match="finite"):
        sliding_window_updates(s, 1, 1, start=float("nan"))


@cuda
def test_loader_and_window_updates_on_cuda():
    s = random_stream()
    batches = list(
        TemporalBatchLoader(s, 20, device="cuda", neg_sampler=NegativeSampler(seed=0))
    )
    assert batches[0].events.src.is_cuda and batches[0].neg_dst.is_cuda
    cpu = list(sliding_window_updates(s, 10, 3))
    gpu = list(sliding_window_updates(s.to("cuda"), 10, 3))
    for a, b in zip(cpu, gpu, strict=True):
        assert torch.equal(a.insert, b.insert.cpu())
        assert torch.equal(a.delete, b.delete.cpu())
