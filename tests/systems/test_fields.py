import math

import pytest
import torch

from dyngraph.systems import (
    GRAY_SCOTT_ENVIRONMENTS,
    burgers,
    gray_scott,
    lambda_omega,
)

SMALL = {"size": 12, "num_frames": 4, "frame_dt": 2.0, "seed_size": 3}


def test_gray_scott_shape_params_and_coda_environments():
    field = gray_scott(per_environment=2, **SMALL)
    assert field.values.shape == (8, 4, 2, 12, 12)
    assert field.channels == ("u", "v")
    assert GRAY_SCOTT_ENVIRONMENTS == (
        (0.03, 0.062),
        (0.039, 0.058),
        (0.03, 0.058),
        (0.039, 0.062),
    )
    assert field.params["f"][::2].tolist() == pytest.approx([0.03, 0.039, 0.03, 0.039])
    assert field.params["k"][1::2].tolist() == pytest.approx(
        [0.062, 0.058, 0.058, 0.062]
    )
    assert torch.equal(
        field.times, torch.tensor([0.0, 2.0, 4.0, 6.0], dtype=torch.float64)
    )


def test_gray_scott_conserves_u_plus_v_without_feed_and_kill():
    # the reaction terms cancel in u + v when f = k = 0, diffusion is periodic
    field = gray_scott([(0.0, 0.0)], **SMALL)
    total = field.values.double().sum((2, 3, 4))[0]
    assert torch.allclose(total, total[0].expand_as(total), rtol=1e-6)
    # and it really evolved (the reaction moved mass from u to v)
    assert not torch.allclose(field.values[0, 0, 1], field.values[0, -1, 1])
    # with feed and kill the total changes
    fed = gray_scott([(0.039, 0.058)], **SMALL).values.double().sum((2, 3, 4))[0]
    assert abs(float(fed[-1] - fed[0])) > 1e-2


def test_gray_scott_homogeneous_state_is_steady():
    field = gray_scott(num_seeds=0, **SMALL)
    assert torch.equal(field.values[:, :, 0], torch.ones_like(field.values[:, :, 0]))
    assert torch.equal(field.values[:, :, 1], torch.zeros_like(field.values[:, :, 1]))


def test_generators_are_seeded():
    a = gray_scott(seed=3, **SMALL).values
    assert torch.equal(a, gray_scott(seed=3, **SMALL).values)
    assert not torch.equal(a, gray_scott(seed=4, **SMALL).values)
    lo = {"size": 16, "num_frames": 3, "frame_dt": 0.2}
    b = lambda_omega(2, seed=1, **lo).values
    assert torch.equal(b, lambda_omega(2, seed=1, **lo).values)
    assert not torch.equal(b, lambda_omega(2, seed=2, **lo).values)
    c = burgers(2, size=32, num_frames=3, seed=5).values
    assert torch.equal(c, burgers(2, size=32, num_frames=3, seed=5).values)


def test_lambda_omega_uniform_limit_cycle_rotates_at_minus_beta():
    from dyngraph.systems.fields import _lambda_omega_run

    phase, beta = 0.7, 1.3
    state = torch.zeros(1, 2, 8, 8, dtype=torch.float64)
    state[:, 0], state[:, 1] = math.cos(phase), math.sin(phase)
    field = _lambda_omega_run(state, 6, 0.5, 0.01, 50, 0.1, beta, 1.0)
    times = field.times.double()
    u, v = field.values[0, :, 0, 0, 0].double(), field.values[0, :, 1, 0, 0].double()
    assert torch.allclose(u, torch.cos(phase - beta * times), atol=1e-6)
    assert torch.allclose(v, torch.sin(phase - beta * times), atol=1e-6)
    # the origin is a steady state
    rest = _lambda_omega_run(torch.zeros(1, 2, 8, 8), 3, 0.5, 0.05, 10, 0.1, beta, 1.0)
    assert torch.equal(rest.values, torch.zeros_like(rest.values))


def test_lambda_omega_spiral_stays_on_the_unit_amplitude_scale():
    field = lambda_omega(1, size=24, num_frames=5, frame_dt=1.0, dt=0.05, length=10.0)
    amplitude = field.values[0, -1].pow(2).sum(0).sqrt()
    assert field.grid == (24, 24)
    assert field.spacing == pytest.approx(10.0 / 24)
    assert 0.5 < float(amplitude.median()) <= 1.05


def test_burgers_conserves_mass_dissipates_energy_and_keeps_constants():
    field = burgers(3, size=64, num_frames=6, frame_dt=0.1, dt=0.002, nu=0.05)
    mass = field.values.double().sum((2, 3))
    assert torch.allclose(mass, mass[:, :1].expand_as(mass), atol=1e-4)
    energy = field.values.double().pow(2).sum((2, 3))
    assert bool((energy[:, 1:] < energy[:, :-1]).all())
    const = burgers(size=16, num_frames=3, initial=torch.full((1, 16), 0.4))
    assert torch.allclose(const.values, torch.full_like(const.values, 0.4))


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="frame_dt"):
        gray_scott(
            frame_dt=1.0, dt=0.3, **{k: v for k, v in SMALL.items() if k != "frame_dt"}
        )
    with pytest.raises(ValueError, match="num_frames"):
        lambda_omega(num_frames=0)
    with pytest.raises(ValueError, match="initial"):
        burgers(size=16, initial=torch.zeros(1, 8))
    with pytest.raises(FloatingPointError, match="dt"):
        lambda_omega(1, size=16, num_frames=2, frame_dt=400.0, dt=2.0, d=5.0)
