"""Non-backtracking walks against a slow reference with the same draws."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from dyngraph.data import delaunay_graph
from dyngraph.sparsify import effective_resistance, nonbacktracking_walks, walk_seed
from dyngraph.sparsify.walks import have_numba

M32 = 2**32 - 1


def h32(x: int) -> int:
    """lowbias32, written out independently from the module docstring."""
    x &= M32
    x ^= x >> 16
    x = (x * 0x7FEB352D) & M32
    x ^= x >> 15
    x = (x * 0x846CA68B) & M32
    return x ^ (x >> 16)


def reference_walk(indptr, indices, data, p, q, pair, j, walkers, steps, limit, seed):
    """One walker in plain Python: (hit, resistance, path)."""
    i = pair * walkers + j
    c = h32(seed)
    base = h32(h32(c ^ (i & M32)) ^ (i >> 32))
    cur, prev, r, path = p, -1, 0.0, [p]
    for s in range(steps):
        row = indices[indptr[cur] : indptr[cur + 1]]
        d = len(row)
        m = d if s == 0 else d - 1
        if m <= 0:
            return False, math.inf, path
        u = h32(base ^ h32(s ^ 0x9E3779B9))
        slot = (u * m) >> 32
        if s > 0 and row[slot] == prev:
            slot = d - 1
        nxt = int(row[slot])
        r += 1.0 / data[indptr[cur] + slot]
        path.append(nxt)
        if r >= limit:
            return False, math.inf, path
        if nxt == q:
            return True, r, path
        prev, cur = cur, nxt
    return False, math.inf, path


def as_torch(a: sp.csr_matrix):
    return (
        torch.from_numpy(a.indptr).long(),
        torch.from_numpy(a.indices).long(),
        torch.from_numpy(a.data),
    )


BACKENDS = [
    "torch",
    pytest.param(
        "numba",
        marks=pytest.mark.skipif(not have_numba(), reason="numba is not installed"),
    ),
]


@pytest.fixture(params=BACKENDS)
def backend(request):
    """Each CPU kernel: the vectorised torch one and the compiled one."""
    return request.param


@pytest.fixture(scope="module")
def small():
    a, _ = delaunay_graph(60, seed=3)
    rng = np.random.default_rng(0)
    a = a.tocsr()
    a.data = rng.uniform(0.5, 2.0, a.nnz)
    a = ((a + a.T) / 2).tocsr()
    a.sort_indices()
    return a


def test_matches_reference_walk_exactly(small, backend):
    rowptr, col, w = as_torch(small)
    rng = np.random.default_rng(1)
    src = rng.integers(0, 60, 12)
    dst = (src + rng.integers(1, 59, 12)) % 60
    tw = rng.uniform(0.5, 2.0, 12)
    walkers, steps, budget, seed = 16, 12, 6.0, 1234
    res = nonbacktracking_walks(
        rowptr,
        col,
        w,
        torch.from_numpy(src),
        torch.from_numpy(dst),
        num_walkers=walkers,
        max_steps=steps,
        budget=budget,
        target_weight=torch.from_numpy(tw),
        return_paths=True,
        seed=seed,
        backend=backend,
        max_chunk=40,  # several chunks must not change anything
    )
    for b in range(12):
        outcomes = [
            reference_walk(
                small.indptr,
                small.indices,
                small.data,
                int(src[b]),
                int(dst[b]),
                b,
                j,
                walkers,
                steps,
                budget / tw[b],
                seed,
            )
            for j in range(walkers)
        ]
        best = min(range(walkers), key=lambda j: (outcomes[j][1], j))
        hit = outcomes[best][0]
        assert bool(res.found[b]) == hit
        if hit:
            assert float(res.resistance[b]) == pytest.approx(outcomes[best][1], 1e-12)
            assert int(res.walker[b]) == best
            path = outcomes[best][2]
            assert int(res.hops[b]) == len(path) - 1
            assert res.paths[b, : len(path)].tolist() == path
            assert (res.paths[b, len(path) :] == -1).all()
        else:
            assert math.isinf(float(res.resistance[b])) and int(res.walker[b]) == -1


def test_first_hit_gives_the_same_decisions(small, backend):
    rowptr, col, w = as_torch(small)
    src = torch.arange(0, 30)
    dst = torch.arange(30, 60)
    kw = dict(num_walkers=200, max_steps=30, budget=3.0, seed=5)
    full = nonbacktracking_walks(rowptr, col, w, src, dst, backend=backend, **kw)
    fast = nonbacktracking_walks(
        rowptr, col, w, src, dst, first_hit=True, backend=backend, **kw
    )
    assert torch.equal(full.found, fast.found)
    assert 0 < int(full.found.sum()) < 30
    assert fast.walker_steps < full.walker_steps
    assert (fast.resistance[fast.found] >= full.resistance[full.found]).all()


def test_non_backtracking_and_uniform_on_a_cycle_with_chord():
    # Square 0-1-2-3-0: from 0 the first move is uniform over {1, 3};
    # afterwards a walker on the cycle never turns back.
    a = sp.csr_matrix(
        (np.ones(8), ([0, 1, 1, 2, 2, 3, 3, 0], [1, 0, 2, 1, 3, 2, 0, 3])), (4, 4)
    )
    a.sort_indices()
    rowptr, col, w = as_torch(a)
    res = nonbacktracking_walks(
        rowptr,
        col,
        w,
        torch.tensor([0]),
        torch.tensor([2]),
        num_walkers=4000,
        max_steps=5,
        return_paths=True,
        seed=0,
    )
    assert int(res.hops[0]) == 2 and float(res.resistance[0]) == 2.0
    # distribution of the first move over all walkers: re-run with target 2
    # unreachable in one move, count hits at 2 hops per direction
    first = []
    for seed in range(200):
        r = nonbacktracking_walks(
            rowptr,
            col,
            w,
            torch.tensor([0]),
            torch.tensor([2]),
            num_walkers=1,
            max_steps=5,
            return_paths=True,
            seed=seed,
        )
        assert int(r.hops[0]) == 2  # never backtracks, so always 2 moves
        first.append(int(r.paths[0, 1]))
    share = np.mean(np.array(first) == 1)
    assert 0.38 < share < 0.62


def test_dead_end_and_step_limit():
    # path graph 0-1-2-3: target 3 from 0 needs exactly 3 moves
    a = sp.csr_matrix((np.ones(6), ([0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2])), (4, 4))
    rowptr, col, w = as_torch(a)
    s, t = torch.tensor([0]), torch.tensor([3])
    assert not nonbacktracking_walks(rowptr, col, w, s, t, max_steps=2, seed=0).found[0]
    assert nonbacktracking_walks(rowptr, col, w, s, t, max_steps=3, seed=0).found[0]
    assert not nonbacktracking_walks(
        rowptr, col, w, s, t, max_steps=3, budget=3.0, seed=0
    ).found[0]  # R * w = 3 reaches the budget
    # dead end: from 1 towards the isolated side of a star leaf
    r = nonbacktracking_walks(
        rowptr, col, w, torch.tensor([1]), torch.tensor([3]), num_walkers=64, seed=0
    )
    assert r.found[0] and r.walker_steps < 64 * 3  # walkers going to 0 die there


def test_path_resistance_bounds_effective_resistance():
    a, _ = delaunay_graph(400, seed=0)
    a = a.tocsr()
    rng = np.random.default_rng(2)
    upper = sp.triu(a, 1).tocoo()
    upper.data = rng.uniform(0.2, 5.0, upper.nnz)
    a = (upper + upper.T).tocsr()
    a.sort_indices()
    rowptr, col, w = as_torch(a)
    src = rng.integers(0, 400, 60)
    dst = (src + rng.integers(1, 399, 60)) % 400
    res = nonbacktracking_walks(
        rowptr,
        col,
        w,
        torch.from_numpy(src),
        torch.from_numpy(dst),
        num_walkers=128,
        max_steps=40,
        seed=0,
    )
    exact = effective_resistance(a, np.stack([src, dst], 1))
    hit = res.found.numpy()
    assert hit.mean() > 0.5
    assert (res.resistance.numpy()[hit] >= exact[hit] * (1 - 1e-9)).all()


def test_walks_recover_grid_shortest_paths():
    side = 20
    grid = sp.csr_matrix(
        sp.kron(sp.eye(side), sp.diags([1.0, 1.0], [-1, 1], (side, side)))
        + sp.kron(sp.diags([1.0, 1.0], [-1, 1], (side, side)), sp.eye(side))
    )
    grid.sort_indices()
    rowptr, col, w = as_torch(grid)
    rng = np.random.default_rng(0)
    x, y = rng.integers(3, side - 3, (2, 100))
    dx, dy = rng.integers(-2, 3, (2, 100))
    keep = (dx != 0) | (dy != 0)
    src = (x * side + y)[keep]
    dst = ((x + dx) * side + y + dy)[keep]
    res = nonbacktracking_walks(
        rowptr,
        col,
        w,
        torch.from_numpy(src),
        torch.from_numpy(dst),
        num_walkers=128,
        max_steps=20,
        seed=0,
    )
    assert res.found.all()
    manhattan = (np.abs(dx) + np.abs(dy))[keep]
    np.testing.assert_array_equal(res.resistance.numpy(), manhattan)


def test_seeding():
    a, _ = delaunay_graph(200, seed=1)
    rowptr, col, w = as_torch(a.tocsr())
    src, dst = torch.arange(0, 50), torch.arange(100, 150)
    kw = dict(num_walkers=8, max_steps=20)
    one = nonbacktracking_walks(rowptr, col, w, src, dst, seed=7, **kw)
    two = nonbacktracking_walks(rowptr, col, w, src, dst, seed=7, **kw)
    other = nonbacktracking_walks(rowptr, col, w, src, dst, seed=8, **kw)
    assert torch.equal(one.resistance, two.resistance)
    assert not torch.equal(one.walker, other.walker)
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    assert walk_seed(g1) == walk_seed(g2)
    with pytest.raises(TypeError, match="seed"):
        walk_seed(1.5)


def test_bad_input_names_the_argument():
    a, _ = delaunay_graph(20, seed=1)
    rowptr, col, w = as_torch(a.tocsr())
    s, t = torch.tensor([0]), torch.tensor([5])
    with pytest.raises(ValueError, match="source"):
        nonbacktracking_walks(rowptr, col, w, torch.tensor([99]), t)
    with pytest.raises(ValueError, match="differ"):
        nonbacktracking_walks(rowptr, col, w, s, s)
    with pytest.raises(ValueError, match="num_walkers"):
        nonbacktracking_walks(rowptr, col, w, s, t, num_walkers=0)
    with pytest.raises(ValueError, match="weight"):
        nonbacktracking_walks(rowptr, col, -w, s, t)
    with pytest.raises(TypeError, match="source"):
        nonbacktracking_walks(rowptr, col, w, s.float(), t)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_matches_cpu_exactly():
    a, _ = delaunay_graph(2000, seed=0)
    rowptr, col, w = as_torch(a.tocsr())
    src = torch.arange(0, 300)
    dst = col[rowptr[col[rowptr[src]]] + 1]
    keep = src != dst
    src, dst = src[keep], dst[keep]
    kw = dict(budget=6.0, return_paths=True, seed=11)
    cpu = nonbacktracking_walks(rowptr, col, w, src, dst, **kw)
    gpu = nonbacktracking_walks(*(x.cuda() for x in (rowptr, col, w, src, dst)), **kw)
    assert gpu.found.is_cuda
    for name in ("found", "resistance", "walker", "hops", "paths"):
        assert torch.equal(getattr(cpu, name), getattr(gpu, name).cpu()), name


def test_hash_matches_python_on_extreme_words():
    from dyngraph.sparsify.walks import _hash32

    values = [0, 1, 2**16 - 1, 2**16, 2**31 - 1, 2**31, 2**32 - 2, 2**32 - 1]
    values += np.random.default_rng(0).integers(0, 2**32, 1000).tolist()
    out = _hash32(torch.tensor(values, dtype=torch.long))
    assert out.tolist() == [h32(v) for v in values]
    assert [_hash32(v) for v in values[:8]] == [h32(v) for v in values[:8]]


def test_skipped_pairs_leave_the_others_unchanged(small, backend):
    rowptr, col, w = as_torch(small)
    src, dst = torch.arange(0, 30), torch.arange(30, 60)
    skip = torch.zeros(30, dtype=torch.bool)
    skip[::3] = True
    for kw in (
        dict(budget=3.0, first_hit=True),
        dict(budget=3.0, return_paths=True, max_steps=20),
    ):
        full = nonbacktracking_walks(
            rowptr, col, w, src, dst, seed=7, backend=backend, **kw
        )
        part = nonbacktracking_walks(
            rowptr, col, w, src, dst, seed=7, skip=skip, backend=backend, **kw
        )
        assert not part.found[skip].any() and (part.walker[skip] == -1).all()
        for name in ("found", "resistance", "walker", "hops"):
            a, b = getattr(full, name)[~skip], getattr(part, name)[~skip]
            assert torch.equal(a, b), name
        if kw.get("return_paths"):
            assert torch.equal(full.paths[~skip], part.paths[~skip])
            assert (part.paths[skip] == -1).all()
        assert part.walker_steps < full.walker_steps
    with pytest.raises(ValueError, match="skip"):
        nonbacktracking_walks(rowptr, col, w, src, dst, skip=skip[:5])


def test_pruning_after_a_hit_keeps_the_winner(small, backend):
    # without a budget, walkers that exceed their pair's best hit stop early;
    # the winner, its resistance and its path must be those of full walks
    rowptr, col, w = as_torch(small)
    src = torch.arange(0, 8)
    dst = col[rowptr[col[rowptr[src]]] + 1]
    keep = src != dst
    src, dst = src[keep], dst[keep]
    walkers, steps, seed = 64, 30, 99
    res = nonbacktracking_walks(
        rowptr,
        col,
        w,
        src,
        dst,
        num_walkers=walkers,
        max_steps=steps,
        return_paths=True,
        seed=seed,
        backend=backend,
    )
    full_moves = 0
    for b in range(src.numel()):
        outcomes = [
            reference_walk(
                small.indptr,
                small.indices,
                small.data,
                int(src[b]),
                int(dst[b]),
                b,
                j,
                walkers,
                steps,
                math.inf,
                seed,
            )
            for j in range(walkers)
        ]
        full_moves += sum(len(path) - 1 for _, _, path in outcomes)
        best = min(range(walkers), key=lambda j: (outcomes[j][1], j))
        assert bool(res.found[b]) and int(res.walker[b]) == best
        assert float(res.resistance[b]) == pytest.approx(outcomes[best][1], 1e-12)
        path = outcomes[best][2]
        assert res.paths[b, : len(path)].tolist() == path
    assert res.walker_steps < full_moves / 2


@pytest.mark.skipif(not have_numba(), reason="numba is not installed")
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_compiled_kernel_matches_the_vectorised_one(dtype):
    # a larger weighted graph with slack rows (`degree`): every output of the
    # full walks, and the decisions of first_hit walks, are identical
    a, _ = delaunay_graph(3000, seed=1)
    a = a.tocsr()
    a.data = np.random.default_rng(2).uniform(0.3, 3.0, a.nnz)
    a = ((a + a.T) / 2).tocsr()
    a.sort_indices()
    deg = np.diff(a.indptr)
    rowptr = torch.from_numpy(np.concatenate([[0], np.cumsum(deg + 2)]))
    col = torch.zeros(int(rowptr[-1]), dtype=torch.long)
    w = torch.ones(int(rowptr[-1]), dtype=dtype)
    for v in range(3000):  # each row followed by two unused slots
        lo, part = int(rowptr[v]), slice(a.indptr[v], a.indptr[v + 1])
        col[lo : lo + deg[v]] = torch.from_numpy(a.indices[part].astype(np.int64))
        w[lo : lo + deg[v]] = torch.from_numpy(a.data[part]).to(dtype)
    rng = np.random.default_rng(3)
    src = torch.from_numpy(rng.integers(0, 3000, 400))
    dst = torch.from_numpy(a.indices[rng.integers(0, a.nnz, 400)].astype(np.int64))
    src, dst = src[src != dst], dst[src != dst]
    tw = torch.from_numpy(rng.uniform(0.5, 2.0, src.numel()))
    kw = dict(degree=torch.from_numpy(deg), num_walkers=64, max_steps=40, seed=8)
    for extra in (
        dict(budget=8.0, target_weight=tw, return_paths=True),
        dict(return_paths=True),
    ):
        ref = nonbacktracking_walks(
            rowptr, col, w, src, dst, backend="torch", **kw, **extra
        )
        out = nonbacktracking_walks(
            rowptr, col, w, src, dst, backend="numba", **kw, **extra
        )
        if "budget" in extra:
            assert 0 < int(ref.found.sum()) < src.numel()
        for name in ("found", "resistance", "walker", "hops", "paths"):
            assert torch.equal(getattr(ref, name), getattr(out, name)), name
    decide = dict(budget=8.0, target_weight=tw, **kw)
    ref = nonbacktracking_walks(
        rowptr, col, w, src, dst, first_hit=True, backend="torch", **decide
    )
    out = nonbacktracking_walks(
        rowptr, col, w, src, dst, first_hit=True, backend="numba", **decide
    )
    assert torch.equal(ref.found, out.found)
    # a first hit is a real hit: its resistance bounds the pair's minimum
    full = nonbacktracking_walks(rowptr, col, w, src, dst, backend="numba", **decide)
    assert (out.resistance[out.found] >= full.resistance[out.found]).all()
    assert out.walker_steps < full.walker_steps


def test_backend_argument():
    a, _ = delaunay_graph(50, seed=0)
    rowptr, col, w = as_torch(a.tocsr())
    s, t = torch.tensor([0]), torch.tensor([5])
    with pytest.raises(ValueError, match="backend"):
        nonbacktracking_walks(rowptr, col, w, s, t, backend="cuda")
    if torch.cuda.is_available():
        with pytest.raises(ValueError, match="CPU tensors only"):
            nonbacktracking_walks(
                *(x.cuda() for x in (rowptr, col, w, s, t)), backend="numba"
            )
