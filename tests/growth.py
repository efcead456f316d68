"""How a cost grows, not how long it takes: the same input at 1x and 10x its size, timed in one process.

A wall-clock bound fails on a machine busy with other work; a ratio of two timings taken side by side does
not, since the load slows both. Linear work grows about tenfold, quadratic work a hundredfold: a bound of 25
tells them apart with room for noise. Room is needed: the load does not slow both alike (the larger input
suffers more from a neighbour's use of the caches), and linear shapes that measure 10-12 alone measured 15.8 and
17.7 while the suite ran beside two other Python jobs on 2 cores. Work that grows as n^1.5 (31.6) still fails.
"""

from __future__ import annotations

import gc
import time
from typing import Callable

MAX_RATIO = 25.0
_SHORTEST = 0.02  # seconds: a timing shorter than this is mostly the clock's and the scheduler's noise


def seconds_for(run: Callable[[], object], calls: int) -> float:
    """Seconds for ``calls`` calls of ``run``, the garbage collector off (as timeit does): a collection costs
    what the whole process holds (TensorFlow, in a test run), whichever call happens to set it off."""
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(calls):
            run()
        return time.perf_counter() - start
    finally:
        gc.enable()


def growth(small: Callable[[], object], big: Callable[[], object], rounds: int = 3, most_rounds: int = 15) -> float:
    """The least time of ``big`` over the least time of ``small``, timed in turn for ``rounds`` rounds.

    Timed in turn, a burst of load meets both; the least time of each is the run least disturbed. Near the bound
    the rounds go on (up to ``most_rounds``): a busy machine can lift one ratio past it, not the least times of
    many rounds; work that grows faster than linearly stays far past it, and stops the rounds at once. A quick
    ``small`` is called several times a timing (and ``big`` as many), so that neither timing is shorter than the
    clock measures well."""
    calls = 1
    while seconds_for(small, calls) < _SHORTEST and calls < 10_000:
        calls *= 4
    small_times, big_times = [], []
    for done in range(1, most_rounds + 1):
        small_times.append(seconds_for(small, calls))
        big_times.append(seconds_for(big, calls))
        ratio = min(big_times) / min(small_times)
        if done >= rounds and (ratio <= MAX_RATIO or ratio > 4 * MAX_RATIO):
            break
    return ratio
