import numpy as np
import pytest
import torch

from dyngraph.models import PiVeM


def _random_model(n=6, bins=4, seed=0, **kw):
    model = PiVeM(n, 2, bins, num_communities=3, seed=seed, **kw)
    with torch.no_grad():
        model.v.normal_(0, 2.0, generator=torch.Generator().manual_seed(seed + 1))
    return model


def test_plots_draw_trajectories_and_write_gif(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from PIL import Image

    from dyngraph.models.pivem.plot import (
        animate_embedding,
        inferred_communities,
        plot_trajectories,
    )

    model = _random_model(n=5, bins=4)
    ax = plot_trajectories(model, num_times=20)
    assert len(ax.lines) == 5
    end = model.positions(1.0)[0].detach().numpy()
    np.testing.assert_allclose(ax.lines[2].get_xydata()[-1], end[2])
    assert inferred_communities(model).shape == (5,)
    assert inferred_communities(model, method="prior").shape == (5,)
    with pytest.raises(ValueError, match="method"):
        inferred_communities(model, method="spectral")
    path = animate_embedding(model, tmp_path / "a.gif", frames=6, fps=5)
    with Image.open(path) as gif:
        assert gif.n_frames == 6
    with pytest.raises(ValueError, match="dim=2"):
        plot_trajectories(PiVeM(3, dim=3, num_bins=2))
