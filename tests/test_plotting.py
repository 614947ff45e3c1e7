"""show_map's colour scales: unsigned, symmetric, signed (clipped at a percentile of |map|), normalized."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from helpers import show_map  # noqa: E402


@pytest.fixture
def ax():
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


def signed_map() -> torch.Tensor:
    """A 20 × 20 map in [-1, 1] with one extreme pixel (100) that would wash out a max-scaled colour scale."""
    heat = torch.linspace(-1, 1, 400).reshape(20, 20)
    heat[0, 0] = 100.0
    return heat


def test_a_signed_map_is_clipped_at_the_99th_percentile_on_a_diverging_scale(ax):
    heat = signed_map()
    shown = show_map(ax, heat, "signed", signed=True)
    limit = float(torch.quantile(heat.abs().flatten(), 0.99))  # as the explorer and notebooks 02 and 08 did by hand
    assert 0.97 < limit < 1.0
    np.testing.assert_allclose(shown.get_clim(), (-limit, limit), rtol=1e-6)
    assert shown.get_cmap().name == "RdBu_r" and ax.get_title() == "signed"
    assert len(ax.figure.axes) == 2  # the map and its colorbar
    low, high = show_map(ax, heat, signed=True, clip_percentile=100).get_clim()
    assert (low, high) == (-100.0, 100.0)


def test_symmetric_unsigned_and_overrides_keep_their_scales(ax):
    heat = signed_map()
    assert show_map(ax, heat, symmetric=True, cmap="RdBu_r", colorbar=False).get_clim() == (-100.0, 100.0)
    unsigned = show_map(ax, heat.abs(), colorbar=False)
    assert unsigned.get_cmap().name == "hot"  # autoscaled, as before the signed option
    np.testing.assert_allclose(unsigned.get_clim(), (float(heat.abs().min()), 100.0))
    assert show_map(ax, heat, signed=True, vmin=-2, vmax=3, colorbar=False).get_clim() == (-2, 3)


def test_normalize_divides_by_the_end_of_the_scale(ax):
    heat = signed_map()
    shown = show_map(ax, heat, signed=True, normalize=True, colorbar=False)
    limit = float(torch.quantile(heat.abs().flatten(), 0.99))
    assert shown.get_clim() == (-1.0, 1.0)
    np.testing.assert_allclose(shown.get_array(), heat.numpy() / limit, rtol=1e-6)
    magnitude = show_map(ax, heat.abs(), normalize=True, colorbar=False)
    assert magnitude.get_clim() == (0.0, 1.0) and float(magnitude.get_array().max()) == 1.0


def test_an_all_zero_map_and_a_bad_percentile(ax):
    assert show_map(ax, torch.zeros(4, 4), signed=True, colorbar=False).get_clim() == (-1.0, 1.0)
    with pytest.raises(ValueError, match="clip_percentile: expected a percentile in"):
        show_map(ax, signed_map(), signed=True, clip_percentile=0)
