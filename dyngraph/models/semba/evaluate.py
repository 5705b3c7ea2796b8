r"""Evaluation of SEMBA against TGN and two heuristics on signed event streams.

Protocol (one run compares every method on the same split and negatives):

* chronological 70/15/15 split; one memory timeline train → validation →
  test, reset only at the start of each training epoch;
* link existence: ROC-AUC and AP of events against one seeded random
  negative destination per event;
* link sign: ROC-AUC of :math:`P(\sigma=+1)`, macro-F1 and negative-class
  F1 with the probability threshold that maximises macro-F1 on validation;
* 3-way (positive / negative / no link, the sampled pairs): macro-F1 with
  the two class offsets that maximise macro-F1 on validation
  (:func:`three_way_metrics`; the heuristics likewise get two thresholds
  chosen on validation), and of the plain arg-max class;
* signed weight: RMSE of the prediction of :math:`\sigma|w|`;
* link existence the way TGB reports it (:func:`tgb_mrr`): MRR of each test
  event against 100 ``hist_rnd`` negatives with split-wide exclusion.

Baselines: :class:`SignedTGN` (PyG's TGN memory with the sign in the raw
message and on the attention edges) and two heuristics,
:func:`heuristic_predictions` (the pair's previous interaction, in either
direction; the target's running share of positive ratings), scored on all
four tasks by :func:`heuristic_metrics`. The heuristics are updated batch by
batch, like the models, so they see exactly the same past, and meet the
same seeded negatives.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch_geometric.nn.models.tgn import IdentityMessage, MeanAggregator, TGNMemory

from dyngraph.data.events import EventStream
from dyngraph.data.loader import TemporalBatchLoader
from dyngraph.data.sampling import NegativeSampler
from dyngraph.data.splits import TemporalSplit, chronological_split
from dyngraph.metrics import average_precision, f1_scores, hits_at_k, mrr, rmse, roc_auc
from dyngraph.models.semba.model import (
    SEMBA,
    TASKS,
    SignedTemporalModel,
    StreamPredictions,
    Task,
    _check_task,
    _labels,
    _sampler,
    selection_metrics,
    stream_predictions,
)

__all__ = [
    "HEURISTICS",
    "SignedTGN",
    "compare",
    "evaluate_model",
    "heuristic_metrics",
    "heuristic_predictions",
    "sign_metrics",
    "tgb_mrr",
    "three_way_metrics",
    "tgb_sampler",
]

HEURISTICS = ("pair_previous_sign", "target_positive_share")


class _FloatTimeTGNMemory(TGNMemory):
    """:class:`TGNMemory` with floating-point event times."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.register_buffer("last_update", torch.zeros(self.num_nodes))

    def _reset_message_store(self) -> None:
        ids = self.memory.new_empty((0,), dtype=torch.long)
        t = self.memory.new_empty((0,))
        msg = self.memory.new_empty((0, self.raw_msg_dim))
        self.msg_s_store = {j: (ids, ids, t, msg) for j in range(self.num_nodes)}
        self.msg_d_store = {j: (ids, ids, t, msg) for j in range(self.num_nodes)}


