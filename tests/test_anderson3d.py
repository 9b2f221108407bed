"""The 3D Anderson model, the cubic nested dissection and the multifrontal shift-invert."""

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as sla

from qpt.physics import (
    build_hamiltonian,
    density_image,
    eigenstates_near,
    eigenstates_near_dense,
    get_model,
    levels_near,
)
from qpt.physics.eigensolver import _cubic_lattice_size
from qpt.physics.lattice import (
    cubic_bonds,
    fits_cubic_lattice,
    nested_dissection_order_3d,
    nested_dissection_tree_3d,
)
from qpt.physics.multifrontal import MultifrontalLU


def test_metadata():
    model = get_model("anderson3d")
    assert (model.dimension, model.orbitals, model.symmetry_class) == (3, 1, "AI")
    assert model.critical_disorder(0.0) == 16.543
    assert model.critical_exponent == 1.572
    assert model.phase_label(15.0, 0.0) == 0 and model.phase_label(18.0, 0.0) == 1
    # the 2D models keep their class's two-dimensional exponent
    assert get_model("su2").critical_exponent == 2.73 and get_model("su2").dimension == 2


@pytest.mark.parametrize("boundary", ["periodic", "open"])
def test_real_symmetric_nearest_neighbour_matrix(boundary):
    L = 5
    H = build_hamiltonian("anderson3d", L, 4.0, seed=7, boundary=boundary)
    assert H.shape == (L**3, L**3) and H.dtype == np.float64
    assert (H != H.T).nnz == 0
    assert H.getnnz(axis=1).max() == 7  # the site and six neighbours
    for axis in "xyz":
        site, neighbour = cubic_bonds(L, axis, boundary)
        np.testing.assert_array_equal(np.asarray(H[site, neighbour]).ravel(), -1.0)
    bonds = 3 * L**3 if boundary == "periodic" else 3 * L * L * (L - 1)
    assert H.nnz == L**3 + 2 * bonds


def _band(k: np.ndarray) -> np.ndarray:
    kx, ky, kz = np.meshgrid(k, k, k, indexing="ij")
    return np.sort((-2 * (np.cos(kx) + np.cos(ky) + np.cos(kz))).ravel())


@pytest.mark.parametrize("L", [5, 6])
def test_clean_spectrum_is_the_cosine_band(L):
    periodic = np.linalg.eigvalsh(build_hamiltonian("anderson3d", L, 0.0, seed=0).toarray())
    np.testing.assert_allclose(periodic, _band(2 * np.pi * np.arange(L) / L), atol=1e-12)
    # open boundaries: standing waves, k = pi n / (L + 1)
    H = build_hamiltonian("anderson3d", L, 0.0, seed=0, boundary="open")
    k = np.pi * np.arange(1, L + 1) / (L + 1)
    np.testing.assert_allclose(np.linalg.eigvalsh(H.toarray()), _band(k), atol=1e-12)


def test_trace_of_h_squared():
    """Tr H^2 / N = 6 t^2 + mean(eps^2) exactly; its disorder average is 6 + W^2 / 12."""
    L, W = 8, 16.5
    values = []
    for i in range(8):
        H = build_hamiltonian("anderson3d", L, W, seed=np.random.SeedSequence(i))
        eps = H.diagonal()
        trace = (H @ H).diagonal().sum() / L**3
        assert trace == pytest.approx(6 + np.mean(eps**2), rel=1e-12)
        assert np.all(np.abs(eps) <= W / 2)
        values.append(trace)
    error = np.std(values, ddof=1) / np.sqrt(len(values))
    assert abs(np.mean(values) - (6 + W**2 / 12)) < 4 * error
    # and the error is as small as independent sites make it: var(eps^2) = W^4 / 180
    assert error == pytest.approx(W**2 / np.sqrt(180 * len(values) * L**3), rel=0.5)


def test_same_seed_same_matrix():
    a = get_model("anderson3d").hamiltonian(6, 10.0, np.random.SeedSequence(3))
    b = get_model("anderson3d").hamiltonian(6, 10.0, np.random.SeedSequence(3))
    c = get_model("anderson3d").hamiltonian(6, 10.0, np.random.SeedSequence(4))
    assert (a != b).nnz == 0
    assert abs(a - c).max() > 1e-3


@pytest.mark.parametrize(("L", "k"), [(8, 1), (8, 4), (7, 3)])
def test_sparse_and_dense_agree_near_the_band_centre(L, k):
    H = build_hamiltonian("anderson3d", L, 16.5, seed=42)
    assert _cubic_lattice_size(H) == L  # the multifrontal route, in real arithmetic
    e_sparse, v_sparse = eigenstates_near(H, 0.0, k, method="sparse")
    e_dense, v_dense = eigenstates_near_dense(H, 0.0, k)
    assert v_sparse.dtype == np.float64
    np.testing.assert_allclose(e_sparse, e_dense, atol=1e-10, rtol=0)
    for i in range(k):
        assert np.linalg.norm(H @ v_sparse[:, i] - e_sparse[i] * v_sparse[:, i]) < 1e-8
        a, b = (density_image(v[:, i], L, center=True) for v in (v_sparse, v_dense))
        np.testing.assert_allclose(a, b, atol=1e-7)
    # an odd dimension has no spin pairs: the level count is the plain one
    np.testing.assert_allclose(levels_near(H, 0.0, k), np.sort(e_dense), atol=1e-10)


