"""The ``--every`` loop: timing and jitter, logging, stopping, failures (a fake clock: instant)."""

from __future__ import annotations

import os
import re
import signal
import threading
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from screening.errors import InputError, LockedError
from screening.schedule import (
    Stop,
    check_schedule,
    next_delay,
    run_every,
    stop_on_signals,
)

TWELVE_HOURS = timedelta(hours=12)
STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z ")


class FakeTime:
    """A monotonic clock and a wall clock that only move when the loop sleeps or a job works."""

    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []
        self.start = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)

    def monotonic(self) -> float:
        return self.t

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.t)

    def sleep(self, seconds: float) -> bool:
        self.sleeps.append(seconds)
        self.t += seconds
        return False


def loop(
    job: object, fake: FakeTime, stop: Stop | None = None, **kw: object
) -> tuple[int, list[str]]:
    lines: list[str] = []
    runs = run_every(
        job,  # type: ignore[arg-type]
        TWELVE_HOURS,
        stop=stop or Stop(),
        log=lines.append,
        sleep=fake.sleep,
        monotonic=fake.monotonic,
        now=fake.now,
        **kw,  # type: ignore[arg-type]
    )
    return runs, lines


def test_runs_at_once_then_every_interval_from_the_start_of_each_run() -> None:
    fake = FakeTime()
    started: list[float] = []

    def job() -> str:
        started.append(fake.t)
        fake.t += 600  # a run takes ten minutes
        return "ofac_sdn updated +3 \u22121 ~2"

    runs, lines = loop(job, fake, jitter=0.0, max_runs=3)
    assert runs == 3
    assert started == [0.0, 43200.0, 86400.0]  # 12 h apart, start to start
    assert fake.sleeps == [42600.0, 42600.0]  # not after the last run
    assert all(STAMP.match(line) for line in lines)
    assert lines[0] == "2026-11-22T03:00:00Z run every 12h (\u00b10%); stop with SIGTERM or Ctrl-C"
    assert lines[1] == (
        "2026-11-22T03:10:00Z run 1: ofac_sdn updated +3 \u22121 ~2 (600.0 s); next in 11h50m"
    )
    assert lines[3].startswith("2026-11-23T03:10:00Z run 3: ") and "next in" not in lines[3]
    assert lines[-1] == "2026-11-23T03:10:00Z run stopped after 3 runs"
    assert len(lines) == 5  # start, one line per run, stop


def test_jitter_varies_the_interval_within_bounds() -> None:
    fake = FakeTime()
    draws = iter([0.0, 0.999999, 0.5])
    runs, _ = loop(lambda: "ok", fake, jitter=0.1, max_runs=4, draw=lambda: next(draws))
    assert runs == 4
    assert fake.sleeps == pytest.approx([38880.0, 47520.0, 43200.0], abs=0.1)


@given(
    hours=st.floats(min_value=0.02, max_value=24 * 14),
    jitter=st.floats(min_value=0.0, max_value=0.5),
    u=st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
)
def test_next_delay_stays_within_the_jitter(hours: float, jitter: float, u: float) -> None:
    interval = timedelta(hours=hours)
    delay = next_delay(interval, jitter, lambda: u)
    base = interval.total_seconds()
    assert base * (1 - jitter) - 1e-6 <= delay <= base * (1 + jitter) + 1e-6


def test_a_run_longer_than_the_interval_is_followed_at_once_never_overlapped() -> None:
    fake = FakeTime()
    active = 0
    overlaps = 0

    def job() -> str:
        nonlocal active, overlaps
        active += 1
        overlaps += active > 1
        fake.t += 13 * 3600
        active -= 1
        return "slow"

    loop(job, fake, jitter=0.0, max_runs=3)
    assert fake.sleeps == [0.0, 0.0] and overlaps == 0


