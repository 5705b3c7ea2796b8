r"""Negative sampling for temporal link prediction, and fixed negatives on disk.

A :class:`NegativeSampler` turns a batch of positive events
:math:`(s_b, d_b, t_b)` into ``Q`` negative destinations per event, returned
as a padded ``[B, Q]`` tensor plus a boolean mask (``False`` where no valid
candidate exists). The strategies follow DyGLib's definitions, restated per
source (the negative keeps the positive's source :math:`s_b`, so the output
is ``neg_dst`` only):

``"random"``
    :math:`d'` uniform over the candidate destinations :math:`D`.
``"historical"``
    :math:`d'` drawn without replacement from
    :math:`H_{s}(t_0) \setminus B_{s}`, the destinations that :math:`s`
    reached in the fitted history at times :math:`t \le t_0` (the batch's
    first time, DyGLib's rule) minus the destinations of :math:`s` in the
    batch itself; a shortfall is filled with random negatives that avoid
    :math:`B_s` (DyGLib's collision check).
``"inductive"``
    As ``"historical"`` but only over edges first seen after ``train_end``:
    :math:`\{d : t_{\mathrm{train}} < t^{\mathrm{first}}_{sd} \le t_0\}
    \setminus B_s`.
``"hist_rnd"``
    TGB's evaluation protocol (``py-tgb``'s ``NegativeEdgeGenerator``). With
    :math:`P_{s,t}` the destinations of the positives that share the row's
    source and time, :math:`H_s` the destinations :math:`s` reached anywhere
    in the fitted history (TGB: the training split) and
    :math:`h = \lfloor Q \rho \rfloor` (``hist_ratio`` :math:`\rho`), the row
    gets :math:`\min(h, |H_s \setminus P_{s,t}|)` historical negatives
    drawn without replacement from :math:`H_s \setminus P_{s,t}`, then
    :math:`\min(Q - \text{that}, |D \setminus (P_{s,t} \cup H_s)|)` random
    ones drawn without replacement from :math:`D \setminus (P_{s,t} \cup
    H_s)`; the rest of the row is masked. So history takes at most half
    (:math:`\rho = 0.5`) and never appears in the random half.

Two options change how ``"random"`` negatives are drawn: ``replace=False``
draws the ``Q`` negatives of a row without replacement (TGB's ``"rnd"``:
:math:`\min(Q, |D \setminus P_{s,t}|)` distinct ones), and
``exclusion="split"`` takes :math:`P_{s,t}` over all the positives given to
:meth:`NegativeSampler.fit` (TGB: the whole split being evaluated) instead
of over the batch. ``"hist_rnd"`` is always without replacement.

Nothing of size :math:`|S|\times|D|` is built: the history is stored as
per-source lists of unique destinations sorted by first occurrence (CSR
order), each "prefix up to :math:`t_0`" is found by binary search, and a
uniform draw from a contiguous range minus a sorted exclusion set maps an
offset :math:`u` to the :math:`u`-th non-excluded position in one
:func:`torch.searchsorted` (no rejection loop). Work per batch is
:math:`O(BQ\log E)` for ``Q = 1`` and :math:`O(BQ^2)` for the without-
replacement draw of the historical strategies.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
import torch
from torch import Tensor

from dyngraph.data.events import EventStream

__all__ = [
    "FixedNegatives",
    "NegativeSampler",
    "fix_negatives",
    "load_negatives",
    "stream_fingerprint",
]

Strategy = Literal["random", "historical", "inductive", "hist_rnd"]
Exclusion = Literal["batch", "split"]
_STRATEGIES = ("random", "historical", "inductive", "hist_rnd")
_KEY_LIMIT = 2**62
_FILE_VERSION = 1


def _lookup(sorted_keys: Tensor, queries: Tensor) -> tuple[Tensor, Tensor]:
    """Locate ``queries`` in sorted unique ``sorted_keys``: (position, found)."""
    pos = torch.searchsorted(sorted_keys, queries)
    if sorted_keys.numel() == 0:
        return pos, torch.zeros_like(queries, dtype=torch.bool)
    pos = pos.clamp(max=sorted_keys.numel() - 1)
    return pos, sorted_keys[pos] == queries


def _count_le(times: Tensor, value: Tensor) -> Tensor:
    """Count the entries of sorted ``times`` that are ``<= value`` (shape [1])."""
    if not times.is_floating_point() and value.is_floating_point():
        value = torch.floor(value)
    return torch.searchsorted(times, value.to(times.dtype), right=True)


def _uniform_below(count: Tensor, num: int, generator: torch.Generator) -> Tensor:
    """Draw ``[B, num]`` integers uniform in ``[0, count_b)`` (0 if empty).

    ``floor(r * c)`` with ``r`` a ``float64`` in ``[0, 1)`` is below ``c``
    for every integer ``c <= 2**53`` (round-to-nearest cannot reach ``c``).
    """
    rand = torch.rand(
        (count.numel(), num),
        generator=generator,
        device=count.device,
        dtype=torch.float64,
    )
    return (rand * count[:, None]).long()


def _skip_excluded(offset: Tensor, start: Tensor, excluded: Tensor) -> Tensor:
    r"""Map offsets to non-excluded integers.

    Returns, for row ``b`` and offset :math:`u`, the :math:`u`-th integer
    :math:`p \ge` ``start[b]`` (0-based) that is not in ``excluded``
    (sorted, unique). With :math:`e_0 < e_1 < \dots` the excluded values
    in the row's range, :math:`p = \mathrm{start} + u +
    |\{j : e_j - \mathrm{start} - j \le u\}|`; excluded values outside
    the range cancel out, so one global :func:`torch.searchsorted` over
    :math:`e_i - i` serves every row.
    """
    below = torch.searchsorted(excluded, start)
    shifted = excluded - torch.arange(excluded.numel(), device=excluded.device)
    query = offset + (start - below)[:, None]
    count = torch.searchsorted(shifted, query, right=True) - below[:, None]
    return start[:, None] + offset + count


def _distinct_offsets(count: Tensor, num: int, generator: torch.Generator) -> Tensor:
    """Draw ``num`` distinct offsets in ``[0, count_b)`` per row (Floyd).

    Rows with ``count_b < num`` get ``0 .. num - 1`` (the caller keeps the
    first ``count_b``). Floyd's algorithm: for ``j = count - num + i``,
    draw ``r`` uniform in ``[0, j]`` and take ``j`` if ``r`` was already
    taken; every ``num``-subset is equally likely (the order of the slots
    carries no meaning).
    """
    rand = torch.rand(
        (count.numel(), num),
        generator=generator,
        device=count.device,
        dtype=torch.float64,
    )
    full = count >= num
    out = torch.empty((count.numel(), num), dtype=torch.long, device=count.device)
    for i in range(num):
        top = (count - num + i).clamp(min=0)
        draw = (rand[:, i] * (top + 1)).long()
        if i:
            taken = (out[:, :i] == draw[:, None]).any(dim=1)
            draw = torch.where(taken, top, draw)
        out[:, i] = torch.where(full, draw, i)
    return out


def _random_excluding(
    group_key: Tensor,
    dst: Tensor,
    candidates: Tensor | None,
    num_candidates: int,
    num: int,
    generator: torch.Generator,
) -> tuple[Tensor, Tensor]:
    """Draw uniform candidates per row, avoiding the dsts of its group.

    Rows sharing ``group_key`` share the exclusion set ``{dst of the group's
    rows}``. Each group gets the virtual range ``[g * M, (g + 1) * M)`` so
    that :func:`_skip_excluded` handles all groups at once.
    """
    _, group = torch.unique(group_key, return_inverse=True)
    if candidates is None:
        pos, found = dst, torch.ones_like(dst, dtype=torch.bool)
    else:
        pos, found = _lookup(candidates, dst)
    start = group * num_candidates
    excluded = torch.unique((start + pos)[found])
    taken = torch.searchsorted(excluded, start + num_candidates) - torch.searchsorted(
        excluded, start
    )
    valid = num_candidates - taken
    offset = _uniform_below(valid, num, generator)
    picked = _skip_excluded(offset, start, excluded) - start[:, None]
    picked = picked.clamp(max=num_candidates - 1)
    neg = picked if candidates is None else candidates[picked]
    return neg, (valid > 0)[:, None].expand(-1, num)


def _random_avoiding_own(
    dst: Tensor,
    candidates: Tensor | None,
    num_candidates: int,
    num: int,
    generator: torch.Generator,
) -> tuple[Tensor, Tensor]:
    """Draw uniform candidates per row, avoiding only the row's own ``dst``.

    The special case of :func:`_random_excluding` where every group has one
    row (no two positives share a source and a time). A draw at position
    ``u`` uniform over all ``M`` candidates is kept unless it hits the
    row's positive; a hit is replaced by a draw uniform over the other
    ``M - 1`` positions (skipping ``u``, which *is* the positive's
    position), so every other candidate has probability
    ``1/M + 1/M * 1/(M-1) = 1/(M-1)``.
    """
    shape = (dst.numel(), num)
    draw = torch.randint(num_candidates, shape, generator=generator, device=dst.device)
    neg = draw if candidates is None else candidates[draw]
    hit = neg == dst[:, None]
    if num_candidates == 1:
        return neg, ~hit
    if bool(hit.any()):
        other = torch.randint(
            num_candidates - 1, shape, generator=generator, device=dst.device
        )
        other += other >= draw
        neg = torch.where(hit, other if candidates is None else candidates[other], neg)
    return neg, torch.ones(shape, dtype=torch.bool, device=dst.device)


def _unique_ids(ids: Tensor, num_nodes: int) -> Tensor:
    """Sorted unique node ids; by a presence mask when ``num_nodes`` is small."""
    if num_nodes > 4 * ids.numel():
        return torch.unique(ids)
    present = torch.zeros(num_nodes, dtype=torch.bool, device=ids.device)
    present[ids] = True
    return torch.nonzero(present).view(-1)


def _check_ids(name: str, value: Any) -> Tensor:
    ids = value if isinstance(value, Tensor) else torch.as_tensor(np.asarray(value))
    if ids.dim() != 1 or ids.numel() == 0:
        raise ValueError(f"`{name}` must be a non-empty 1-D list of node ids")
    if ids.is_floating_point() or ids.dtype == torch.bool or ids.is_complex():
        raise TypeError(f"`{name}` must hold integer node ids, got {ids.dtype}")
    ids = torch.unique(ids.long())
    if int(ids[0]) < 0:
        raise ValueError(f"`{name}` has a negative node id {int(ids[0])}")
    return ids


def _choose(
    count: Tensor, take: Tensor, num: int, generator: torch.Generator
) -> Tensor:
    """Offsets ``[B, num]`` whose first ``take_b`` entries are a uniform subset.

    Row ``b`` gets ``take_b <= min(count_b, num)`` distinct offsets in
    ``[0, count_b)`` in its first ``take_b`` columns, every such subset
    equally likely (a uniform ``min(count_b, num)``-subset by Floyd's
    algorithm, put in uniform random order, of which a prefix is taken);
    the other columns are arbitrary.
    """
    subset = _distinct_offsets(count, num, generator)
    size = count.clamp(max=num)
    key = torch.rand(subset.shape, generator=generator, device=count.device)
    slot = torch.arange(num, device=count.device)
    key = torch.where(slot[None, :] < size[:, None], key, 2.0)
    return subset.gather(1, key.argsort(dim=1))


def _row_exclusions(
    row_key: Tensor, pool_key: Tensor, pool_dst: Tensor
) -> tuple[Tensor, Tensor]:
    """Pairs ``(row, dst)``: the pool's destinations sharing the row's key.

    ``row_key`` ``[B, 2]`` and ``pool_key`` ``[P, 2]`` are ``(src, t)`` rows
    (``float64``); the result lists, for every row ``b``, each ``pool_dst``
    whose key equals ``row_key[b]`` (each once).
    """
    pool = torch.unique(torch.cat([pool_key, pool_dst.double()[:, None]], 1), dim=0)
    pool_key, pool_dst = pool[:, :2], pool[:, 2].long()
    keys, inverse = torch.unique(
        torch.cat([row_key, pool_key]), dim=0, return_inverse=True
    )
    row_group, pool_group = inverse[: row_key.size(0)], inverse[row_key.size(0) :]
    order = torch.argsort(pool_group, stable=True)
    counts = torch.bincount(pool_group, minlength=keys.size(0))
    ptr = torch.cumsum(counts, 0) - counts
    per_row = counts[row_group]
    device = row_key.device
    row = torch.repeat_interleave(torch.arange(row_key.size(0), device=device), per_row)
    first = torch.repeat_interleave(ptr[row_group], per_row)
    within = torch.arange(row.numel(), device=device) - torch.repeat_interleave(
        torch.cumsum(per_row, 0) - per_row, per_row
    )
    return row, pool_dst[order[first + within]]


def _segments(sorted_keys: Tensor, src: Tensor, n: int) -> tuple[Tensor, Tensor]:
    """Start and end of source ``src``'s pairs in sorted keys ``s * n + d``."""
    return (
        torch.searchsorted(sorted_keys, src * n),
        torch.searchsorted(sorted_keys, (src + 1) * n),
    )


class NegativeSampler:
    r"""Seedable negative sampler for temporal link prediction.

    See the module docstring for the strategies. For the ``"random"``
    strategy with ``exclude_positives=True`` a negative :math:`(s_b, d')`
    never equals a positive :math:`(s_b, d_{b'})` of the same batch with
    :math:`t_{b'} = t_b` (TGB's rule); it is drawn uniformly from the
    remaining candidates, exactly (no bounded rejection), and ``mask`` is
    ``False`` only where no candidate remains. Random negatives are drawn
    with replacement (as DyGLib and PyG) unless ``replace=False``;
    historical ones without.

    TGB's protocol is ``NegativeSampler("hist_rnd", 100,
    destinations=range(first_dst, last_dst + 1), exclusion="split")``
    fitted with ``fit(train, positives=split)`` for each evaluated split
    (``"random"`` with ``replace=False`` for TGB's ``"rnd"``). Rows keep
    their positives' order; a row holds fewer than ``Q`` valid negatives
    only where the candidates run out, as in TGB.

    Parameters
    ----------
    strategy : {"random", "historical", "inductive", "hist_rnd"}
        Sampling protocol (default: ``"random"``).
    num_negatives : int
        Negatives per positive, ``Q`` (default: ``1``).
    destinations : array-like of int, optional
        Candidate destinations :math:`D` for random draws (default: the
        unique destinations of the fitted history, or all nodes
        ``0 .. num_nodes - 1`` of the batch when not fitted).
    exclude_positives : bool
        Apply TGB's collision rule to random negatives (default: ``True``).
        The historical strategies always remove the batch's own edges, so
        ``False`` is only accepted with ``"random"``.
    replace : bool, optional
        Draw a row's random negatives with replacement (default: ``True``
        for ``"random"``; ``"hist_rnd"`` only accepts ``False``, the
        DyGLib strategies ``None``).
    exclusion : {"batch", "split"}
        Where the positives sharing a row's ``(src, t)`` come from: the
        batch (default), or every positive given to :meth:`fit` as
        ``positives`` plus the batch (TGB's rule; ``"random"`` and
        ``"hist_rnd"`` only).
    hist_ratio : float
        Share :math:`\rho` of a ``"hist_rnd"`` row that may come from
        history, at most :math:`\lfloor Q\rho \rfloor` (default: ``0.5``).
    seed : int, optional
        Seed of the sampler's own generator, used when :meth:`sample` gets
        no ``generator`` (default: ``None``, nondeterministic). The
        generator restarts from ``seed`` after :meth:`fit` and when the
        batches move to another device.

    Attributes
    ----------
    destinations_ : Tensor or None
        Sorted candidate destinations in use (``None``: all nodes).
    num_nodes_ : int
        Node count of the fitted history.
    num_history_edges_ : int
        Number of unique ``(src, dst)`` pairs in the history.
    train_end_ : float or None
        The ``train_end`` given to :meth:`fit`.

    Examples
    --------
    >>> stream = EventStream([0, 1, 2, 0], [1, 2, 0, 2], [0, 1, 2, 3])
    >>> sampler = NegativeSampler("historical", seed=0).fit(stream[:3])
    >>> neg, mask = sampler.sample(stream[3:])
    >>> neg.shape, bool(mask.all())
    (torch.Size([1, 1]), True)
    """

    def __init__(
        self,
        strategy: Strategy = "random",
        num_negatives: int = 1,
        *,
        destinations: Any = None,
        exclude_positives: bool = True,
        replace: bool | None = None,
        exclusion: Exclusion = "batch",
        hist_ratio: float = 0.5,
        seed: int | None = None,
    ) -> None:
        if strategy not in _STRATEGIES:
            raise ValueError(
                f"unknown strategy {strategy!r}; choose one of {_STRATEGIES}"
            )
        if (
            isinstance(num_negatives, bool)
            or not isinstance(num_negatives, int)
            or num_negatives < 1
        ):
            raise ValueError(
                f"`num_negatives` must be a positive integer, got {num_negatives!r}"
            )
        if not exclude_positives and strategy != "random":
            raise ValueError(
                f"strategy {strategy!r} always removes the batch's own edges "
                "(DyGLib's protocol); exclude_positives=False only applies to "
                "strategy='random'"
            )
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise TypeError(f"`seed` must be an int or None, got {seed!r}")
        tgb_like = strategy in ("random", "hist_rnd")
        if replace is None:
            replace = strategy == "random"
        elif not isinstance(replace, bool):
            raise TypeError(f"`replace` must be a bool or None, got {replace!r}")
        elif not tgb_like or (strategy == "hist_rnd" and replace):
            raise ValueError(
                f"replace={replace} does not apply to strategy {strategy!r}: "
                "'hist_rnd' always draws without replacement, and the DyGLib "
                "strategies keep their own rule (leave replace=None)"
            )
        if exclusion not in ("batch", "split"):
            raise ValueError(
                f"unknown exclusion {exclusion!r}; choose 'batch' or 'split'"
            )
        if exclusion == "split" and not tgb_like:
            raise ValueError(
                "exclusion='split' applies to strategies 'random' and 'hist_rnd'"
            )
        if exclusion == "split" and not exclude_positives:
            raise ValueError(
                "exclusion='split' excludes positives: it needs exclude_positives=True"
            )
        if (
            isinstance(hist_ratio, bool)
            or not isinstance(hist_ratio, int | float)
            or not 0.0 <= hist_ratio <= 1.0
        ):
            raise ValueError(f"`hist_ratio` must be in [0, 1], got {hist_ratio!r}")
        self.strategy = strategy
        self.num_negatives = num_negatives
        self.exclude_positives = exclude_positives
        self.replace = replace
        self.exclusion = exclusion
        self.hist_ratio = float(hist_ratio)
        self.seed = seed
        self._destinations = (
            None if destinations is None else _check_ids("destinations", destinations)
        )
        self.destinations_: Tensor | None = self._destinations
        self.num_nodes_: int | None = None
        self.num_history_edges_: int | None = None
        self.train_end_: float | None = None
        self._index: dict[str, Tensor] = (
            {} if self._destinations is None else {"destinations": self._destinations}
        )
        self._history: EventStream | None = None
        self._positives: EventStream | None = None
        self._generator: torch.Generator | None = None

    def __repr__(self) -> str:
        tgb = (
            f", replace={self.replace}, exclusion={self.exclusion!r}"
            if self.strategy in ("random", "hist_rnd")
            else ""
        )
        return (
            f"NegativeSampler(strategy={self.strategy!r}, "
            f"num_negatives={self.num_negatives}, "
            f"exclude_positives={self.exclude_positives}{tgb}, seed={self.seed})"
        )

    @property
    def is_fitted(self) -> bool:
        """Whether :meth:`fit` has been called."""
        return self._history is not None

    def fit(
        self,
        history: EventStream,
        train_end: float | None = None,
        *,
        positives: EventStream | None = None,
    ) -> NegativeSampler:
        r"""Record the history that the historical strategies sample from.

        Parameters
        ----------
        history : EventStream
            Events seen so far: for evaluation usually the full stream (the
            per-batch rule :math:`t \le t_0` keeps the future out), for
            training the training split. ``"hist_rnd"`` uses all of it, with
            no time bound (TGB: the training split).
        train_end : float, optional
            End of training time; required for ``"inductive"``, whose
            candidates are the edges first seen after it.
        positives : EventStream, optional
            The positives that ``exclusion="split"`` excludes (TGB: the
            whole split being evaluated); required with it.

        Returns
        -------
        NegativeSampler
            ``self``.
        """
        if not isinstance(history, EventStream):
            raise TypeError(
                f"`history` must be an EventStream, got {type(history).__name__}"
            )
        if self.strategy == "inductive" and train_end is None:
            raise ValueError(
                "strategy='inductive' needs `train_end` (the last training "
                "time): fit(history, train_end=split.val_time)"
            )
        if self.exclusion == "split" and positives is None:
            raise ValueError(
                "exclusion='split' needs the split's positives: "
                "fit(history, positives=split_events)"
            )
        if positives is not None and not isinstance(positives, EventStream):
            raise TypeError(
                f"`positives` must be an EventStream, got {type(positives).__name__}"
            )
        n, e = history.num_nodes, history.num_events
        device = history.device
        self._index = {}
        if self.strategy == "hist_rnd":
            if n * n >= _KEY_LIMIT:
                raise ValueError(f"history too large for int64 pair keys ({n} nodes)")
            keys = torch.unique(history.src * n + history.dst)
            self._index = {"pair_key": keys}
            self.num_history_edges_ = int(keys.numel())
        elif self.strategy != "random":
            if n * n >= _KEY_LIMIT or n * e >= _KEY_LIMIT:
                raise ValueError(
                    f"history too large for int64 pair keys ({n} nodes, {e} events)"
                )
            pair = history.src * n + history.dst
            keys, inverse = torch.unique(pair, return_inverse=True)
            first = torch.full((keys.numel(),), e, dtype=torch.long, device=device)
            first.scatter_reduce_(
                0, inverse, torch.arange(e, device=device), reduce="amin"
            )
            seg_key = (keys // n) * e + first
            order = torch.argsort(seg_key)
            pair_pos = torch.empty_like(order)
            pair_pos[order] = torch.arange(order.numel(), device=device)
            self._index = {
                "seg_key": seg_key[order],
                "hist_dst": (keys % n)[order],
                "pair_key": keys,
                "pair_pos": pair_pos,
                "hist_t": history.t.contiguous(),
            }
            if train_end is not None:
                bound = torch.tensor([float(train_end)], dtype=torch.float64)
                self._index["train_count"] = _count_le(
                    self._index["hist_t"], bound.to(device)
                )
            self.num_history_edges_ = int(keys.numel())
        self.destinations_ = (
            self._destinations
            if self._destinations is not None
            else _unique_ids(history.dst, n)
        )
        self._index["destinations"] = self.destinations_.to(device)
        if positives is not None and self.exclusion == "split":
            self._index["pos_key"] = torch.stack(
                [positives.src.double(), positives.t.double()], dim=1
            ).to(device)
            self._index["pos_dst"] = positives.dst.to(device)
        self.num_nodes_ = n
        self.train_end_ = None if train_end is None else float(train_end)
        self._history = history
        self._positives = positives
        self._generator = None
        return self

    def _index_on(self, device: torch.device) -> dict[str, Tensor]:
        if any(v.device != device for v in self._index.values()):
            self._index = {k: v.to(device) for k, v in self._index.items()}
        return self._index

    def _generator_for(
        self, device: torch.device, generator: torch.Generator | None
    ) -> torch.Generator:
        if generator is not None:
            if generator.device.type != device.type:
                raise ValueError(
                    f"the generator is on {generator.device} but the batch is "
                    f"on {device}; create it with torch.Generator(device=...)"
                )
            return generator
        if self._generator is None or self._generator.device != device:
            self._generator = torch.Generator(device=device)
            if self.seed is None:
                self._generator.seed()
            else:
                self._generator.manual_seed(self.seed)
        return self._generator

    def sample(
        self, batch: EventStream, generator: torch.Generator | None = None
    ) -> tuple[Tensor, Tensor]:
        """Draw negative destinations for every event of ``batch``.

        Parameters
        ----------
        batch : EventStream
            The positive events (a contiguous batch, sorted by time).
        generator : torch.Generator, optional
            Source of randomness on the batch's device (default: the
            sampler's own generator, seeded with ``seed``).

        Returns
        -------
        neg_dst : Tensor
            ``int64`` node ids with shape ``[B, Q]`` on the batch's device.
            Entries where ``mask`` is ``False`` hold an arbitrary valid id.
        mask : Tensor
            ``bool`` with shape ``[B, Q]``: ``False`` where no valid
            candidate existed.
        """
        if not isinstance(batch, EventStream):
            raise TypeError(
                f"`batch` must be an EventStream, got {type(batch).__name__}"
            )
        if (self.strategy != "random" or self.exclusion == "split") and (
            not self.is_fitted
        ):
            raise RuntimeError(
                f"strategy {self.strategy!r} samples from a history: call "
                "sampler.fit(history) before sample()"
            )
        if self.num_nodes_ is not None and batch.num_nodes > self.num_nodes_:
            raise ValueError(
                f"the batch has num_nodes={batch.num_nodes} but the sampler "
                f"was fitted on a history with {self.num_nodes_}; fit on a "
                "stream over the same nodes"
            )
        device = batch.device
        gen = self._generator_for(device, generator)
        q, b = self.num_negatives, batch.num_events
        if b == 0:
            return (
                torch.empty((0, q), dtype=torch.long, device=device),
                torch.empty((0, q), dtype=torch.bool, device=device),
            )
        index = self._index_on(device)
        candidates = index.get("destinations")
        num_candidates = batch.num_nodes if candidates is None else candidates.numel()
        if b * max(num_candidates, batch.num_nodes) >= _KEY_LIMIT:
            raise ValueError(
                "batch too large for int64 group keys; use smaller batches"
            )
        if self.strategy == "hist_rnd" or (
            self.strategy == "random"
            and (not self.replace or self.exclusion == "split")
        ):
            return self._sample_tgb(batch, index, candidates, num_candidates, gen)
        if self.strategy == "random":
            if not self.exclude_positives:
                offset = torch.randint(
                    num_candidates, (b, q), generator=gen, device=device
                )
                neg = offset if candidates is None else candidates[offset]
                return neg, torch.ones_like(neg, dtype=torch.bool)
            change = batch.t[1:] != batch.t[:-1]
            if not bool(change.all()):
                # a stable sort by source keeps time order within a source,
                # so positives sharing (src, t) become neighbours
                by_src, order = torch.sort(batch.src, stable=True)
                t_by_src = batch.t[order]
                same = (by_src[1:] == by_src[:-1]) & (t_by_src[1:] == t_by_src[:-1])
                if bool(same.any()):
                    run = torch.zeros(b, dtype=torch.long, device=device)
                    run[1:] = torch.cumsum(change, dim=0)
                    group = run * batch.num_nodes + batch.src
                    return _random_excluding(
                        group, batch.dst, candidates, num_candidates, q, gen
                    )
            return _random_avoiding_own(batch.dst, candidates, num_candidates, q, gen)
        return self._sample_history(batch, index, candidates, num_candidates, gen)

    def _sample_tgb(
        self,
        batch: EventStream,
        index: dict[str, Tensor],
        candidates: Tensor | None,
        num_candidates: int,
        gen: torch.Generator,
    ) -> tuple[Tensor, Tensor]:
        """TGB's rules: per-row exclusions, optional history half, no repeats."""
        q, b, device = self.num_negatives, batch.num_events, batch.device
        src, dst = batch.src, batch.dst
        row_key = torch.stack([src.double(), batch.t.double()], dim=1)
        pool_key, pool_dst = row_key, dst
        if self.exclusion == "split":
            pool_key = torch.cat([index["pos_key"], row_key])
            pool_dst = torch.cat([index["pos_dst"], dst])
        if self.exclude_positives:
            row, excl = _row_exclusions(row_key, pool_key, pool_dst)
        else:
            row = excl = src[:0]
        slots = torch.arange(q, device=device)[None, :]
        take_hist = torch.zeros(b, dtype=torch.long, device=device)
        hist_neg = torch.zeros((b, q), dtype=torch.long, device=device)
        rnd_row, rnd_excl = row, excl
        if self.strategy == "hist_rnd":
            n = self.num_nodes_
            assert n is not None
            keys = index["pair_key"]
            lo, hi = _segments(keys, src, n)
            # history positions held by the row's positives, per row
            pos, found = _lookup(keys, src[row] * n + excl)
            span = keys.numel()
            held = torch.unique(row[found] * span + pos[found])
            base = torch.arange(b, device=device) * span
            taken = torch.searchsorted(held, base + hi) - torch.searchsorted(
                held, base + lo
            )
            valid = hi - lo - taken
            take_hist = valid.clamp(max=int(q * self.hist_ratio))
            offset = _choose(valid, take_hist, q, gen)
            picked = _skip_excluded(offset, base + lo, held) - base[:, None]
            hist_neg = keys[picked.clamp(min=0, max=max(span - 1, 0))] % n
            # the random half avoids the whole history of the source
            per_row = hi - lo
            hist_row = torch.repeat_interleave(torch.arange(b, device=device), per_row)
            start = torch.repeat_interleave(lo, per_row)
            within = torch.arange(hist_row.numel(), device=device) - (
                torch.repeat_interleave(torch.cumsum(per_row, 0) - per_row, per_row)
            )
            rnd_row = torch.cat([row, hist_row])
            rnd_excl = torch.cat([excl, keys[start + within] % n])
        if candidates is None:
            pos, found = rnd_excl, rnd_excl < num_candidates
        else:
            pos, found = _lookup(candidates, rnd_excl)
        start = torch.arange(b, device=device) * num_candidates
        held = torch.unique((start[rnd_row] + pos)[found])
        taken = torch.searchsorted(held, start + num_candidates) - torch.searchsorted(
            held, start
        )
        valid = num_candidates - taken
        if self.replace:
            take_rnd = torch.where(valid > 0, q, 0)
            offset = _uniform_below(valid, q, gen)
        else:
            take_rnd = torch.minimum(q - take_hist, valid)
            offset = _choose(valid, take_rnd, q, gen)
        picked = _skip_excluded(offset, start, held) - start[:, None]
        picked = picked.clamp(min=0, max=num_candidates - 1)
        rnd_neg = picked if candidates is None else candidates[picked]
        # row layout: take_hist historical, then take_rnd random, then padding
        from_hist = slots < take_hist[:, None]
        rnd_slot = (slots - take_hist[:, None]).clamp(min=0)
        neg = torch.where(from_hist, hist_neg, rnd_neg.gather(1, rnd_slot))
        mask = slots < (take_hist + take_rnd)[:, None]
        return neg, mask

    def _sample_history(
        self,
        batch: EventStream,
        index: dict[str, Tensor],
        candidates: Tensor | None,
        num_candidates: int,
        gen: torch.Generator,
    ) -> tuple[Tensor, Tensor]:
        q, n = self.num_negatives, self.num_nodes_
        assert n is not None
        src, dst = batch.src, batch.dst
        seg_key, hist_dst = index["seg_key"], index["hist_dst"]
        num_events = index["hist_t"].numel()
        base = src * num_events
        seen = _count_le(index["hist_t"], batch.t[:1])
        hi = torch.searchsorted(seg_key, base + seen)
        if self.strategy == "inductive":
            lo = torch.searchsorted(seg_key, base + index["train_count"])
        else:
            lo = torch.searchsorted(seg_key, base)
        pos, found = _lookup(index["pair_key"], src * n + dst)
        excluded = torch.unique(index["pair_pos"][pos][found])
        taken = torch.searchsorted(excluded, hi) - torch.searchsorted(excluded, lo)
        valid = hi - lo - taken  # <= 0 when the batch starts before train_end
        offset = _distinct_offsets(valid, q, gen)
        from_history = torch.arange(q, device=src.device)[None, :] < valid[:, None]
        picked = _skip_excluded(offset, lo, excluded).clamp(max=hist_dst.numel() - 1)
        fill, fill_mask = _random_excluding(
            src, dst, candidates, num_candidates, q, gen
        )
        neg = torch.where(from_history, hist_dst[picked], fill)
        return neg, from_history | fill_mask


class FixedNegatives(NamedTuple):
    """Negatives fixed on disk: ``neg_dst`` and ``mask`` ``[E, Q]``, settings."""

    neg_dst: Tensor
    mask: Tensor
    settings: dict[str, Any]


def stream_fingerprint(stream: EventStream) -> str:
    """SHA-256 of a stream's ``src``, ``dst`` and ``t`` (with sizes and dtype).

    Parameters
    ----------
    stream : EventStream
        The stream to fingerprint.

    Returns
    -------
    str
        64 hexadecimal digits; equal streams (same events in the same order
        and the same ``num_nodes``) give equal fingerprints.
    """
    digest = hashlib.sha256()
    head = f"dyngraph-events|{stream.num_nodes}|{stream.num_events}|{stream.t.dtype}"
    digest.update(head.encode())
    for field in (stream.src, stream.dst, stream.t):
        digest.update(np.ascontiguousarray(field.detach().cpu().numpy()))
    return digest.hexdigest()


def _ids_fingerprint(ids: Tensor | None) -> str | None:
    if ids is None:
        return None
    return hashlib.sha256(np.ascontiguousarray(ids.cpu().numpy())).hexdigest()


def fix_negatives(
    stream: EventStream,
    sampler: NegativeSampler,
    path: str | os.PathLike[str],
    *,
    seed: int = 0,
    batch_size: int | None = 200,
) -> FixedNegatives:
    """Sample evaluation negatives once and save them atomically.

    The stream is cut into the same consecutive batches as
    ``TemporalBatchLoader(stream, batch_size)`` (``None``: one batch), each
    batch is sampled with one generator seeded by ``seed``, and the result
    is written to ``path`` (NumPy ``.npz``: ``neg_dst``, ``mask`` and a JSON
    ``settings`` record holding the stream's :func:`stream_fingerprint`, the
    sampler's settings and the fingerprint of its fitted history). The file
    is written to a temporary name in the same folder and moved into place
    with :func:`os.replace`, so a crash never leaves a partial file.

    Parameters
    ----------
    stream : EventStream
        The positives to evaluate (e.g. the test split).
    sampler : NegativeSampler
        A sampler, fitted if its strategy needs history.
    path : str or PathLike
        Output file (parent folders are created).
    seed : int
        Seed of the sampling generator (default: ``0``).
    batch_size : int, optional
        Batch size that defines "the batch" for the historical strategies
        and the collision rule (default: ``200``).

    Returns
    -------
    FixedNegatives
        What was saved.
    """
    if batch_size is not None and (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, int)
        or batch_size < 1
    ):
        raise ValueError(
            f"`batch_size` must be a positive int or None, got {batch_size!r}"
        )
    size = stream.num_events if batch_size is None else batch_size
    generator = torch.Generator(device=stream.device).manual_seed(int(seed))
    parts = [
        sampler.sample(stream[a : a + size], generator=generator)
        for a in range(0, stream.num_events, size)
    ]
    neg_dst = torch.cat([p[0] for p in parts])
    mask = torch.cat([p[1] for p in parts])
    history = sampler._history
    settings: dict[str, Any] = {
        "format_version": _FILE_VERSION,
        "stream_fingerprint": stream_fingerprint(stream),
        "num_events": stream.num_events,
        "num_nodes": stream.num_nodes,
        "strategy": sampler.strategy,
        "num_negatives": sampler.num_negatives,
        "exclude_positives": sampler.exclude_positives,
        "destinations_sha256": _ids_fingerprint(sampler.destinations_),
        "history_fingerprint": None if history is None else stream_fingerprint(history),
        "train_end": sampler.train_end_,
        "seed": int(seed),
        "batch_size": batch_size,
    }
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(
                handle,
                neg_dst=neg_dst.cpu().numpy(),
                mask=mask.cpu().numpy(),
                settings=np.array(json.dumps(settings)),
            )
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return FixedNegatives(neg_dst, mask, settings)