@pytest.mark.parametrize("L", [4, 7, 10])
def test_dissection_is_a_permutation_whose_separators_separate(L):
    order = nested_dissection_order_3d(L)
    assert np.array_equal(np.sort(order), np.arange(L**3))
    tree = nested_dissection_tree_3d(L)
    H = build_hamiltonian("anderson3d", L, 1.0, seed=0).tocsr()
    parent = {c: i for i, (_, children) in enumerate(tree) for c in children}
    region: list[np.ndarray] = []
    for i, (pivots, children) in enumerate(tree):
        region.append(np.concatenate([pivots] + [region[c] for c in children]))
        ancestors, j = [], i
        while j in parent:
            j = parent[j]
            ancestors.append(tree[j][0])
        outside = np.setdiff1d(H[region[i]].indices, region[i])
        assert np.isin(outside, np.concatenate([[], *ancestors])).all()


def test_dissection_reduces_fill():
    L = 12
    A = (build_hamiltonian("anderson3d", L, 16.5, seed=1) - 1e-3 * sp.identity(L**3)).tocsc()
    order = nested_dissection_order_3d(L)

    def fill(M, permc_spec="NATURAL", **options):
        lu = sla.splu(M, permc_spec=permc_spec, **options)
        return lu.L.nnz + lu.U.nnz

    nested = fill(A[order][:, order], diag_pivot_thresh=0.0)
    assert nested < 0.6 * fill(A, diag_pivot_thresh=0.0)  # natural order: 0.55
    assert nested < 0.7 * fill(A, "COLAMD")  # SuperLU's default: 0.62


@pytest.mark.parametrize("boundary", ["periodic", "open"])
def test_multifrontal_solve_of_a_complex_hermitian_matrix(boundary):
    """Any Hermitian matrix on the cubic graph: random complex hoppings, an indefinite shift."""
    L, rng = 6, np.random.default_rng(5)
    H = build_hamiltonian("anderson3d", L, 8.0, seed=2, boundary=boundary).astype(complex)
    upper = sp.triu(H, k=1).tocoo()
    phases = np.exp(2j * np.pi * rng.uniform(size=upper.nnz))
    upper = sp.coo_matrix((upper.data * phases, (upper.row, upper.col)), shape=H.shape)
    A = sp.diags(H.diagonal() - 0.3) + upper + upper.conj().T
    assert fits_cubic_lattice(A, L)
    b = rng.normal(size=L**3) + 1j * rng.normal(size=L**3)
    x = MultifrontalLU(A, nested_dissection_tree_3d(L, leaf=8)).solve(b)
    np.testing.assert_allclose(A @ x, b, atol=1e-10)


def test_a_square_lattice_matrix_of_cube_dimension_keeps_the_2d_route():
    H = build_hamiltonian("su2", 16, 3.0, seed=0)  # 2 * 16^2 = 512 = 8^3
    assert H.shape[0] == 8**3 and not fits_cubic_lattice(H, 8)
    assert _cubic_lattice_size(H) is None


def test_image_of_a_3d_state():
    L = 6
    H = build_hamiltonian("anderson3d", L, 16.5, seed=3)
    _, v = eigenstates_near(H, 0.0, 1)
    img = density_image(v[:, 0], L, center=False)
    assert img.shape == (L, L, L) and img.dtype == np.float32
    assert img.sum() == pytest.approx(1.0, abs=1e-6)
    x, y, z = 1, 4, 2  # layout: image[z, y, x] holds basis state x + L*y + L^2*z
    assert img[z, y, x] == pytest.approx(v[x + L * y + L * L * z, 0] ** 2, rel=1e-5)
    centred = density_image(v[:, 0], L, center=True)
    assert np.unravel_index(np.argmax(centred), centred.shape) == (L // 2,) * 3
    # rolling only moves the density around the torus
    shifts = itertools.product(range(L), repeat=3)
    assert any(np.array_equal(np.roll(img, s, axis=(0, 1, 2)), centred) for s in shifts)
    with pytest.raises(ValueError, match="length"):
        density_image(v[:-1, 0], L, center=False)


def test_participation_ratio_counts_single_sites():
    from qpt.physics.observables import inverse_participation_ratio

    L = 6
    uniform = np.ones(L**3)
    assert inverse_participation_ratio(uniform, orbitals=1) == pytest.approx(L**-3)
    assert inverse_participation_ratio(np.eye(L**3)[5], orbitals=1) == pytest.approx(1.0)


def test_multifrontal_solve_of_a_complex_vector_with_a_real_matrix():
    L = 5
    A = build_hamiltonian("anderson3d", L, 10.0, seed=1) - 0.2 * sp.identity(L**3)
    re, im = np.random.default_rng(0).normal(size=(2, L**3))
    b = re + 1j * im
    x = MultifrontalLU(A, nested_dissection_tree_3d(L, leaf=8)).solve(b)
    np.testing.assert_allclose(A @ x, b, atol=1e-10)
