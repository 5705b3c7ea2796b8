import numpy as np
import pytest
import torch
from scipy.integrate import solve_ivp

from dyngraph.systems import draw_environments, get_system, simulate

T = np.linspace(0.0, 2.0, 101)


def _scipy(name, x0, t, params=None, method="DOP853"):
    system = get_system(name)

    def fun(time, y):
        return system.rhs(time, torch.from_numpy(y), params).numpy()

    sol = solve_ivp(
        fun, (t[0], t[-1]), x0, t_eval=t, method=method, rtol=1e-11, atol=1e-12
    )
    return sol.y.T


def test_matches_scipy_on_lorenz():
    sim = simulate("lorenz", T, x0=[1.0, 1.0, 1.0], rtol=1e-10, atol=1e-12)
    assert sim.x.shape == (1, 1, len(T), 3) and sim.t.shape == (len(T),)
    np.testing.assert_allclose(
        sim.x[0, 0].numpy(), _scipy("lorenz", [1.0, 1.0, 1.0], T), atol=1e-6
    )


def test_batched_environments_match_single_runs():
    envs = draw_environments("lotka_volterra", 3, spread=0.3, seed=0)
    x0 = [[1.0, 1.0], [0.5, 2.0]]
    sim = simulate("lotka_volterra", T, x0, params=envs)
    assert sim.x.shape == (3, 2, len(T), 2)
    assert sim.params["alpha"].shape == (3,)
    for e in range(3):
        p = {k: float(v[e]) for k, v in envs.items()}
        for b in range(2):
            ref = _scipy("lotka_volterra", x0[b], T, p)
            np.testing.assert_allclose(sim.x[e, b].numpy(), ref, atol=1e-6)


def test_scipy_path_agrees_with_torchdiffeq():
    a = simulate("van_der_pol", T, method="dopri5")
    b = simulate("van_der_pol", T, method="Radau", rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(a.x, b.x, atol=1e-6, rtol=0)


def test_stiff_van_der_pol_with_radau():
    sim = simulate(
        "van_der_pol", [0.0, 1.0, 2.0], params={"mu": 1000.0}, method="Radau"
    )
    assert torch.isfinite(sim.x).all()
    # on the slow manifold x decreases slowly from 2
    assert 1.9 < sim.x[0, 0, -1, 0] < 2.0


def test_relative_noise_is_seeded_and_scaled():
    sim = simulate("rossler", T, noise=0.05, seed=1)
    again = simulate("rossler", T, noise=0.05, seed=1)
    torch.testing.assert_close(sim.x, again.x)
    clean = simulate("rossler", T)
    torch.testing.assert_close(sim.x_clean, clean.x)
    residual = sim.x - sim.x_clean
    rms = sim.x_clean.pow(2).mean(dim=2).sqrt()
    ratio = residual.std(dim=2) / rms
    assert torch.allclose(ratio, torch.full_like(ratio, 0.05), rtol=0.25)


def test_irregular_grid():
    sim = simulate("lorenz", T, x0=[1.0, 1.0, 1.0], irregular=True, seed=2)
    t = sim.t.numpy()
    assert t[0] == T[0] and t[-1] == T[-1] and len(t) == len(T)
    assert np.all(np.diff(t) > 0) and not np.allclose(t, T)
    np.testing.assert_allclose(
        sim.x[0, 0].numpy(), _scipy("lorenz", [1.0, 1.0, 1.0], t), atol=1e-6
    )


def test_trajectories_layout():
    sim = simulate("sir", T, x0=[[0.99, 0.01, 0.0], [0.9, 0.1, 0.0]])
    trajs = sim.trajectories()
    assert len(trajs) == 2 and trajs[1].shape == (len(T), 3)
    # S + I + R is conserved
    np.testing.assert_allclose(trajs[1].sum(axis=1), 1.0, atol=1e-8)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"t": [0.0, 1.0, 0.5]}, "strictly increasing"),
        ({"t": [0.0]}, "at least 2 times"),
        ({"x0": [1.0, 2.0]}, "x0 must have shape"),
        ({"x0": [1.0, float("nan"), 2.0]}, "non-finite"),
        ({"params": {"rho": torch.ones(2), "sigma": torch.ones(3)}}, "disagree"),
        ({"params": {"rho": torch.ones(2, 2)}}, "parameter 'rho'"),
        ({"method": "euler-maruyama"}, "unknown method"),
        ({"noise": -1.0}, "non-negative"),
    ],
)
def test_bad_input(kwargs, match):
    args = {"t": T, **kwargs}
    with pytest.raises(ValueError, match=match):
        simulate("lorenz", **args)


def test_divergence_is_reported():
    with pytest.raises(RuntimeError, match="not finite"):
        simulate("lorenz", [0.0, 1.0], x0=[1e300, 1e300, 1e300], method="rk4")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU")
def test_cuda_matches_cpu():
    cpu = simulate("lorenz", T)
    gpu = simulate("lorenz", T, device="cuda")
    assert gpu.x.is_cuda
    torch.testing.assert_close(gpu.x.cpu(), cpu.x)
