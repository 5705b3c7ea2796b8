import math

import pytest
import torch

from dyngraph.models.graphode import (
    ReencodeRule,
    encode,
    kmeans,
    latent_consistency,
    region_adjacency,
)


def _planted(
    frames: int = 6, swap_at: int | None = None, noise=0.01, move: bool = False
):
    """[1, frames, 1, 12, 12]: three planted regions with distinct histories.

    With ``swap_at`` the levels are constant until then and permuted after;
    with ``move`` too, the regions are transposed from then on.
    """
    regions = torch.zeros(12, 12, dtype=torch.long)
    regions[:, 4:8] = 1
    regions[3:9, 8:] = 2
    gen = torch.Generator().manual_seed(0)
    out = []
    for t in range(frames):
        level = torch.tensor([math.sin(0.9 * t), 2.0 + math.cos(0.5 * t), -1.5])
        if swap_at is not None:
            level = torch.tensor([0.0, 2.0, -1.5] if t < swap_at else [-1.5, 0.0, 2.0])
        layout = regions.T if move and swap_at is not None and t >= swap_at else regions
        out.append(level[layout] + noise * torch.randn(12, 12, generator=gen))
    return torch.stack(out).view(1, frames, 1, 12, 12), regions


def test_kmeans_returns_k_non_empty_clusters_and_is_seeded():
    x = torch.cat([torch.zeros(20, 2), torch.ones(5, 2) * 5, torch.ones(1, 2) * 9])
    codes, labels = kmeans(x, 3, seed=1)
    assert codes.shape == (3, 2)
    assert torch.bincount(labels, minlength=3).sort().values.tolist() == [1, 5, 20]
    again = kmeans(x, 3, seed=1)
    assert torch.equal(again[1], labels)
    with pytest.raises(ValueError, match="`k`"):
        kmeans(x, 30)


def test_coarsening_recovers_planted_regions():
    history, regions = _planted()
    graph = encode(history, 3)
    found = graph.regions(0)
    # one code per planted region (a relabelling of the planted partition)
    pairs = set(zip(regions.flatten().tolist(), found.flatten().tolist(), strict=True))
    assert len(pairs) == 3 and len({a for a, _ in pairs}) == len({b for _, b in pairs})
    # each probe lies in its own region
    assert found.flatten()[graph.probes[0]].tolist() == [0, 1, 2]
    assert graph.probe_fraction == pytest.approx(3 / 144)
    assert graph.positions.shape == (1, 3, 2)
    assert float(graph.consistency[0]) > 0.99


def test_region_adjacency_weights():
    # stripes 0 | 1 | 2 on a periodic grid: every stripe touches both others
    stripes = torch.arange(3).repeat_interleave(2).repeat(6, 1)
    w = region_adjacency(stripes, 3)
    assert torch.allclose(w, torch.ones(3, 3) - torch.eye(3))
    # a region inside another touches only it; non-zero counts are scaled to [0, 1]
    inner = torch.zeros(6, 6, dtype=torch.long)
    inner[2:4, 2:4] = 1
    inner[0, 0] = 2
    w = region_adjacency(inner, 3)
    assert w[1, 2] == 0 and w[0, 1] > 0 and w[0, 2] > 0
    assert float(w.max()) == 1.0 and float(w.min()) == 0.0
    assert torch.equal(w.diagonal(), torch.zeros(3))


def _fires(rule, field, history=4):
    graph = encode(field[:, :history], 3)
    since = torch.zeros(1, dtype=torch.long)
    fired = []
    for s in range(1, field.shape[1] - history + 1):
        since += 1
        now = field[:, s : s + history]
        hit = bool(rule.fires(now, graph, since)[0])
        fired.append(hit)
        if hit:
            graph, since = encode(now, 3), torch.zeros(1, dtype=torch.long)
    return fired


def test_adaptive_rule_fires_on_a_planted_regime_change_only():
    steady = torch.randn(1, 1, 1, 12, 12, generator=torch.Generator().manual_seed(1))
    steady = steady + 0.02 * torch.randn(1, 16, 1, 12, 12)
    rule = ReencodeRule("adaptive", tau=0.9)
    assert not any(_fires(rule, steady))
    changed, _ = _planted(frames=16, swap_at=9, move=True)
    fired = _fires(rule, changed)
    # windows start at 1..12; the change enters the window starting at 6
    assert not any(fired[:5]) and any(fired[5:9])
    graph = encode(changed[:, :4], 3)
    assert float(latent_consistency(changed[:, 12:16], graph)[0]) < 0.5
    # the regions evolving coherently (levels permuted, layout kept) keep
    # the partition valid: the codes are refreshed, the rule does not fire
    permuted, _ = _planted(frames=16, swap_at=9)
    assert not any(_fires(rule, permuted))
    graph = encode(permuted[:, :4], 3)
    assert float(latent_consistency(permuted[:, 12:16], graph)[0]) > 0.99


def test_reencoding_keeps_preferred_probes_inside_their_regions():
    history, regions = _planted()
    flat = regions.flatten()
    # one preferred pixel in region 0 and two in region 2; none in region 1
    prefer = torch.tensor(
        [[flat.eq(0).nonzero()[5, 0], *flat.eq(2).nonzero()[[0, 7], 0]]]
    )
    plain, kept = encode(history, 3), encode(history, 3, prefer=prefer)
    found = kept.regions(0).flatten()
    for m in range(3):
        probe = int(kept.probes[0, m])
        mine = [int(p) for p in prefer[0] if int(found[p]) == m]
        # a preferred pixel of the region if there is one, else the usual probe
        assert probe in mine if mine else probe == int(plain.probes[0, m])


def test_interval_and_never_rules():
    field = torch.randn(1, 12, 1, 12, 12)
    assert _fires(ReencodeRule("interval", every=3), field) == [
        (s % 3 == 0) for s in range(1, 9)
    ]
    assert not any(_fires(ReencodeRule("never"), field))
    with pytest.raises(ValueError, match="mode"):
        ReencodeRule("sometimes")
    with pytest.raises(ValueError, match="tau"):
        ReencodeRule(tau=1.5)