class SignedTGN(SignedTemporalModel):
    r"""TGN baseline for signed streams, built from PyG's TGN parts.

    One memory per node (:class:`~torch_geometric.nn.models.tgn.TGNMemory`
    with :class:`~torch_geometric.nn.models.tgn.IdentityMessage`), raw
    message :math:`[|w|/c,\ \sigma]` so that the sign is an edge feature
    (the reference code's TGN gets no sign), and the neighbourhood
    attention, head and losses of :class:`SignedTemporalModel` with the sign
    on the attention edges. Times are kept in floating point (PyG's
    :class:`TGNMemory` stores ``long`` times), so SEMBA and this baseline
    see the same time encoding.

    Parameters
    ----------
    num_nodes : int
        Number of nodes.
    memory_dim : int
        Memory size (default: ``64``).
    time_dim : int
        Time-encoding size (default: ``32``).
    embedding_dim : int
        Embedding size (default: ``64``).
    task : {"existence", "sign", "three_way", "weight"}
        Prediction task (default: ``"sign"``).
    aggregator_module : torch.nn.Module, optional
        Message aggregator (default: mean, as for :class:`SEMBA`).
    **kwargs
        Options of :class:`SignedTemporalModel`.
    """

    def __init__(
        self,
        num_nodes: int,
        memory_dim: int = 64,
        time_dim: int = 32,
        embedding_dim: int = 64,
        task: Task = "sign",
        *,
        aggregator_module: nn.Module | None = None,
        **kwargs: Any,
    ) -> None:
        memory = _FloatTimeTGNMemory(
            num_nodes,
            2,
            memory_dim,
            time_dim,
            message_module=IdentityMessage(2, memory_dim, time_dim),
            aggregator_module=aggregator_module or MeanAggregator(),
        )
        super().__init__(
            num_nodes, memory_dim, memory.time_enc, embedding_dim, task, **kwargs
        )
        self.memory = memory
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Reset all learnable parameters and the state."""
        self.memory.reset_parameters()
        super().reset_parameters()

    def reset_memory(self) -> None:
        """Reset the TGN memory."""
        self.memory.reset_state()

    def node_state(self, n_id: Tensor) -> tuple[Tensor, Tensor]:
        """TGN memory and last-update times of ``n_id``."""
        # The train -> eval flush of TGNMemory may attach a graph to the buffer.
        self.memory.detach()
        return self.memory(n_id)

    def update_memory(self, events: EventStream, t: Tensor) -> None:
        """Store ``events`` as TGN messages (and apply the pending ones)."""
        device = self.lin_out.weight.device
        sign = self._signs(events).to(device).float()
        raw = torch.stack([self._weights(events) / self.weight_scale, sign], 1)
        with torch.no_grad():
            self.memory.update_state(
                events.src.to(device), events.dst.to(device), t, raw
            )


def _threshold(y: Tensor, p: Tensor) -> float:
    """Probability threshold with the best macro-F1 (``p >= tau`` → positive)."""
    candidates = np.unique(np.quantile(p.numpy(), np.linspace(0.005, 0.995, 100)))
    scores = [
        f1_scores(y, (p >= tau).long(), labels=[0, 1])["macro"] for tau in candidates
    ]
    return float(candidates[int(np.argmax(scores))])


def sign_metrics(
    y_val: Tensor, p_val: Tensor, y_test: Tensor, p_test: Tensor
) -> dict[str, float]:
    r"""Sign ROC-AUC, macro-F1 and negative-class F1 on test.

    The threshold on :math:`P(\sigma = +1)` is the one with the best
    macro-F1 on validation.

    Parameters
    ----------
    y_val, y_test : Tensor
        Labels, ``1`` for a positive and ``0`` for a negative event.
    p_val, p_test : Tensor
        Predicted probabilities of a positive sign.

    Returns
    -------
    dict
        ``auc``, ``macro_f1``, ``neg_f1`` and ``threshold``.
    """
    tau = _threshold(y_val, p_val)
    f1 = f1_scores(y_test, (p_test >= tau).long(), labels=[0, 1])
    return {
        "auc": roc_auc(y_test, p_test),
        "macro_f1": f1["macro"],
        "neg_f1": f1["per_class"][0],
        "threshold": tau,
    }


def heuristic_predictions(
    stream: EventStream,
    *,
    batch_size: int = 200,
    prior: float | None = None,
    neg_dst: Tensor | None = None,
    split_points: Sequence[int] = (),
) -> dict[str, dict[str, Tensor]]:
    r"""Scores of two causal heuristics for the four tasks.

    Both read only earlier batches (the state is updated after each batch,
    as for the models). A query is a pair :math:`(s, d)`: an event, or an
    event's source with a sampled destination.

    * ``"pair_previous_sign"``: the sign (and signed weight) of the latest
      earlier interaction between :math:`s` and :math:`d`, in either
      direction (a rating answers the partner's earlier rating; Bitcoin
      ratings never repeat an ordered pair, so an ordered-pair rule would
      always fall back to the prior); unseen pairs get the prior share
      :math:`\pi` of positives and the running mean signed weight. Link
      score: the number of earlier interactions of the pair.
    * ``"target_positive_share"``: the target's smoothed share of positive
      ratings so far, :math:`(n_d^+ + \pi)/(n_d + 1)`, and its running mean
      signed weight (the global running mean when unseen). Link score: the
      number :math:`n_d` of ratings the target received so far.

    Parameters
    ----------
    stream : EventStream
        The whole stream (train, validation and test in order).
    batch_size : int
        Batch size of the state updates (default: ``200``).
    prior : float, optional
        :math:`\pi` (default: the share of positives in the first 70 % of
        events).
    neg_dst : Tensor, optional
        Sampled destinations ``[E, Q]`` paired with each event's source,
        ``-1`` where there is none (default: none).
    split_points : sequence of int
        Event positions where a new batch starts, e.g. the first
        validation and test events, so that the batches match those of the
        models on each split (default: none).

    Returns
    -------
    dict
        ``{name: scores}`` with ``scores["sign"]`` (:math:`P(+)`),
        ``scores["weight"]`` (signed weight) and ``scores["existence"]``
        (link score), each ``[E]``; with ``neg_dst`` also
        ``scores["sampled_sign"]`` and ``scores["sampled_existence"]``,
        ``[E, Q]``, ``NaN`` where ``neg_dst`` is ``-1``.
    """
    positive, signed = _labels(stream)
    if prior is None:
        prior = float(positive[: max(1, int(0.7 * len(positive)))].float().mean())
    if neg_dst is not None and (
        neg_dst.dim() != 2 or neg_dst.size(0) != stream.num_events
    ):
        raise ValueError(
            f"neg_dst must have shape [num_events={stream.num_events}, Q], "
            f"got {tuple(neg_dst.shape)}"
        )
    src, dst = stream.src.tolist(), stream.dst.tolist()
    pos_list, sw_list = positive.tolist(), signed.tolist()
    negatives = neg_dst.tolist() if neg_dst is not None else None
    n = len(src)
    q = neg_dst.size(1) if neg_dst is not None else 0
    # per method: sign, weight, existence for events; sign, existence sampled
    out = {name: (np.empty((n, 3)), np.full((n, q, 2), np.nan)) for name in HEURISTICS}
    last: dict[tuple[int, int], tuple[float, float]] = {}
    pair_count: dict[tuple[int, int], int] = {}
    received: dict[int, list[float]] = {}
    total_weight, total = 0.0, 0

    def score(s: int, d: int, mean: float) -> tuple[tuple[float, ...], ...]:
        key = (s, d) if s <= d else (d, s)
        sign, weight = last.get(key, (prior, mean))
        n_d, pos_d, w_d = received.get(d, (0, 0.0, 0.0))
        return (
            (sign, weight, pair_count.get(key, 0)),
            ((pos_d + prior) / (n_d + 1), w_d / n_d if n_d else mean, n_d),
        )

    edges = sorted({0, n, *(p for p in split_points if 0 < p < n)})
    starts = [
        (start, min(start + batch_size, end))
        for begin, end in zip(edges[:-1], edges[1:], strict=True)
        for start in range(begin, end, batch_size)
    ]
    for start, stop in starts:
        mean = total_weight / total if total else 0.0
        for k in range(start, stop):
            scores = score(src[k], dst[k], mean)
            for (events, _), values in zip(out.values(), scores, strict=True):
                events[k] = values
            for j in range(q):
                if negatives[k][j] < 0:
                    continue
                scores = score(src[k], negatives[k][j], mean)
                for (_, sampled), values in zip(out.values(), scores, strict=True):
                    sampled[k, j] = (values[0], values[2])
        for k in range(start, stop):
            s, d = src[k], dst[k]
            key = (s, d) if s <= d else (d, s)
            last[key] = (float(pos_list[k]), sw_list[k])
            pair_count[key] = pair_count.get(key, 0) + 1
            n_d, pos_d, w_d = received.get(d, (0, 0.0, 0.0))
            received[d] = [n_d + 1, pos_d + pos_list[k], w_d + sw_list[k]]
            total_weight += sw_list[k]
            total += 1
    result = {}
    for name, (events, sampled) in out.items():
        named = {
            "sign": torch.from_numpy(events[:, 0]).float(),
            "weight": torch.from_numpy(events[:, 1]).float(),
            "existence": torch.from_numpy(events[:, 2]).float(),
        }
        if neg_dst is not None:
            named["sampled_sign"] = torch.from_numpy(sampled[..., 0]).float()
            named["sampled_existence"] = torch.from_numpy(sampled[..., 1]).float()
        result[name] = named
    return result


def _negatives(
    stream: EventStream, part: EventStream, batch_size: int, seed: int
) -> Tensor:
    """Return the destinations that :func:`evaluate_model` samples for ``part``.

    ``[E, 1]``, ``-1`` where the sampler found no valid candidate.
    """
    drawn = [
        torch.where(batch.neg_mask, batch.neg_dst, -1)
        for batch in TemporalBatchLoader(
            part, batch_size, neg_sampler=_sampler(stream, seed)
        )
        if batch.neg_dst is not None and batch.neg_mask is not None
    ]
    return torch.cat(drawn) if drawn else torch.full((0, 1), -1, dtype=torch.long)


def _three_way_classes(
    p_sign: Tensor, link: Tensor, tau_sign: float, tau_link: float
) -> Tensor:
    """0 positive, 1 negative, 2 no link (link score below ``tau_link``)."""
    signed = torch.where(p_sign >= tau_sign, 0, 1)
    return torch.where(link >= tau_link, signed, 2)


def _pooled(
    positive: Tensor, pred: dict[str, Tensor], neg_dst: Tensor, part: slice
) -> tuple[Tensor, Tensor, Tensor]:
    """3-way labels, :math:`P(+)` and link scores of events then sampled pairs."""
    mask = neg_dst >= 0
    label = torch.cat([1 - positive, torch.full((int(mask.sum()),), 2)])
    p_sign = torch.cat([pred["sign"][part], pred["sampled_sign"][part][mask]])
    link = torch.cat([pred["existence"][part], pred["sampled_existence"][part][mask]])
    return label, p_sign, link


def heuristic_metrics(
    stream: EventStream,
    split: TemporalSplit,
    *,
    tasks: Sequence[str] = TASKS,
    batch_size: int = 200,
    seed: int = 0,
) -> dict[str, dict[str, dict[str, float]]]:
    r"""Test metrics of the two heuristics, on the models' protocol.

    The heuristics (:func:`heuristic_predictions`) are updated in the
    models' batches and scored against the same seeded negatives as
    :func:`evaluate_model`. Sign: the threshold on :math:`P(+)` with the
    best validation macro-F1 (:func:`sign_metrics`). Existence: ROC-AUC and
    AP of the link score. 3-way: a pair is "no link" when its link score is
    below a threshold, else positive or negative by the sign threshold; the
    link threshold is the one with the best validation macro-F1.

    Parameters
    ----------
    stream : EventStream
        The whole signed stream.
    split : TemporalSplit
        Its chronological split.
    tasks : sequence of str
        Tasks to score (default: all four).
    batch_size : int
        Batch size of the models (default: ``200``).
    seed : int
        Seed of the models' evaluation negatives (default: ``0``).

    Returns
    -------
    dict
        ``results[heuristic][task]`` test metrics.
    """
    for task in tasks:
        _check_task(task)
    positive, signed = _labels(stream)
    n_train, n_val = split.train.num_events, split.val.num_events
    val = slice(n_train, n_train + n_val)
    test = slice(n_train + n_val, None)
    neg_dst = None
    if "existence" in tasks or "three_way" in tasks:
        neg_dst = torch.full((stream.num_events, 1), -1, dtype=torch.long)
        neg_dst[val] = _negatives(stream, split.val, batch_size, seed + 1)
        neg_dst[test] = _negatives(stream, split.test, batch_size, seed + 2)
    predictions = heuristic_predictions(
        stream,
        batch_size=batch_size,
        prior=float(positive[:n_train].float().mean()),
        neg_dst=neg_dst,
        split_points=(n_train, n_train + n_val),
    )
    results: dict[str, dict[str, dict[str, float]]] = {}
    for name, pred in predictions.items():
        sign = sign_metrics(
            positive[val], pred["sign"][val], positive[test], pred["sign"][test]
        )
        results[name] = {}
        if "sign" in tasks:
            results[name]["sign"] = sign
        if "weight" in tasks:
            results[name]["weight"] = {"rmse": rmse(signed[test], pred["weight"][test])}
        if neg_dst is None:
            continue
        if "existence" in tasks:
            label, _, link = _pooled(positive[test], pred, neg_dst[test], test)
            is_event = (label < 2).long()
            results[name]["existence"] = {
                "auc": roc_auc(is_event, link),
                "ap": average_precision(is_event, link),
            }
        if "three_way" in tasks:
            label, p_sign, link = _pooled(positive[val], pred, neg_dst[val], val)
            values = torch.unique(link).numpy()
            if values.size > 100:
                values = np.unique(np.quantile(values, np.linspace(0, 1, 100)))
            candidates = [*values.tolist(), float("inf")]
            scores = [
                f1_scores(
                    label,
                    _three_way_classes(p_sign, link, sign["threshold"], tau),
                    labels=[0, 1, 2],
                )["macro"]
                for tau in candidates
            ]
            tau_link = candidates[int(np.argmax(scores))]
            label, p_sign, link = _pooled(positive[test], pred, neg_dst[test], test)
            guess = _three_way_classes(p_sign, link, sign["threshold"], tau_link)
            f1 = f1_scores(label, guess, labels=[0, 1, 2])
            results[name]["three_way"] = {
                "macro_f1": f1["macro"],
                "neg_f1": f1["per_class"][1],
                "link_threshold": tau_link,
            }
    return results


def _start_after_training(
    model: SignedTemporalModel, split: TemporalSplit, batch_size: int
) -> None:
    """Set the state of the end of training: the fit's own, or a rebuild."""
    model.eval()
    snap = getattr(model, "fit_state_", None)
    if snap is not None:
        model.restore_state(snap)
    else:
        model.reset_state()
        model.observe_stream(split.train, batch_size)


