import pytest
import torch

from dyngraph.data import (
    EventStream,
    chronological_split,
    signed_faction_network,
)
from dyngraph.models.semba.evaluate import (
    compare,
    heuristic_metrics,
    heuristic_predictions,
)


def test_recovers_planted_factions_better_than_the_heuristics():
    events, _ = signed_faction_network(60, num_events=3000, repeat=0.2, seed=0)
    torch.manual_seed(0)
    results = compare(
        events,
        tasks=("sign",),
        models=("semba",),
        memory_dim=16,
        time_dim=8,
        embedding_dim=16,
        node_embedding_dim=8,
        epochs=6,
        lr=1e-2,
        batch_size=100,
    )
    semba = results["semba"]["sign"]["macro_f1"]
    best_heuristic = max(
        results[name]["sign"]["macro_f1"]
        for name in ("pair_previous_sign", "target_positive_share")
    )
    assert semba > best_heuristic + 0.1


def test_heuristics_use_only_earlier_batches():
    events = EventStream(
        [0, 0, 0, 2], [1, 1, 1, 1], [0.0, 1.0, 2.0, 3.0], sign=[-1, 1, 1, -1]
    )
    pred = heuristic_predictions(events, batch_size=2, prior=0.5)
    assert pred["pair_previous_sign"]["sign"].tolist() == [0.5, 0.5, 1.0, 0.5]
    assert pred["pair_previous_sign"]["existence"].tolist() == [0, 0, 2, 0]
    share = pred["target_positive_share"]["sign"].tolist()
    assert share[:2] == [0.5, 0.5] and share[2] == pytest.approx((1 + 0.5) / 3)
    assert pred["target_positive_share"]["existence"].tolist() == [0, 0, 2, 2]
    # a batch boundary at a split point: event 1 then sees event 0
    pred = heuristic_predictions(events, batch_size=2, prior=0.5, split_points=[1])
    assert pred["pair_previous_sign"]["sign"].tolist()[:2] == [0.5, 0.0]


def test_pair_heuristic_reads_the_reverse_rating_and_scores_sampled_pairs():
    # (1, 0) answers (0, 1): the pair's previous interaction is the reverse one
    events = EventStream(
        [0, 2, 1, 3], [1, 3, 0, 2], [0.0, 1.0, 2.0, 3.0], sign=[-1, 1, -1, 1]
    )
    neg_dst = torch.tensor([[-1], [-1], [2], [1]])
    pred = heuristic_predictions(events, batch_size=2, prior=0.9, neg_dst=neg_dst)
    pair = pred["pair_previous_sign"]
    assert pair["sign"].tolist()[2:] == [0.0, 1.0]
    assert pair["existence"].tolist()[2:] == [1.0, 1.0]
    assert pair["sampled_existence"][2:, 0].tolist() == [0.0, 0.0]
    assert pair["sampled_sign"][2:, 0].tolist() == pytest.approx([0.9, 0.9])
    assert torch.isnan(pair["sampled_sign"][:2]).all()
    target = pred["target_positive_share"]
    assert target["sampled_existence"][2:, 0].tolist() == [0.0, 1.0]


def test_heuristic_metrics_cover_the_four_tasks_on_reciprocal_ratings():
    # every rating is answered later with the same sign by the other side
    generator = torch.Generator().manual_seed(0)
    pairs = torch.combinations(torch.arange(40))
    src, dst = pairs[torch.randperm(len(pairs), generator=generator)[:300]].T
    sign = torch.where(torch.rand(300, generator=generator) < 0.7, 1, -1)
    events = EventStream(
        torch.cat([src, dst]),
        torch.cat([dst, src]),
        torch.arange(600.0),
        sign=sign.repeat(2),
        weight=torch.ones(600),
        num_nodes=40,
    )
    results = heuristic_metrics(events, chronological_split(events), batch_size=20)
    for name in ("pair_previous_sign", "target_positive_share"):
        assert set(results[name]) == {"existence", "sign", "three_way", "weight"}
    pair = results["pair_previous_sign"]
    assert pair["sign"]["auc"] == 1.0 and pair["sign"]["neg_f1"] == 1.0
    assert pair["weight"]["rmse"] == pytest.approx(0.0)
    assert pair["existence"]["auc"] > 0.6  # sampled pairs rarely met before
    assert pair["three_way"]["macro_f1"] > 0.75
