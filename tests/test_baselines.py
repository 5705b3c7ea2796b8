import torch

from dyngraph.baselines import history_link_scores, preferential_attachment_scores
from dyngraph.data import EventStream


def test_history_link_scores_counts_both_directions():
    history = EventStream([0, 1, 0, 2], [1, 0, 2, 3], [0, 1, 2, 3], num_nodes=5)
    scores = history_link_scores(
        history, torch.tensor([1, 0, 3, 4]), torch.tensor([0, 2, 2, 0])
    )
    assert scores.tolist() == [2.0, 1.0, 1.0, 0.0]
    empty = history.window(10, 20)
    assert history_link_scores(
        empty, torch.tensor([0]), torch.tensor([1])
    ).tolist() == [0.0]


def test_preferential_attachment_multiplies_event_counts():
    history = EventStream([0, 1, 0, 2], [1, 0, 2, 3], [0, 1, 2, 3], num_nodes=5)
    # event counts: node 0: 3, node 1: 2, node 2: 2, node 3: 1, node 4: 0
    scores = preferential_attachment_scores(
        history, torch.tensor([0, 2, 4]), torch.tensor([1, 3, 0])
    )
    assert scores.tolist() == [6.0, 2.0, 0.0]
    assert scores.dtype == torch.float64
