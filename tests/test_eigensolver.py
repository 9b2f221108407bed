"""Sparse shift-invert eigenstates against dense LAPACK, and the input images."""

import numpy as np
import pytest

from qpt.physics import (
    build_hamiltonian,
    density_image,
    eigenstates_in_window,
    eigenstates_near,
    eigenstates_near_dense,
    get_model,
    levels_near,
    spectral_bounds,
)

MODELS = ["su2", "ando", "chern"]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("energy", [0.0, 0.37, -1.5])
@pytest.mark.parametrize("k", [1, 4])
def test_sparse_and_dense_agree(model, energy, k):
    L = 12
    H = build_hamiltonian(model, L, 2.5, seed=42)
    e_sparse, v_sparse = eigenstates_near(H, energy, k, method="sparse")
    e_dense, v_dense = eigenstates_near_dense(H, energy, k)
    assert e_sparse.shape == (k,) and v_sparse.shape == (H.shape[0], k)
    np.testing.assert_allclose(e_sparse, e_dense, atol=1e-10, rtol=0)
    # sorted by distance to the target
    assert np.all(np.diff(np.abs(e_sparse - energy)) >= -1e-12)
    np.testing.assert_allclose(np.linalg.norm(v_sparse, axis=0), 1.0, atol=1e-12)
    centre = get_model(model).center_image
    for i in range(k):
        residual = H @ v_sparse[:, i] - e_sparse[i] * v_sparse[:, i]
        assert np.linalg.norm(residual) < 1e-8
        a = density_image(v_sparse[:, i], L, centre).astype(np.float64)
        b = density_image(v_dense[:, i], L, centre).astype(np.float64)
        np.testing.assert_allclose(a, b, atol=1e-8, rtol=0)


def test_nearest_state_is_really_the_nearest():
    H = build_hamiltonian("chern", 14, 1.0, seed=3)
    all_e = np.linalg.eigvalsh(H.toarray())
    for energy in (-0.3, 0.0, 0.21):
        e, _ = eigenstates_near(H, energy, 1, method="sparse")
        assert e[0] == pytest.approx(all_e[np.argmin(np.abs(all_e - energy))], abs=1e-10)


def test_shift_exactly_on_an_eigenvalue_is_fine():
    H = build_hamiltonian("chern", 10, 1.0, seed=9)
    exact = np.linalg.eigvalsh(H.toarray())[57]
    e, v = eigenstates_near(H, exact, 1, method="sparse")
    assert e[0] == pytest.approx(exact, abs=1e-10)
    assert np.linalg.norm(H @ v[:, 0] - e[0] * v[:, 0]) < 1e-8


def test_energy_window_finds_every_state_inside():
    H = build_hamiltonian("chern", 16, 1.0, seed=1)
    e_sparse, v_sparse = eigenstates_in_window(H, -0.5, 0.5, method="sparse", k_start=4)
    all_e = np.linalg.eigvalsh(H.toarray())
    expected = all_e[(all_e >= -0.5) & (all_e <= 0.5)]
    assert len(expected) > 8  # edge states fill the gap
    np.testing.assert_allclose(e_sparse, expected, atol=1e-10)
    assert v_sparse.shape == (H.shape[0], len(expected))
    e_dense, _ = eigenstates_in_window(H, -0.5, 0.5, method="dense")
    np.testing.assert_allclose(e_dense, expected, atol=1e-10)


def test_spectral_bounds_contain_the_spectrum():
    H = build_hamiltonian("su2", 8, 5.0, seed=0)
    lo, hi = spectral_bounds(H)
    E = np.linalg.eigvalsh(H.toarray())
    assert lo <= E.min() and E.max() <= hi
    assert hi - lo < 4 * (E.max() - E.min())  # and they are not absurdly loose


@pytest.mark.parametrize(
    ("energy", "k", "bad"),
    [(100.0, 1, "100.0"), (float("nan"), 1, "nan"), (0.0, 0, "k=0"), (0.0, 1000, "k=1000")],
)
def test_bad_eigensolver_input(energy, k, bad):
    H = build_hamiltonian("su2", 6, 1.0, seed=0)
    with pytest.raises(ValueError, match=bad):
        eigenstates_near(H, energy, k)


def test_bad_window():
    H = build_hamiltonian("chern", 6, 1.0, seed=0)
    with pytest.raises(ValueError, match="empty"):
        eigenstates_in_window(H, 0.5, -0.5)
    with pytest.raises(ValueError, match="outside"):
        eigenstates_in_window(H, 50.0, 60.0)


