"""Transfer-matrix Lyapunov exponents: exact clean bars, the perturbative 1D chain, the
metal and the insulator of the 3D model, and the locator's samples."""

from __future__ import annotations

import numpy as np
import pytest

from qpt.evaluation.locators import check_transfer_matrix, transfer_matrix_samples
from qpt.physics.transfer_matrix import (
    _bond_products,
    _haar_su2,
    _operands,
    lyapunov_blocks,
    spin_strip_lyapunov_blocks,
    transverse_hopping,
)


@pytest.mark.parametrize("cross_section", [(5,), (4, 4), (3, 5)])
def test_transverse_hopping_has_the_clean_slice_spectrum(cross_section):
    hop = transverse_hopping(cross_section)
    assert np.array_equal(hop, hop.T)
    assert np.all((hop != 0).sum(axis=1) == 2 * len(cross_section))
    k = [2 * np.pi * np.arange(m) / m for m in cross_section]
    bands = -2 * sum(np.cos(g) for g in np.meshgrid(*k, indexing="ij"))
    assert np.allclose(np.linalg.eigvalsh(hop), np.sort(bands.ravel()))


@pytest.mark.parametrize(("dimension", "energy"), [(2, 4.5), (3, 7.0), (3, -7.5)])
def test_clean_bar_outside_the_band_decays_at_the_slowest_closed_channel(dimension, energy):
    """W = 0: the channel of transverse energy e decays as arccosh(|E - e| / 2) per slice;
    the smallest exponent is that of the channel nearest E (e = +-2(d-1) at E outside)."""
    gamma = lyapunov_blocks(energy, [0.0], 4, dimension=dimension, length=256, blocks=4, seeds=[0])
    nearest = np.sign(energy) * 2 * (dimension - 1)
    assert np.allclose(gamma, np.arccosh(abs(energy - nearest) / 2), rtol=1e-10)


@pytest.mark.parametrize(
    ("energy", "expected"),
    [
        (1.0, 1.0 / 72),  # W^2 / (24 (4 - E^2)) (Thouless), W = 1
        (0.0, 1.0 / 105.045),  # the band-centre anomaly (Kappus & Wegner)
    ],
)
def test_weakly_disordered_chain_agrees_with_perturbation_theory(energy, expected):
    """64 chains of 20000 sites: the mean's statistical error is ~0.7%; the next order in
    W^2 shifts E = 1 by ~2%."""
    gamma = lyapunov_blocks(
        energy, [1.0] * 64, 1, dimension=1, length=20000, blocks=10, seeds=range(64)
    )
    assert gamma.mean() == pytest.approx(expected, rel=0.05)


def test_a_bar_does_not_depend_on_the_bars_beside_it():
    """Each bar draws its potential from its own seed, and nothing mixes bars: a bar alone
    gives the same exponents to the last bit, whatever shares its batch."""
    common = {"dimension": 3, "length": 320, "blocks": 4}
    together = lyapunov_blocks(0.5, [10.0, 16.0, 22.0], 4, seeds=[7, 8, 9], **common)
    alone = lyapunov_blocks(0.5, [16.0], 4, seeds=[8], **common)
    assert np.array_equal(together[1], alone[0])
    again = lyapunov_blocks(0.5, [10.0, 16.0, 22.0], 4, seeds=[7, 8, 9], **common)
    assert np.array_equal(together, again)


def test_3d_bars_scale_as_a_metal_and_as_an_insulator():
    """Gamma = M gamma falls with M in the metal (W = 8: the localization length outgrows
    the width) and grows in the insulator (W = 26: it stays finite)."""
    common = {"dimension": 3, "length": 4000, "blocks": 8}
    narrow = 4 * lyapunov_blocks(0.0, [8.0, 26.0], 4, seeds=[1, 2], **common).mean(axis=1)
    wide = 8 * lyapunov_blocks(0.0, [8.0, 26.0], 8, seeds=[3, 4], **common).mean(axis=1)
    assert wide[0] < 0.7 * narrow[0] and wide[1] > 1.2 * narrow[1]  # measured: 0.55, 1.44


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"width": 2}, "M=2"),
        ({"disorders": [-1.0]}, "disorder"),
        ({"seeds": [1, 2]}, "seeds"),
        ({"dimension": 4}, "dimension"),
        ({"blocks": 1}, "blocks"),
    ],
)
def test_bad_bars_are_refused(kwargs, message):
    args = {"energy": 0.0, "disorders": [16.0], "width": 4, "dimension": 3}
    args |= {"length": 400, "blocks": 4, "seeds": [1]} | kwargs
    with pytest.raises(ValueError, match=message):
        lyapunov_blocks(**args)


