"""Independent draws: their Student-t and Welch intervals, checked where the answer is known,
and qpt-compare, which reads two sets of discovery runs and says whether they differ."""

import json

import numpy as np
import pytest
from scipy import stats

from qpt.compare import blind_accuracy, main, run_draws
from qpt.evaluation.confusion import draws_curve
from qpt.evaluation.draws import pooled_sd, t_interval, welch_difference
from qpt.reporting import RouteResult, write_json


def test_intervals_agree_with_scipy():
    rng = np.random.default_rng(3)
    a, b = rng.normal(6.7, 0.3, 6), rng.normal(6.5, 0.4, 18)
    mean, lo, hi = t_interval(a, 0.9)
    assert (lo, hi) == pytest.approx(stats.ttest_1samp(a, 0).confidence_interval(0.9))
    assert mean == pytest.approx(a.mean())
    d = welch_difference(a, b)
    ref = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert (d.lo, d.hi) == pytest.approx(ref) and d.value == pytest.approx(a.mean() - b.mean())
    assert 5 < d.dof < 22  # between the smaller side's n - 1 and the pooled n - 2


def test_welch_interval_covers_a_known_difference_with_unequal_scatter():
    """6 draws of sd 0.2 against 18 of sd 0.4 (unequal, as two sizes' maxima may be): the 95%
    interval covers the true difference, 0.25, in 93 to 97% of 2000 studies."""
    rng = np.random.default_rng(11)
    covered = [
        d.lo <= 0.25 <= d.hi
        for d in (
            welch_difference(rng.normal(6.45, 0.2, 6), rng.normal(6.2, 0.4, 18))
            for _ in range(2000)
        )
    ]
    assert 0.93 <= np.mean(covered) <= 0.97


def test_reading_of_a_difference():
    assert welch_difference([1.0, 1.1, 0.9], [0.0, 0.1, -0.1]).reading == "above 0"
    assert welch_difference([0.0, 0.1, -0.1], [1.0, 1.1, 0.9]).reading == "below 0"
    assert "not resolved" in welch_difference([0.0, 0.5, -0.4], [0.1, -0.3, 0.4]).reading
    alike = welch_difference([2.0, 2.0], [1.0, 1.0])
    assert (alike.value, alike.lo, alike.hi) == (1.0, 1.0, 1.0)


def test_pooled_sd_is_free_of_the_groups_offsets():
    rng = np.random.default_rng(5)
    groups = [rng.normal(offset, 0.3, 400) for offset in (5.0, 6.0, 9.0)]
    assert pooled_sd(groups) == pytest.approx(0.3, rel=0.06)
    assert np.std(np.concatenate(groups)) > 1.5  # the offsets would dominate a plain sd
    with pytest.raises(ValueError, match="at least two"):
        pooled_sd([[1.0]])


def test_compare_reads_what_a_discovery_run_writes(tmp_path):
    """The route's record as write_json leaves it in discovery.json: qpt-compare finds the
    draws' maxima, and each draw's accuracy curve is there, one list a draw."""
    rng = np.random.default_rng(8)
    trials = np.arange(4.25, 9.0, 0.5)
    error = 0.05 + 0.02 * np.abs(trials - 6.2)
    draws = [rng.random((2, len(trials), 300)) > error[None, :, None] for _ in range(3)]
    curve = draws_curve(trials, draws)
    route = RouteResult("confusion", curve.peak, curve.peak_ci, confusion=curve)
    record = {"model": "su2", "energy": 0.0, "routes": [route.record()]}
    write_json(tmp_path / "discovery.json", record)
    found, written = run_draws(tmp_path)
    assert found == list(curve.draws)
    kept = written["routes"][0]["confusion"]["draw_accuracy"]
    assert np.array(kept).shape == (3, len(trials))
    assert np.array(kept) == pytest.approx(np.array(curve.draw_accuracy))


def _run(path, draws, model="su2", route="confusion"):
    record = {
        "model": model,
        "energy": 0.0,
        "reference_wc": 6.2,
        "routes": [{"route": route, "confusion": {"draws": draws}}],
    }
    path.write_text(json.dumps(record))
    return str(path)


