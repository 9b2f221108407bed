"""Progress on long work: a bar at a terminal, a logged line a minute elsewhere (a Slurm log,
a nohup file), where a cache fill of hours used to say nothing until it ended."""

import logging

import pytest
from tqdm.auto import tqdm

import qpt.data.progress
from qpt.data import EnsembleCache
from qpt.data.progress import LoggedProgress, progress_bar
from tests.test_data import su2_ensemble


class Clock:
    def __init__(self, times):
        self.times = iter(times)

    def __call__(self):
        return next(self.times)


def test_logged_progress_says_how_far_how_fast_and_how_long_left(caplog):
    # start at 0; updates at 30, 61, 100, 125, 500 s (the last one reaches the total)
    bar = LoggedProgress(
        total=10, desc="filling", unit="state", every=60, clock=Clock([0, 30, 61, 100, 125, 500])
    )
    with caplog.at_level(logging.INFO, logger="qpt.data.progress"):
        with bar:
            for n in (1, 1, 2, 2, 4):
                bar.update(n)
    lines = [r.getMessage() for r in caplog.records]
    # at 61 s: 2 of 10 done at 2/61 a second, 8 left: 244 s; at 125 s: 6 done, the rate
    # 0.3 x 4/64 (the latest interval's) + 0.7 x 2/61 = 0.0417 a second, 4 left: 96 s
    assert lines == [
        "filling: 2/10 state (20%), 30.5 s/state, about 4 min 04 s left",
        "filling: 6/10 state (60%), 24 s/state, about 1 min 36 s left",
    ]
    assert bar.n == 10


def test_logged_progress_sees_a_pause_in_its_rate_within_a_few_lines(caplog):
    """One state a second for a minute, then nothing for ten (a paused or crowded machine),
    then one a second again: the rate follows the latest intervals (the average since the
    start would still read 3.5 s a state at the last line)."""
    times = [0, 60, 660, 720, 780, 840]  # the start, then one update at each
    bar = LoggedProgress(total=10_000, desc="states", unit="state", every=60, clock=Clock(times))
    with caplog.at_level(logging.INFO, logger="qpt.data.progress"):
        for n in (60, 1, 60, 60, 60):
            bar.update(n)
    rates = [r.getMessage().split(", ")[1] for r in caplog.records]
    # 1; 0.3/600 + 0.7 = 0.7005; then 0.3 x 1 + 0.7 x 0.7005 = 0.790, 0.853, 0.897 a second
    assert rates == ["1 state/s", "1.43 s/state", "1.27 s/state", "1.17 s/state", "1.11 s/state"]


def test_logged_progress_logging_every_update_survives_one_clock_tick(caplog):
    bar = LoggedProgress(total=10, desc="shards", unit="shard", every=0, clock=Clock([0, 0, 0]))
    with caplog.at_level(logging.INFO, logger="qpt.data.progress"):
        bar.update()
        bar.update()
    assert len(caplog.records) == 2 and "shard/s" in caplog.records[0].getMessage()


def test_logged_progress_gives_fast_work_a_rate_per_second(caplog):
    bar = LoggedProgress(total=1000, desc="levels", unit="state", every=60, clock=Clock([0, 61]))
    with caplog.at_level(logging.INFO, logger="qpt.data.progress"):
        bar.update(150)
    # 150 in 61 s: 2.46 a second, 850 left: 346 s
    assert [r.getMessage() for r in caplog.records] == [
        "levels: 150/1000 state (15%), 2.46 state/s, about 5 min 46 s left"
    ]


def test_logged_progress_iterates_everything_and_is_silent_when_quick(caplog):
    with caplog.at_level(logging.INFO, logger="qpt.data.progress"):
        items = list(progress_bar(iter(range(7)), total=7, desc="quick", interactive=False))
    assert items == list(range(7)) and not caplog.records
    with pytest.raises(TypeError, match="nothing to iterate"):
        list(LoggedProgress(total=3, desc="x"))


def test_a_terminal_gets_a_bar():
    bar = progress_bar(total=5, desc="x", interactive=True)
    assert isinstance(bar, tqdm)
    bar.close()
    assert isinstance(progress_bar(total=5, desc="x", interactive=False), LoggedProgress)


@pytest.mark.parametrize("interactive", [False, True])
def test_cache_fill_reports_progress_where_no_one_watches(
    tmp_path, monkeypatch, caplog, capsys, interactive
):
    """A fill with ``progress=False`` (not at a terminal) logs its progress as it goes (here
    every shard: LOG_EVERY = 0), not at its end, which ensure() reports itself; at a terminal
    the bar replaces those lines. Either way the states are the same."""
    monkeypatch.setattr(qpt.data.progress, "LOG_EVERY", 0.0)
    cache = EnsembleCache(tmp_path, su2_ensemble(), shard_size=4)
    with caplog.at_level(logging.INFO):
        cache.ensure(12, workers=1, progress=interactive)
    lines = [r.getMessage() for r in caplog.records if r.name == "qpt.data.progress"]
    label = f"generating su2 L={cache.ensemble.L} train"
    if interactive:
        assert not lines and label in capsys.readouterr().err
    else:
        assert [line.split(" (")[0] for line in lines] == [
            f"{label}: 4/12 state",
            f"{label}: 8/12 state",
        ]
    assert any("generated 12 states" in r.getMessage() for r in caplog.records)
    assert cache.load(12, checksum=True).images().shape[0] == 12