def evaluate_model(
    model: SignedTemporalModel,
    stream: EventStream,
    split: TemporalSplit,
    *,
    batch_size: int = 200,
    seed: int = 0,
) -> tuple[dict[str, float], StreamPredictions]:
    """Test metrics of a fitted model (see the module docstring).

    The validation events (for the sign threshold and the 3-way offsets)
    and then the test events are predicted, one continuous timeline that
    starts from the state at the end of the best epoch's training pass
    (``model.fit_state_``), as in PyG's TGN example and the reference code.
    A model without it (not fitted by :meth:`SignedTemporalModel.fit`)
    rebuilds the state over the training events first.

    .. note::
        Rebuilding is not equivalent: during training the memory is
        written by weights that change at every step, a rebuild writes it
        with the final weights only. On Bitcoin-OTC one seed's existence
        model scored test ROC-AUC 0.904 continuing its training state and
        0.675 after a rebuild (validation 0.88 in the fit).

    Returns
    -------
    metrics : dict
        Test metrics of the model's task.
    test : StreamPredictions
        The test predictions.
    """
    task = model.task
    needs_negatives = task in ("existence", "three_way")
    _start_after_training(model, split, batch_size)
    sampler = _sampler(stream, seed + 1) if needs_negatives else None
    val = stream_predictions(
        model, split.val, batch_size=batch_size, neg_sampler=sampler
    )
    sampler = _sampler(stream, seed + 2) if needs_negatives else None
    test = stream_predictions(
        model, split.test, batch_size=batch_size, neg_sampler=sampler
    )
    if task == "sign":
        metrics = sign_metrics(
            _labels(split.val)[0], val.event, _labels(split.test)[0], test.event
        )
    elif task == "three_way":
        metrics = three_way_metrics(split.val, val, split.test, test)
    else:
        metrics = selection_metrics(task, split.test, test)
    return metrics, test