def test_compare_pools_runs_and_says_whether_they_differ(tmp_path, capsys):
    base = [
        _run(tmp_path / "a.json", [6.0, 6.2, 6.1, 6.3]),
        _run(tmp_path / "b.json", [6.4, 6.6, 6.5, 6.7]),  # offset 0.4: one draw's sd stays 0.129
    ]
    new = _run(tmp_path / "c.json", [7.0, 7.2, 7.1, 7.3])
    assert main(["--base", *base, "--new", new]) == 0
    out = capsys.readouterr().out.splitlines()
    d = welch_difference([7.0, 7.2, 7.1, 7.3], [6.0, 6.2, 6.1, 6.3, 6.4, 6.6, 6.5, 6.7])
    assert out[1].startswith("  base: 6.350 [") and "8 draws from 2 run(s)" in out[1]
    assert "one draw's sd 0.129" in out[1] and "(+2.4%)" in out[1]
    assert out[2].startswith("  new : 7.150 [") and "(+15.3%)" in out[2]
    assert out[3].startswith(f"  new - base: {d.value:+.3f} [{d.lo:.3f}, {d.hi:.3f}]")
    assert out[3].endswith(": above 0")


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda p: None, "missing.json: No such file"),
        (lambda p: p.write_text("{not json"), "not a discovery.json"),
        (lambda p: p.write_text("[1, 2]"), "not a discovery.json (no list of routes)"),
        (lambda p: p.write_bytes(b"\x93NUMPY\xff\xfe"), "not a discovery.json (not text)"),
        (lambda p: p.mkdir(), "missing.json/discovery.json: No such file"),
        (lambda p: _run(p, [6.0, 6.1], route="network"), "no 'confusion' route (it has: network)"),
        (lambda p: _run(p, [6.0]), "1 independent draw(s)"),
        (lambda p: _run(p, [6.0, float("nan")]), "a draw has no estimate"),
        (lambda p: _run(p, [6.0, 6.1], model="chern"), "--base is ('chern', 0.0), --new is"),
    ],
)
def test_compare_refuses_a_bad_run_in_one_line(tmp_path, capsys, setup, message):
    bad = tmp_path / "missing.json"
    setup(bad)
    good = _run(tmp_path / "good.json", [6.0, 6.2, 6.1])
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(["--base", str(bad), "--new", good]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # it writes nothing


def test_compare_reads_a_run_directory(tmp_path, capsys):
    (tmp_path / "run").mkdir()
    _run(tmp_path / "run" / "discovery.json", [6.0, 6.2, 6.1])
    other = _run(tmp_path / "b.json", [6.5, 6.7, 6.6])
    assert main(["--base", str(tmp_path / "run"), "--new", other]) == 0
    assert "base: 6.100 [" in capsys.readouterr().out


def test_compare_refuses_runs_of_two_models_on_one_side(tmp_path, capsys):
    a = _run(tmp_path / "a.json", [6.0, 6.2])
    b = _run(tmp_path / "b.json", [3.0, 3.2], model="chern")
    assert main(["--base", a, b, "--new", a]) == 2
    assert "--base mixes models or energies" in capsys.readouterr().err


def _curves_run(path, trials, curves, model="su2"):
    """A discovery.json whose confusion route keeps each draw's accuracy curve."""
    confusion = {"trials": list(trials), "draws": [6.0] * len(curves)}
    confusion["draw_accuracy"] = [list(c) for c in curves]
    record = {
        "model": model,
        "energy": 0.0,
        "routes": [{"route": "confusion", "confusion": confusion}],
    }
    path.write_text(json.dumps(record))
    return str(path)


def test_blind_accuracy_is_what_a_network_blind_to_w_scores():
    """A network that cannot tell the grid's W apart does best calling every state the larger
    side: on 11 W with as many states each, 10/11 at the outer trials and 6/11 in the middle."""
    grid = np.repeat(np.linspace(4.0, 9.0, 11), 50)
    trials = (np.unique(grid)[1:] + np.unique(grid)[:-1]) / 2
    scored = [max(np.mean(grid > t), np.mean(grid < t)) for t in trials]
    assert blind_accuracy(len(trials)) == pytest.approx(scored)
    assert blind_accuracy(10)[[0, 4, 5, 9]] == pytest.approx(np.array([10, 6, 6, 10]) / 11)


def test_compare_curves_trial_by_trial(tmp_path, capsys):
    """--curve pools each side's draw curves: a trial's row holds each side's mean with its
    Student-t interval and their Welch difference, the last row the same for each draw's mean
    over the trials; the W_c draws are not read."""
    rng = np.random.default_rng(11)
    trials = np.arange(4.25, 9.0, 0.5)
    base_curves = [0.93 + rng.normal(0, 0.003, (3, len(trials))) for _ in range(2)]
    new_curves = 0.93 + 0.01 * (trials > 7) + rng.normal(0, 0.003, (4, len(trials)))
    base = [_curves_run(tmp_path / f"b{i}.json", trials, c) for i, c in enumerate(base_curves)]
    new = _curves_run(tmp_path / "n.json", trials, new_curves)
    assert main(["--curve", "--base", *base, "--new", new]) == 0
    out = capsys.readouterr().out.splitlines()
    pooled = np.concatenate(base_curves)
    assert "base 6 draws, new 4" in out[1] and len(out) == 3 + len(trials) + 1
    bases, news = [*pooled.T, pooled.mean(axis=1)], [*new_curves.T, new_curves.mean(axis=1)]
    for row, b, n in zip(out[3:], bases, news, strict=True):
        mean, lo, hi = t_interval(b)
        d = welch_difference(n, b)
        assert f"{mean:.4f} [{lo:.4f}, {hi:.4f}]" in row
        assert f"{d.value:+.4f} [{d.lo:.4f}, {d.hi:.4f}]" in row
    deep = [row for row in out[3:] if row.split()[0] in ("8.250", "8.750")]
    assert all(row.endswith("above 0") for row in deep)  # the 0.01 gain, 3 sd apart
    assert out[3].split()[0] == "4.250" and not out[3].endswith("above 0")


def test_compare_curves_refuses_runs_it_cannot_read(tmp_path, capsys):
    trials = np.arange(4.25, 9.0, 0.5)
    good = _curves_run(tmp_path / "good.json", trials, np.full((3, 10), 0.9))
    old = _run(tmp_path / "old.json", [6.0, 6.2, 6.1])  # a run from before draw_accuracy
    other = _curves_run(tmp_path / "other.json", trials + 0.1, np.full((3, 10), 0.9))
    short = _curves_run(tmp_path / "short.json", trials, np.full((3, 9), 0.9))
    for bad, message in [
        (old, "keeps 0 draw curve(s)"),
        (other, "runs with different trials"),
        (short, "(3, 9) draw curves for 10 trials"),
    ]:
        assert main(["--curve", "--base", good, "--new", bad]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("error: ") and message in err
