"""Physics of the three lattice models: structure, symmetries and known spectra."""

import math

import numpy as np
import pytest
import scipy.linalg as la
import scipy.stats as stats

from qpt.physics import available_models, build_hamiltonian, get_model
from qpt.physics.lattice import bonds

MODELS = ["su2", "ando", "chern"]


def test_registry_lists_the_three_models():
    assert set(MODELS) <= set(available_models())


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("boundary", ["periodic", "open"])
def test_hermitian_with_expected_shape_and_sparsity(model, boundary):
    L = 6
    H = build_hamiltonian(model, L, 3.0, seed=7, boundary=boundary)
    assert H.shape == (2 * L * L, 2 * L * L)
    assert abs(H - H.getH()).max() < 1e-14
    # on-site 2x2 block + at most 4 neighbour blocks: <= 2 + 4*2 entries per row
    assert H.getnnz(axis=1).max() <= 10


@pytest.mark.parametrize("model", MODELS)
def test_same_seed_same_matrix_other_seed_different(model):
    a = build_hamiltonian(model, 6, 2.0, seed=3)
    b = build_hamiltonian(model, 6, 2.0, seed=3)
    c = build_hamiltonian(model, 6, 2.0, seed=4)
    assert (a != b).nnz == 0
    assert abs(a - c).max() > 1e-3


def _hop_blocks(H, L, direction, boundary="periodic"):
    site, neighbour = bonds(L, direction, boundary)
    Hd = H.toarray()
    return np.array(
        [Hd[2 * i : 2 * i + 2, 2 * j : 2 * j + 2] for i, j in zip(site, neighbour, strict=True)]
    )


def test_su2_hopping_blocks_are_su2_matrices():
    L = 8
    H = build_hamiltonian("su2", L, 2.0, seed=11)
    for direction in "xy":
        R = -_hop_blocks(H, L, direction)  # <i|H|i+mu> = -R(i, i+mu)
        eye = np.broadcast_to(np.eye(2), R.shape)
        np.testing.assert_allclose(R @ R.conj().transpose(0, 2, 1), eye, atol=1e-13)
        np.testing.assert_allclose(np.linalg.det(R), 1.0, atol=1e-13)


def test_su2_beta_follows_haar_density_sin_2b():
    # |R_00| = cos(b); b has density sin(2b) on [0, pi/2], i.e. CDF sin^2(b).
    L = 40
    H = build_hamiltonian("su2", L, 0.0, seed=2024)
    R = -np.concatenate([_hop_blocks(H, L, d) for d in "xy"])
    beta = np.arccos(np.clip(np.abs(R[:, 0, 0]), 0, 1))
    assert stats.kstest(beta, lambda b: np.sin(b) ** 2).pvalue > 1e-3
    # and it is not uniform (the test would notice a wrong sampler)
    assert stats.kstest(beta, stats.uniform(0, np.pi / 2).cdf).pvalue < 1e-6
    # the phases alpha are uniform on [0, 2 pi)
    alpha = np.angle(R[:, 0, 0]) % (2 * np.pi)
    assert stats.kstest(alpha, stats.uniform(0, 2 * np.pi).cdf).pvalue > 1e-3


def test_ando_hopping_blocks_are_spin_rotations():
    L, theta = 6, math.pi / 6
    H = build_hamiltonian("ando", L, 1.0, seed=0, theta=theta)
    Rx = -_hop_blocks(H, L, "x")
    Ry = -_hop_blocks(H, L, "y")
    c, s = math.cos(theta), math.sin(theta)
    np.testing.assert_allclose(
        Rx, np.broadcast_to([[c, 1j * s], [1j * s, c]], Rx.shape), atol=1e-15
    )
    np.testing.assert_allclose(Ry, np.broadcast_to([[c, s], [-s, c]], Ry.shape), atol=1e-15)


@pytest.mark.parametrize("model", ["su2", "ando"])
def test_kramers_degeneracy(model):
    H = build_hamiltonian(model, 8, 4.0, seed=5)
    E = la.eigvalsh(H.toarray())
    np.testing.assert_allclose(E[0::2], E[1::2], atol=1e-10)
    # pairs are distinct from each other (disorder lifts every other degeneracy)
    assert np.min(np.diff(E[0::2])) > 1e-8


