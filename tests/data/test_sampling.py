import os
from collections import Counter
from itertools import combinations

import numpy as np
import pytest
import torch

from dyngraph.data import sampling
from dyngraph.data.events import EventStream
from dyngraph.data.sampling import (
    NegativeSampler,
    fix_negatives,
    load_negatives,
    stream_fingerprint,
)

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def rows(stream):
    return list(
        zip(stream.src.tolist(), stream.dst.tolist(), stream.t.tolist(), strict=True)
    )


def valid_random(batch, b, candidates):
    """Reference: candidates d with (s_b, d, t_b) not a positive of the batch."""
    triples = set(rows(batch))
    s, _, t = rows(batch)[b]
    return {d for d in candidates if (s, d, t) not in triples}


def history_candidates(history, batch, b, train_end=None):
    """Reference for the historical / inductive candidate set of row b."""
    t0 = batch.t[0].item()
    s = batch.src[b].item()
    seen = {d for (u, d, t) in rows(history) if u == s and t <= t0}
    if train_end is not None:
        seen -= {d for (u, d, t) in rows(history) if u == s and t <= train_end}
    return seen - {d for (u, d, _) in rows(batch) if u == s}


def assert_uniform(values, support, draws):
    counts = Counter(values)
    assert set(counts) == set(support)
    expected = draws / len(support)
    for c in support:
        assert abs(counts[c] - expected) < 6 * np.sqrt(expected), (c, counts)


# batches with ties: in TIED rows 0-2 share (src 0, t 5), so each avoids
# dsts {1, 2}; in SPLIT rows 1-2 share (src 0, t 2) but are not neighbours
# of the row with src 1 once sorted by source
TIED = dict(
    src=[0, 0, 0, 1, 1, 2, 0],
    dst=[1, 2, 1, 3, 0, 4, 1],
    t=[5, 5, 5, 5, 6, 6, 7],
)
SPLIT = dict(src=[1, 0, 0, 3], dst=[2, 3, 4, 0], t=[1, 2, 2, 3])


@pytest.mark.parametrize("events", [TIED, SPLIT])
@pytest.mark.parametrize("destinations", [None, [0, 1, 3, 4], [1, 2]])
def test_random_negatives_are_uniform_over_valid_candidates_with_ties(
    events, destinations
):
    batch = EventStream(**events, num_nodes=5)
    n = batch.num_events
    q = 3000
    sampler = NegativeSampler(num_negatives=q, destinations=destinations)
    neg, mask = sampler.sample(batch, generator=gen(1))
    assert neg.shape == mask.shape == (n, q)
    assert neg.dtype == torch.long and mask.dtype == torch.bool
    candidates = range(5) if destinations is None else destinations
    for b in range(n):
        valid = valid_random(batch, b, candidates)
        assert bool(mask[b].any()) == bool(valid)
        assert bool(mask[b].all()) == bool(valid)
        if valid:
            assert_uniform(neg[b].tolist(), valid, q)
        assert set(neg[b].tolist()) <= set(candidates)


@pytest.mark.parametrize("destinations", [None, [0, 2, 5, 7]])
def test_random_negatives_without_ties_avoid_the_own_positive(destinations):
    # distinct times: the fast path where each row only avoids its own dst
    batch = EventStream([0, 1, 2, 0], [2, 3, 7, 2], [1.0, 2.0, 3.0, 4.0], num_nodes=8)
    q = 4000
    sampler = NegativeSampler(num_negatives=q, destinations=destinations)
    neg, mask = sampler.sample(batch, generator=gen(2))
    candidates = range(8) if destinations is None else destinations
    for b in range(4):
        valid = valid_random(batch, b, candidates)
        assert bool(mask[b].all())
        assert_uniform(neg[b].tolist(), valid, q)


def test_random_single_candidate_equal_to_the_positive_is_masked():
    batch = EventStream([0, 1], [1, 0], [0.0, 1.0], num_nodes=2)
    neg, mask = NegativeSampler(destinations=[1]).sample(batch, generator=gen())
    assert mask.tolist() == [[False], [True]]
    assert neg[1].item() == 1
    one = EventStream([0], [0], [0.0], num_nodes=1)
    neg, mask = NegativeSampler().sample(one, generator=gen())
    assert mask.tolist() == [[False]] and neg.tolist() == [[0]]


