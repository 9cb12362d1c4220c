"""Finding the first bar an order's price is reached: vectorised over growing chunks.

An order resting for thousands of bars must not cost thousands of Python steps, and a
search must not scan to the end of a million bars every time: chunks grow 512, 4096, 32768...
The first covers a whole session (375 one-minute bars), so a DAY order's search is one chunk
(numpy's fixed cost per call is worth hundreds of comparisons: a hit in the first bars pays
little for the longer first chunk).
Within a chunk the first hit is the argmax of the comparison's booleans (the first True; a
False there means none): one C call, where np.flatnonzero costs several Python-level ones.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FIRST_CHUNK = 512  # bars in the first chunk of a search (then 8x the previous)


def first_at_or_above(values: IntArray, start: int, stop: int, level: int) -> int:
    """First j in [start, stop] with values[j] >= level, or -1."""
    chunk = FIRST_CHUNK
    j = start
    while j <= stop:
        end = min(stop + 1, j + chunk)
        hit = values[j:end] >= level
        k = int(hit.argmax())
        if hit[k]:
            return j + k
        j = end
        chunk *= 8
    return -1


def first_at_or_below(values: IntArray, start: int, stop: int, level: int) -> int:
    """First j in [start, stop] with values[j] <= level, or -1."""
    chunk = FIRST_CHUNK
    j = start
    while j <= stop:
        end = min(stop + 1, j + chunk)
        hit = values[j:end] <= level
        k = int(hit.argmax())
        if hit[k]:
            return j + k
        j = end
        chunk *= 8
    return -1


def first_trailing_hit(
    high: IntArray, low: IntArray, start: int, stop: int, long: bool, anchor: int, trail: int
) -> tuple[int, int]:
    """(bar, stop level) where a trailing stop first trades, or (-1, last level).

    The stop trails the best price of the bars BEFORE the one tested (the order of high and
    low inside a bar is unknown), starting from `anchor` (the entry or the best price so far).
    """
    chunk = 64
    j = start
    best = anchor
    while j <= stop:
        end = min(stop + 1, j + chunk)
        if long:
            seen = np.maximum.accumulate(np.concatenate(([best], high[j:end])))[:-1]
            levels = seen - trail
            hits = np.flatnonzero(low[j:end] <= levels)
        else:
            seen = np.minimum.accumulate(np.concatenate(([best], low[j:end])))[:-1]
            levels = seen + trail
            hits = np.flatnonzero(high[j:end] >= levels)
        if hits.size:
            k = int(hits[0])
            return j + k, int(levels[k])
        best = int(max(best, int(high[j:end].max())) if long else min(best, int(low[j:end].min())))
        j = end
        chunk *= 8
    return -1, best - trail if long else best + trail
