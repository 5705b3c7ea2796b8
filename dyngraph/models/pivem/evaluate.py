r"""Evaluation of PiVeM: reconstruction, completion and future link prediction.

The protocol follows the PiVeM paper's reference experiments:

1. :func:`evaluation_split` maps times to :math:`[0, 1]`, keeps the events
   with :math:`t \le T = 1 - r_\text{future}` for training (the model's
   horizon is :math:`T`) and the rest as the *future* set, and masks a
   random fraction of all node pairs (their training-period events form the
   *completion* set and are hidden from the model).
2. :func:`link_instances` builds the labelled windows of a task: a positive
   is :math:`(i, j, [t_e - r, t_e + r])` around a real event (at most
   ``max_positives`` of them); a negative is a random pair and a random
   window of the same length containing no event of that pair; 1:1.
3. Every method scores a window by its expected number of events; for
   PiVeM that is :math:`\int_{t_0}^{t_1}\lambda_{ij}(t)\,dt`. Future windows
   lie past the training horizon and are scored by a forecast rule of
   :meth:`PiVeM.forecast` (default ``"diffuse"``: recency-weighted rates
   with positions that spread past the last observation as far as the
   fitted trajectories move; also ``"recent"``, the recency-weighted rate
   of the observed training period, ``"static"``, positions frozen at
   :math:`x_i(T)`, ``"last_velocity"`` and the reference's
   ``"integrated"``, the whole-period rate).
4. ROC-AUC and average precision from :mod:`dyngraph.metrics`.

Baselines in the same run: the static latent distance model (PiVeM with
all velocities fixed at zero), historical event counts of the pair, and
preferential attachment (product of the endpoints' training event counts).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from dyngraph import baselines
from dyngraph.data.events import EventStream
from dyngraph.metrics import average_precision, roc_auc
from dyngraph.models.pivem.model import (
    FORECAST_RULES,
    PiVeM,
    _isin_sorted,
    to_unit_interval,
)

__all__ = [
    "EvaluationSplit",
    "LinkInstances",
    "evaluate",
    "evaluation_split",
    "historical_count_scores",
    "link_instances",
    "model_scores",
    "preferential_attachment_scores",
    "score_tasks",
]

TASKS = ("reconstruction", "completion", "future")


@dataclass(frozen=True)
class EvaluationSplit:
    """Training events and held-out sets of :func:`evaluation_split`.

    Attributes
    ----------
    train : EventStream
        Observed training events (masked pairs removed), ``src < dst``,
        times in ``[0, horizon]``.
    completion : EventStream
        Training-period events of the masked pairs.
    future : EventStream
        Events after the horizon, times in ``(horizon, 1]``, between nodes
        active in training.
    masked_pairs : Tensor
        Sorted keys :math:`iN + j` (:math:`i < j`) of the masked pairs.
    horizon : float
        End :math:`T` of the training period (normalised time).
    time_range : tuple of float
        The original start and end times mapped to 0 and 1.
    """

    train: EventStream
    completion: EventStream
    future: EventStream
    masked_pairs: Tensor
    horizon: float
    time_range: tuple[float, float]

    @property
    def num_nodes(self) -> int:
        """Number of nodes."""
        return self.train.num_nodes


@dataclass(frozen=True)
class LinkInstances:
    """Labelled windows :math:`(i, j, [t_0, t_1])` of one task.

    Attributes
    ----------
    row, col : Tensor
        Pair endpoints (``row < col``), ``[M]``.
    t0, t1 : Tensor
        Window bounds, ``[M]`` (float64).
    label : Tensor
        1 for a window around an event, 0 for an empty one, ``[M]``.
    """

    row: Tensor
    col: Tensor
    t0: Tensor
    t1: Tensor
    label: Tensor


def _undirected(stream: EventStream) -> EventStream:
    keep = stream.src != stream.dst
    return EventStream(
        torch.minimum(stream.src, stream.dst)[keep],
        torch.maximum(stream.src, stream.dst)[keep],
        stream.t[keep],
        num_nodes=stream.num_nodes,
        name=stream.name,
        assume_sorted=True,
    )


def _random_pairs(
    nodes: Tensor, num: int, num_nodes: int, gen: torch.Generator
) -> Tensor:
    """Keys of ``num`` uniformly random pairs ``i < j`` among ``nodes``."""
    a = nodes[torch.randint(nodes.numel(), (num,), generator=gen)]
    b = nodes[torch.randint(nodes.numel(), (num,), generator=gen)]
    keep = a != b
    return torch.minimum(a, b)[keep] * num_nodes + torch.maximum(a, b)[keep]


def evaluation_split(
    stream: EventStream,
    *,
    future_ratio: float = 0.1,
    mask_ratio: float = 0.2,
    seed: int = 0,
) -> EvaluationSplit:
    r"""Split a stream for the three PiVeM tasks.

    Times are mapped to :math:`[0, 1]`; events become undirected and
    self-loops are dropped. A fraction ``mask_ratio`` of all pairs among the
    nodes active before the horizon is masked at random, except pairs that
    would leave a node without any observed training event.

    Parameters
    ----------
    stream : EventStream
        The events, in any time unit.
    future_ratio : float
        Final fraction of the (normalised) time range held out for future
        prediction (default: ``0.1``).
    mask_ratio : float
        Fraction of pairs masked for completion (default: ``0.2``).
    seed : int
        Seed of the mask (default: ``0``).

    Returns
    -------
    EvaluationSplit
        The split.
    """
    if not 0 < future_ratio < 1 or not 0 <= mask_ratio < 1:
        raise ValueError(
            "evaluation_split needs 0 < future_ratio < 1 and 0 <= mask_ratio < 1, "
            f"got {future_ratio}, {mask_ratio}"
        )
    unit, t0, t1 = to_unit_interval(stream)
    events = _undirected(unit)
    n = events.num_nodes
    horizon = 1.0 - future_ratio
    split_at = int(torch.searchsorted(events.t, torch.tensor([horizon]), right=True))
    before, after = events[:split_at], events[split_at:]
    active = before.active_nodes()
    gen = torch.Generator().manual_seed(seed)
    pairs_total = active.numel() * (active.numel() - 1) // 2
    want = int(round(mask_ratio * pairs_total))
    masked = torch.empty(0, dtype=torch.long)
    while masked.numel() < want:
        fresh = _random_pairs(active, 2 * (want - masked.numel()) + 16, n, gen)
        masked = torch.unique(torch.cat([masked, fresh]))
    masked = masked[torch.randperm(masked.numel(), generator=gen)[:want]]
    masked = torch.sort(masked).values
    key = before.src * n + before.dst
    hidden = _isin_sorted(key, masked)
    seen = torch.zeros(n, dtype=torch.long)
    seen.index_add_(0, before.src[~hidden], torch.ones_like(before.src[~hidden]))
    seen.index_add_(0, before.dst[~hidden], torch.ones_like(before.dst[~hidden]))
    lonely = torch.zeros(n, dtype=torch.bool)
    lonely[active] = seen[active] == 0
    masked = masked[~(lonely[masked // n] | lonely[masked % n])]
    hidden = _isin_sorted(key, masked)
    in_train = torch.zeros(n, dtype=torch.bool)
    in_train[active] = True
    future = after[torch.nonzero(in_train[after.src] & in_train[after.dst]).view(-1)]
    return EvaluationSplit(
        train=before[torch.nonzero(~hidden).view(-1)],
        completion=before[torch.nonzero(hidden).view(-1)],
        future=future,
        masked_pairs=masked,
        horizon=horizon,
        time_range=(t0, t1),
    )


def link_instances(
    events: EventStream,
    time_range: tuple[float, float],
    sample_pairs: Callable[[int, torch.Generator], Tensor],
    *,
    radius: float = 1e-3,
    max_positives: int = 10_000,
    seed: int = 0,
) -> LinkInstances:
    r"""Positive and 1:1 negative windows of one task.

    Parameters
    ----------
    events : EventStream
        The task's events (``src < dst``); positives are windows
        :math:`[t_e - r, t_e + r] \cap` ``time_range`` around them.
    time_range : tuple of float
        Where windows may lie.
    sample_pairs : callable
        ``sample_pairs(num, generator)`` returns keys :math:`iN + j` of
        candidate negative pairs.
    radius : float
        Half-width :math:`r` of a window (default: ``1e-3``).
    max_positives : int
        At most this many positives, drawn at random (default: ``10000``).
    seed : int
        Randomness (default: ``0``).

    Returns
    -------
    LinkInstances
        Positives first, then as many negatives.
    """
    if events.num_events == 0:
        raise ValueError("link_instances: the task has no events")
    gen = torch.Generator().manual_seed(seed)
    n = events.num_nodes
    lo, hi = time_range
    pick = torch.randperm(events.num_events, generator=gen)[:max_positives]
    pick = torch.sort(pick).values
    t = events.t[pick].to(torch.float64)
    pos_row, pos_col = events.src[pick], events.dst[pick]
    # events sorted by (pair, time): key * 4 + t with t in [0, 1]
    order = (events.src * n + events.dst).double() * 4 + events.t.double()
    order = torch.sort(order).values
    num = pick.numel()
    keys = torch.empty(0, dtype=torch.long)
    centres = torch.empty(0, dtype=torch.float64)
    while keys.numel() < num:
        cand = sample_pairs(2 * (num - keys.numel()) + 16, gen)
        centre = lo + (hi - lo) * torch.rand(
            cand.numel(), generator=gen, dtype=torch.float64
        )
        a = (centre - radius).clamp(min=lo)
        b = (centre + radius).clamp(max=hi)
        base = cand.double() * 4
        inside = torch.searchsorted(order, base + b, right=True) - torch.searchsorted(
            order, base + a
        )
        keep = inside == 0
        keys = torch.cat([keys, cand[keep]])[:num]
        centres = torch.cat([centres, centre[keep]])[:num]
    return LinkInstances(
        row=torch.cat([pos_row, keys // n]),
        col=torch.cat([pos_col, keys % n]),
        t0=torch.cat([(t - radius).clamp(min=lo), (centres - radius).clamp(min=lo)]),
        t1=torch.cat([(t + radius).clamp(max=hi), (centres + radius).clamp(max=hi)]),
        label=torch.cat([torch.ones(num), torch.zeros(num)]).long(),
    )


def score_tasks(
    split: EvaluationSplit,
    *,
    radius: float = 1e-3,
    max_positives: int = 10_000,
    seed: int = 0,
) -> dict[str, LinkInstances]:
    """Build the reconstruction, completion and future instances of a split.

    Reconstruction negatives are observed pairs (never masked) with an empty
    window in the training period, completion negatives are masked pairs,
    future negatives are any pairs of training-active nodes.
    """
    n = split.num_nodes
    active = split.train.active_nodes()
    masked = split.masked_pairs

    def observed(num: int, gen: torch.Generator) -> Tensor:
        keys = _random_pairs(active, num, n, gen)
        return keys[~_isin_sorted(keys, masked)]

    def hidden(num: int, gen: torch.Generator) -> Tensor:
        return masked[torch.randint(masked.numel(), (num,), generator=gen)]

    def anyone(num: int, gen: torch.Generator) -> Tensor:
        return _random_pairs(active, num, n, gen)

    kw: dict[str, Any] = {"radius": radius, "max_positives": max_positives}
    out = {
        "reconstruction": link_instances(
            split.train, (0.0, split.horizon), observed, seed=seed, **kw
        )
    }
    if split.completion.num_events:
        out["completion"] = link_instances(
            split.completion, (0.0, split.horizon), hidden, seed=seed + 1, **kw
        )
    if split.future.num_events:
        out["future"] = link_instances(
            split.future, (split.horizon, 1.0), anyone, seed=seed + 2, **kw
        )
    return out


@torch.no_grad()
def model_scores(model: PiVeM, inst: LinkInstances, rule: str = "diffuse") -> Tensor:
    r"""Score windows by their expected number of events.

    Inside the training period that is :math:`\int_{t_0}^{t_1}\lambda_{ij}\,dt`;
    past the horizon the forecast ``rule`` of :meth:`PiVeM.forecast`.
    """
    device = model.x0.device
    return model.forecast(
        inst.row.to(device),
        inst.col.to(device),
        inst.t0.to(device),
        inst.t1.to(device),
        rule=rule,
    ).cpu()


def historical_count_scores(train: EventStream, inst: LinkInstances) -> Tensor:
    """Score pairs by their number of training events (undirected)."""
    return baselines.history_link_scores(train, inst.row, inst.col).double()


def preferential_attachment_scores(train: EventStream, inst: LinkInstances) -> Tensor:
    """Score pairs by the product of the endpoints' training event counts."""
    return baselines.preferential_attachment_scores(train, inst.row, inst.col)


