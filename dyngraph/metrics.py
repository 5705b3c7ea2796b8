r"""Evaluation metrics for every dyngraph family, in one place.

Two input conventions are used, each the natural one for its metric:

* **Classification scores** (:func:`roc_auc`, :func:`average_precision`,
  :func:`f1_scores`, :func:`rmse`) take ``(y_true, y_score)`` or
  ``(y_true, y_pred)`` like :mod:`sklearn.metrics`. For 1:1 link
  prediction, concatenate the positive and negative scores and label them
  ``1`` and ``0``.
* **Ranking** (:func:`ranks`, :func:`mrr`, :func:`hits_at_k`) takes one
  score per positive, ``pos`` with shape ``[B]``, and a padded matrix of
  negative scores, ``neg`` with shape ``[B, Q]``, plus an optional boolean
  ``mask`` with shape ``[B, Q]`` marking the valid negatives (ragged
  candidate counts, as in TGB).

Every metric accepts :class:`torch.Tensor` (on any device), NumPy arrays or
sequences, and returns a Python ``float`` (or a ``dict`` of floats).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "average_precision",
    "f1_scores",
    "hits_at_k",
    "mrr",
    "ranks",
    "rmse",
    "roc_auc",
]

ArrayLike = Tensor | np.ndarray | Sequence[Any]


def _numpy(name: str, value: ArrayLike) -> np.ndarray:
    if isinstance(value, Tensor):
        return value.detach().cpu().numpy()
    try:
        return np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"`{name}` must be a tensor or an array-like, got "
            f"{type(value).__name__} ({exc})"
        ) from exc


def _tensor(name: str, value: ArrayLike, device: torch.device | None = None) -> Tensor:
    if isinstance(value, Tensor):
        out = value.detach()
    else:
        out = torch.as_tensor(_numpy(name, value))
    return out if device is None else out.to(device)


def _binary_inputs(y_true: ArrayLike, y_score: ArrayLike) -> tuple[np.ndarray, ...]:
    truth = _numpy("y_true", y_true)
    score = _numpy("y_score", y_score)
    if truth.ndim != 1 or score.ndim != 1:
        raise ValueError(
            "`y_true` and `y_score` must be one-dimensional, got shapes "
            f"{list(truth.shape)} and {list(score.shape)}; flatten them first"
        )
    if truth.shape != score.shape:
        raise ValueError(
            f"`y_true` has {truth.shape[0]} entries but `y_score` has "
            f"{score.shape[0]}; pass one score per label"
        )
    if truth.size == 0:
        raise ValueError("`y_true` is empty; there is nothing to evaluate")
    if not np.isin(truth, (0, 1)).all():
        raise ValueError(
            "`y_true` must hold binary labels (0/1 or bool); got values "
            f"{np.unique(truth)[:5].tolist()}"
        )
    score = score.astype(np.float64)
    if not np.isfinite(score).all():
        raise ValueError(
            f"`y_score` has {int((~np.isfinite(score)).sum())} non-finite "
            "value(s); check the model output for NaN/inf"
        )
    return truth.astype(np.int64), score


def roc_auc(y_true: ArrayLike, y_score: ArrayLike) -> float:
    r"""Area under the ROC curve.

    With positives :math:`P` and negatives :math:`N`,

    .. math::
        \mathrm{AUC} = \frac{1}{|P|\,|N|}\sum_{i\in P}\sum_{j\in N}
        \big([s_i > s_j] + \tfrac12 [s_i = s_j]\big),

    computed by :func:`sklearn.metrics.roc_auc_score`.

    Parameters
    ----------
    y_true : tensor or array-like, shape ``[n]``
        Binary labels (``0``/``1`` or ``bool``); both classes must occur.
    y_score : tensor or array-like, shape ``[n]``
        Scores, higher meaning more likely positive.

    Returns
    -------
    float
        The AUC in :math:`[0, 1]`.

    Raises
    ------
    ValueError
        On shape mismatches, non-binary labels, non-finite scores or a
        single class.
    """
    truth, score = _binary_inputs(y_true, y_score)
    if truth.min() == truth.max():
        raise ValueError(
            "roc_auc needs both positive and negative labels, but `y_true` "
            f"only holds {int(truth[0])}; add negatives (e.g. with a "
            "NegativeSampler)"
        )
    from sklearn.metrics import roc_auc_score  # scipy and pandas: on first use

    return float(roc_auc_score(truth, score))


def average_precision(y_true: ArrayLike, y_score: ArrayLike) -> float:
    r"""Average precision (area under the precision-recall curve).

    With thresholds :math:`\tau_1 > \tau_2 > \dots` at the distinct scores,
    precision :math:`P_n` and recall :math:`R_n` at :math:`\tau_n`,

    .. math::
        \mathrm{AP} = \sum_n (R_n - R_{n-1})\, P_n,

    computed by :func:`sklearn.metrics.average_precision_score` (no
    interpolation; tied scores share one threshold).

    Parameters
    ----------
    y_true : tensor or array-like, shape ``[n]``
        Binary labels; at least one must be positive.
    y_score : tensor or array-like, shape ``[n]``
        Scores, higher meaning more likely positive.

    Returns
    -------
    float
        The AP in :math:`[0, 1]`.
    """
    truth, score = _binary_inputs(y_true, y_score)
    if truth.max() == 0:
        raise ValueError(
            "average_precision needs at least one positive label in `y_true`"
        )
    from sklearn.metrics import average_precision_score

    return float(average_precision_score(truth, score))


def _ranking_inputs(
    pos: ArrayLike, neg: ArrayLike, mask: ArrayLike | None
) -> tuple[Tensor, Tensor, Tensor | None]:
    neg_t = _tensor("neg", neg)
    pos_t = _tensor("pos", pos, neg_t.device)
    if neg_t.dim() != 2:
        raise ValueError(
            f"`neg` must have shape [B, Q] (one row of negative scores per "
            f"positive), got shape {list(neg_t.shape)}"
        )
    if pos_t.dim() == 2 and pos_t.shape[1] == 1:
        pos_t = pos_t[:, 0]
    if pos_t.dim() != 1 or pos_t.shape[0] != neg_t.shape[0]:
        raise ValueError(
            f"`pos` must have shape [B] or [B, 1] with B = {neg_t.shape[0]} "
            f"(the rows of `neg`), got shape {list(pos_t.shape)}"
        )
    if pos_t.shape[0] == 0:
        raise ValueError("`pos` is empty; there is nothing to rank")
    mask_t = None
    if mask is not None:
        mask_t = _tensor("mask", mask, neg_t.device)
        if mask_t.dtype != torch.bool:
            raise TypeError(
                f"`mask` must be a boolean tensor, got dtype {mask_t.dtype}; "
                "use mask.bool() for 0/1 masks"
            )
        if mask_t.shape != neg_t.shape:
            raise ValueError(
                f"`mask` has shape {list(mask_t.shape)} but `neg` has "
                f"{list(neg_t.shape)}; they must match"
            )
    if bool(torch.isnan(pos_t).any()):
        raise ValueError("`pos` contains NaN scores")
    nan_neg = torch.isnan(neg_t)
    if mask_t is not None:
        nan_neg &= mask_t
    if bool(nan_neg.any()):
        raise ValueError("`neg` contains NaN scores at unmasked positions")
    return pos_t, neg_t, mask_t


def ranks(pos: ArrayLike, neg: ArrayLike, mask: ArrayLike | None = None) -> Tensor:
    r"""Tie-aware rank of every positive among its negatives (TGB's rule).

    For positive :math:`b` with score :math:`s^+_b`, negative scores
    :math:`s_{bq}` and validity mask :math:`m_{bq}`,

    .. math::
        r^{\mathrm{opt}}_b = \sum_q m_{bq}\,[s_{bq} > s^+_b],\qquad
        r^{\mathrm{pess}}_b = \sum_q m_{bq}\,[s_{bq} \ge s^+_b],\qquad
        \mathrm{rank}_b = \tfrac12\big(r^{\mathrm{opt}}_b
        + r^{\mathrm{pess}}_b\big) + 1.

    Ties therefore get the average rank: a constant scorer ranks every
    positive at :math:`Q/2 + 1`, not at 1.

    Parameters
    ----------
    pos : tensor or array-like, shape ``[B]`` or ``[B, 1]``
        Score of each positive.
    neg : tensor or array-like, shape ``[B, Q]``
        Scores of the negatives of each positive.
    mask : bool tensor or array-like, shape ``[B, Q]``, optional
        ``True`` where a negative is valid; padded entries are ignored
        (default: all valid).

    Returns
    -------
    Tensor
        ``float64`` ranks with shape ``[B]``, on the device of ``neg``.
    """
    pos_t, neg_t, mask_t = _ranking_inputs(pos, neg, mask)
    above = neg_t > pos_t[:, None]
    at_or_above = neg_t >= pos_t[:, None]
    if mask_t is not None:
        above &= mask_t
        at_or_above &= mask_t
    r_opt = above.sum(dim=1, dtype=torch.float64)
    r_pess = at_or_above.sum(dim=1, dtype=torch.float64)
    return 0.5 * (r_opt + r_pess) + 1.0


def mrr(
    pos: ArrayLike,
    neg: ArrayLike,
    mask: ArrayLike | None = None,
    *,
    k: int | None = None,
) -> float:
    r"""Mean reciprocal rank with ties averaged, batched and masked.

    .. math::
        \mathrm{MRR} = \frac1B\sum_{b=1}^{B}\frac{1}{\mathrm{rank}_b}
        \quad\big(\text{MRR@}k:\ \text{terms with }
        \mathrm{rank}_b > k \text{ count as } 0\big),

    with :math:`\mathrm{rank}_b` from :func:`ranks`. Matches
    ``tgb.linkproppred.evaluate.Evaluator`` for ``k=None`` and extends it to
    ragged negative counts through ``mask``.

    Parameters
    ----------
    pos, neg, mask
        As in :func:`ranks`.
    k : int, optional
        Truncation: reciprocal ranks of positives ranked below ``k`` count
        as zero (default: no truncation).

    Returns
    -------
    float
        The mean reciprocal rank in :math:`(0, 1]` (``[0, 1]`` with ``k``).
    """
    rank = ranks(pos, neg, mask)
    reciprocal = rank.reciprocal()
    if k is not None:
        reciprocal = torch.where(rank <= _check_k(k), reciprocal, 0.0)
    return float(reciprocal.mean())


def hits_at_k(
    pos: ArrayLike,
    neg: ArrayLike,
    mask: ArrayLike | None = None,
    *,
    k: int = 10,
) -> float:
    r"""Fraction of positives whose tie-aware rank is at most ``k``.

    .. math::
        \mathrm{Hits@}k = \frac1B\sum_b [\mathrm{rank}_b \le k],

    with the same averaged rank as :func:`mrr`, so a positive tied with
    every one of :math:`Q` negatives has rank :math:`Q/2 + 1`.

    Parameters
    ----------
    pos, neg, mask
        As in :func:`ranks`.
    k : int
        Cut-off (default: ``10``).

    Returns
    -------
    float
        Hits@k in :math:`[0, 1]`.
    """
    rank = ranks(pos, neg, mask)
    return float((rank <= _check_k(k)).double().mean())


def _check_k(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"`k` must be a positive integer, got {k!r}")
    return int(k)


def f1_scores(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    labels: Sequence[Any] | None = None,
) -> dict[str, Any]:
    r"""Per-class and macro F1 scores.

    For class :math:`c` with precision :math:`P_c` and recall :math:`R_c`,
    :math:`F_1^{(c)} = 2P_cR_c/(P_c+R_c)` (``0`` when undefined), and
    :math:`F_1^{\mathrm{macro}} = \frac{1}{|C|}\sum_c F_1^{(c)}`, computed
    by :func:`sklearn.metrics.f1_score`. For signed link prediction the
    per-class entry of the ``-1`` class is the usual negative-class F1.

    Parameters
    ----------
    y_true, y_pred : tensor or array-like, shape ``[n]``
        True and predicted class labels.
    labels : sequence, optional
        Classes to score and average over (default: the sorted union of
        the labels in ``y_true`` and ``y_pred``).

    Returns
    -------
    dict
        ``{"macro": float, "per_class": {label: float}}``, labels as Python
        scalars.
    """
    truth = _numpy("y_true", y_true)
    pred = _numpy("y_pred", y_pred)
    if truth.ndim != 1 or truth.shape != pred.shape:
        raise ValueError(
            "`y_true` and `y_pred` must be one-dimensional with equal length, "
            f"got shapes {list(truth.shape)} and {list(pred.shape)}"
        )
    if truth.size == 0:
        raise ValueError("`y_true` is empty; there is nothing to evaluate")
    classes = np.union1d(truth, pred) if labels is None else np.asarray(labels)
    if classes.ndim != 1 or classes.size == 0:
        raise ValueError("`labels` must be a non-empty sequence of class labels")
    from sklearn.metrics import f1_score

    per_class = f1_score(truth, pred, labels=classes, average=None, zero_division=0.0)
    return {
        "macro": float(np.mean(per_class)),
        "per_class": {
            c.item(): float(f) for c, f in zip(classes, per_class, strict=True)
        },
    }


def rmse(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    r"""Root-mean-square error over all entries.

    .. math::
        \mathrm{RMSE} = \Big(\frac1n\sum_{i=1}^{n}(\hat y_i - y_i)^2\Big)^{1/2}.

    Parameters
    ----------
    y_true, y_pred : tensor or array-like
        Targets and predictions of the same shape (any number of
        dimensions); computed in ``float64`` on the device of ``y_pred``.

    Returns
    -------
    float
        The RMSE.
    """
    pred = _tensor("y_pred", y_pred).to(torch.float64)
    truth = _tensor("y_true", y_true, pred.device).to(torch.float64)
    if truth.shape != pred.shape:
        raise ValueError(
            f"`y_true` has shape {list(truth.shape)} but `y_pred` has "
            f"{list(pred.shape)}; they must match"
        )
    if truth.numel() == 0:
        raise ValueError("`y_true` is empty; there is nothing to evaluate")
    return float(torch.sqrt(torch.mean((pred - truth) ** 2)))