def test_chern_has_no_kramers_pairs():
    E = la.eigvalsh(build_hamiltonian("chern", 8, 2.0, seed=5).toarray())
    assert np.min(np.diff(E)) > 1e-8


def test_chern_clean_periodic_gap_is_half():
    # the gap's edge lies at a momentum every periodic L has (L = 16, 24, 40 give 0.5 too)
    E = la.eigvalsh(build_hamiltonian("chern", 20, 0.0, seed=0, boundary="periodic").toarray())
    assert np.min(np.abs(E)) == pytest.approx(0.5, abs=1e-10)
    assert get_model("chern").bulk_gap() == pytest.approx(0.5, abs=1e-12)


def test_chern_open_boundaries_put_edge_states_in_the_gap():
    L = 40
    E = la.eigvalsh(build_hamiltonian("chern", L, 0.0, seed=0).toarray())
    in_gap = np.sum(np.abs(E) < 0.5)
    assert in_gap == 44  # PHYSICS.md: 44 clean levels with |E| < 0.5 at L = 40


def test_chern_hopping_blocks_match_physics_md():
    L = 6
    H = build_hamiltonian("chern", L, 0.0, seed=0)
    ts, tsp = 0.25, 1 / 3
    # basis (s, p): <x+e_mu, a|H|x, b> = T_mu, i.e. rows at the neighbour, columns at the site
    Hd = H.toarray()
    site, nb = bonds(L, "x", "open")
    Tx = Hd[2 * nb[0] : 2 * nb[0] + 2, 2 * site[0] : 2 * site[0] + 2]
    np.testing.assert_allclose(Tx, [[ts, -tsp], [tsp, -ts]], atol=1e-15)
    site, nb = bonds(L, "y", "open")
    Ty = Hd[2 * nb[0] : 2 * nb[0] + 2, 2 * site[0] : 2 * site[0] + 2]
    np.testing.assert_allclose(Ty, [[ts, -1j * tsp], [-1j * tsp, -ts]], atol=1e-15)
    np.testing.assert_allclose(H.diagonal().real[:2], [-0.5, 0.5])


@pytest.mark.parametrize("model", MODELS)
def test_disorder_is_a_box_of_width_W(model):
    W = 3.0
    H = build_hamiltonian(model, 30, W, seed=1)
    clean = build_hamiltonian(model, 30, 0.0, seed=1)
    v = (H.diagonal() - clean.diagonal()).real
    assert v.min() >= -W / 2 and v.max() <= W / 2
    assert stats.kstest(v, stats.uniform(-W / 2, W).cdf).pvalue > 1e-3


def test_open_boundaries_drop_wraparound_bonds():
    L = 5
    periodic = build_hamiltonian("chern", L, 0.0, seed=0, boundary="periodic")
    opened = build_hamiltonian("chern", L, 0.0, seed=0, boundary="open")
    # 2 L wrap bonds x 4 entries of a 2x2 block x 2 (h.c.)
    assert periodic.nnz - opened.nnz == 2 * L * 4 * 2


def test_critical_disorders_and_labels():
    su2 = get_model("su2")
    assert su2.critical_disorder(0.0) == 6.20
    assert su2.critical_disorder(3.0) == 3.394
    assert su2.phase_label(5.0, 0.0) == 0 and su2.phase_label(7.0, 0.0) == 1
    assert get_model("chern").phases == ("topological", "trivial")
    with pytest.raises(ValueError, match=r"0\.5"):
        su2.critical_disorder(0.5)


@pytest.mark.parametrize(
    ("kwargs", "bad"),
    [
        ({"model": "graphene"}, "graphene"),
        ({"L": 3}, "L=3"),
        ({"L": 10.5}, "10.5"),
        ({"W": -1.0}, "-1.0"),
        ({"W": float("nan")}, "nan"),
        ({"W": float("inf")}, "inf"),
        ({"hopping": 2.0, "model": "chern"}, "hopping"),
        ({"boundary": "twisted"}, "twisted"),
    ],
)
def test_bad_input_names_the_bad_value(kwargs, bad):
    args = {"model": "su2", "L": 6, "W": 1.0, "seed": 0} | kwargs
    with pytest.raises(ValueError, match=bad):
        build_hamiltonian(**args)