def _three_way_pool(
    events: EventStream, pred: StreamPredictions
) -> tuple[Tensor, Tensor]:
    """3-way labels and class probabilities of events then valid sampled pairs."""
    assert pred.sampled is not None and pred.neg_mask is not None
    positive, _ = _labels(events)
    sampled = pred.sampled[pred.neg_mask]
    label = torch.cat([1 - positive, torch.full((len(sampled),), 2)])
    return label, torch.cat([pred.event, sampled])


def _macro_f1_per_offset(label: Tensor, logp: Tensor, shifts: Tensor) -> Tensor:
    r"""Macro-F1 of :math:`\arg\max_c(\log p_c + b_c)` for every row of ``shifts``.

    ``label`` ``[n]``, ``logp`` ``[n, C]``, ``shifts`` ``[K, 1, C]``; returns
    ``[K]``, with :math:`F_1^{(c)} = 2\,tp / (2\,tp + fp + fn)` (``0`` when
    the class is neither true nor predicted), as :func:`~dyngraph.metrics.f1_scores`.
    """
    guess = (logp.unsqueeze(0) + shifts).argmax(-1)  # [K, n]
    classes = logp.size(-1)
    macro = torch.zeros(guess.size(0))
    for c in range(classes):
        hit, truth = guess == c, (label == c).unsqueeze(0)
        tp = (hit & truth).sum(1).float()
        denom = hit.sum(1).float() + truth.sum().float()  # 2tp + fp + fn
        macro += torch.where(denom > 0, 2 * tp / denom.clamp_min(1), 0.0) / classes
    return macro