def test_random_without_exclusion_may_hit_positives_and_never_masks():
    batch = EventStream([0] * 50, [1] * 50, np.arange(50.0), num_nodes=2)
    sampler = NegativeSampler(num_negatives=20, exclude_positives=False)
    neg, mask = sampler.sample(batch, generator=gen())
    assert bool(mask.all())
    assert set(neg.unique().tolist()) == {0, 1}


def test_same_seed_same_negatives_and_generator_overrides_seed():
    rng = np.random.default_rng(0)
    s = EventStream(
        rng.integers(0, 30, 300), rng.integers(0, 30, 300), rng.integers(0, 40, 300)
    )
    for strategy in ("random", "historical"):
        a = NegativeSampler(strategy, 3, seed=11).fit(s)
        b = NegativeSampler(strategy, 3, seed=11).fit(s)
        c = NegativeSampler(strategy, 3, seed=12).fit(s)
        first = [a.sample(s[i : i + 50])[0] for i in range(0, 300, 50)]
        second = [b.sample(s[i : i + 50])[0] for i in range(0, 300, 50)]
        third = [c.sample(s[i : i + 50])[0] for i in range(0, 300, 50)]
        assert all(torch.equal(x, y) for x, y in zip(first, second, strict=True))
        assert not all(torch.equal(x, y) for x, y in zip(first, third, strict=True))
        # refitting restarts the sampler's generator
        a.fit(s)
        assert torch.equal(a.sample(s[0:50])[0], first[0])
        x = c.sample(s[0:50], generator=gen(5))[0]
        assert torch.equal(x, a.sample(s[0:50], generator=gen(5))[0])


def random_history(seed, n=500, num_nodes=25, max_t=60):
    rng = np.random.default_rng(seed)
    return EventStream(
        rng.integers(0, num_nodes, n),
        rng.integers(0, num_nodes, n),
        rng.integers(0, max_t, n),
        num_nodes=num_nodes,
    )


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("strategy", ["historical", "inductive"])
def test_historical_negatives_come_from_the_reference_set(seed, strategy):
    stream = random_history(seed)
    train_end = 20 if strategy == "inductive" else None
    q = 4
    sampler = NegativeSampler(strategy, q, seed=seed).fit(stream, train_end=train_end)
    fill_pool = set(stream.dst.tolist())
    for start in (0, 40, 300, 340, 380, 420, 460):  # early ones end before train_end
        batch = stream[start : start + 40]
        neg, mask = sampler.sample(batch)
        for b in range(len(batch)):
            cand = history_candidates(stream, batch, b, train_end)
            row = neg[b].tolist()
            s = batch.src[b].item()
            batch_dsts = {d for (u, d, _) in rows(batch) if u == s}
            assert bool(mask[b].all())
            if len(cand) >= q:
                assert set(row) <= cand
                assert len(set(row)) == q  # without replacement
            else:
                assert set(row[: len(cand)]) == cand
                for d in row[len(cand) :]:  # shortfall filled at random
                    assert d in fill_pool and d not in batch_dsts


def test_historical_draw_is_uniform_and_respects_time_and_batch():
    # source 0 reached 1..6 before t=10, 8 at t=10, 9 only after the batch starts
    history = EventStream(
        [0, 0, 0, 0, 0, 0, 0, 0, 0],
        [1, 2, 3, 4, 5, 6, 8, 2, 9],
        [1, 2, 3, 4, 5, 6, 10, 10, 30],
        num_nodes=12,
    )
    n = 3000
    batch = EventStream(
        [0] * n + [0], [7] * n + [3], [10] * n + [11], num_nodes=12
    )  # (0, 3) in the batch removes 3; t <= 10 (DyGLib's rule) keeps 8
    sampler = NegativeSampler("historical", seed=0).fit(history)
    neg, mask = sampler.sample(batch)
    assert bool(mask.all())
    assert_uniform(neg[:, 0].tolist(), {1, 2, 4, 5, 6, 8}, n + 1)
    inductive = NegativeSampler("inductive", seed=0).fit(history, train_end=3)
    neg, _ = inductive.sample(batch)
    assert_uniform(neg[:, 0].tolist(), {4, 5, 6, 8}, n + 1)


