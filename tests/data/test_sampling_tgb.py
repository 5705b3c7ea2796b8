"""TGB's evaluation negatives: ``hist_rnd``, split-wide exclusion, no repeats.

The rules are checked against a transcription of ``py-tgb``'s
``NegativeEdgeGenerator`` (below) and, where ``py-tgb`` is installed,
against the generator itself.
"""

import pickle
from collections import Counter

import numpy as np
import pytest
import torch

from dyngraph.data.events import EventStream
from dyngraph.data.sampling import NegativeSampler, fix_negatives


def rows(stream):
    return list(
        zip(stream.src.tolist(), stream.dst.tolist(), stream.t.tolist(), strict=True)
    )


def tgb_rules(train, split, destinations, q, strategy, hist_ratio=0.5):
    """Transcription of py-tgb 2.3.0's generator, per positive of ``split``.

    Returns ``(hist_pool, n_hist, rnd_pool, n_rnd)`` per positive: the sets
    the two halves are drawn from (without replacement) and their sizes.
    """
    same = {}
    for s, d, t in rows(split):
        same.setdefault((s, t), set()).add(d)
    seen = {}
    for s, d, _ in rows(train):
        seen.setdefault(s, set()).add(d)
    out = []
    for s, _, t in rows(split):
        positives = same[(s, t)]
        if strategy == "rnd":
            pool = set(destinations) - positives
            out.append((set(), 0, pool, min(q, len(pool))))
            continue
        hist = seen.get(s, set()) - positives
        n_hist = min(int(q * hist_ratio), len(hist))
        pool = set(destinations) - positives - seen.get(s, set())
        out.append((hist, n_hist, pool, min(q - n_hist, len(pool))))
    return out


def small_streams(seed=0, num_nodes=12):
    """A training stream and a split with repeated (src, t) across batches."""
    rng = np.random.default_rng(seed)
    train = EventStream(
        rng.integers(0, num_nodes, 60),
        rng.integers(0, num_nodes, 60),
        np.sort(rng.integers(0, 20, 60)),
        num_nodes=num_nodes,
    )
    e = 40
    src = rng.integers(0, 4, e)  # few sources: many share (src, t)
    split = EventStream(
        src,
        rng.integers(0, num_nodes, e),
        np.sort(rng.integers(20, 26, e)),
        num_nodes=12,
    )
    return train, split


def sample_split(sampler, split, batch_size=7, seed=0):
    generator = torch.Generator().manual_seed(seed)
    parts = [
        sampler.sample(split[a : a + batch_size], generator=generator)
        for a in range(0, split.num_events, batch_size)
    ]
    return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])


@pytest.mark.parametrize("strategy", ["hist_rnd", "rnd"])
@pytest.mark.parametrize("q", [1, 4, 9, 30])
@pytest.mark.parametrize("destinations", [None, list(range(2, 11))])
def test_each_row_follows_tgbs_rules(strategy, q, destinations):
    train, split = small_streams(q)
    dsts = destinations if destinations is not None else sorted(set(train.dst.tolist()))
    sampler = NegativeSampler(
        "hist_rnd" if strategy == "hist_rnd" else "random",
        q,
        destinations=destinations,
        replace=False,
        exclusion="split",
    ).fit(train, positives=split)
    neg, mask = sample_split(sampler, split)
    assert neg.shape == mask.shape == (split.num_events, q)
    for b, (hist, n_hist, pool, n_rnd) in enumerate(
        tgb_rules(train, split, dsts, q, strategy)
    ):
        row = neg[b][mask[b]].tolist()
        # valid entries first, then padding
        assert mask[b].tolist() == [True] * len(row) + [False] * (q - len(row))
        assert len(row) == n_hist + n_rnd
        assert len(set(row)) == len(row), "drawn without replacement"
        assert set(row[:n_hist]) <= hist
        assert set(row[n_hist:]) <= pool


def test_rows_take_everything_when_candidates_run_out():
    train, split = small_streams(3)
    dsts = sorted(set(train.dst.tolist()))
    sampler = NegativeSampler("hist_rnd", 50, exclusion="split").fit(
        train, positives=split
    )
    neg, mask = sample_split(sampler, split)
    for b, (hist, n_hist, pool, n_rnd) in enumerate(
        tgb_rules(train, split, dsts, 50, "hist_rnd")
    ):
        row = neg[b][mask[b]].tolist()
        # history is capped at half, the random half takes all that is left
        assert n_hist == min(25, len(hist)) and n_rnd == len(pool)
        assert set(row[:n_hist]) <= hist and set(row[n_hist:]) == pool


def test_split_wide_exclusion_reaches_across_batches():
    # (0 -> 1, t=5) and (0 -> 2, t=5) fall in different batches
    split = EventStream([0, 3, 0], [1, 4, 2], [5, 5, 5], num_nodes=6)
    train = EventStream([1], [2], [0], num_nodes=6)
    kwargs = dict(destinations=[1, 2], replace=False)
    wide = NegativeSampler("random", 2, exclusion="split", **kwargs)
    neg, mask = sample_split(wide.fit(train, positives=split), split, batch_size=2)
    assert mask[0].tolist() == [False, False] and mask[2].tolist() == [False, False]
    narrow = NegativeSampler("random", 2, **kwargs).fit(train)
    neg, mask = sample_split(narrow, split, batch_size=2)
    assert neg[0][mask[0]].tolist() == [2] and neg[2][mask[2]].tolist() == [1]