def test_density_image_properties():
    L = 10
    rng = np.random.default_rng(0)
    v = rng.normal(size=2 * L * L) + 1j * rng.normal(size=2 * L * L)
    img = density_image(v, L, center=False)
    assert img.shape == (L, L) and img.dtype == np.float32
    assert img.sum() == pytest.approx(1.0, abs=1e-6)
    # layout: image[y, x] holds basis states 2*(x + L*y) + a, summed over a
    x, y = 3, 7
    i = x + L * y
    expected = (abs(v[2 * i]) ** 2 + abs(v[2 * i + 1]) ** 2) / np.sum(abs(v) ** 2)
    assert img[y, x] == pytest.approx(expected, rel=1e-6)
    centred = density_image(v, L, center=True)
    assert np.unravel_index(np.argmax(centred), centred.shape) == (L // 2, L // 2)
    np.testing.assert_allclose(np.sort(centred.ravel()), np.sort(img.ravel()))
    with pytest.raises(ValueError, match="length"):
        density_image(v[:-2], L, center=False)


def test_kramers_partners_have_the_same_image():
    L = 10
    H = build_hamiltonian("su2", L, 3.0, seed=1)
    E, V = np.linalg.eigh(H.toarray())
    i = len(E) // 2 & ~1  # first vector of a Kramers pair
    assert E[i + 1] - E[i] < 1e-10
    mix = 0.6 * V[:, i] + 0.8j * V[:, i + 1]
    for other in (V[:, i + 1], mix):
        np.testing.assert_allclose(
            density_image(V[:, i], L, False), density_image(other, L, False), atol=1e-7
        )


def test_kramers_symmetry_detected_only_for_symplectic_models():
    from qpt.physics.eigensolver import has_kramers_symmetry

    assert has_kramers_symmetry(build_hamiltonian("su2", 6, 2.0, seed=0))
    assert has_kramers_symmetry(build_hamiltonian("ando", 6, 2.0, seed=0))
    assert not has_kramers_symmetry(build_hamiltonian("chern", 6, 2.0, seed=0))


@pytest.mark.parametrize("model", ["su2", "ando"])
def test_sparse_returns_both_kramers_partners(model):
    H = build_hamiltonian(model, 10, 3.0, seed=8)
    e, _ = eigenstates_near(H, 0.1, 6, method="sparse")
    np.testing.assert_allclose(e[0::2], e[1::2], atol=1e-10)


@pytest.mark.parametrize("L", [4, 7, 16])
def test_nested_dissection_order_is_a_permutation(L):
    from qpt.physics.lattice import nested_dissection_order

    order = nested_dissection_order(L)
    assert np.array_equal(np.sort(order), np.arange(2 * L * L))
    # both internal states of a site stay adjacent
    assert np.all(order[1::2] == order[0::2] + 1)


@pytest.mark.parametrize("model", ["su2", "chern"])
def test_fast_and_safe_factorisations_agree(model):
    from qpt.physics.eigensolver import _shift_invert_operator

    H = build_hamiltonian(model, 12, 3.0, seed=2)
    b = np.random.default_rng(1).normal(size=H.shape[0]).astype(complex)
    fast = _shift_invert_operator(H, 0.1, safe=False).matvec(b)
    safe = _shift_invert_operator(H, 0.1, safe=True).matvec(b)
    np.testing.assert_allclose(fast, safe, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(H @ fast - 0.1 * fast, b, atol=1e-9)


def test_sparse_route_at_letter_size_is_a_true_eigenpair():
    H = build_hamiltonian("su2", 40, 6.2, seed=0)
    e, v = eigenstates_near(H, 0.0, 1)
    assert abs(e[0]) < 0.05  # level spacing at L = 40 is ~ 3e-3
    assert np.linalg.norm(H @ v[:, 0] - e[0] * v[:, 0]) < 1e-8


def test_window_holding_much_of_the_spectrum_goes_dense_and_stays_exact():
    H = build_hamiltonian("chern", 16, 6.0, seed=4)  # disorder fills the gap
    e_auto, _ = eigenstates_in_window(H, -0.5, 0.5, k_start=4)
    all_e = np.linalg.eigvalsh(H.toarray())
    expected = all_e[(all_e >= -0.5) & (all_e <= 0.5)]
    assert len(expected) > 512 // 8
    np.testing.assert_allclose(e_auto, expected, atol=1e-10)


def test_a_failing_lapack_svd_falls_back(monkeypatch):
    """LAPACK's gesdd can fail on an ordinary matrix (issue: SU(2), L = 32, W = 7): the
    Kramers completion retries with gesvd and gives the same pairs."""
    import scipy.linalg as la

    from qpt.physics import eigensolver

    H = get_model("su2").hamiltonian(12, 7.0, np.random.SeedSequence(2))
    reference, _ = eigenstates_near(H, 0.0, 6)
    svd = la.svd

    def gesdd_fails(a, *args, lapack_driver="gesdd", **kwargs):
        if lapack_driver == "gesdd":
            raise la.LinAlgError("SVD did not converge")
        return svd(a, *args, lapack_driver=lapack_driver, **kwargs)

    monkeypatch.setattr(eigensolver.la, "svd", gesdd_fails)
    energies, vectors = eigenstates_near(H, 0.0, 6)
    np.testing.assert_allclose(energies, reference, atol=1e-10)
    np.testing.assert_allclose(
        np.linalg.norm(H @ vectors - vectors * energies, axis=0), 0, atol=1e-8
    )


def test_a_failing_sparse_solver_falls_back_to_dense(monkeypatch, caplog):
    """One bad realisation must not end a study of thousands: the dense route takes over."""
    from scipy.sparse.linalg import ArpackNoConvergence

    from qpt.physics import eigensolver

    H = get_model("su2").hamiltonian(12, 6.0, np.random.SeedSequence(3))

    def no_convergence(*args, **kwargs):
        raise ArpackNoConvergence("ARPACK error -1: No convergence", [], [])

    dense, dense_levels = (
        eigenstates_near(H, 0.0, 4, method="dense"),
        levels_near(H, 0.0, 4, method="dense"),
    )
    monkeypatch.setattr(eigensolver, "_shift_invert", no_convergence)
    energies, _ = eigenstates_near(H, 0.0, 4, method="sparse")
    np.testing.assert_allclose(energies, dense[0], atol=1e-10)
    np.testing.assert_allclose(levels_near(H, 0.0, 4, method="sparse"), dense_levels, atol=1e-10)
    assert "solving it densely" in caplog.text
