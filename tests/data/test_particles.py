import pytest
import torch

from dyngraph.data.particles import KINEMATIC, Particles, boundary_features


def _particles() -> Particles:
    t = torch.arange(5, dtype=torch.float64)
    # particle 0 moves with constant acceleration 2 along x, particle 1 rests
    x = torch.zeros(2, 5, 2, 2, dtype=torch.float64)
    x[:, :, 0, 0] = t**2
    x[:, :, 1] = 0.5
    return Particles(x, types=torch.tensor([0, KINEMATIC]), box=[[-1, 30], [-1, 1]])


def test_velocities_accelerations_and_history_follow_gns():
    p = _particles()
    assert p.velocities()[0, :, 0, 0].tolist() == [1, 3, 5, 7]
    assert p.accelerations()[0, :, 0, 0].tolist() == [2, 2, 2]
    history = p.velocity_history(4, 3)
    assert history[0, :, 0, 0].tolist() == [5, 7]
    with pytest.raises(ValueError, match="window"):
        p.velocity_history(1, 3)


def test_statistics_leave_out_kinematic_particles():
    stats = _particles().statistics()
    assert stats["acc_mean"].tolist() == [2, 0]
    assert stats["acc_std"].tolist() == [0, 0]
    assert stats["vel_mean"][0] == 4


def test_boundary_features_are_clipped_distances_over_the_radius():
    box = torch.tensor([[0.0, 1.0], [0.0, 2.0]])
    f = boundary_features(torch.tensor([[0.05, 1.0]]), box, 0.1)
    assert torch.allclose(f, torch.tensor([[0.5, 1.0, 1.0, 1.0]]))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"positions": torch.zeros(2, 3, 4)}, "positions"),
        ({"positions": torch.full((1, 2, 3, 2), float("nan"))}, "positions"),
        ({"positions": torch.zeros(1, 2, 3, 2), "types": torch.zeros(2)}, "types"),
        ({"positions": torch.zeros(1, 2, 3, 2), "box": [[0, 0], [0, 1]]}, "box"),
    ],
)
def test_bad_input_names_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        Particles(**kwargs)


def test_slicing_keeps_the_metadata():
    p = _particles()
    q = p.trajectories(1).frames(slice(1, 3))
    assert q.positions.shape == (1, 2, 2, 2)
    assert torch.equal(q.box, p.box) and torch.equal(q.types, p.types)