def three_way_metrics(
    val_events: EventStream,
    val: StreamPredictions,
    test_events: EventStream,
    test: StreamPredictions,
) -> dict[str, float]:
    r"""3-way macro- and negative-class F1 on test, offsets chosen on validation.

    The class is :math:`\arg\max_c (\log p_c + b_c)` with :math:`b_0 = 0`
    and :math:`(b_1, b_2)` (negative, no link) on a grid of
    :math:`\{-3, -2.75, \dots, 3\}^2` picked for the best validation macro-F1:
    the two-threshold rule the heuristics get (:func:`heuristic_metrics`),
    applied to the model's probabilities. The arg-max scores (all
    :math:`b_c = 0`) are reported too.

    Returns
    -------
    dict
        ``macro_f1``, ``neg_f1``, ``macro_f1_argmax``, ``neg_f1_argmax``,
        ``offset_neg`` and ``offset_none``.
    """
    label, prob = _three_way_pool(val_events, val)
    logp = prob.clamp_min(1e-12).log()
    grid = torch.arange(-12, 13, dtype=torch.float32) / 4
    b1, b2 = torch.meshgrid(grid, grid, indexing="ij")
    shifts = torch.stack([torch.zeros_like(b1), b1, b2], -1).view(-1, 1, 3)
    best = int(torch.argmax(_macro_f1_per_offset(label, logp, shifts)))
    offset = (float(shifts[best, 0, 1]), float(shifts[best, 0, 2]))
    label, prob = _three_way_pool(test_events, test)
    logp = prob.clamp_min(1e-12).log()
    tuned = f1_scores(
        label, (logp + torch.tensor([0.0, *offset])).argmax(-1), labels=[0, 1, 2]
    )
    plain = f1_scores(label, logp.argmax(-1), labels=[0, 1, 2])
    return {
        "macro_f1": tuned["macro"],
        "neg_f1": tuned["per_class"][1],
        "macro_f1_argmax": plain["macro"],
        "neg_f1_argmax": plain["per_class"][1],
        "offset_neg": offset[0],
        "offset_none": offset[1],
    }


