import numpy as np
import pytest
import torch

from dyngraph.metrics import (
    average_precision,
    f1_scores,
    hits_at_k,
    mrr,
    ranks,
    rmse,
    roc_auc,
)

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def slow_ranks(pos, neg, mask):
    out = []
    for b in range(len(pos)):
        valid = [neg[b][q] for q in range(len(neg[b])) if mask[b][q]]
        r_opt = sum(1 for x in valid if x > pos[b])
        r_pess = sum(1 for x in valid if x >= pos[b])
        out.append((r_opt + r_pess) / 2 + 1)
    return out


def tied_scores(rng, b, q):
    # small integer range: many ties between positives and negatives
    return rng.integers(0, 4, b).astype(float), rng.integers(0, 4, (b, q)).astype(float)


@pytest.mark.parametrize("seed", range(5))
def test_ranks_match_slow_reference_with_ties_and_ragged_masks(seed):
    rng = np.random.default_rng(seed)
    pos, neg = tied_scores(rng, 40, 7)
    mask = rng.random((40, 7)) < 0.6
    mask[0] = False  # a row without any valid negative ranks first
    expected = slow_ranks(pos, neg, mask)
    got = ranks(torch.tensor(pos), torch.tensor(neg), torch.tensor(mask))
    assert got.dtype == torch.float64
    assert got.tolist() == expected
    assert got[0] == 1.0
    assert mrr(pos, neg, mask) == pytest.approx(np.mean(1 / np.array(expected)))
    # masked-out scores must not matter, even NaN
    neg_nan = neg.copy()
    neg_nan[~mask] = np.nan
    assert ranks(pos, neg_nan, mask).tolist() == expected


def test_ranks_without_mask_equal_all_valid_mask():
    rng = np.random.default_rng(1)
    pos, neg = tied_scores(rng, 30, 5)
    full = np.ones_like(neg, dtype=bool)
    assert ranks(pos, neg).tolist() == slow_ranks(pos, neg, full)


@pytest.mark.parametrize("q", [1, 4, 99])
def test_constant_scorer_ranks_at_q_over_two_plus_one(q):
    pos = torch.zeros(6)
    neg = torch.zeros(6, q)
    assert ranks(pos, neg).tolist() == [q / 2 + 1] * 6
    assert mrr(pos, neg) == pytest.approx(1 / (q / 2 + 1))


def test_rank_examples():
    pos = torch.tensor([0.9, 0.5, 0.1])
    neg = torch.tensor([[0.1, 0.2], [0.5, 0.9], [0.5, 0.9]])
    # best, one tie + one above, both above
    assert ranks(pos, neg).tolist() == [1.0, 2.5, 3.0]
    assert ranks(pos[:, None], neg).tolist() == [1.0, 2.5, 3.0]
    assert mrr(pos, neg) == pytest.approx((1 + 1 / 2.5 + 1 / 3) / 3)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_hits_and_truncated_mrr_use_the_same_rank(k):
    rng = np.random.default_rng(3)
    pos, neg = tied_scores(rng, 50, 4)
    mask = rng.random((50, 4)) < 0.8
    r = np.array(slow_ranks(pos, neg, mask))
    assert hits_at_k(pos, neg, mask, k=k) == pytest.approx(np.mean(r <= k))
    expected = np.mean(np.where(r <= k, 1 / r, 0.0))
    assert mrr(pos, neg, mask, k=k) == pytest.approx(expected)


