import numpy as np
import pytest
import torch

from dyngraph.data.events import EventStream
from dyngraph.data.splits import chronological_split, inductive_split


def random_stream(seed, n=400, num_nodes=60, max_t=50, float_t=False):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, max_t, n)  # heavy ties
    if float_t:
        t = t + rng.choice([0.0, 0.25, 0.5], n)
    return EventStream(
        rng.integers(0, num_nodes, n),
        rng.integers(0, num_nodes, n),
        t,
        num_nodes=num_nodes,
    )


def tgb_masks(t, val_ratio, test_ratio):
    # TGB's generate_splits, written out with NumPy
    val_time, test_time = np.quantile(t, [1 - val_ratio - test_ratio, 1 - test_ratio])
    train = t <= val_time
    val = (t > val_time) & (t <= test_time)
    test = t > test_time
    return train, val, test, val_time, test_time


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("ratios", [(0.15, 0.15), (0.1, 0.3), (0.0, 0.2), (0.25, 0.0)])
@pytest.mark.parametrize("float_t", [False, True])
def test_chronological_split_matches_tgb_rule(seed, ratios, float_t):
    s = random_stream(seed, float_t=float_t)
    split = chronological_split(s, *ratios)
    t = s.t.numpy()
    train, val, test, val_time, test_time = tgb_masks(t, *ratios)
    assert split.val_time == pytest.approx(val_time)
    assert split.test_time == pytest.approx(test_time)
    for part, mask in zip(split[:3], (train, val, test), strict=True):
        assert part.t.tolist() == t[mask].tolist()
        assert part.src.tolist() == s.src.numpy()[mask].tolist()


def test_ties_at_the_boundary_go_to_the_earlier_split():
    s = EventStream([0] * 6, [1] * 6, [1, 2, 2, 2, 3, 4])
    split = chronological_split(s, val_time=2, test_time=3)
    assert split.train.t.tolist() == [1, 2, 2, 2]
    assert split.val.t.tolist() == [3]
    assert split.test.t.tolist() == [4]
    # fractional boundary on integer times: t <= 2.5 means t <= 2
    split = chronological_split(s, val_time=2.5, test_time=3.5)
    assert split.train.t.tolist() == [1, 2, 2, 2]
    assert split.val.t.tolist() == [3]


def test_splits_are_views_that_cover_the_stream():
    s = random_stream(0, float_t=True)
    split = chronological_split(s)
    n_train, n_val = len(split.train), len(split.val)
    assert n_train + n_val + len(split.test) == s.num_events
    assert split.train.src.data_ptr() == s.src.data_ptr()
    assert split.val.t.data_ptr() == s.t[n_train:].data_ptr()
    assert split.test.dst.data_ptr() == s.dst[n_train + n_val :].data_ptr()
    assert split.val.num_nodes == s.num_nodes


def test_all_events_at_one_time_land_in_train():
    s = EventStream([0, 1, 2], [1, 2, 0], [5.0, 5.0, 5.0])
    split = chronological_split(s)
    assert [len(split.train), len(split.val), len(split.test)] == [3, 0, 0]


def test_chronological_split_errors():
    s = random_stream(0)
    with pytest.raises(ValueError, match="< 1"):
        chronological_split(s, 0.5, 0.5)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        chronological_split(s, -0.1, 0.2)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        chronological_split(s, float("nan"), 0.2)
    with pytest.raises(ValueError, match="both"):
        chronological_split(s, val_time=3.0)
    with pytest.raises(ValueError, match="must not exceed"):
        chronological_split(s, val_time=5.0, test_time=3.0)
    with pytest.raises(TypeError, match="float"):
        chronological_split(s, "0.1", 0.2)


def reference_inductive(s, held_out, val_time, test_time):
    t, src, dst = s.t.numpy(), s.src.numpy(), s.dst.numpy()
    held = set(held_out)
    train = [
        k
        for k in range(len(t))
        if t[k] <= val_time and src[k] not in held and dst[k] not in held
    ]
    train_nodes = set(src[train]) | set(dst[train])
    all_nodes = set(src) | set(dst)
    new_nodes = all_nodes - train_nodes
    val = [k for k in range(len(t)) if val_time < t[k] <= test_time]
    test = [k for k in range(len(t)) if t[k] > test_time]

    def touching(idx):
        return [k for k in idx if src[k] in new_nodes or dst[k] in new_nodes]

    return train, touching(val), touching(test), sorted(new_nodes)


@pytest.mark.parametrize("seed", range(3))
def test_inductive_split_matches_reference(seed):
    s = random_stream(seed, n=600, num_nodes=120, max_t=200)
    out = inductive_split(s, 0.15, 0.15, new_node_ratio=0.1, seed=seed)
    held = out.held_out_nodes.tolist()
    t, src, dst = s.t.numpy(), s.src.numpy(), s.dst.numpy()
    active = set(src) | set(dst)
    late = set(src[t > out.val_time]) | set(dst[t > out.val_time])
    assert len(held) == int(0.1 * len(active))
    assert held == sorted(set(held))
    assert set(held) <= late
    train, new_val, new_test, new_nodes = reference_inductive(
        s, held, out.val_time, out.test_time
    )
    assert out.train.src.tolist() == src[train].tolist()
    assert out.train.t.tolist() == t[train].tolist()
    assert out.new_node_val.dst.tolist() == dst[new_val].tolist()
    assert out.new_node_test.src.tolist() == src[new_test].tolist()
    assert out.new_nodes.tolist() == new_nodes
    assert set(held) <= set(new_nodes)
    base = chronological_split(s)
    assert torch.equal(out.val.t, base.val.t)
    assert out.test.src.data_ptr() == base.test.src.data_ptr()


def test_inductive_split_is_seeded():
    s = random_stream(5, n=600, num_nodes=200, max_t=300)
    a = inductive_split(s, seed=7).held_out_nodes
    b = inductive_split(s, seed=7).held_out_nodes
    c = inductive_split(s, seed=8).held_out_nodes
    g = inductive_split(s, seed=torch.Generator().manual_seed(7)).held_out_nodes
    assert torch.equal(a, b)
    assert torch.equal(a, g)
    assert not torch.equal(a, c)


def test_inductive_split_too_many_held_out_nodes():
    # only node 9 and 8 appear late, but 0.5 * 10 nodes are requested
    s = EventStream(
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 2, 3, 4, 5, 6, 7, 0, 9, 8],
        [0, 0, 0, 0, 0, 0, 0, 0, 1, 1],
    )
    with pytest.raises(ValueError, match="lower `new_node_ratio`"):
        inductive_split(s, 0.1, 0.1, new_node_ratio=0.5)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        inductive_split(s, new_node_ratio=1.0)
