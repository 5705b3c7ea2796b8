r"""dyGRASS: a spectral sparsifier kept up to date under edge insertions and deletions.

:class:`DynamicSparsifier` holds a weighted undirected graph :math:`G` and a
sparse subgraph :math:`H` with :math:`G`'s weights.

*Insertion* of a new edge :math:`(p, q)` with weight :math:`w_{pq}`: it joins
:math:`G`; non-backtracking walkers leave :math:`p` inside :math:`H`
(:func:`~dyngraph.sparsify.nonbacktracking_walks`), each dying once
:math:`w_{pq} R \ge K` for its path resistance :math:`R`. If no walker reaches
:math:`q`, no path of :math:`H` connects the ends with distortion below the
budget :math:`K`: the edge is spectrally critical and joins :math:`H`;
otherwise it is dropped. :math:`K` is a budget on :math:`w \times` (walk path
resistance), a stretch-like quantity, not a condition-number target. An edge
already in :math:`G` adds its weight in :math:`G` (and in :math:`H` when it is
there) without a walk. All insertions of one chunk (``max_batch``) are judged
against the same :math:`H`.

*Deletion* of :math:`(p, q)`: it leaves :math:`G`, and :math:`H` if it was
there; then walkers run in the updated :math:`G` from :math:`p` to :math:`q`
with no budget and the minimum-resistance path found, with its loops erased
(a simple path on a subset of its edges, so of no larger resistance), is
copied into :math:`H`. When no walker arrives, the minimum-resistance path of :math:`G`
(Dijkstra on :math:`1/w`) is copied instead. When deletions cut :math:`G`
between the ends of a deleted edge of :math:`H` (no repair path exists), the
pieces of :math:`H` inside each component of :math:`G` are joined by a
maximum-weight spanning forest of the contracted graph, so :math:`H` always
spans every component of :math:`G`.

Walks that cannot succeed are skipped without changing any decision: an
insertion whose ends lie in different connected components of :math:`H` is
critical for every seed. The component labels of :math:`H` are cached, merged
along the edges that join :math:`H`, and recomputed only after a deletion cut
:math:`G`. The other pairs keep their walker indices, so their draws, and
hence :math:`H`, are exactly those of walking every pair.

Per-update work is walkers × steps, independent of the graph size; each
batch also merges its edges into the sorted edge arrays and rebuilds the CSR
arrays of :math:`H` (and of :math:`G` when a deletion needs repair) in
linear passes, :math:`O(E)` memory traffic. On CPU tensors the walks, merges
and CSR builds run as compiled numba kernels when numba is installed, with
the same results as the torch code that runs on CUDA.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from scipy.sparse import csgraph
from torch import Tensor

from dyngraph.sparsify.initial import initial_sparsifier
from dyngraph.sparsify.spectral import check_adjacency
from dyngraph.sparsify.walks import _hash32, have_numba, nonbacktracking_walks
from dyngraph.training import checkpoint

__all__ = ["DynamicSparsifier", "UpdateReport", "erase_loops", "local_edge_stream"]

EdgesLike = Tensor | np.ndarray


@dataclass
class UpdateReport:
    """What one :meth:`DynamicSparsifier.insert` or ``delete`` call did.

    Attributes
    ----------
    num_updates : int
        Distinct edges inserted or deleted.
    added : int
        Edges that joined :math:`H` (critical insertions or repair paths).
    removed : int
        Edges that left :math:`H`.
    walker_steps : int
        Total walker moves spent.
    """

    num_updates: int
    added: int
    removed: int
    walker_steps: int


def _merge(
    key: Tensor, weight: Tensor, new_key: Tensor, new_weight: Tensor
) -> tuple[Tensor, Tensor]:
    """Merge keys absent from the sorted ``key`` into it (a linear pass)."""
    order = torch.argsort(new_key)
    new_key, new_weight = new_key[order], new_weight[order]
    if key.device.type == "cpu" and have_numba():
        from dyngraph.sparsify._kernels import merge_sorted

        out = merge_sorted(
            key.numpy(),
            weight.contiguous().numpy(),
            new_key.numpy(),
            new_weight.contiguous().numpy(),
        )
        return torch.from_numpy(out[0]), torch.from_numpy(out[1])
    position = torch.searchsorted(key, new_key) + torch.arange(
        new_key.numel(), device=key.device
    )
    fresh = torch.zeros(key.numel() + new_key.numel(), dtype=torch.bool)
    fresh = fresh.to(key.device)
    fresh[position] = True
    out_key = torch.empty(fresh.numel(), dtype=key.dtype, device=key.device)
    out_weight = torch.empty(fresh.numel(), dtype=weight.dtype, device=key.device)
    out_key[position], out_key[~fresh] = new_key, key
    out_weight[position], out_weight[~fresh] = new_weight, weight
    return out_key, out_weight


def erase_loops(paths: Tensor, chunk: int = 2048) -> tuple[Tensor, Tensor]:
    r"""Edges of the loop-erased walks ``paths``.

    Chronological loop erasure: from the first vertex, jump to just after
    the *last* visit of the current vertex and keep the edge to the vertex
    there, until the end. What is left is a simple path between the same
    ends on a subset of the walk's edges, so its resistance
    :math:`\sum 1/w` is at most the walk's.

    Parameters
    ----------
    paths : Tensor
        ``[B, L]`` int64 vertex sequences, each padded with ``-1`` after its
        last vertex (as :attr:`WalkResult.paths`).
    chunk : int
        Paths handled at once (default: ``2048``).

    Returns
    -------
    tuple of Tensor
        Ends ``(a, b)`` of the kept edges, each ``[M]`` int64.
    """
    if paths.shape[0] > chunk:  # bounds the [chunk, L, L] comparison
        parts = [erase_loops(part, chunk) for part in paths.split(chunk)]
        return tuple(torch.cat(ends) for ends in zip(*parts, strict=True))
    length = (paths >= 0).sum(1)
    empty = torch.zeros(0, dtype=torch.long, device=paths.device)
    if paths.numel() == 0 or int(length.max()) < 2:
        return empty, empty
    width = int(length.max())
    paths = paths[:, :width]
    steps = torch.arange(width, device=paths.device)
    same = (paths[:, :, None] == paths[:, None, :]) & (paths[:, None, :] >= 0)
    last = torch.where(same, steps, -1).amax(2)  # last visit of each position
    rows = torch.arange(paths.shape[0], device=paths.device)
    at = torch.zeros_like(length)
    ends_a, ends_b = [], []
    for _ in range(width - 1):
        nxt = last[rows, at] + 1
        live = nxt < length
        if not bool(live.any()):
            break
        ends_a.append(paths[rows[live], at[live]])
        ends_b.append(paths[rows[live], nxt[live]])
        at = torch.where(live, nxt, at)
    return torch.cat(ends_a), torch.cat(ends_b)


def _drop(position: Tensor, *arrays: Tensor) -> tuple[Tensor, ...]:
    """``arrays`` without the entries at the distinct indices ``position``.

    A few removals are copied around as slices (one pass over the memory);
    many go through a mask.
    """
    if position.numel() == 0:
        return arrays
    if position.numel() > 4096:
        keep = torch.ones_like(arrays[0], dtype=torch.bool)
        keep[position] = False
        return tuple(x[keep] for x in arrays)
    cuts = torch.sort(position).values.tolist()
    bounds = zip([0] + [c + 1 for c in cuts], cuts + [arrays[0].numel()], strict=True)
    pieces = [(low, high) for low, high in bounds if high > low]
    return tuple(torch.cat([x[low:high] for low, high in pieces]) for x in arrays)


class _EdgeSet:
    """Undirected weighted edges as sorted keys ``u * n + v`` (``u < v``).

    The directed keys ``u * n + v`` of both orientations, sorted, are kept
    alongside once the CSR arrays have been asked for, and updated by merges,
    so a batch costs :math:`O(E)` memory traffic and no full sort.
    """

    def __init__(self, n: int, key: Tensor, weight: Tensor) -> None:
        self.n = n
        order = torch.argsort(key)
        self.key = key[order]
        self.weight = weight[order]
        self._directed: tuple[Tensor, Tensor] | None = None
        self._csr: tuple[Tensor, Tensor, Tensor] | None = None

    def find(self, key: Tensor) -> tuple[Tensor, Tensor]:
        """Membership of ``key`` and its position where present."""
        if self.key.numel() == 0:
            return torch.zeros_like(key, dtype=torch.bool), torch.zeros_like(key)
        position = torch.searchsorted(self.key, key).clamp(max=self.key.numel() - 1)
        return self.key[position] == key, position

    def changed_weights(self) -> None:
        """Drop the cached arrays after weights were changed in place."""
        self._directed = self._csr = None

    def add(self, key: Tensor, weight: Tensor) -> None:
        """Add new keys (not already present)."""
        if key.numel() == 0:
            return
        self.key, self.weight = _merge(self.key, self.weight, key, weight)
        if self._directed is not None:
            u, v = key // self.n, key % self.n
            self._directed = _merge(
                *self._directed,
                torch.cat([key, v * self.n + u]),
                torch.cat([weight, weight]),
            )
        self._csr = None

    def remove(self, key: Tensor) -> None:
        present, position = self.find(key)
        self.key, self.weight = _drop(position[present], self.key, self.weight)
        if self._directed is not None:
            gone = key[present]
            u, v = gone // self.n, gone % self.n
            directed, weight = self._directed
            drop = torch.searchsorted(directed, torch.cat([gone, v * self.n + u]))
            self._directed = _drop(drop, directed, weight)
        self._csr = None

    def csr(self) -> tuple[Tensor, Tensor, Tensor]:
        """``rowptr``, ``col`` and ``weight`` of the symmetric adjacency."""
        if self._csr is None:
            if self._directed is None:
                u, v = self.key // self.n, self.key % self.n
                directed = torch.cat([self.key, v * self.n + u])
                order = torch.argsort(directed)
                weight = torch.cat([self.weight, self.weight])[order]
                self._directed = directed[order], weight
            directed, weight = self._directed
            if directed.device.type == "cpu" and have_numba():
                from dyngraph.sparsify._kernels import csr_from_keys

                rowptr, col = map(
                    torch.from_numpy, csr_from_keys(directed.numpy(), self.n)
                )
                self._csr = (rowptr, col, weight)
                return self._csr
            row = directed // self.n
            rowptr = torch.zeros(self.n + 1, dtype=torch.long, device=row.device)
            rowptr[1:] = torch.bincount(row, minlength=self.n).cumsum(0)
            self._csr = (rowptr, directed % self.n, weight)
        return self._csr

    def components(self) -> Tensor:
        """``[n]`` int64 connected-component label of every vertex."""
        rowptr, col, _ = self.csr()
        adjacency = sp.csr_matrix(
            (
                np.ones(col.numel(), dtype=np.int8),
                col.cpu().numpy(),
                rowptr.cpu().numpy(),
            ),
            shape=(self.n, self.n),
        )
        # the adjacency is symmetric: weak components, no symmetrising copy
        _, label = csgraph.connected_components(
            adjacency, directed=True, connection="weak"
        )
        return torch.from_numpy(label.astype(np.int64)).to(rowptr.device)

    def scipy(self) -> sp.csr_matrix:
        u = (self.key // self.n).cpu().numpy()
        v = (self.key % self.n).cpu().numpy()
        w = self.weight.cpu().numpy()
        upper = sp.coo_matrix((w, (u, v)), shape=(self.n, self.n))
        matrix = (upper + upper.T).tocsr()
        matrix.sort_indices()
        return matrix


def _edge_set(matrix: sp.csr_matrix, device: torch.device) -> _EdgeSet:
    upper = sp.triu(matrix, k=1).tocoo()
    n = matrix.shape[0]
    key = torch.from_numpy(upper.row.astype(np.int64) * n + upper.col)
    weight = torch.from_numpy(upper.data.astype(np.float64))
    return _EdgeSet(n, key.to(device), weight.to(device))


class DynamicSparsifier:
    r"""A spectral sparsifier :math:`H \subseteq G` maintained by random walks.

    Parameters
    ----------
    graph : scipy.sparse matrix or int
        ``[V, V]`` symmetric weighted adjacency of the initial :math:`G`, or
        a number of vertices for an empty start.
    sparsifier : scipy.sparse matrix, optional
        Initial :math:`H`, a subgraph of :math:`G` (default: ``None``, built
        by :func:`~dyngraph.sparsify.initial_sparsifier` with ``off_tree``).
    budget : float
        Distortion budget :math:`K` of insertions (default: ``35.0``, the
        reference's value on Delaunay graphs).
    num_walkers : int
        Walkers per insertion (default: ``512``).
    max_steps : int
        Moves per insertion walker (default: ``100``).
    repair_walkers : int
        Walkers per deletion repair (default: ``512``).
    repair_steps : int
        Moves per repair walker (default: ``100``).
    max_batch : int, optional
        Insertions judged against one frozen :math:`H` (default:
        :math:`\max(\lceil 0.05 V\rceil, 10^4)`, the reference's chunk).
    off_tree : float
        Off-tree fraction of the initial sparsifier when none is given
        (default: ``0.10``).
    seed : int
        Seed of the walks; call :math:`c` uses a key derived from
        (``seed``, :math:`c`), so a saved and reloaded sparsifier continues
        the same sequence (default: ``0``).
    device : torch.device or str, optional
        Where the edge sets live and the walks run (default: CPU).
    """

    def __init__(
        self,
        graph: sp.spmatrix | int,
        sparsifier: sp.spmatrix | None = None,
        *,
        budget: float = 35.0,
        num_walkers: int = 512,
        max_steps: int = 100,
        repair_walkers: int = 512,
        repair_steps: int = 100,
        max_batch: int | None = None,
        off_tree: float = 0.10,
        seed: int = 0,
        device: torch.device | str | None = None,
    ) -> None:
        if not budget > 0:
            raise ValueError(f"`budget` must be positive, got {budget!r}")
        for name, value in (
            ("num_walkers", num_walkers),
            ("max_steps", max_steps),
            ("repair_walkers", repair_walkers),
            ("repair_steps", repair_steps),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"`{name}` must be a positive int, got {value!r}")
        self.device = torch.device(device or "cpu")
        if isinstance(graph, int) and not isinstance(graph, bool):
            if graph < 1:
                raise ValueError(f"`graph` as a vertex count must be >= 1, got {graph}")
            g = sp.csr_matrix((graph, graph))
        else:
            g = check_adjacency(graph, "graph")
        n = g.shape[0]
        if sparsifier is None:
            h = initial_sparsifier(g, off_tree=off_tree) if g.nnz else g
        else:
            h = check_adjacency(sparsifier, "sparsifier")
            if h.shape != g.shape:
                raise ValueError("`sparsifier` must have the shape of `graph`")
            if h.multiply(g != 0).nnz != h.nnz:
                raise ValueError("`sparsifier` has edges that are not in `graph`")
        self.budget = float(budget)
        self.num_walkers = num_walkers
        self.max_steps = max_steps
        self.repair_walkers = repair_walkers
        self.repair_steps = repair_steps
        self.max_batch = max_batch or max(-(-n // 20), 10_000)
        self.seed = seed
        self.num_nodes = n
        self._calls = 0
        self._g = _edge_set(g, self.device)
        self._h = _edge_set(h, self.device)
        self._labels: Tensor | None = None

    # ------------------------------------------------------------------ views
    @property
    def graph(self) -> sp.csr_matrix:
        """The current :math:`G` as a symmetric SciPy CSR adjacency."""
        return self._g.scipy()

    @property
    def sparsifier(self) -> sp.csr_matrix:
        """The current :math:`H` as a symmetric SciPy CSR adjacency."""
        return self._h.scipy()

    @property
    def num_graph_edges(self) -> int:
        """:math:`|E_G|`."""
        return self._g.key.numel()

    @property
    def num_sparsifier_edges(self) -> int:
        """:math:`|E_H|`."""
        return self._h.key.numel()

    @property
    def density(self) -> float:
        r"""Edges per node :math:`|E_H| / |V|` (the reference's "density")."""
        return self.num_sparsifier_edges / self.num_nodes

    # ---------------------------------------------------------------- updates
    def _keys(
        self, edges: EdgesLike, weights: EdgesLike | None, name: str
    ) -> tuple[Tensor, Tensor]:
        """Validate ``[2, k]`` edges; return unique keys and summed weights."""
        edges = torch.as_tensor(edges, device=self.device)
        if edges.dim() != 2 or edges.shape[0] != 2:
            raise ValueError(
                f"`{name}` must have shape [2, k], got {list(edges.shape)}"
            )
        if edges.dtype.is_floating_point or edges.dtype == torch.bool:
            raise TypeError(f"`{name}` must hold integer vertex ids, got {edges.dtype}")
        edges = edges.long()
        if edges.numel() and (
            int(edges.min()) < 0 or int(edges.max()) >= self.num_nodes
        ):
            raise ValueError(f"`{name}` has vertex ids outside [0, {self.num_nodes})")
        if bool((edges[0] == edges[1]).any()):
            raise ValueError(f"`{name}` contains self-loops")
        u, v = edges.min(0).values, edges.max(0).values
        key = u * self.num_nodes + v
        if weights is None:
            weight = torch.ones(key.numel(), dtype=torch.float64, device=self.device)
        else:
            weight = torch.as_tensor(weights, device=self.device).to(torch.float64)
            if weight.shape != key.shape:
                raise ValueError(
                    f"`weights` must have shape [{key.numel()}], "
                    f"got {list(weight.shape)}"
                )
            if not bool(torch.isfinite(weight).all()) or bool((weight <= 0).any()):
                raise ValueError("`weights` must be finite and positive")
        unique, inverse = torch.unique(key, return_inverse=True)
        summed = torch.zeros(unique.numel(), dtype=torch.float64, device=self.device)
        summed.index_add_(0, inverse, weight)
        return unique, summed

    def _next_seed(self) -> int:
        self._calls += 1
        return int(_hash32((self.seed & 0xFFFFFFFF) ^ _hash32(self._calls)))

    def insert(
        self, edges: EdgesLike, weights: EdgesLike | None = None
    ) -> UpdateReport:
        """Insert a batch of edges into :math:`G` and the critical ones into :math:`H`.

        Parameters
        ----------
        edges : Tensor or numpy.ndarray
            ``[2, k]`` vertex ids; order within a pair does not matter and
            repeated pairs have their weights summed.
        weights : Tensor or numpy.ndarray, optional
            ``[k]`` positive weights (default: ones).

        Returns
        -------
        UpdateReport
            Counts of this batch.
        """
        key, weight = self._keys(edges, weights, "edges")
        in_g, g_pos = self._g.find(key)
        if bool(in_g.any()):
            self._g.weight[g_pos[in_g]] += weight[in_g]
            in_h, h_pos = self._h.find(key[in_g])
            self._h.weight[h_pos[in_h]] += weight[in_g][in_h]
            self._g.changed_weights()
            self._h.changed_weights()
        key, weight = key[~in_g], weight[~in_g]
        self._g.add(key, weight)
        added, work = 0, 0
        for first in range(0, key.numel(), self.max_batch):
            chunk_key = key[first : first + self.max_batch]
            chunk_weight = weight[first : first + self.max_batch]
            rowptr, col, w = self._h.csr()
            source = chunk_key // self.num_nodes
            target = chunk_key % self.num_nodes
            labels = self._components()
            result = nonbacktracking_walks(
                rowptr,
                col,
                w,
                source,
                target,
                num_walkers=self.num_walkers,
                max_steps=self.max_steps,
                budget=self.budget,
                target_weight=chunk_weight,
                first_hit=True,
                seed=self._next_seed(),
                skip=labels[source] != labels[target],
            )
            work += result.walker_steps
            critical = ~result.found
            self._h.add(chunk_key[critical], chunk_weight[critical])
            self._join_components(chunk_key[critical])
            added += int(critical.sum())
        return UpdateReport(int(in_g.numel()), added, 0, work)

    def _components(self) -> Tensor:
        """Connected-component label of every vertex in :math:`H` (cached).

        A walk never leaves the component of its source, so an insertion
        whose ends have different labels (an end with no edge in :math:`H`
        included) is critical for every seed; :meth:`insert` skips its walks.
        """
        if self._labels is None:
            self._labels = self._h.components()
        return self._labels

    def _join_components(self, key: Tensor) -> None:
        """Update the cached labels after the edges ``key`` joined :math:`H`."""
        if self._labels is None or key.numel() == 0:
            return
        a = self._labels[key // self.num_nodes]
        b = self._labels[key % self.num_nodes]
        cross = a != b
        if not bool(cross.any()):
            return
        k = int(self._labels.max()) + 1
        a, b = a[cross].cpu().numpy(), b[cross].cpu().numpy()
        links = sp.coo_matrix((np.ones(a.size, dtype=np.int8), (a, b)), shape=(k, k))
        _, merged = csgraph.connected_components(links, directed=False)
        merged = torch.from_numpy(merged.astype(np.int64)).to(self.device)
        self._labels = merged[self._labels]

    def delete(self, edges: EdgesLike) -> UpdateReport:
        """Delete a batch of edges from :math:`G` and :math:`H`, repairing :math:`H`.

        Parameters
        ----------
        edges : Tensor or numpy.ndarray
            ``[2, m]`` vertex ids of edges present in :math:`G`.

        Returns
        -------
        UpdateReport
            Counts of this batch.
        """
        key, _ = self._keys(edges, None, "edges")
        in_g, _ = self._g.find(key)
        if not bool(in_g.all()):
            missing = key[~in_g][0]
            raise ValueError(
                f"`edges` contains ({int(missing // self.num_nodes)}, "
                f"{int(missing % self.num_nodes)}), which is not in the graph"
            )
        in_h, _ = self._h.find(key)
        self._g.remove(key)
        lost = key[in_h]
        self._h.remove(lost)
        if lost.numel() == 0:
            return UpdateReport(key.numel(), 0, 0, 0)
        rowptr, col, w = self._g.csr()
        source, target = lost // self.num_nodes, lost % self.num_nodes
        # ends that G no longer joins are found by no walk; the shortest-path
        # fallback below detects the cut
        result = nonbacktracking_walks(
            rowptr,
            col,
            w,
            source,
            target,
            num_walkers=self.repair_walkers,
            max_steps=self.repair_steps,
            return_paths=True,
            seed=self._next_seed(),
        )
        a, b = erase_loops(result.paths[result.found])
        path_keys = [torch.minimum(a, b) * self.num_nodes + torch.maximum(a, b)]
        failed = (~result.found).nonzero().squeeze(1)
        cut = False
        if failed.numel():
            keys, cut = self._shortest_paths(lost[failed])
            path_keys.append(keys)
        candidate = torch.unique(torch.cat(path_keys))
        present, _ = self._h.find(candidate)
        candidate = candidate[~present]
        _, position = self._g.find(candidate)
        self._h.add(candidate, self._g.weight[position])
        added = candidate.numel()
        if cut:
            self._labels = None  # H may have split; recomputed when needed
            bridges = self._reconnect()
            _, position = self._g.find(bridges)
            self._h.add(bridges, self._g.weight[position])
            added += bridges.numel()
        else:
            # every lost edge's ends are joined again by a path in H, so the
            # components of H can only have merged, along the added edges
            self._join_components(candidate)
        return UpdateReport(key.numel(), added, lost.numel(), result.walker_steps)

    def _shortest_paths(self, keys: Tensor, chunk: int = 64) -> tuple[Tensor, bool]:
        """Edges on minimum-resistance paths of :math:`G`; whether a pair was cut."""
        g = self._g.scipy()
        g.data = 1.0 / g.data
        sources = (keys // self.num_nodes).cpu().numpy()
        targets = (keys % self.num_nodes).cpu().numpy()
        found: list[int] = []
        cut = False
        for first in range(0, sources.size, chunk):
            part = slice(first, first + chunk)
            _, parent = csgraph.dijkstra(
                g, indices=sources[part], return_predecessors=True
            )
            for row, (source, target) in enumerate(
                zip(sources[part], targets[part], strict=True)
            ):
                cut |= bool(parent[row, target] < 0)
                node = target
                while parent[row, node] >= 0 and node != source:
                    step = parent[row, node]
                    found.append(min(node, step) * self.num_nodes + max(node, step))
                    node = step
        return torch.tensor(found, dtype=torch.long, device=self.device), cut

    def _reconnect(self) -> Tensor:
        """Edges of :math:`G` that join the pieces of :math:`H` within components of G.

        When deletions cut :math:`G` between the ends of a deleted edge of
        :math:`H`, no path can repair it, yet :math:`H` may have lost the
        only link of a vertex to the rest of its component of :math:`G`
        (e.g. a vertex whose one edge in :math:`H` went to a vertex that is
        now isolated). The components of :math:`H` are contracted and a
        maximum-weight spanning forest of the contracted :math:`G` is added,
        so :math:`H` spans every component of :math:`G` again.
        """
        g, h = self._g.scipy(), self._h.scipy()
        _, label = csgraph.connected_components(h, directed=False)
        upper = sp.triu(g, k=1).tocoo()
        a, b, w = label[upper.row], label[upper.col], upper.data
        cross = np.flatnonzero(a != b)
        if cross.size == 0:
            return torch.zeros(0, dtype=torch.long, device=self.device)
        cross = cross[np.argsort(-w[cross], kind="stable")]
        low, high = np.minimum(a[cross], b[cross]), np.maximum(a[cross], b[cross])
        k = int(label.max()) + 1
        pair, first = np.unique(low * k + high, return_index=True)
        best = cross[first]
        contracted = sp.coo_matrix((1.0 / w[best], (pair // k, pair % k)), shape=(k, k))
        forest = csgraph.minimum_spanning_tree(contracted).tocoo()
        link = forest.row.astype(np.int64) * k + forest.col
        chosen = best[np.searchsorted(pair, link)]
        keys = upper.row[chosen].astype(np.int64) * self.num_nodes + upper.col[chosen]
        return torch.from_numpy(keys).to(self.device)

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue: settings, both edge sets, the call count."""
        return {
            "num_nodes": self.num_nodes,
            "budget": self.budget,
            "num_walkers": self.num_walkers,
            "max_steps": self.max_steps,
            "repair_walkers": self.repair_walkers,
            "repair_steps": self.repair_steps,
            "max_batch": self.max_batch,
            "seed": self.seed,
            "calls": self._calls,
            "graph_key": self._g.key.cpu(),
            "graph_weight": self._g.weight.cpu(),
            "sparsifier_key": self._h.key.cpu(),
            "sparsifier_weight": self._h.weight.cpu(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` (onto this object's device)."""
        expected = set(self.state_dict())
        if set(state) != expected:
            raise KeyError(
                f"`state` keys differ: missing {sorted(expected - set(state))}, "
                f"unexpected {sorted(set(state) - expected)}"
            )
        n = int(state["num_nodes"])
        self.num_nodes = n
        self.budget = float(state["budget"])
        for name in (
            "num_walkers",
            "max_steps",
            "repair_walkers",
            "repair_steps",
            "max_batch",
            "seed",
        ):
            setattr(self, name, int(state[name]))
        self._calls = int(state["calls"])
        self._g = _EdgeSet(
            n,
            state["graph_key"].to(self.device),
            state["graph_weight"].to(self.device),
        )
        self._h = _EdgeSet(
            n,
            state["sparsifier_key"].to(self.device),
            state["sparsifier_weight"].to(self.device),
        )
        self._labels = None

    def save(self, path: str | Path) -> Path:
        """Write :meth:`state_dict` to ``path`` as a dyngraph checkpoint.

        The file is a :mod:`dyngraph.training.checkpoint` (tensors and
        primitives, written atomically).
        """
        return checkpoint.save(path, kind="DynamicSparsifier", state=self.state_dict())

    @classmethod
    def load(
        cls, path: str | Path, device: torch.device | str | None = None
    ) -> DynamicSparsifier:
        """Read a sparsifier written by :meth:`save` (never unpickles objects).

        Raises
        ------
        dyngraph.training.CheckpointError
            When ``path`` is not a DynamicSparsifier checkpoint.
        """
        state = checkpoint.load(path, kind="DynamicSparsifier").state
        new = cls(int(state["num_nodes"]), device=device)
        new.load_state_dict(state)
        return new


_STALL_ROUNDS = 8
"""Rounds of walks in a row without a new pair before the pairs are listed."""


def _draw_remaining(
    matrix: sp.csr_matrix,
    existing: set[int],
    chosen: dict[int, None],
    wanted: int,
    max_hops: int,
    rng: np.random.Generator,
) -> None:
    """Fill ``chosen`` from every pair 2 .. ``max_hops`` hops apart, or raise."""
    n = matrix.shape[0]
    step = (matrix != 0).astype(np.int8) + sp.identity(n, dtype=np.int8, format="csr")
    reach = step
    for _ in range(max_hops - 1):
        reach = ((reach @ step) != 0).astype(np.int8)
    upper = sp.triu(reach, k=1).tocoo()
    keys = upper.row.astype(np.int64) * n + upper.col
    taken = np.fromiter(existing | chosen.keys(), dtype=np.int64)
    free = keys[~np.isin(keys, taken)]
    available = len(chosen) + free.size
    if available < wanted:
        why = " (every component of the graph is a clique)" if not available else ""
        raise ValueError(
            f"local_edge_stream: cannot draw {wanted} insertions: only "
            f"{available} vertex pairs are 2..{max_hops} hops apart and not yet "
            f"adjacent{why}; lower insert_fraction to at most "
            f"{available / n:.3g} (or raise max_hops, when longer paths exist)"
        )
    for key in rng.choice(free, size=wanted - len(chosen), replace=False).tolist():
        chosen[key] = None


def local_edge_stream(
    adjacency: sp.spmatrix,
    *,
    insert_fraction: float = 0.25,
    delete_fraction: float = 0.01,
    batches: int = 10,
    max_hops: int = 3,
    seed: int = 0,
) -> list[tuple[str, np.ndarray]]:
    r"""Generate the reference protocol's stream: local insertions, then deletions.

    :math:`\mathrm{round}(\phi_+ V)` new edges join vertex pairs at
    :math:`2 \ldots` ``max_hops`` hops (ends of short random walks in
    :math:`G`, not already adjacent), with weight 1; then
    :math:`\mathrm{round}(\phi_- V)` distinct edges of the grown graph are
    deleted, drawn uniformly. Each phase is split into ``batches`` equal
    batches.

    Parameters
    ----------
    adjacency : scipy.sparse matrix
        ``[V, V]`` symmetric adjacency of :math:`G^{(0)}`.
    insert_fraction : float
        :math:`\phi_+` (default: ``0.25``).
    delete_fraction : float
        :math:`\phi_-` (default: ``0.01``).
    batches : int
        Batches per phase (default: ``10``).
    max_hops : int
        Longest walk that proposes an inserted pair, at least 2
        (default: ``3``).
    seed : int
        Randomness (default: ``0``).

    Returns
    -------
    list of (str, numpy.ndarray)
        ``("insert", [2, k])`` batches then ``("delete", [2, m])`` batches.

    Raises
    ------
    ValueError
        When fewer vertex pairs are 2 .. ``max_hops`` hops apart (and not
        yet adjacent) than insertions are asked for, e.g. in an edgeless or
        a complete graph, or fewer edges exist than deletions are asked
        for; the message says how many could be drawn. Also for a bad
        ``adjacency`` or option.

    Notes
    -----
    Every loop ends: when 8 rounds of walks in a row
    find no new pair, the pairs 2 .. ``max_hops`` hops apart are listed
    and the missing insertions are drawn uniformly among them (or the
    error above is raised when there are too few).
    """
    matrix = check_adjacency(adjacency, "adjacency")
    if max_hops < 2:
        raise ValueError(f"`max_hops` must be >= 2, got {max_hops}")
    if batches < 1:
        raise ValueError(f"`batches` must be >= 1, got {batches}")
    if not (0 <= insert_fraction and 0 <= delete_fraction):
        raise ValueError("`insert_fraction` and `delete_fraction` must be >= 0")
    n = matrix.shape[0]
    rng = np.random.default_rng(seed)
    degree = np.diff(matrix.indptr)
    upper = sp.triu(matrix, k=1).tocoo()
    existing = set((upper.row.astype(np.int64) * n + upper.col).tolist())
    wanted = round(insert_fraction * n)
    chosen: dict[int, None] = {}
    if wanted and not matrix.nnz:
        raise ValueError(
            f"local_edge_stream: cannot draw {wanted} insertions "
            f"(insert_fraction={insert_fraction:g} of {n} vertices): the graph "
            f"has no edges, so no vertex pair is 2..{max_hops} hops apart; "
            "pass a graph with edges or insert_fraction=0"
        )
    stalled = 0
    while len(chosen) < wanted:
        if stalled == _STALL_ROUNDS:
            _draw_remaining(matrix, existing, chosen, wanted, max_hops, rng)
            break
        before = len(chosen)
        start = rng.integers(0, n, size=2 * (wanted - len(chosen)) + 16)
        node = start[degree[start] > 0]
        end = node.copy()
        hops = rng.integers(2, max_hops + 1, size=node.size)
        for hop in range(max_hops):
            moving = (hops > hop) & (degree[end] > 0)
            offset = (rng.random(moving.sum()) * degree[end[moving]]).astype(np.int64)
            end[moving] = matrix.indices[matrix.indptr[end[moving]] + offset]
        low, high = np.minimum(node, end), np.maximum(node, end)
        for k in (low * n + high)[low != high].tolist():
            if k not in existing and k not in chosen:
                chosen[k] = None
                if len(chosen) == wanted:
                    break
        stalled = stalled + 1 if len(chosen) == before else 0
    inserted = np.fromiter(chosen, dtype=np.int64, count=len(chosen))
    grown = np.concatenate([np.fromiter(existing, dtype=np.int64), inserted])
    count = round(delete_fraction * n)
    if count > grown.size:
        raise ValueError(
            f"local_edge_stream: cannot draw {count} deletions "
            f"(delete_fraction={delete_fraction:g} of {n} vertices): the grown "
            f"graph has only {grown.size} edges; lower delete_fraction to at "
            f"most {grown.size / n:.3g}"
        )
    deleted = rng.choice(grown, size=count, replace=False)
    stream: list[tuple[str, np.ndarray]] = []
    for kind, keys in (("insert", inserted), ("delete", deleted)):
        for part in np.array_split(keys, batches):
            if part.size:
                stream.append((kind, np.stack([part // n, part % n])))
    return stream
