"""Seeded synthetic one-minute bars on the real NSE session clock.

The speed benchmark (and tests) need a large, realistic, reproducible bar set without shipping
data: same seed, same bars, byte for byte. Prices are int64 paise on the 0.05-rupee tick grid so
both engines see exact values; a float walk would make SMA ties depend on rounding.

Run directly for a quick self-check: ``python bench/synthetic_bars.py [N]``.
"""

from __future__ import annotations

import datetime
import sys

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]

END_DATE = datetime.date(2026, 12, 31)
TICK_PAISE = 5  # NSE equity tick: 0.05 rupee
CENTRE_RUPEES = 1000.0
_NS_PER_MINUTE = 60 * 10**9
_NS_PER_SECOND = 10**9

# Walk shape, in log-price units. Chosen so a 1-minute SMA 10/30 crossover trades often
# (a few hundred round trips per 10k bars) and the price stays near CENTRE_RUPEES for decades.
_SIGMA_MINUTE = 0.0007  # close-to-close move inside a bar
_SIGMA_JITTER = 0.0001  # open of a bar vs the previous close, within a session
_SIGMA_GAP = 0.006  # overnight gap
_PULL_PER_SESSION = 0.02  # overnight mean reversion toward CENTRE_RUPEES
_WICK_TICKS = 2.0  # mean extra ticks of high above / low below the body


def session_clock(n: int, end: datetime.date = END_DATE) -> tuple[I64, I64]:
    """Open times (int64 ns UTC) of the last ``n`` minutes traded on NSE up to ``end``.

    Every session comes from the project's NSE calendar; a regular session gives 375 bars
    (09:15 to 15:29 IST open times), a special one (muhurat) its own hours. Returns the times
    and the indices of bars that open a session (index 0 is not one unless it truly is).
    """
    if n <= 0:
        raise ValueError(f"n must be positive, got {n}")
    from engine.calendar import get_calendar

    calendar = get_calendar("NSE")
    sessions = calendar.sessions(calendar.package_span[0], end)
    opens: list[int] = []
    counts: list[int] = []
    total = 0
    for session in reversed(sessions):
        minutes = int((session.close - session.open).total_seconds()) // 60
        opens.append(int(session.open.timestamp()) * _NS_PER_SECOND)
        counts.append(minutes)
        total += minutes
        if total >= n:
            break
    if total < n:
        raise ValueError(
            f"the NSE calendar has only {total} session minutes up to {end}; asked for {n}"
        )
    opens.reverse()
    counts.reverse()
    open_ns = np.asarray(opens, dtype=np.int64)
    count = np.asarray(counts, dtype=np.int64)
    first = np.concatenate(([0], np.cumsum(count)[:-1])).astype(np.int64)
    minute_in_session = np.arange(total, dtype=np.int64) - np.repeat(first, count)
    ts = np.repeat(open_ns, count) + minute_in_session * _NS_PER_MINUTE
    cut = total - n  # keep the last n bars, so the series ends at the last session's close
    starts = first[first >= cut] - cut
    return ts[cut:].copy(), starts.astype(np.int64)


def make_bars(n: int, seed: int = 7) -> dict[str, I64]:
    """``n`` seeded one-minute bars: ts (int64 ns UTC), open/high/low/close (int64 paise), volume.

    Bars end on the last NSE session up to 2026-12-31 and go back as far as ``n`` needs.
    Guarantees: prices are positive multiples of 5 paise, low <= min(open, close),
    high >= max(open, close), volume >= 1, timestamps strictly increasing.
    """
    ts, starts = session_clock(n)
    rng = np.random.default_rng(seed)
    move = rng.normal(0.0, _SIGMA_MINUTE, n)  # open -> close of each bar
    step = move + rng.normal(0.0, _SIGMA_JITTER, n)  # previous close -> this close
    gap_noise = rng.normal(0.0, _SIGMA_GAP, len(starts))

    centre = np.log(CENTRE_RUPEES)
    close_log = np.empty(n)
    level = centre
    bounds = [*starts.tolist(), n]
    if bounds[0] != 0:
        bounds.insert(0, 0)  # the series starts mid-session: walk from the centre
        gap_noise = np.concatenate(([0.0], gap_noise))
    for k in range(len(bounds) - 1):
        lo, hi = bounds[k], bounds[k + 1]
        seg = step[lo:hi].copy()
        # The first bar of a session opens after an overnight gap pulled toward the centre.
        seg[0] = move[lo] - _PULL_PER_SESSION * (level - centre) + gap_noise[k]
        close_log[lo:hi] = level + np.cumsum(seg)
        level = close_log[hi - 1]
    open_log = close_log - move

    ticks_per_rupee = 100 // TICK_PAISE
    open_t = np.maximum(np.rint(np.exp(open_log) * ticks_per_rupee).astype(np.int64), 1)
    close_t = np.maximum(np.rint(np.exp(close_log) * ticks_per_rupee).astype(np.int64), 1)
    wick_up = np.floor(rng.exponential(_WICK_TICKS, n)).astype(np.int64)
    wick_down = np.floor(rng.exponential(_WICK_TICKS, n)).astype(np.int64)
    high_t = np.maximum(open_t, close_t) + wick_up
    low_t = np.maximum(np.minimum(open_t, close_t) - wick_down, 1)
    volume = (np.rint(rng.lognormal(8.0, 0.8, n)).astype(np.int64)) + 1

    return {
        "ts": ts,
        "open": open_t * TICK_PAISE,
        "high": high_t * TICK_PAISE,
        "low": low_t * TICK_PAISE,
        "close": close_t * TICK_PAISE,
        "volume": volume,
    }


def check_bars(bars: dict[str, I64]) -> None:
    """Raise AssertionError unless ``bars`` keeps every promise of make_bars."""
    n = len(bars["ts"])
    for name in ("ts", "open", "high", "low", "close", "volume"):
        arr = bars[name]
        assert arr.dtype == np.int64 and arr.shape == (n,), f"{name}: {arr.dtype} {arr.shape}"
    assert np.all(np.diff(bars["ts"]) > 0), "timestamps not strictly increasing"
    for name in ("open", "high", "low", "close"):
        assert np.all(bars[name] > 0), f"{name} not positive"
        assert np.all(bars[name] % TICK_PAISE == 0), f"{name} off the tick grid"
    assert np.all(bars["high"] >= np.maximum(bars["open"], bars["close"])), "high too low"
    assert np.all(bars["low"] <= np.minimum(bars["open"], bars["close"])), "low too high"
    assert np.all(bars["volume"] >= 1), "volume not positive"


def main(argv: list[str]) -> int:
    """Self-check used by ``make bench`` (which runs every bench/*.py)."""
    import time

    n = int(argv[0]) if argv else 100_000
    t0 = time.perf_counter()
    bars = make_bars(n)
    seconds = time.perf_counter() - t0
    check_bars(bars)
    again = make_bars(n)
    assert all(np.array_equal(bars[k], again[k]) for k in bars), "same seed, different bars"
    first = np.datetime64(int(bars["ts"][0]), "ns")
    last = np.datetime64(int(bars["ts"][-1]), "ns")
    close = bars["close"] / 100
    print(
        f"synthetic bars: {n:,} in {seconds:.2f} s, {first} .. {last} UTC, "
        f"close {close.min():.2f}..{close.max():.2f} rupees (last {close[-1]:.2f}); checks passed"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
