"""The square's point group D4: a symmetry of the physics, used for augmentation and averaging."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from qpt.models.checkpoint import load_classifier
from qpt.models.module import PhaseClassifier
from qpt.models.symmetry import (
    CUBIC_ORDER,
    GROUP_ORDER,
    GROUPS,
    cubic,
    dihedral,
    orbit,
    orbit_mean,
    random_dihedral,
)
from qpt.physics import get_model
from qpt.physics.images import density_image
from qpt.training import train
from tests.conftest import compose_cfg, group_config, tiny_overrides

L = 6


def _transform(array: np.ndarray, g: int) -> np.ndarray:
    """D4 element g on an array whose first two axes are (y, x)."""
    moved = torch.from_numpy(np.moveaxis(array, (0, 1), (-2, -1)).copy())
    return np.moveaxis(dihedral(moved, g).numpy(), (-2, -1), (0, 1))


def _spectrum_and_densities(H: np.ndarray, degeneracy: int) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues and the density of each (Kramers-)degenerate level, summed over it."""
    energies, vectors = np.linalg.eigh(H)
    densities = [
        sum(density_image(vectors[:, k + j], L, center=False) for j in range(degeneracy))
        for k in range(0, len(energies), degeneracy)
    ]
    return energies, np.array(densities)


@pytest.mark.parametrize(("name", "degeneracy"), [("chern", 1), ("ando", 2)])
@pytest.mark.parametrize("g", range(1, GROUP_ORDER))
def test_rotating_the_disorder_rotates_every_eigenfunction(name, degeneracy, g):
    """For each group element g: the realisation with g applied to its on-site disorder has
    the same spectrum, and each level's |psi|^2 is g applied to the original one. So the
    image distribution is D4 invariant, and augmenting with it is exact."""
    model = get_model(name)
    clean = model.hamiltonian(L, 0.0, seed=0).toarray()
    rng = np.random.default_rng(g)
    disorder = rng.uniform(-1.5, 1.5, size=(L, L, 2))  # [y, x, orbital]
    if name == "ando":
        disorder[..., 1] = disorder[..., 0]  # spin-independent potential
    e1, d1 = _spectrum_and_densities(clean + np.diag(disorder.ravel()), degeneracy)
    moved = np.ascontiguousarray(_transform(disorder, g))
    e2, d2 = _spectrum_and_densities(clean + np.diag(moved.ravel()), degeneracy)
    np.testing.assert_allclose(e1, e2, atol=1e-10)
    gaps = np.diff(e1[::degeneracy])
    assert gaps.min() > 1e-6  # non-degenerate levels, so densities are well defined
    for a, b in zip(d1, d2, strict=True):
        np.testing.assert_allclose(_transform(a, g), b, atol=1e-10)
    # and the check can fail: the untransformed density differs for a generic realisation
    assert max(np.abs(a - b).max() for a, b in zip(d1, d2, strict=True)) > 1e-3


def test_the_eight_elements_form_the_group():
    x = torch.rand(1, 1, 5, 5)
    images = [dihedral(x, g) for g in range(GROUP_ORDER)]
    assert len({tuple(i.flatten().tolist()) for i in images}) == GROUP_ORDER
    as_tuple = [tuple(i.flatten().tolist()) for i in images]
    for a in range(GROUP_ORDER):
        for b in range(GROUP_ORDER):
            assert tuple(dihedral(images[a], b).flatten().tolist()) in as_tuple  # closure
    with pytest.raises(ValueError, match="g=8"):
        dihedral(x, 8)


def test_random_dihedral_picks_one_of_each_items_images():
    x = torch.rand(64, 1, 5, 5)
    out = random_dihedral(x, generator=torch.Generator().manual_seed(0))
    picked = []
    for i in range(len(x)):
        matches = [g for g in range(GROUP_ORDER) if torch.equal(out[i], dihedral(x[i], g))]
        assert matches
        picked.append(matches[0])
    assert len(set(picked)) == GROUP_ORDER  # all elements used
    again = random_dihedral(x, generator=torch.Generator().manual_seed(0))
    assert torch.equal(out, again)
    assert torch.equal(orbit_mean(orbit(x), len(x)), sum(dihedral(x, g) for g in range(8)) / 8)


def test_the_48_cube_elements_form_the_group():
    """O_h: 6 axis permutations x 8 axis reversals, all distinct on a generic cube, closed
    under composition, with the identity first."""
    x = torch.rand(1, 1, 4, 4, 4)
    images = [cubic(x, g) for g in range(CUBIC_ORDER)]
    as_tuple = [tuple(i.flatten().tolist()) for i in images]
    assert CUBIC_ORDER == 48 and len(set(as_tuple)) == 48 and torch.equal(images[0], x)
    for a in range(CUBIC_ORDER):
        for b in range(CUBIC_ORDER):
            assert tuple(cubic(images[a], b).flatten().tolist()) in as_tuple  # closure
    with pytest.raises(ValueError, match="g=48"):
        cubic(x, 48)
    picked = GROUPS["cubic"].random(torch.rand(200, 1, 3, 3, 3), torch.Generator().manual_seed(0))
    assert picked.shape == (200, 1, 3, 3, 3)