def test_historical_without_history_falls_back_to_random_fill():
    history = EventStream([1, 2], [2, 3], [0, 1], num_nodes=6)
    batch = EventStream([0, 0], [4, 5], [5, 6], num_nodes=6)
    sampler = NegativeSampler("historical", 3, seed=0).fit(history)
    neg, mask = sampler.sample(batch)
    # fill candidates: history dsts {2, 3} minus nothing of source 0
    assert set(neg.flatten().tolist()) <= {2, 3}
    assert bool(mask.all())
    everything = NegativeSampler("historical", 2, destinations=[4, 5], seed=0)
    neg, mask = everything.fit(history).sample(batch)
    assert not bool(mask.any())  # only candidates are the batch's own dsts


@pytest.mark.parametrize("num_nodes", [10, 10**6])
def test_unique_ids_by_mask_or_sort(num_nodes):
    ids = torch.tensor([7, 3, 3, 9, 0, 7])
    assert torch.equal(sampling._unique_ids(ids, num_nodes), torch.tensor([0, 3, 7, 9]))


def test_distinct_offsets_are_uniform_subsets():
    count = torch.full((30000,), 4)
    out = sampling._distinct_offsets(count, 2, gen(3))
    pairs = [tuple(sorted(r)) for r in out.tolist()]
    assert all(a != b for a, b in pairs)
    assert_uniform(pairs, set(combinations(range(4), 2)), len(pairs))
    short = sampling._distinct_offsets(torch.tensor([1, 0, 5]), 3, gen())
    assert short[0].tolist() == [0, 1, 2] and short[1].tolist() == [0, 1, 2]
    assert sorted(set(short[2].tolist())) == sorted(short[2].tolist())


@pytest.mark.parametrize("seed", range(5))
def test_skip_excluded_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    excluded = np.unique(rng.integers(0, 60, 25))
    start = rng.integers(0, 40, 12)
    size = 15
    offsets = []
    expected = []
    for a in start:
        free = [p for p in range(a, a + size) if p not in set(excluded)]
        u = rng.integers(0, len(free), 3) if free else np.zeros(3, dtype=int)
        offsets.append(u)
        expected.append([free[i] for i in u] if free else None)
    got = sampling._skip_excluded(
        torch.tensor(np.array(offsets)), torch.tensor(start), torch.tensor(excluded)
    )
    for row, exp in zip(got.tolist(), expected, strict=True):
        if exp is not None:
            assert row == exp


def test_large_sparse_graph_never_builds_pairs():
    # 10^6 nodes: any |S| x |D| structure would need terabytes
    rng = np.random.default_rng(0)
    n, num_nodes = 20000, 10**6
    stream = EventStream(
        rng.integers(0, num_nodes, n),
        rng.integers(0, num_nodes, n),
        np.sort(rng.random(n)),
        num_nodes=num_nodes,
    )
    for strategy in ("random", "historical", "inductive"):
        sampler = NegativeSampler(strategy, 5, seed=0).fit(stream, train_end=0.5)
        neg, mask = sampler.sample(stream[15000:17000])
        assert neg.shape == (2000, 5) and bool(mask.all())
    unfitted = NegativeSampler(num_negatives=2, seed=0)
    neg, _ = unfitted.sample(stream[:500])
    assert int(neg.max()) < num_nodes


def test_sampler_errors():
    s = EventStream([0, 1], [1, 0], [0, 1])
    with pytest.raises(ValueError, match="unknown strategy"):
        NegativeSampler("hard")
    with pytest.raises(ValueError, match="positive integer"):
        NegativeSampler(num_negatives=0)
    with pytest.raises(ValueError, match="only applies"):
        NegativeSampler("historical", exclude_positives=False)
    with pytest.raises(RuntimeError, match="fit"):
        NegativeSampler("historical").sample(s)
    with pytest.raises(ValueError, match="train_end"):
        NegativeSampler("inductive").fit(s)
    with pytest.raises(ValueError, match="num_nodes"):
        NegativeSampler().fit(s).sample(EventStream([0], [5], [2]))
    with pytest.raises(ValueError, match="negative node id"):
        NegativeSampler(destinations=[-1, 2])
    neg, mask = NegativeSampler(num_negatives=2).sample(s[1:1])
    assert neg.shape == mask.shape == (0, 2)


