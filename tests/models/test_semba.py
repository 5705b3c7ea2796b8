import pytest
import torch

from dyngraph.data import (
    EventStream,
    NegativeSampler,
    TemporalBatch,
    TemporalBatchLoader,
    chronological_split,
    signed_faction_network,
)
from dyngraph.models.semba import SEMBA, SignedMemory, stream_predictions
from dyngraph.models.semba_eval import (
    compare,
    heuristic_metrics,
    heuristic_predictions,
)
from dyngraph.training import fit


@pytest.fixture(autouse=True)
def one_thread():
    # tiny tensors: extra threads only contend on a busy machine
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def stream():
    events, _ = signed_faction_network(30, num_events=400, seed=1)
    return events


def _small(task="sign", **kwargs):
    torch.manual_seed(0)
    return SEMBA(30, 8, 4, 8, task, dropout=0.0, **kwargs)


def _alter_batch(stream, start, stop):
    """Same pairs, but other signs, weights and times inside batch [start, stop)."""
    sign = stream.sign.clone()
    weight = stream.weight.clone()
    t = stream.t.clone()
    sign[start:stop] = -sign[start:stop]
    weight[start:stop] = 11.0 - weight[start:stop]
    lo, hi = float(t[start - 1]), float(t[stop])
    t[start:stop] = torch.linspace(lo, hi, stop - start + 2, dtype=t.dtype)[1:-1]
    return EventStream(
        stream.src, stream.dst, t, sign=sign, weight=weight, num_nodes=30
    )


@pytest.mark.parametrize("task", ["existence", "sign", "three_way", "weight"])
def test_batch_predictions_ignore_the_batch_itself(stream, task):
    k, size = 4, 50
    altered = _alter_batch(stream, k * size, (k + 1) * size)
    outputs = []
    for events in (stream, altered):
        model = _small(task)
        sampler = NegativeSampler(seed=3).fit(stream)
        outputs.append(
            stream_predictions(model, events, batch_size=size, neg_sampler=sampler)
        )
    first, second = outputs
    upto = (k + 1) * size
    assert torch.equal(first.event[:upto], second.event[:upto])
    if task in ("existence", "three_way"):
        assert torch.equal(first.sampled[:upto], second.sampled[:upto])
    # the next batch does see the change, so the comparison is not vacuous
    assert not torch.allclose(first.event[upto:], second.event[upto:])


def test_rewiring_other_events_of_the_batch_leaves_a_prediction_unchanged(stream):
    k, size = 4, 50
    start = k * size
    others = slice(start + 1, start + size)  # batch k except its first event
    dst, sign = stream.dst.clone(), stream.sign.clone()
    dst[others] = (dst[others] + 7) % 30
    sign[others] = -sign[others]
    rewired = EventStream(
        stream.src, dst, stream.t, sign=sign, weight=stream.weight, num_nodes=30
    )
    preds = [
        stream_predictions(_small("sign"), events, batch_size=size).event
        for events in (stream, rewired)
    ]
    assert torch.equal(preds[0][start], preds[1][start])
    assert not torch.allclose(preds[0][start + size :], preds[1][start + size :])


def test_training_step_loss_ignores_the_batch_itself(stream):
    k, size = 3, 40
    altered = _alter_batch(stream, k * size, (k + 1) * size)
    outputs = []
    for events in (stream, altered):
        model = _small("sign")
        model.train()
        batches = list(TemporalBatchLoader(events, size))
        for batch in batches[:k]:
            model.training_step(batch).backward()
        outputs.append(model(batches[k].events.src, batches[k].events.dst))
    assert torch.equal(outputs[0], outputs[1])


def test_balance_routing_reads_the_partner_memory_of_the_right_sign():
    d = 3
    memory = SignedMemory(4, 2, d, 2)
    state = torch.arange(4 * 2 * d, dtype=torch.float).view(4, 2 * d)
    memory.memory.copy_(state)
    for sign in (-1, 1):
        memory.update_state(
            torch.tensor([0]),
            torch.tensor([1]),
            torch.tensor([1.0]),
            torch.tensor([[0.5, float(sign)]]),
            torch.tensor([sign]),
        )
        memory.memory.copy_(state)
        m_pos, m_neg = memory.routed_messages(torch.arange(2))
        # identity message: [own, partner, raw + direction, time encoding]
        pos0, neg0 = state[0, :d], state[0, d:]
        pos1, neg1 = state[1, :d], state[1, d:]
        assert torch.equal(m_pos[0, :d], pos0) and torch.equal(m_neg[0, :d], neg0)
        if sign < 0:
            assert torch.equal(m_pos[0, d : 2 * d], neg1)
            assert torch.equal(m_neg[0, d : 2 * d], pos1)
            assert torch.equal(m_pos[1, d : 2 * d], neg0)
            assert torch.equal(m_neg[1, d : 2 * d], pos0)
        else:
            assert torch.equal(m_pos[0, d : 2 * d], pos1)
            assert torch.equal(m_neg[0, d : 2 * d], neg1)
        assert m_pos[0, 2 * d + 2] == 1 and m_pos[1, 2 * d + 2] == 0
        # the update read by forward is the GRU of exactly these messages
        out, last = memory(torch.tensor([0]))
        with torch.no_grad():
            expected = torch.cat(
                [
                    memory.gru_pos(m_pos[:1], pos0[None]),
                    memory.gru_neg(m_neg[:1], neg0[None]),
                ],
                dim=-1,
            )
        assert torch.allclose(out, expected) and last.item() == 1.0
        memory.reset_state()