def load_negatives(path: str | os.PathLike[str], stream: EventStream) -> FixedNegatives:
    """Load negatives saved by :func:`fix_negatives` for ``stream``.

    Parameters
    ----------
    path : str or PathLike
        The ``.npz`` file.
    stream : EventStream
        The stream the negatives are for; its fingerprint must match the
        one recorded in the file.

    Returns
    -------
    FixedNegatives
        ``neg_dst`` and ``mask`` on the stream's device, and the settings.

    Raises
    ------
    ValueError
        If the file was made for a different stream, or is not a dyngraph
        negatives file.
    """
    with np.load(path, allow_pickle=False) as data:
        missing = {"neg_dst", "mask", "settings"} - set(data.files)
        if missing:
            raise ValueError(
                f"{path} is not a dyngraph negatives file (missing {sorted(missing)}); "
                "create it with fix_negatives()"
            )
        settings = json.loads(str(data["settings"]))
        neg_dst, mask = data["neg_dst"], data["mask"]
    expected = stream_fingerprint(stream)
    if settings.get("stream_fingerprint") != expected:
        raise ValueError(
            f"the negatives in {path} were fixed for a different stream "
            f"(fingerprint {str(settings.get('stream_fingerprint'))[:12]}..., this "
            f"stream {expected[:12]}...); regenerate them with fix_negatives() "
            "or pass the stream they were made for"
        )
    return FixedNegatives(
        torch.from_numpy(neg_dst).to(stream.device),
        torch.from_numpy(mask).to(stream.device),
        settings,
    )
