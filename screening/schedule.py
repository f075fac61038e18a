"""Run a job again and again, jittered, until stopped: ``screening refresh --every 12h``.

The loop (:func:`run_every`) runs the job at once, then sleeps the interval ± a random jitter
(±10 % by default, so many installations do not hit the list publishers in the same second),
measured from the start of the previous run, and runs it again. Runs never overlap: the loop is
sequential, and the job (a refresh) takes the store's refresh lock, so a cron job or another
loop on the same data directory waits for it.

A stop request (:class:`Stop`, set by SIGTERM or SIGINT through :func:`stop_on_signals`) is
honoured between runs and wakes the loop from its sleep at once; a run in progress is finished
first, never cut off mid-write.

Each run logs one line (UTC timestamp, run number, the job's one-line summary, how long it took
and when the next run is due). A job that raises a :class:`~screening.errors.ScreeningError`
(another refresh holds the lock, the store is unusable) logs a ``FAILED`` line and the loop goes
on; anything else is a bug and propagates.

The clock, the sleep and the random source are injectable, so tests run instantly.
"""

from __future__ import annotations

import random
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from types import FrameType

from screening.errors import InputError, ScreeningError

__all__ = [
    "DEFAULT_JITTER",
    "MAX_JITTER",
    "MIN_INTERVAL",
    "Stop",
    "check_schedule",
    "next_delay",
    "run_every",
    "stop_on_signals",
]

#: Default jitter: each sleep is the interval ± 10 %.
DEFAULT_JITTER = 0.1
#: Largest jitter accepted (± 50 %).
MAX_JITTER = 0.5
#: Shortest interval accepted: the lists change a few times a week, publishers throttle.
MIN_INTERVAL = timedelta(minutes=1)


class Stop:
    """A request to stop the loop, safe to set from a signal handler or another thread.

    Setting it only flips a flag (a signal handler must not take a lock the interrupted code
    may hold); :meth:`wait` sleeps in short slices and notices the flag within one slice."""

    #: Longest slice of a :meth:`wait`: how soon a stop request ends a sleep.
    SLICE = 0.25

    def __init__(self) -> None:
        self._set = False
        self.reason: str | None = None

    def set(self, reason: str = "stop requested") -> None:
        if self.reason is None:
            self.reason = reason
        self._set = True

    def is_set(self) -> bool:
        return self._set

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True as soon as a stop is requested."""
        deadline = time.monotonic() + max(0.0, seconds)
        while not self._set:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(remaining, self.SLICE))
        return True


@contextmanager
def stop_on_signals(
    stop: Stop,
    log: Callable[[str], None],
    signals: Sequence[signal.Signals] = (signal.SIGTERM, signal.SIGINT),
) -> Iterator[Stop]:
    """While in the block, SIGTERM and SIGINT set ``stop`` (the first one logs a line) instead
    of killing the process; the previous handlers come back afterwards.

    Outside the main thread (where Python cannot install handlers) this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handle(signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if not stop.is_set():
            log(f"{_stamp(datetime.now(UTC))} {name} received: stopping after the current step")
        stop.set(f"{name} received")

    previous = {s: signal.signal(s, handle) for s in signals}
    try:
        yield stop
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def check_schedule(interval: timedelta, jitter: float) -> None:
    """Raise :class:`InputError` for an interval or jitter the loop does not accept."""
    if interval < MIN_INTERVAL:
        raise InputError(f"interval {_human(interval)} is too short (at least 1m)")
    if not 0.0 <= jitter <= MAX_JITTER:
        raise InputError(f"jitter must be between 0 and {MAX_JITTER:g}, not {jitter:g}")


def next_delay(interval: timedelta, jitter: float, draw: Callable[[], float]) -> float:
    """Seconds from one run's start to the next: ``interval × (1 ± jitter)``, where ``draw()``
    is uniform in [0, 1)."""
    return interval.total_seconds() * (1.0 + jitter * (2.0 * draw() - 1.0))


def run_every(
    job: Callable[[], str],
    interval: timedelta,
    *,
    stop: Stop,
    log: Callable[[str], None],
    jitter: float = DEFAULT_JITTER,
    name: str = "run",
    max_runs: int | None = None,
    sleep: Callable[[float], bool] | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    draw: Callable[[], float] = random.random,
) -> int:
    """Run ``job`` now and then every ``interval`` (jittered) until ``stop`` is set or
    ``max_runs`` runs are done; return the number of runs.

    ``job`` returns a one-line summary of its run. ``sleep(seconds)`` sleeps and returns True
    when woken by a stop request (default: ``stop.wait``).
    """
    check_schedule(interval, jitter)
    wait = sleep or stop.wait
    log(
        f"{_stamp(now())} {name} every {_human(interval)} (\u00b1{jitter:.0%}); "
        "stop with SIGTERM or Ctrl-C"
    )
    runs = 0
    while not stop.is_set():
        runs += 1
        started = monotonic()
        try:
            summary = job()
        except ScreeningError as exc:
            summary = f"FAILED: {exc}"
        took = monotonic() - started
        if stop.is_set() or (max_runs is not None and runs >= max_runs):
            log(f"{_stamp(now())} {name} {runs}: {summary} ({took:.1f} s)")
            break
        delay = max(0.0, next_delay(interval, jitter, draw) - took)
        log(
            f"{_stamp(now())} {name} {runs}: {summary} ({took:.1f} s); "
            f"next in {_human(timedelta(seconds=delay))}"
        )
        if wait(delay):
            break
    log(f"{_stamp(now())} {name} stopped after {runs} run{'s' if runs != 1 else ''}")
    return runs


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _human(delta: timedelta) -> str:
    """``45s``, ``20m``, ``11h48m``, ``2d3h``."""
    s = int(round(delta.total_seconds()))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        h, m = divmod(s // 60, 60)
        return f"{h}h{m:02d}m" if m else f"{h}h"
    d, h = divmod(s // 3600, 24)
    return f"{d}d{h}h" if h else f"{d}d"
