r"""Compiled CPU kernels of the walks and of the slack-capacity adjacency (numba).

:func:`walk_pairs` is the sequential counterpart of the vectorised torch walk
in :mod:`dyngraph.sparsify.walks`: the same counter-based draws, the same
moves and stopping rules, so it returns the same hits for the same seed (the
tests compare the two exactly). It walks a few walkers of a pair at a time,
so the walkers of a pair can stop as soon as the pair is decided
(``first_hit``) or as soon as they can no longer beat the pair's best hit,
without the per-step tensor bookkeeping that dominates the torch kernel on
a CPU.

Everything here is compiled on first use and cached on disk by numba.
"""

from __future__ import annotations

import numpy as np
from numba import njit

MASK32 = 0xFFFFFFFF
GOLDEN = 0x9E3779B9


@njit(cache=True, nogil=True)
def hash32(x: int) -> int:  # pragma: no cover - compiled
    """Wellons' ``lowbias32`` of ``0 <= x < 2**32`` (int64 arithmetic)."""
    x ^= x >> 16
    x = (x * 0x7FEB352D) & MASK32
    x ^= x >> 15
    x = (x * 0x846CA68B) & MASK32
    return x ^ (x >> 16)


@njit(cache=True, nogil=True)
def _step_keys(max_steps: int) -> np.ndarray:  # pragma: no cover - compiled
    keys = np.empty(max_steps, dtype=np.int64)
    for s in range(max_steps):
        keys[s] = hash32(s ^ GOLDEN)
    return keys


@njit(cache=True, nogil=True, inline="always")
def _walker_key(key: int, i: int) -> int:  # pragma: no cover - compiled
    """Key of walker ``i`` of the call with key ``key``."""
    return hash32(hash32(key ^ (i & MASK32)) ^ (i >> 32))


@njit(cache=True, nogil=True, inline="always")
def _edge(
    row: int, d: int, col: np.ndarray, prev: int, s: int, u: int
) -> int:  # pragma: no cover - compiled
    """CSR slot of the move with draw ``u`` from a row of degree ``d`` at ``row``.

    The first move is uniform over the row; a later one is uniform over the
    first ``d - 1`` slots, the previous vertex swapped for the last slot.
    """
    if s == 0:
        return row + ((u * d) >> 32)
    e = row + ((u * (d - 1)) >> 32)
    if col[e] == prev:
        e = row + d - 1
    return e


LANES = 4  # walkers of a pair in flight at once (measured best of 1, 4, 8, 16)


