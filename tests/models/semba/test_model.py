import pytest
import torch

from dyngraph.data import (
    EventStream,
    NegativeSampler,
    TemporalBatch,
    TemporalBatchLoader,
    chronological_split,
)
from dyngraph.models.semba import SEMBA, SignedMemory, stream_predictions
from dyngraph.training import fit


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
        # the batch's times are altered too: without recency no time of the
        # batch is read (with it they are its query times, see below)
        model = _small(task, recency=False)
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
        outputs.append(model.score(batches[k].events.src, batches[k].events.dst))
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
    model.score = lambda src, dst, t=None: torch.ones(2)  # predicts +|w|/c for both
    loss = model.loss(TemporalBatch(events, None, None, 0, 2))
    assert loss.item() == pytest.approx(2.0)  # (0 + (1 - (-1))^2) / 2


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


def test_forward_is_the_training_loss_and_fit_returns_the_model(stream):
    model = _small("sign")
    split = chronological_split(stream)
    batch = next(iter(TemporalBatchLoader(split.train, 50)))
    torch.testing.assert_close(model(batch), model.loss(batch), rtol=0, atol=0)
    assert model.fit(stream, split, epochs=2, batch_size=50) is model
    assert len(model.history_.history) == 2
    assert model.events_per_second_ > 0


def test_models_with_custom_modules_refuse_to_pickle_them(tmp_path):
    from torch_geometric.nn.models.tgn import LastAggregator

    model = SEMBA(3, 4, 2, 4, aggregator_module=LastAggregator())
    with pytest.raises(ValueError, match="custom aggregator_module"):
        model.save(tmp_path / "m.pt")
    assert not (tmp_path / "m.pt").exists()


def test_load_refuses_a_file_of_another_kind(tmp_path):
    from dyngraph.models import PiVeM
    from dyngraph.training import CheckpointError

    path = PiVeM(3, num_bins=2).save(tmp_path / "pivem.pt")
    with pytest.raises(CheckpointError, match="not 'SEMBA'"):
        SEMBA.load(path)


def test_fixed_time_encoding_is_geometric_frozen_and_survives_resets(stream):
    from dyngraph.models.semba import FixedTimeEncoder

    model = _small("existence", time_encoding="fixed")
    enc = model.memory.time_enc
    assert isinstance(enc, FixedTimeEncoder) and model.edge_time_enc is enc
    d = enc.out_channels
    omega = (d**0.5) ** (-torch.arange(d, dtype=torch.float64) / d**0.5)
    torch.testing.assert_close(enc.lin.weight.view(-1).double(), omega)
    gap = torch.tensor([0.0, 3.0, 300.0])
    assert torch.equal(enc(gap), torch.cos(gap[:, None] * enc.lin.weight.view(1, -1)))
    before = enc.lin.weight.clone()
    model.fit(stream, epochs=1, batch_size=100)  # trains, resets the state
    model.reset_parameters()
    assert torch.equal(enc.lin.weight, before) and not enc.lin.weight.requires_grad
    learned = SEMBA(30, 8, 4, 8, "sign")  # the default: PyG's, trained
    assert learned.memory.time_enc.lin.weight.requires_grad
    with pytest.raises(ValueError, match="unknown time_encoding 'random'"):
        SEMBA(30, 8, 4, 8, "sign", time_encoding="random")


def test_evaluation_continues_the_fits_own_timeline_also_after_loading(
    stream, tmp_path
):
    from dyngraph.models.semba.evaluate import evaluate_model

    split = chronological_split(stream)
    model = _small("sign").fit(stream, split, epochs=2, batch_size=100)
    snap = model.fit_state_
    assert snap is not None and snap["timeline"]["history"]["t"].numel() == (
        split.train.num_events
    )  # the state at the end of the best epoch's training pass
    _, first = evaluate_model(model, stream, split, batch_size=100)
    loaded = SEMBA.load(model.save(tmp_path / "semba.pt"))
    _, again = evaluate_model(loaded, stream, split, batch_size=100)
    assert torch.equal(first.event, again.event)
    loaded.fit_state_ = None  # a rebuild with the final weights is not the same
    _, rebuilt = evaluate_model(loaded, stream, split, batch_size=100)
    assert not torch.equal(first.event, rebuilt.event)


def test_recency_encodes_the_time_since_each_endpoints_last_event():
    r"""With ``recency`` the head reads psi(t - tau_s) and psi(t - tau_d).

    :math:`\tau_i` is the time of node :math:`i`'s last *observed* event
    (``0``, the time origin, for a node never seen), :math:`t` the pair's
    query time.
    """
    model = _small("existence", recency=True)
    seen = []
    model.recency_enc.register_forward_hook(lambda m, args, out: seen.append(args[0]))
    first = EventStream(
        torch.tensor([0, 1]),
        torch.tensor([1, 2]),
        torch.tensor([2.0, 5.0]),
        sign=torch.tensor([1, -1]),
        num_nodes=30,
    )
    model.observe(first)
    model.observe(first[:0])  # apply the pending messages (times) to the memory
    src, dst, t = torch.tensor([0, 2, 7]), torch.tensor([2, 1, 3]), torch.tensor(9.0)
    model.score(src, dst, t.expand(3))
    since_src, since_dst = seen
    assert torch.allclose(since_src, torch.tensor([7.0, 4.0, 9.0]))
    assert torch.allclose(since_dst, torch.tensor([4.0, 4.0, 9.0]))
    with pytest.raises(ValueError, match="recency needs the pairs' times"):
        model.score(src, dst)


def test_recency_predictions_ignore_the_batch_but_its_query_times(stream):
    """The batch's signs, weights and pairs do not reach its own predictions.

    Its times do, as query times only: the question is whether ``(s, d)``
    links *at* ``t``.
    """
    k, size = 4, 50
    altered = _alter_batch(stream, k * size, (k + 1) * size)
    altered = EventStream(
        stream.src,
        stream.dst,
        stream.t,
        sign=altered.sign,
        weight=altered.weight,
        num_nodes=30,
    )
    outputs = []
    for events in (stream, altered):
        model = _small("existence", recency=True)
        sampler = NegativeSampler(seed=3).fit(stream)
        outputs.append(
            stream_predictions(model, events, batch_size=size, neg_sampler=sampler)
        )
    first, second = outputs
    upto = (k + 1) * size
    assert torch.equal(first.event[:upto], second.event[:upto])
    assert torch.equal(first.sampled[:upto], second.sampled[:upto])
    assert not torch.allclose(first.event[upto:], second.event[upto:])