def _metrics(scores: Tensor, label: Tensor) -> dict[str, float]:
    return {
        "roc_auc": roc_auc(label, scores),
        "ap": average_precision(label, scores),
    }


def evaluate(
    split: EvaluationSplit,
    *,
    dim: int = 2,
    num_bins: int = 100,
    num_communities: int = 10,
    prior_lambda: float | None = 1e5,
    epochs: int = 100,
    lr: float = 0.1,
    batch_size: int | None = None,
    rule: str = "diffuse",
    radius: float = 1e-3,
    max_positives: int = 10_000,
    seed: int = 0,
    device: torch.device | str | None = None,
    progress: bool = False,
    fitted: dict[str, PiVeM] | None = None,
) -> dict[str, Any]:
    """Fit PiVeM and the static baseline on a split and score all tasks.

    Both models are fitted with the same settings on ``split.train`` (masked
    pairs left out of the likelihood) and scored with the heuristics on the
    instances of :func:`score_tasks`. Models given in ``fitted`` (keys
    ``pivem``, ``static_ldm``), e.g. loaded from an earlier run with the
    same settings, are scored without refitting (``fit_seconds`` is then
    ``None``). Future windows are scored with the
    forecast ``rule`` (method ``pivem``) and, side by side, with every rule
    of :data:`FORECAST_RULES` (methods ``pivem_<rule>``).

    Returns
    -------
    dict
        ``{"metrics": {task: {method: {"roc_auc", "ap"}}}, "fit_seconds":
        {method: s}, "epoch_seconds": {method: s}, "models": {method: PiVeM}}``
        with methods ``pivem``, ``static_ldm``, ``historical_counts`` and
        ``preferential_attachment``.
    """
    tasks = score_tasks(split, radius=radius, max_positives=max_positives, seed=seed)
    models: dict[str, PiVeM] = {}
    seconds: dict[str, float | None] = {}
    for name, static in (("pivem", False), ("static_ldm", True)):
        if fitted is not None and name in fitted:
            models[name], seconds[name] = fitted[name], None
            continue
        model = PiVeM(
            split.num_nodes,
            dim,
            num_bins,
            num_communities,
            prior_lambda,
            split.horizon,
            static=static,
            seed=seed,
            device=device,
        )
        start = time.perf_counter()
        model.fit(
            split.train,
            epochs=epochs,
            lr=lr,
            batch_size=batch_size,
            masked_pairs=split.masked_pairs,
            seed=seed,
            progress=progress,
        )
        seconds[name] = time.perf_counter() - start
        models[name] = model
    metrics: dict[str, dict[str, dict[str, float]]] = {}
    for task, inst in tasks.items():
        metrics[task] = {
            name: _metrics(model_scores(model, inst, rule), inst.label)
            for name, model in models.items()
        }
        if task == "future":
            for other in FORECAST_RULES:
                metrics[task][f"pivem_{other}"] = _metrics(
                    model_scores(models["pivem"], inst, other), inst.label
                )
        metrics[task]["historical_counts"] = _metrics(
            historical_count_scores(split.train, inst), inst.label
        )
        metrics[task]["preferential_attachment"] = _metrics(
            preferential_attachment_scores(split.train, inst), inst.label
        )
    return {
        "metrics": metrics,
        "fit_seconds": seconds,
        "epoch_seconds": {
            k: None if v is None else v / max(epochs, 1) for k, v in seconds.items()
        },
        "models": models,
    }