def _classifier(symmetry: str, model: str = "su2", net: str = "deep") -> PhaseClassifier:
    torch.manual_seed(0)
    meta = {"L": 16, "model": model, "phases": ["delocalized", "localized"]}
    net, optim = group_config("net", net), group_config("optim", "adam")
    return PhaseClassifier(net=net, optim=optim, symmetry=symmetry, meta=meta).eval()


def test_symmetrised_classifier_is_exactly_invariant():
    x = torch.rand(4, 1, 16, 16) * 2
    sym, plain = _classifier("dihedral"), _classifier("none")
    with torch.no_grad():
        reference = sym.probabilities(x)
        for g in range(1, GROUP_ORDER):
            torch.testing.assert_close(sym.probabilities(dihedral(x, g)), reference)
        # the same weights without symmetrisation are not invariant: the test can fail
        assert (plain.probabilities(dihedral(x, 1)) - plain.probabilities(x)).abs().max() > 1e-4
        torch.testing.assert_close(reference.sum(dim=1), torch.ones(4))


def test_cube_symmetrised_classifier_is_exactly_invariant():
    x = torch.rand(2, 1, 16, 16, 16) * 2
    sym = _classifier("cubic", "anderson3d", "simple3d")
    plain = _classifier("none", "anderson3d", "simple3d")
    with torch.no_grad():
        reference = sym.probabilities(x)
        for g in (1, 7, 8, 21, 47):  # reversals, a permutation, both
            torch.testing.assert_close(sym.probabilities(cubic(x, g)), reference)
        assert (plain.probabilities(cubic(x, 21)) - plain.probabilities(x)).abs().max() > 1e-4
        # the chunked orbit average is the plain mean over all 48 images
        every = torch.stack([plain.probabilities(cubic(x, g)) for g in range(CUBIC_ORDER)])
        torch.testing.assert_close(reference, every.mean(dim=0))


def test_first_chunk_of_each_group_is_a_subgroup():
    """Validation with val_orbit="subgroup" averages over elements 0 .. chunk-1: they must be
    closed under composition (O_h: the 8 axis reversals), or the average is no symmetry."""
    for group, size in ((GROUPS["cubic"], 3), (GROUPS["dihedral"], 4)):
        x = torch.arange(float(size**group.dimension)).reshape((size,) * group.dimension)
        images = [group.act(x, g) for g in range(group.chunk)]
        as_tuple = {tuple(i.flatten().tolist()) for i in images}
        assert len(as_tuple) == group.chunk
        for a in images:
            for b in range(group.chunk):
                assert tuple(group.act(a, b).flatten().tolist()) in as_tuple
    # and the whole O_h is not closed in its first 8 + 1 elements: the test can fail
    x = torch.arange(27.0).reshape(3, 3, 3)
    first = {tuple(cubic(x, g).flatten().tolist()) for g in range(9)}
    assert any(
        tuple(cubic(cubic(x, a), b).flatten().tolist()) not in first
        for a in range(9)
        for b in range(9)
    )


def test_subgroup_validation_averages_over_the_axis_reversals():
    torch.manual_seed(0)
    x = torch.rand(2, 1, 16, 16, 16) * 2
    meta = {"L": 16, "model": "anderson3d", "phases": ["delocalized", "localized"]}
    net, optim = group_config("net", "simple3d"), group_config("optim", "adam")
    clf = PhaseClassifier(net, optim, "cubic", meta, val_orbit="subgroup").eval()
    plain = PhaseClassifier(net, optim, "none", meta)
    plain.load_state_dict(clf.state_dict())
    plain.eval()
    assert clf.val_order == 8
    with torch.no_grad():
        reversals = torch.stack([plain.probabilities(cubic(x, g)) for g in range(8)]).mean(0)
        torch.testing.assert_close(clf.probabilities(x, clf.val_order), reversals)
        # a permutation of the axes leaves the subgroup average changed, the full one not
        swapped = cubic(x, 8)
        assert (clf.probabilities(swapped, 8) - reversals).abs().max() > 1e-6
        torch.testing.assert_close(clf.probabilities(swapped), clf.probabilities(x))
    with pytest.raises(ValueError, match="'half'"):
        PhaseClassifier(net, optim, "cubic", meta, val_orbit="half")


def test_unknown_symmetry_is_refused():
    with pytest.raises(ValueError, match="'c6'"):
        _classifier("c6")


def test_symmetric_training_round_trips_through_the_checkpoint(tmp_run_dir):
    cfg = compose_cfg([*tiny_overrides(tmp_run_dir), "logger=none", "symmetry=dihedral"])
    summary = train(cfg)
    clf = load_classifier(summary["checkpoint"])
    assert clf.symmetry == "dihedral"
    x = torch.rand(3, 1, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(clf.probabilities(x), clf.probabilities(dihedral(x, 5)))