def test_both_halves_are_uniform():
    # 3000 copies of one positive: every row is an independent draw
    train = EventStream([0, 0, 0, 0, 1], [1, 2, 3, 4, 5], [0, 1, 2, 3, 4], num_nodes=10)
    split = EventStream([0] * 3000, [1] * 3000, [9] * 3000, num_nodes=10)
    sampler = NegativeSampler(
        "hist_rnd", 4, destinations=range(10), exclusion="split", seed=3
    ).fit(train, positives=split)
    neg, mask = sampler.sample(split)
    assert bool(mask.all())
    hist, rnd = neg[:, :2], neg[:, 2:]
    assert bool((hist[:, 0] != hist[:, 1]).all()) and bool(
        (rnd[:, 0] != rnd[:, 1]).all()
    )
    for values, support in ((hist, [2, 3, 4]), (rnd, [0, 5, 6, 7, 8, 9])):
        counts = Counter(values.flatten().tolist())
        assert set(counts) == set(support)
        expected = values.numel() / len(support)
        for c in support:
            assert abs(counts[c] - expected) < 6 * np.sqrt(expected), counts
        pairs = Counter(tuple(sorted(r)) for r in values.tolist())
        assert len(pairs) == len(support) * (len(support) - 1) // 2


def test_same_seed_same_negatives_and_fixing_them_on_disk(tmp_path):
    train, split = small_streams(1)

    def sampler():
        return NegativeSampler("hist_rnd", 6, exclusion="split", seed=5).fit(
            train, positives=split
        )

    a = fix_negatives(split, sampler(), tmp_path / "a.npz", seed=7, batch_size=None)
    b = fix_negatives(split, sampler(), tmp_path / "b.npz", seed=7, batch_size=9)
    # TGB's rules do not depend on the batching, only the draws' order does
    assert torch.equal(a.mask, b.mask)
    again = fix_negatives(split, sampler(), tmp_path / "c.npz", seed=7, batch_size=None)
    assert torch.equal(a.neg_dst, again.neg_dst)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(strategy="hist_rnd", replace=True), "always draws without replacement"),
        (dict(strategy="historical", replace=False), "does not apply"),
        (dict(strategy="historical", exclusion="split"), "applies to strategies"),
        (dict(exclusion="everywhere"), "unknown exclusion"),
        (dict(exclusion="split", exclude_positives=False), "exclude_positives=True"),
        (dict(strategy="hist_rnd", hist_ratio=1.5), "hist_ratio"),
    ],
)
def test_bad_options_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        NegativeSampler(**kwargs)


def test_split_exclusion_needs_the_positives():
    train, split = small_streams()
    with pytest.raises(ValueError, match="positives=split_events"):
        NegativeSampler(exclusion="split").fit(train)
    with pytest.raises(RuntimeError, match="fit"):
        NegativeSampler(exclusion="split").sample(split)


def run_py_tgb(tmp_path, train, split, q, strategy, first, last):
    generator = pytest.importorskip("tgb.linkproppred.negative_generator")
    from torch_geometric.data import TemporalData

    def pyg(stream):
        return TemporalData(src=stream.src, dst=stream.dst, t=stream.t)

    tmp_path.mkdir(parents=True, exist_ok=True)
    state = np.random.get_state()
    try:
        gen = generator.NegativeEdgeGenerator(
            "tiny",
            first,
            last,
            num_neg_e=q,
            strategy=strategy,
            rnd_seed=1,
            historical_data=pyg(train),
        )
        gen.generate_negative_samples(pyg(split), "test", str(tmp_path))
    finally:
        np.random.set_state(state)
    with open(tmp_path / "tiny_test_ns.pkl", "rb") as handle:
        return pickle.load(handle)


@pytest.mark.parametrize("strategy", ["hist_rnd", "rnd"])
def test_py_tgb_agrees(tmp_path, strategy):
    train, split = small_streams(4)
    # py-tgb keys its negatives by (s, d, t): keep one positive per triple
    triples = rows(split)
    keep = [k for k, x in enumerate(triples) if x not in triples[:k]]
    split = split[torch.tensor(keep)]
    first, last = 1, 10
    dsts = list(range(first, last + 1))
    name = "hist_rnd" if strategy == "hist_rnd" else "random"
    for q in (3, 20):  # some rows full, and rows that take every candidate
        theirs = run_py_tgb(tmp_path / str(q), train, split, q, strategy, first, last)
        sampler = NegativeSampler(
            name, q, destinations=dsts, replace=False, exclusion="split"
        ).fit(train, positives=split)
        neg, mask = sample_split(sampler, split)
        rules = tgb_rules(train, split, dsts, q, strategy)
        for b, (s, d, t) in enumerate(rows(split)):
            other = [int(x) for x in theirs[(s, d, t)]]
            mine = neg[b][mask[b]].tolist()
            hist, n_hist, pool, n_rnd = rules[b]
            # py-tgb follows the transcription ...
            assert len(other) == n_hist + n_rnd and len(set(other)) == len(other)
            assert set(other[:n_hist]) <= hist and set(other[n_hist:]) <= pool
            # ... and so do we: same counts, same pools, same sets when exhaustive
            assert len(mine) == len(other)
            if n_rnd == len(pool) and n_hist == len(hist):
                assert set(mine) == set(other)
