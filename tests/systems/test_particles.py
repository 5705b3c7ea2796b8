import numpy as np
import pytest
import torch

from dyngraph.systems.particles import drop, jelly, nbody, nbody_energy, simulate_nbody


def test_nbody_energy_drift_stays_bounded_and_shrinks_with_the_step():
    pos, vel, m = simulate_nbody(2, 100, num_bodies=8, substeps=10, seed=3)
    energy = nbody_energy(pos, vel, m, 0.05)
    drift = np.abs(energy / energy[:, :1] - 1).max()
    assert drift < 1e-3
    # leapfrog is second order: ten times smaller steps, ~100 times smaller error
    pos, vel, m = simulate_nbody(2, 100, num_bodies=8, substeps=100, seed=3)
    fine = np.abs(nbody_energy(pos, vel, m, 0.05) / energy[:, :1] - 1).max()
    assert fine < drift / 20
    # and the system really moves
    assert np.abs(pos[:, -1] - pos[:, 0]).max() > 0.05


def test_nbody_conserves_momentum_and_energy_formula_is_right():
    pos, vel, m = simulate_nbody(1, 50, num_bodies=5, seed=1)
    momentum = np.einsum("n,btnd->btd", m, vel)
    assert np.abs(momentum).max() < 1e-12
    # two bodies: the energy formula by hand
    x = np.array([[0.0, 0.0], [3.0, 4.0]])
    v = np.array([[1.0, 0.0], [0.0, 2.0]])
    mm = np.array([2.0, 3.0])
    expected = 0.5 * 2 * 1 + 0.5 * 3 * 4 - 6 / np.sqrt(25 + 0.1**2)
    assert nbody_energy(x, v, mm, 0.1) == pytest.approx(expected, rel=1e-12)
    assert nbody(1, 5, num_bodies=4, dim=3).positions.shape == (1, 5, 4, 3)


def test_the_jelly_at_rest_stays_at_rest():
    rest = jelly(
        1,
        30,
        side=6,
        gravity=0.0,
        initial_speed=0.0,
        spin_speed=0.0,
        dtype=torch.float64,
    )
    assert (rest.positions - rest.positions[:, :1]).abs().max() == 0.0


def test_the_jelly_falls_keeps_its_shape_and_stays_in_the_box():
    p = jelly(2, 60, side=8, seed=4, dtype=torch.float64)
    assert p.positions.shape == (2, 60, 64, 2)
    # gravity (g = 2, dt = 0.01): the centre of mass falls freely before the floor
    com = p.positions[:, :10].mean(2)
    acc = com[:, 2:] - 2 * com[:, 1:-1] + com[:, :-2]
    assert torch.allclose(acc[..., 1], torch.full_like(acc[..., 1], -2e-4), rtol=1e-6)
    # springs hold the lattice together: neighbours stay near their rest
    # length 0.02 (squeezed, not crossed, when a corner hits a wall)
    near = (p.positions[:, :, 1] - p.positions[:, :, 0]).norm(dim=-1)
    assert near.min() > 0.005 and near.max() < 0.03
    assert (near[:, :10] - 0.02).abs().max() < 1e-3
    assert p.positions.min() > -0.02 and p.positions.max() < 1.02
    assert not torch.equal(
        jelly(1, 3, side=4, seed=1).positions, jelly(1, 3, side=4, seed=2).positions
    )
    assert torch.equal(
        jelly(1, 3, side=4, seed=1).positions, jelly(1, 3, side=4, seed=1).positions
    )


def test_the_drop_falls_and_spreads_without_collapsing():
    p = drop(1, 60, radius=0.08, seed=0, dtype=torch.float64)
    first, last = p.positions[0, 0], p.positions[0, -1]
    assert last[:, 1].mean() < first[:, 1].mean() - 0.1
    # pressure keeps particles apart: no two particles merge
    gaps = torch.cdist(last, last) + torch.eye(len(last))
    assert gaps.min() > 0.003
    assert p.positions.min() > -0.03


@pytest.mark.parametrize("bad", [{"side": 0}, {"frame_dt": -1.0}, {"gravity": -1.0}])
def test_bad_settings_are_named(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        jelly(1, 3, **bad)
