"""Non-ML locators: gap ratios against RMT and Poisson, IPR limits, the Bott index."""

import numpy as np
import pytest

from qpt.physics import build_hamiltonian, eigenstates_near
from qpt.physics.images import coarse_grain
from qpt.physics.observables import (
    R_GUE,
    R_POISSON,
    _bott_sum,
    bott_index,
    gap_ratios,
    inverse_participation_ratio,
)


def test_poisson_spectrum_gives_2ln2_minus_1():
    rng = np.random.default_rng(0)
    r = gap_ratios(rng.uniform(0, 1, 20000))
    assert r.mean() == pytest.approx(R_POISSON, rel=0.02)


def test_gue_spectrum_gives_0_5996():
    rng = np.random.default_rng(1)
    ratios = []
    for _ in range(4):
        n = 800
        a = rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))
        e = np.linalg.eigvalsh((a + a.conj().T) / 2)
        ratios.append(gap_ratios(e[n // 4 : 3 * n // 4]))  # bulk of the semicircle
    assert np.concatenate(ratios).mean() == pytest.approx(R_GUE, rel=0.02)


def test_kramers_pairs_are_counted_once():
    e = np.repeat(np.sort(np.random.default_rng(2).uniform(0, 1, 2001)), 2)
    assert gap_ratios(e, kramers=True).mean() == pytest.approx(R_POISSON, rel=0.05)
    assert gap_ratios(e).mean() < 0.2  # without it every other spacing is zero


def test_ipr_limits():
    L = 20
    plane = np.ones(2 * L * L) / np.sqrt(2 * L * L)
    assert inverse_participation_ratio(plane) == pytest.approx(1 / L**2)
    point = np.zeros(2 * L * L)
    point[10] = 1.0
    assert inverse_participation_ratio(point) == pytest.approx(1.0)
    H = build_hamiltonian("su2", L, 15.0, seed=0)  # strongly localized
    _, v = eigenstates_near(H, 0.0, 1)
    assert inverse_participation_ratio(v[:, 0]) > 20 / L**2


def test_clean_chern_bott_index_is_one_in_magnitude():
    H = build_hamiltonian("chern", 10, 0.0, seed=0, boundary="periodic")
    assert abs(bott_index(H, 10)) == pytest.approx(1.0, abs=1e-8)


def test_trivial_insulator_and_anderson_phase_have_bott_zero():
    # no band inversion: eps_s - eps_p > 4 (t_s + t_p)
    trivial = build_hamiltonian(
        "chern", 10, 0.0, seed=0, boundary="periodic", eps_s=1.5, eps_p=-1.5
    )
    assert bott_index(trivial, 10) == pytest.approx(0.0, abs=1e-8)
    values = [
        bott_index(build_hamiltonian("chern", 10, 12.0, seed=s, boundary="periodic"), 10)
        for s in range(4)
    ]
    assert np.allclose(values, 0.0, atol=1e-6)


def test_weak_disorder_keeps_the_bott_index():
    H = build_hamiltonian("chern", 12, 1.0, seed=3, boundary="periodic")
    assert abs(round(bott_index(H, 12))) == 1


def test_bott_sum_is_an_integer_even_at_the_critical_disorder():
    # det(v u v^dag u^dag) = |det u|^2 |det v|^2 > 0: the arguments sum to 2 pi k exactly,
    # also where the mobility gap closes (W ~ 3.3) and the index varies between samples
    values = [
        _bott_sum(
            build_hamiltonian("chern", 10, 3.3, seed=s, boundary="periodic").toarray(), 10, 0.0
        )
        for s in range(12)
    ]
    assert np.allclose(values, np.round(values), atol=1e-8)
    assert {0.0, 1.0} <= set(np.abs(np.round(values)))  # both phases among the samples


def test_single_precision_bott_index_equals_the_double_one_near_the_transition():
    samples = [
        build_hamiltonian("chern", 12, w, seed=s, boundary="periodic")
        for w in (3.0, 3.4, 3.8)
        for s in range(6)
    ]
    single = [bott_index(H, 12) for H in samples]
    double = [bott_index(H, 12, precision="double") for H in samples]
    assert single == double
    assert {0.0, 1.0} <= set(np.abs(single))


def test_a_single_precision_sum_off_an_integer_is_recomputed_in_double(monkeypatch):
    import qpt.physics.observables as observables

    exact = observables._bott_sum
    monkeypatch.setattr(
        observables,
        "_bott_sum",
        lambda Hd, L, e: 0.4 if Hd.dtype == np.complex64 else exact(Hd, L, e),
    )
    H = build_hamiltonian("chern", 10, 0.0, seed=0, boundary="periodic")
    assert abs(observables.bott_index(H, 10)) == 1.0
    with pytest.raises(ValueError, match="precision 'half'"):
        observables.bott_index(H, 10, precision="half")


def test_box_weights_sum_each_box_in_2d_and_3d():
    rng = np.random.default_rng(0)
    squares = rng.random((3, 8, 8))
    boxes = coarse_grain(squares, 4)
    assert boxes.shape == (3, 4, 4)
    np.testing.assert_allclose(boxes[1, 2, 3], squares[1, 4:6, 6:8].sum())
    cube = rng.random((8, 8, 8))
    cubes = coarse_grain(cube, 2, dimension=3)
    assert cubes.shape == (2, 2, 2)
    np.testing.assert_allclose(cubes[1, 0, 1], cube[4:, :4, 4:].sum())
    np.testing.assert_allclose(cubes.sum(), cube.sum())
    # the same array read as a batch of 8 squares is another thing: dimension decides
    assert coarse_grain(cube, 2).shape == (8, 2, 2)
    with pytest.raises(ValueError, match="cannot coarse-grain 8 x 8 x 8 images into 3 x 3 x 3"):
        coarse_grain(cube, 3, dimension=3)