def tgb_sampler(
    stream: EventStream,
    split: TemporalSplit,
    *,
    num_negatives: int = 100,
    seed: int = 0,
) -> NegativeSampler:
    """TGB's ``hist_rnd`` sampler for the test split of ``stream``.

    Destinations ``first_dst .. last_dst`` of the whole stream (TGB's
    ``arange(first_dst_id, last_dst_id + 1)``), history = the training
    split, positives excluded across the test split, no repeats.
    """
    destinations = torch.arange(int(stream.dst.min()), int(stream.dst.max()) + 1)
    return NegativeSampler(
        "hist_rnd",
        num_negatives,
        destinations=destinations,
        exclusion="split",
        seed=seed,
    ).fit(split.train, positives=split.test)


@torch.no_grad()
def tgb_mrr(
    model: SignedTemporalModel,
    stream: EventStream,
    split: TemporalSplit,
    *,
    num_negatives: int = 100,
    batch_size: int = 200,
    seed: int = 0,
) -> dict[str, float]:
    r"""Test MRR and Hits@10 of an existence model on TGB's protocol.

    Each test event :math:`(s, d, t)` is ranked against ``num_negatives``
    destinations from :func:`tgb_sampler` (at most half from :math:`s`'s
    training history, the rest uniform over the other destinations, none a
    positive of :math:`(s, t)` anywhere in the test split), ties averaged
    (:func:`dyngraph.metrics.mrr`, TGB's evaluator). The state starts where
    :func:`evaluate_model` starts it, the validation events are observed,
    then the test events are predicted batch by batch.

    Returns
    -------
    dict
        ``mrr``, ``hits@10`` and ``negatives`` (mean valid negatives per
        positive).
    """
    if model.task != "existence":
        raise ValueError(f"tgb_mrr needs an existence model, got task {model.task!r}")
    _start_after_training(model, split, batch_size)
    model.observe_stream(split.val, batch_size)
    sampler = tgb_sampler(stream, split, num_negatives=num_negatives, seed=seed)
    pred = stream_predictions(
        model, split.test, batch_size=batch_size, neg_sampler=sampler
    )
    assert pred.sampled is not None and pred.neg_mask is not None
    neg = torch.nan_to_num(pred.sampled, nan=0.0)
    return {
        "mrr": mrr(pred.event, neg, pred.neg_mask),
        "hits@10": hits_at_k(pred.event, neg, pred.neg_mask, k=10),
        "negatives": float(pred.neg_mask.sum(1).float().mean()),
    }


