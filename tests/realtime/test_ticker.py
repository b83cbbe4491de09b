"""The tick loop itself under a manual clock: the sleep it is given advances the clock, so the
loop's timing (dt, catch-up after a stall, the MAX_DT cap) is checked without waiting."""

from __future__ import annotations

import asyncio

from yakuba.server.realtime.clock import ManualClock
from yakuba.server.realtime.ticker import MAX_DT, Ticker


async def run_loop(stalls: dict[int, float], ticks: int) -> tuple[list[tuple[float, float]], list[float]]:
    """Runs a 10 Hz ticker until ``ticks`` steps; step n takes ``stalls[n]`` seconds of clock."""
    clock = ManualClock(start=0.0)
    steps: list[tuple[float, float]] = []
    sleeps: list[float] = []
    done = asyncio.Event()

    async def sleep(s: float) -> None:
        sleeps.append(round(s, 6))
        clock.advance(s)
        await asyncio.sleep(0)  # let the test's loop run, but no wall-clock wait

    async def step(dt: float, now: float) -> None:
        steps.append((round(dt, 6), round(now, 6)))
        clock.advance(stalls.get(len(steps), 0.0))
        if len(steps) == ticks:
            done.set()
        if len(steps) == 2:
            raise RuntimeError("a failing step is logged; the loop goes on")

    t = Ticker("test", 10.0, clock, step, sleep=sleep)
    t.start()
    await asyncio.wait_for(done.wait(), 5)
    await t.stop()
    return steps, sleeps


async def test_steady_ticks_every_period_with_dt_from_the_clock():
    steps, sleeps = await run_loop({}, 4)
    assert steps[:4] == [(0.1, 0.1), (0.1, 0.2), (0.1, 0.3), (0.1, 0.4)], "step 2 failed and the loop went on"
    assert sleeps[:4] == [0.1, 0.1, 0.1, 0.1]


async def test_a_stall_is_capped_at_max_dt_and_the_loop_does_not_burst_to_catch_up():
    steps, sleeps = await run_loop({1: 2.0}, 3)  # the first step takes 2 s
    assert steps[0] == (0.1, 0.1)
    assert steps[1] == (MAX_DT, 2.1), "no teleport after a stall"
    assert sleeps[1] == 0.0 and steps[2] == (0.1, 2.2), "then back to the period, not a burst"


async def test_stop_ends_the_task():
    clock = ManualClock()
    t = Ticker("idle", 10.0, clock, lambda dt, now: asyncio.sleep(0), sleep=lambda s: asyncio.sleep(3600))
    t.start()
    await asyncio.sleep(0)
    await t.stop()
    assert t._task is None