def make_stream(seed=0, n=240):
    rng = np.random.default_rng(seed)
    return EventStream(
        rng.integers(0, 40, n), rng.integers(0, 40, n), rng.integers(0, 90, n)
    )


def test_fix_and_load_negatives_roundtrip(tmp_path):
    stream = make_stream()
    sampler = NegativeSampler("historical", 3).fit(stream)
    path = tmp_path / "neg" / "test.npz"
    fixed = fix_negatives(stream, sampler, path, seed=3, batch_size=50)
    assert os.listdir(path.parent) == ["test.npz"]  # no temp file left
    g = gen(3)
    manual = [
        sampler.sample(stream[a : a + 50], generator=g) for a in range(0, 240, 50)
    ]
    assert torch.equal(fixed.neg_dst, torch.cat([m[0] for m in manual]))
    loaded = load_negatives(path, stream)
    assert torch.equal(loaded.neg_dst, fixed.neg_dst)
    assert torch.equal(loaded.mask, fixed.mask)
    assert loaded.settings["strategy"] == "historical"
    assert loaded.settings["stream_fingerprint"] == stream_fingerprint(stream)
    assert loaded.settings["history_fingerprint"] == stream_fingerprint(stream)
    again = fix_negatives(
        stream, sampler, tmp_path / "again.npz", seed=3, batch_size=50
    )
    other = fix_negatives(
        stream, sampler, tmp_path / "other.npz", seed=4, batch_size=50
    )
    assert torch.equal(again.neg_dst, fixed.neg_dst)
    assert not torch.equal(other.neg_dst, fixed.neg_dst)


def test_load_negatives_rejects_another_stream(tmp_path):
    stream = make_stream()
    path = tmp_path / "n.npz"
    fix_negatives(stream, NegativeSampler(), path)
    t = stream.t.clone()
    t[-1] += 1
    changed = EventStream(stream.src, stream.dst, t)
    with pytest.raises(ValueError, match="different stream"):
        load_negatives(path, changed)
    np.savez(tmp_path / "x.npz", something=np.zeros(2))
    with pytest.raises(ValueError, match="not a dyngraph negatives file"):
        load_negatives(tmp_path / "x.npz", stream)


def test_fix_negatives_is_atomic(tmp_path, monkeypatch):
    stream = make_stream()
    path = tmp_path / "n.npz"
    fix_negatives(stream, NegativeSampler(), path, seed=1)
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(sampling.np, "savez", broken)
    with pytest.raises(OSError, match="disk full"):
        fix_negatives(stream, NegativeSampler(), path, seed=2)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["n.npz"]


def test_fingerprint_sees_every_field():
    s = make_stream()
    base = stream_fingerprint(s)
    assert stream_fingerprint(make_stream()) == base
    for field in ("src", "dst"):
        values = getattr(s, field).clone()
        values[0] = (values[0] + 1) % 40
        kwargs = {"src": s.src, "dst": s.dst, "t": s.t, field: values}
        assert stream_fingerprint(EventStream(**kwargs, num_nodes=40)) != base
    assert stream_fingerprint(EventStream(s.src, s.dst, s.t.double())) != base


@cuda
def test_sampling_on_cuda_follows_the_batch_device():
    stream = make_stream()
    dev = stream.to("cuda")
    for strategy in ("random", "historical"):
        sampler = NegativeSampler(strategy, 2, seed=0).fit(stream)
        neg, mask = sampler.sample(dev[100:150])
        assert neg.is_cuda and mask.is_cuda
        cpu_gen = gen()
        with pytest.raises(ValueError, match="generator"):
            sampler.sample(dev[100:150], generator=cpu_gen)
        for b in range(50):
            batch = stream[100:150]
            if strategy == "random":
                assert neg[b, 0].item() in valid_random(batch, b, range(40))