@njit(cache=True, nogil=True)
def walk_pairs(
    start: np.ndarray,
    degree: np.ndarray,
    col: np.ndarray,
    inv_weight: np.ndarray,
    source: np.ndarray,
    target: np.ndarray,
    limit: np.ndarray,
    pairs: np.ndarray,
    num_walkers: int,
    key: int,
    max_steps: int,
    first_hit: bool,
    best: np.ndarray,
    winner: np.ndarray,
    hops: np.ndarray,
) -> int:  # pragma: no cover - compiled
    """Walk the pairs ``pairs``; fill ``best``, ``winner``, ``hops``; return moves.

    Walker ``j`` of pair ``b`` has index ``b * num_walkers + j`` and the
    draws of :mod:`dyngraph.sparsify.walks`. A walker stops on a hit, when
    its resistance reaches ``limit[b]``, at a vertex of degree at most one
    (checked when it would leave it, which reads the degree it needs anyway),
    after ``max_steps`` moves, or once its resistance exceeds the pair's best
    hit so far (it cannot win any more, so the minimum and the smallest
    winning index are unchanged). ``LANES`` walkers of a pair are in flight
    at once, a freed lane taking the next walker, so the latencies of their
    independent moves overlap. With ``first_hit`` the pair stops at its
    first hit, which is reported.
    """
    step_key = _step_keys(max_steps)
    work = 0
    walker = np.empty(LANES, dtype=np.int64)
    base = np.empty(LANES, dtype=np.int64)
    cur = np.empty(LANES, dtype=np.int64)
    prev = np.empty(LANES, dtype=np.int64)
    step = np.empty(LANES, dtype=np.int64)
    r = np.empty(LANES, dtype=inv_weight.dtype)
    for b in pairs:
        p = source[b]
        q = target[b]
        lim = limit[b]
        bst = np.inf
        win = -1
        hp = -1
        launched = 0 if degree[p] > 0 else num_walkers
        walker[:] = -1  # every lane free
        busy = True
        while busy:
            busy = False
            for k in range(LANES):
                j = walker[k]
                if j < 0:  # a free lane takes the next walker, if any
                    if launched == num_walkers:
                        continue
                    j = launched
                    launched += 1
                    walker[k] = j
                    base[k] = _walker_key(key, b * num_walkers + j)
                    cur[k] = p
                    prev[k] = -1
                    step[k] = 0
                    r[k] = 0
                busy = True
                s = step[k]
                c = cur[k]
                d = degree[c]
                stop = True
                if s == 0 or d > 1:
                    work += 1
                    row = start[c]
                    u = hash32(base[k] ^ step_key[s])
                    e = _edge(row, d, col, prev[k], s, u)
                    nxt = col[e]
                    rr = r[k] + inv_weight[e]
                    if rr >= lim:
                        pass
                    elif nxt == q:
                        if rr < bst or (rr == bst and j < win):
                            bst = rr
                            win = j
                            hp = s + 1
                    elif rr <= bst and s + 1 < max_steps:
                        stop = False
                if not stop:
                    prev[k] = c
                    cur[k] = nxt
                    r[k] = rr
                    step[k] = s + 1
                elif first_hit and win >= 0:  # decided: no lane walks on
                    busy = False
                    break
                else:
                    walker[k] = -1
        best[b] = bst
        winner[b] = win
        hops[b] = hp
    return work


@njit(cache=True, nogil=True)
def replay_paths(
    start: np.ndarray,
    degree: np.ndarray,
    col: np.ndarray,
    source: np.ndarray,
    pairs: np.ndarray,
    winner: np.ndarray,
    hops: np.ndarray,
    num_walkers: int,
    key: int,
    paths: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Write the path of the winning walker of each pair in ``pairs`` to ``paths``."""
    if pairs.size == 0:
        return
    step_key = _step_keys(max(1, hops.max()))
    for b in pairs:
        i = b * num_walkers + winner[b]
        base = _walker_key(key, i)
        cur = source[b]
        prev = -1
        paths[b, 0] = cur
        for s in range(hops[b]):
            d = degree[cur]
            row = start[cur]
            u = hash32(base ^ step_key[s])
            e = _edge(row, d, col, prev, s, u)
            prev = cur
            cur = col[e]
            paths[b, s + 1] = cur


@njit(cache=True, nogil=True)
def merge_sorted(
    key: np.ndarray, weight: np.ndarray, new_key: np.ndarray, new_weight: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """Merge two sorted key arrays (and their weights) in one linear pass."""
    n, m = key.size, new_key.size
    out_key = np.empty(n + m, dtype=key.dtype)
    out_weight = np.empty(n + m, dtype=weight.dtype)
    i = j = 0
    for k in range(n + m):
        if j >= m or (i < n and key[i] <= new_key[j]):
            out_key[k] = key[i]
            out_weight[k] = weight[i]
            i += 1
        else:
            out_key[k] = new_key[j]
            out_weight[k] = new_weight[j]
            j += 1
    return out_key, out_weight


@njit(cache=True, nogil=True)
def csr_from_keys(
    directed: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """Row pointers and columns of sorted directed keys ``u * n + v``."""
    rowptr = np.zeros(n + 1, dtype=np.int64)
    col = np.empty(directed.size, dtype=np.int64)
    for k in range(directed.size):
        u = directed[k] // n
        col[k] = directed[k] - u * n
        rowptr[u + 1] += 1
    for v in range(n):
        rowptr[v + 1] += rowptr[v]
    return rowptr, col
