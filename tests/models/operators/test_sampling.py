import pytest
import torch

from dyngraph.models.operators.sampling import (
    farthest_point_sampling,
    random_sampling,
    subsample,
)


def _slow_fps(points, k, first):
    chosen = [first]
    for _ in range(k - 1):
        d = (
            torch.stack([(points - points[c]).norm(dim=1) for c in chosen])
            .min(0)
            .values
        )
        chosen.append(int(d.argmax()))
    return chosen


def test_fps_matches_the_slow_definition_and_covers_better_than_random():
    points = torch.rand(200, 2, generator=torch.Generator().manual_seed(0))
    index = farthest_point_sampling(points, 20, seed=3)
    assert index.tolist() == _slow_fps(points, 20, int(index[0]))
    assert len(set(index.tolist())) == 20

    def cover(idx):  # the largest distance of a point to the sample
        return torch.cdist(points, points[idx]).min(1).values.max()

    assert cover(index) < cover(random_sampling(points, 20, seed=3))
    assert torch.equal(index, farthest_point_sampling(points, 20, seed=3))
    assert not torch.equal(index, farthest_point_sampling(points, 20, seed=4))


def test_subsample_takes_the_ceiling_of_the_ratio():
    points = torch.rand(101, 3)
    assert len(subsample(points, 0.25)) == 26
    assert len(subsample(points, 0.001, "random")) == 1
    assert torch.equal(subsample(points, 1.0), torch.arange(101))
    r = subsample(points, 0.5, "random", seed=1)
    assert torch.equal(r, subsample(points, 0.5, "random", seed=1))
    assert bool((r[1:] > r[:-1]).all())
    with pytest.raises(ValueError, match="ratio"):
        subsample(points, 0.0)
    with pytest.raises(ValueError, match="method"):
        subsample(points, 0.5, "grid")