def compare(
    stream: EventStream,
    *,
    tasks: Sequence[str] = TASKS,
    models: Sequence[str] = ("semba", "tgn"),
    memory_dim: int = 32,
    time_dim: int = 16,
    embedding_dim: int = 32,
    epochs: int = 3,
    lr: float = 1e-3,
    batch_size: int = 200,
    num_neighbors: int = 10,
    node_embedding_dim: int = 0,
    time_unit: float = 1.0,
    mrr_negatives: int | None = 100,
    seed: int = 0,
    negatives_seed: int | None = None,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Fit and test SEMBA, the TGN baseline and the heuristics on ``stream``.

    Parameters
    ----------
    stream : EventStream
        A signed stream; split 70/15/15 by time.
    tasks : sequence of str
        Tasks to run (default: all four).
    models : sequence of str
        ``"semba"`` and/or ``"tgn"`` (default: both).
    memory_dim, time_dim, embedding_dim : int
        Sizes shared by both models; SEMBA has two memories of
        ``memory_dim`` (defaults: ``32``, ``16``, ``32``).
    epochs, lr, batch_size, num_neighbors : int or float
        Training settings (defaults: ``3``, ``1e-3``, ``200``, ``10``).
    time_unit : float
        Time unit of the models (default: ``1.0``).
    mrr_negatives : int, optional
        Negatives per test event of :func:`tgb_mrr`, reported for the
        existence models as ``mrr_tgb`` and ``hits@10_tgb`` (default:
        ``100``, TGB's count for tgbl-review; ``None`` skips it).
    seed : int
        Seed of the parameters and the training negatives (default: ``0``).
    negatives_seed : int, optional
        Seed of the validation and test negatives of every method (default:
        ``seed``); fix it across seeds, as TGB fixes its negatives once, so
        that the spread over seeds is the models' own.
    progress : bool
        Progress bars (default: ``False``).
    log : callable, optional
        Called with a line after each fit.

    Returns
    -------
    dict
        ``results[method][task]`` test metrics (and ``events_per_second``
        for the models) for the models and the heuristics
        (:func:`heuristic_metrics`), plus ``split`` sizes.
    """
    split = chronological_split(stream, 0.15, 0.15)
    positive, _ = _labels(stream)
    n_train = split.train.num_events
    weight_scale = (
        float(split.train.weight.abs().max()) if split.train.weight is not None else 1.0
    )
    options = {
        "num_neighbors": num_neighbors,
        "node_embedding_dim": node_embedding_dim,
        "neg_weight": SignedTemporalModel.balanced_neg_weight(split.train),
        "weight_scale": weight_scale,
        "time_origin": split.train.start_time,
        "time_unit": time_unit,
    }
    classes = {"semba": SEMBA, "tgn": SignedTGN}
    eval_seed = seed if negatives_seed is None else negatives_seed
    results: dict[str, Any] = {
        "split": {
            "train": n_train,
            "val": split.val.num_events,
            "test": split.test.num_events,
            "negative_share_test": float(
                1 - positive[-split.test.num_events :].float().mean()
            ),
        }
    }
    for name in models:
        results[name] = {}
        for task in tasks:
            torch.manual_seed(seed)
            model = classes[name](
                stream.num_nodes, memory_dim, time_dim, embedding_dim, task, **options
            )
            model.fit(
                stream,
                split,
                epochs=epochs,
                lr=lr,
                batch_size=batch_size,
                seed=seed,
                progress=progress,
            )
            metrics, _ = evaluate_model(
                model, stream, split, batch_size=batch_size, seed=eval_seed
            )
            if task == "existence" and mrr_negatives is not None:
                ranked = tgb_mrr(
                    model,
                    stream,
                    split,
                    num_negatives=mrr_negatives,
                    batch_size=batch_size,
                    seed=eval_seed,
                )
                metrics["mrr_tgb"] = ranked["mrr"]
                metrics["hits@10_tgb"] = ranked["hits@10"]
            results[name][task] = {
                **metrics,
                "events_per_second": model.events_per_second_,
            }
            if log is not None:
                log(f"{name:6s} {task:10s} {results[name][task]}")
    results.update(
        heuristic_metrics(
            stream, split, tasks=tasks, batch_size=batch_size, seed=eval_seed
        )
    )
    return results