def test_update_state_applies_pending_messages_and_keeps_others():
    memory = SignedMemory(5, 1, 4, 2)
    one = torch.ones(1, 1)
    memory.update_state(
        torch.tensor([0]),
        torch.tensor([1]),
        torch.tensor([1.0]),
        one,
        torch.tensor([-1]),
    )
    assert memory.memory.abs().sum() == 0  # lazily pending
    memory.update_state(
        torch.tensor([0]),
        torch.tensor([2]),
        torch.tensor([2.0]),
        one,
        torch.tensor([1]),
    )
    # node 0's first message was applied, node 1's is still pending
    assert memory.memory[0].abs().sum() > 0 and memory.memory[1].abs().sum() == 0
    assert memory.last_update.tolist()[:3] == [1.0, 0.0, 0.0]
    pending = memory.get_extra_state()
    assert sorted(pending["node"].tolist()) == [0, 1, 2]


@pytest.mark.parametrize("task", ["existence", "sign", "three_way", "weight"])
def test_each_head_loss_decreases(stream, task):
    model = _small(task, neg_weight=2.0, weight_scale=10.0, node_embedding_dim=4)
    train = stream[:250]
    sampler = NegativeSampler(seed=0).fit(train)

    def batches(epoch):
        model.reset_state()
        return TemporalBatchLoader(train, 50, neg_sampler=sampler)

    result = fit(
        model,
        model.training_step,
        epochs=12,
        optimizer=torch.optim.Adam(model.parameters(), lr=1e-2),
        batches=batches,
        seed=0,
        progress=False,
    )
    losses = [h["loss"] for h in result.history]
    assert losses[-1] < 0.8 * losses[0]


def test_weight_target_is_negative_for_negative_events():
    events = EventStream([0, 1], [1, 0], [0.0, 1.0], sign=[1, -1], weight=[4.0, 4.0])
    model = SEMBA(2, 4, 2, 4, "weight", weight_scale=4.0)
    model.forward = lambda src, dst: torch.ones(2)  # predicts +|w|/c for both
    loss = model.loss(TemporalBatch(events, None, None, 0, 2))
    assert loss.item() == pytest.approx(2.0)  # (0 + (1 - (-1))^2) / 2


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


def test_save_and_load_give_identical_predictions(stream, tmp_path):
    model = _small("three_way", node_embedding_dim=4)
    split = chronological_split(stream)
    sampler = NegativeSampler(seed=0).fit(stream)
    model.observe_stream(split.train, 50)
    path = model.save(tmp_path / "semba.pt")
    loaded = SEMBA.load(path)
    first = stream_predictions(model, split.val, batch_size=50, neg_sampler=sampler)
    sampler = NegativeSampler(seed=0).fit(stream)
    second = stream_predictions(loaded, split.val, batch_size=50, neg_sampler=sampler)
    assert torch.equal(first.event, second.event)
    assert torch.equal(first.sampled, second.sampled)


def test_reset_state_restarts_and_reset_parameters_reinitialises(stream):
    model = _small("sign")
    before = stream_predictions(model, stream, batch_size=50).event
    model.reset_state()
    assert torch.equal(before, stream_predictions(model, stream, batch_size=50).event)
    model.reset_parameters()
    model.reset_state()
    after = stream_predictions(model, stream, batch_size=50).event
    assert not torch.allclose(before, after)


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="unknown task"):
        SEMBA(3, task="link")
    with pytest.raises(ValueError, match="multiple of heads"):
        SEMBA(3, 4, 2, 5)
    unsigned = EventStream([0], [1], [0.0])
    with pytest.raises(ValueError, match="no sign"):
        SEMBA(3, 4, 2, 4).observe(unsigned)
    signed = EventStream([0], [1], [0.0], sign=[1])
    with pytest.raises(ValueError, match="sampled negatives"):
        SEMBA(3, 4, 2, 4, "existence").loss(TemporalBatch(signed, None, None, 0, 1))