def test_a_stop_during_the_sleep_ends_the_loop_without_another_run() -> None:
    fake = FakeTime()
    stop = Stop()
    calls = 0

    def job() -> str:
        nonlocal calls
        calls += 1
        return "ok"

    def sleep(seconds: float) -> bool:
        stop.set("SIGTERM received")
        return True

    lines: list[str] = []
    runs = run_every(
        job, TWELVE_HOURS, stop=stop, log=lines.append, sleep=sleep, monotonic=fake.monotonic
    )
    assert (runs, calls) == (1, 1)
    assert lines[-1].endswith("run stopped after 1 run")


def test_a_stop_during_a_run_lets_the_run_finish() -> None:
    fake = FakeTime()
    stop = Stop()
    finished = []

    def job() -> str:
        stop.set("SIGTERM received")  # arrives mid-run
        fake.t += 30
        finished.append(True)  # the run goes on to its end
        return "ofac_sdn unchanged"

    runs, lines = loop(job, fake, stop=stop)
    assert runs == 1 and finished == [True] and fake.sleeps == []
    assert "run 1: ofac_sdn unchanged (30.0 s)" in lines[1] and "next in" not in lines[1]


def test_a_failed_run_is_logged_and_the_loop_goes_on() -> None:
    fake = FakeTime()
    results: list[Exception | str] = [
        LockedError("another refresh or import (process 42) is running"),
        "ok",
    ]

    def job() -> str:
        item = results.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    runs, lines = loop(job, fake, max_runs=2, jitter=0.0)
    assert runs == 2
    assert "run 1: FAILED: another refresh or import (process 42) is running" in lines[1]
    assert "run 2: ok" in lines[2]


def test_a_bug_in_the_job_is_not_swallowed() -> None:
    def job() -> str:
        raise RuntimeError("bug")

    with pytest.raises(RuntimeError, match="bug"):
        loop(job, FakeTime())


@pytest.mark.parametrize(
    ("interval", "jitter", "message"),
    [
        (timedelta(seconds=30), 0.1, "too short"),
        (TWELVE_HOURS, 0.6, "jitter must be between 0 and 0.5"),
        (TWELVE_HOURS, -0.1, "jitter"),
    ],
)
def test_bad_schedules_are_refused(interval: timedelta, jitter: float, message: str) -> None:
    with pytest.raises(InputError, match=message):
        check_schedule(interval, jitter)
    lines: list[str] = []
    with pytest.raises(InputError, match=message):
        run_every(lambda: "never", interval, stop=Stop(), log=lines.append, jitter=jitter)
    assert lines == []  # refused before the first run


def test_stop_wait_sleeps_and_wakes_on_a_stop_from_another_thread() -> None:
    stop = Stop()
    assert stop.wait(0.01) is False
    threading.Timer(0.05, stop.set).start()
    assert stop.wait(30) is True  # woken within one slice, not after 30 s
    assert stop.reason == "stop requested"


def test_sigterm_sets_the_stop_and_the_previous_handler_comes_back() -> None:
    before = signal.getsignal(signal.SIGTERM)
    lines: list[str] = []
    stop = Stop()
    with stop_on_signals(stop, lines.append):
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.wait(5)  # the handler ran: no exit, a stop request
    assert stop.reason == "SIGTERM received"
    assert len(lines) == 1 and lines[0].endswith(
        "SIGTERM received: stopping after the current step"
    )
    assert signal.getsignal(signal.SIGTERM) == before


def test_sigint_during_a_real_run_finishes_the_run_then_stops() -> None:
    stop = Stop()
    lines: list[str] = []
    steps: list[str] = []

    def job() -> str:
        steps.append("start")
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while the run writes
        steps.append("end")
        return "done"

    with stop_on_signals(stop, lines.append):
        runs = run_every(job, TWELVE_HOURS, stop=stop, log=lines.append)
    assert runs == 1 and steps == ["start", "end"]
    assert any("SIGINT received" in line for line in lines)
    assert lines[-1].endswith("run stopped after 1 run")