def test_locator_samples_are_pieces_of_bars_and_do_not_depend_on_workers():
    args = ("anderson3d", 1.0, [12.0, 16.0, 20.0])
    kwargs = {"widths": [4, 6], "length": 400, "blocks": 4, "seed": 3, "params": {}}
    serial = transfer_matrix_samples(*args, workers=1, progress=False, **kwargs)
    assert sorted(serial) == [4, 6]
    W, gamma = serial[6]
    assert W.tolist() == [12.0] * 4 + [16.0] * 4 + [20.0] * 4 and gamma.shape == (1, 12)
    assert np.all(gamma > 0)
    # the hopping is the energy unit: doubling it is halving E and W
    scaled = transfer_matrix_samples(
        "anderson3d",
        2.0,
        [24.0, 32.0, 40.0],
        workers=1,
        progress=False,
        **(kwargs | {"params": {"hopping": 2.0}}),
    )
    assert np.allclose(scaled[6][1], gamma, rtol=1e-12)
    parallel = transfer_matrix_samples(*args, workers=2, progress=False, **kwargs)
    assert all(np.array_equal(serial[M][1], parallel[M][1]) for M in serial)


def test_the_models_with_a_transfer_matrix():
    for model in ("anderson3d", "su2", "ando"):
        kernel, hopping = check_transfer_matrix(model, {})
        assert callable(kernel) and hopping == 1.0
    with pytest.raises(ValueError, match="'chern'"):
        check_transfer_matrix("chern", {})


IDENTITY = (np.eye(2), np.eye(2))


def test_clean_spin_strip_decays_at_the_slowest_closed_channel():
    """Identity bonds, W = 0: two copies of the clean square strip, each channel of transverse
    energy e decaying as arccosh(|E - e| / 2) per slice, every exponent twice."""
    gamma = spin_strip_lyapunov_blocks(
        4.5, [0.0], 4, bonds=IDENTITY, length=256, blocks=4, seeds=[0]
    )
    assert np.allclose(gamma, np.arccosh((4.5 - 2.0) / 2), rtol=1e-10)


def test_spin_strip_with_identity_bonds_is_the_spinless_strip():
    """Disordered, identity bonds: the spin strip is two spinless strips with the same
    potential, so its smallest exponent estimates the spinless one (independent draws: equal
    within their errors, ~0.6% each)."""
    common = {"length": 20000, "blocks": 10}
    spin = spin_strip_lyapunov_blocks(0.3, [5.0] * 6, 6, bonds=IDENTITY, seeds=range(6), **common)
    plain = lyapunov_blocks(0.3, [5.0] * 6, 6, dimension=2, seeds=range(10, 16), **common)
    error = np.hypot(*(g.std() / np.sqrt(g.size) for g in (spin, plain)))
    assert abs(spin.mean() - plain.mean()) < 3 * error


def test_su2_strips_scale_as_a_metal_and_as_an_insulator_and_a_bar_stands_alone():
    """SU(2) strips: Gamma = M gamma falls with M in the metal (W = 3) and grows in the
    insulator (W = 10); a bar's exponents do not depend on the bars beside it."""
    common = {"bonds": None, "length": 8000, "blocks": 4}
    small = spin_strip_lyapunov_blocks(0.0, [3.0, 10.0], 4, seeds=[1, 2], **common).mean(1) * 4
    large = spin_strip_lyapunov_blocks(0.0, [3.0, 10.0], 12, seeds=[3, 4], **common).mean(1) * 12
    assert large[0] < 0.8 * small[0] and large[1] > 1.2 * small[1]
    alone = spin_strip_lyapunov_blocks(0.0, [10.0], 4, seeds=[2], **common)
    together = spin_strip_lyapunov_blocks(0.0, [3.0, 10.0], 4, seeds=[1, 2], **common)
    assert np.array_equal(alone[0], together[1])


def test_a_periods_bonds_built_at_once_are_each_slices_bonds():
    """The kernel builds 8 slices' bond matrices in one go: slice k's operands must be that
    slice's R_y, R_y(y - 1)^+ and R_x^+ (site by site, the strip periodic across), to the
    last bit and as C-contiguous arrays or their transposed views (the layout numpy's matmul
    saw when they were built slice by slice)."""
    u = np.random.default_rng(0).random((8, 3, 5, 7))  # (slices, bars, width, draws)
    period = _bond_products(_haar_su2(u[..., 1:4]), _haar_su2(u[..., 4:7]))
    for k in range(8):
        r_x, r_y = _haar_su2(u[k, ..., 1:4]), _haar_su2(u[k, ..., 4:7])
        # site y's bond below it, R_y(y - 1), conjugate-transposed (y = 0: the bond of y = 4)
        below = np.stack([np.stack([r_y[b, y - 1].conj().T for y in range(5)]) for b in range(3)])
        operands = _operands(*(p[k] for p in period))
        for got, want in zip(operands, (r_y, below, r_x.conj().swapaxes(-1, -2)), strict=True):
            assert np.array_equal(got, want)
        assert operands[0].flags.c_contiguous
        assert all(op.swapaxes(-1, -2).flags.c_contiguous for op in operands[1:])


def test_spin_strip_refuses_bonds_that_are_not_unitary():
    with pytest.raises(ValueError, match="unitary"):
        spin_strip_lyapunov_blocks(
            0.0, [1.0], 4, bonds=(2 * np.eye(2), np.eye(2)), length=64, blocks=2, seeds=[0]
        )