def test_ranking_input_errors():
    with pytest.raises(ValueError, match=r"shape \[B, Q\]"):
        ranks(torch.zeros(3), torch.zeros(3))
    with pytest.raises(ValueError, match="B = 3"):
        ranks(torch.zeros(2), torch.zeros(3, 4))
    with pytest.raises(TypeError, match="boolean"):
        ranks(torch.zeros(3), torch.zeros(3, 4), torch.ones(3, 4))
    with pytest.raises(ValueError, match="must match"):
        ranks(torch.zeros(3), torch.zeros(3, 4), torch.ones(3, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match="NaN"):
        ranks(torch.tensor([float("nan")]), torch.zeros(1, 2))
    with pytest.raises(ValueError, match="NaN"):
        ranks(torch.zeros(1), torch.tensor([[0.0, float("nan")]]))
    with pytest.raises(ValueError, match="empty"):
        mrr(torch.zeros(0), torch.zeros(0, 3))
    with pytest.raises(ValueError, match="positive integer"):
        hits_at_k(torch.zeros(2), torch.zeros(2, 2), k=0)


def brute_auc(y, s):
    pos, neg = s[y == 1], s[y == 0]
    total = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return total / (len(pos) * len(neg))


def brute_ap(y, s):
    # AP = (1/P) * sum over distinct thresholds of (#positives at tau) * precision(tau)
    total = 0.0
    for tau in np.unique(s):
        at = s >= tau
        precision = (y[at] == 1).sum() / at.sum()
        total += (y[s == tau] == 1).sum() * precision
    return total / (y == 1).sum()


@pytest.mark.parametrize("seed", range(4))
def test_auc_and_ap_match_brute_force_with_ties(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 60)
    y[:2] = [0, 1]
    s = rng.integers(0, 5, 60).astype(float)
    assert roc_auc(y, s) == pytest.approx(brute_auc(y, s))
    assert average_precision(y, s) == pytest.approx(brute_ap(y, s))
    # tensors, bool labels and lists give the same numbers
    assert roc_auc(torch.tensor(y).bool(), torch.tensor(s)) == pytest.approx(
        brute_auc(y, s)
    )
    assert average_precision(list(y), list(s)) == pytest.approx(brute_ap(y, s))


def test_auc_ap_of_perfect_and_reversed_scores():
    y = np.array([0, 0, 1, 1])
    assert roc_auc(y, [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert roc_auc(y, [0.9, 0.8, 0.2, 0.1]) == 0.0
    assert average_precision(y, [0.1, 0.2, 0.8, 0.9]) == 1.0


def test_binary_metric_errors():
    with pytest.raises(ValueError, match="both positive and negative"):
        roc_auc([1, 1], [0.2, 0.3])
    with pytest.raises(ValueError, match="at least one positive"):
        average_precision([0, 0], [0.2, 0.3])
    with pytest.raises(ValueError, match="binary"):
        roc_auc([0, 2], [0.2, 0.3])
    with pytest.raises(ValueError, match="entries"):
        roc_auc([0, 1], [0.2, 0.3, 0.4])
    with pytest.raises(ValueError, match="non-finite"):
        roc_auc([0, 1], [0.2, float("inf")])
    with pytest.raises(ValueError, match="one-dimensional"):
        roc_auc([[0, 1]], [[0.2, 0.3]])


def test_f1_scores_match_hand_computation():
    y_true = np.array([1, 1, -1, -1, -1, 1, 0])
    y_pred = np.array([1, -1, -1, 1, -1, 1, 1])
    out = f1_scores(torch.tensor(y_true), torch.tensor(y_pred))
    expected = {}
    for c in (-1, 0, 1):
        tp = np.sum((y_pred == c) & (y_true == c))
        fp = np.sum((y_pred == c) & (y_true != c))
        fn = np.sum((y_pred != c) & (y_true == c))
        expected[c] = 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)
    assert set(out["per_class"]) == {-1, 0, 1}
    for c, value in expected.items():
        assert out["per_class"][c] == pytest.approx(value)
    assert out["macro"] == pytest.approx(np.mean(list(expected.values())))
    only = f1_scores(y_true, y_pred, labels=[-1, 1])
    assert only["macro"] == pytest.approx((expected[-1] + expected[1]) / 2)
    with pytest.raises(ValueError, match="equal length"):
        f1_scores([1, 0], [1])


def test_rmse():
    a = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    b = np.array([[1.0, 0.0], [3.0, 8.0]])
    assert rmse(b, a) == pytest.approx(np.sqrt((4 + 16) / 4))
    assert rmse([1.0], [1.0]) == 0.0
    with pytest.raises(ValueError, match="shape"):
        rmse(a, a[0])


@cuda
def test_ranking_on_cuda_matches_cpu():
    rng = np.random.default_rng(0)
    pos, neg = tied_scores(rng, 64, 9)
    mask = rng.random((64, 9)) < 0.7
    cpu = ranks(torch.tensor(pos), torch.tensor(neg), torch.tensor(mask))
    gpu = ranks(
        torch.tensor(pos).cuda(), torch.tensor(neg).cuda(), torch.tensor(mask).cuda()
    )
    assert gpu.is_cuda
    assert torch.equal(gpu.cpu(), cpu)
    assert rmse(torch.ones(3).cuda(), torch.zeros(3).cuda()) == 1.0


def _ssim_reference(x, y, data_range, window=7, sigma=1.5):
    # the SSIM definition, window by window (slow)
    from math import exp

    g = np.array(
        [exp(-((i - (window - 1) / 2) ** 2) / (2 * sigma**2)) for i in range(window)]
    )
    w = np.outer(g, g) / np.outer(g, g).sum()
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    values = []
    for i in range(x.shape[0] - window + 1):
        for j in range(x.shape[1] - window + 1):
            a, b = x[i : i + window, j : j + window], y[i : i + window, j : j + window]
            ma, mb = (w * a).sum(), (w * b).sum()
            va, vb = (w * a * a).sum() - ma**2, (w * b * b).sum() - mb**2
            cab = (w * a * b).sum() - ma * mb
            values.append(
                (2 * ma * mb + c1)
                * (2 * cab + c2)
                / ((ma**2 + mb**2 + c1) * (va + vb + c2))
            )
    return float(np.mean(values))


def test_ssim_per_step_matches_the_windowed_definition():
    from dyngraph.metrics import ssim, ssim_per_step

    rng = np.random.default_rng(0)
    truth = rng.normal(size=(2, 3, 1, 10, 12))
    pred = truth + 0.3 * rng.normal(size=truth.shape)
    got = ssim_per_step(truth, pred, data_range=4.0, window=7)
    for s in range(3):
        want = np.mean(
            [_ssim_reference(truth[b, s, 0], pred[b, s, 0], 4.0) for b in range(2)]
        )
        assert float(got[s]) == pytest.approx(want, rel=1e-9)
    assert ssim(truth[0, 0, 0], truth[0, 0, 0], 4.0, window=7) == pytest.approx(1.0)
    assert 0 < ssim(truth[0, 0, 0], pred[0, 0, 0], 4.0, window=7) < 1
    with pytest.raises(ValueError, match="window"):
        ssim_per_step(truth, pred, window=11)


def test_rmse_per_step():
    from dyngraph.metrics import rmse_per_step

    truth = torch.zeros(2, 3, 4)
    pred = torch.zeros(2, 3, 4)
    pred[:, 1] = 1.0
    pred[0, 2] = 2.0
    assert rmse_per_step(truth, pred).tolist() == pytest.approx([0.0, 1.0, 2**0.5])
    with pytest.raises(ValueError, match="match"):
        rmse_per_step(truth, pred[:, :2])


def test_particle_rollout_mse_averages_over_particles_and_dimensions():
    from dyngraph.metrics import rollout_mse

    truth = torch.zeros(2, 20, 5, 3, dtype=torch.float64)
    pred = truth.clone()
    pred[:, :5, :, 0] = 1.0  # error 1 in one of three dimensions for 5 steps
    assert rollout_mse(truth, pred, 5) == pytest.approx(1 / 3)
    assert rollout_mse(truth, pred, 20) == pytest.approx(5 / 20 / 3)
    assert rollout_mse(truth, pred) == rollout_mse(truth, pred, 20)
    with pytest.raises(ValueError, match="steps"):
        rollout_mse(truth, pred, 21)


def test_relative_l2_chamfer_and_kinetic_energy_by_hand():
    from dyngraph.metrics import chamfer_distance, kinetic_energy_error, relative_l2

    truth = torch.tensor([[[3.0, 4.0]]])  # one frame, one particle
    assert relative_l2(truth, truth * 1.5) == pytest.approx(0.5)
    a = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    b = torch.tensor([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0]])
    # a -> b: 0, 0; b -> a: 0, 0, 4
    assert chamfer_distance(a, b) == pytest.approx(4 / 3)
    assert chamfer_distance(b, b) == 0.0
    # equal chamfer for any point order (no correspondence)
    assert chamfer_distance(a, b.flip(0)) == pytest.approx(4 / 3)
    still = torch.zeros(3, 2, 2)
    moving = still.clone()
    moving[1:, 0, 0] = torch.tensor([1.0, 2.0])  # speed 1 from the second frame
    # E = 0.5 * 1 * 1 at both steps, against 0
    assert kinetic_energy_error(still, moving) == pytest.approx(0.25)
    assert kinetic_energy_error(still, moving, masses=[2.0, 1.0]) == pytest.approx(1.0)
