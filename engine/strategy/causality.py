"""Whether an indicator reads bars after the one it is for (the check `Strategy.I` runs).

A causal indicator's value at bar t depends on its inputs' bars up to t only, so computing it
on the first c bars of every per-bar input must give the first c values of the whole
computation. `first_look_ahead` recomputes it on a few such prefixes and says where it
differs; the strategy base turns that into an error naming the author's line.
"""

from __future__ import annotations

import warnings
import zlib
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

_CUTS = 6  # prefixes recomputed per indicator
_SPAN = 4096  # the cuts fall within this many bars after the indicator's warm-up
_WARMUP_PROBE = 65536  # bars searched first for the end of the warm-up (NaN) head
# sma picks exact integer-paise sums only when EVERY value is on the paisa grid, so a prefix
# can be summed exactly where the whole array falls back to floats (~1e-13 apart); look-ahead
# moves a value by at least a paisa in a price (~1e-5 relative). The incremental audit's
# tolerance (engine/strategy/derived.py) is the same.
_RTOL = 1e-9
_ATOL = 1e-12


class LookAhead(NamedTuple):
    """Where a recomputation on a prefix disagreed with the whole computation."""

    bar: int
    whole_value: Any  # the value at `bar` computed over all `bars`
    prefix_value: Any  # the value at `bar` computed over the first `cut` bars
    cut: int
    bars: int


def first_look_ahead(
    fn: Callable[..., Any],
    args: list[Any],
    kwargs: dict[str, Any],
    values: npt.NDArray[Any],
    label: str,
) -> LookAhead | None:
    """Where `values = fn(*args, **kwargs)` uses later bars, or None when no cut shows it.

    It is recomputed at a few cut points just after its warm-up (the leading NaNs), where a
    centred window or a left shift shows: c is at most the warm-up plus `_SPAN` bars, so the
    check costs a few thousand bars whatever the history's length. The cuts are drawn from a
    generator seeded by the name and the length, so a run is repeatable. A prefix the
    function cannot compute (it raised) is skipped; inputs without per-bar arrays (closures)
    cannot be checked.
    """
    n = values.shape[0]
    per_bar = [i for i, a in enumerate(args) if _is_per_bar(a, n)]
    per_bar_kw = [k for k, v in kwargs.items() if _is_per_bar(v, n)]
    if n < 2 or not (per_bar or per_bar_kw):
        return None
    start = _warmup_end(values)
    first, last = min(start + 1, n - 1), min(start + _SPAN, n - 1)
    rng = np.random.default_rng(zlib.crc32(f"{label}:{n}".encode()))
    drawn = rng.integers(first, last + 1, size=_CUTS - 1).tolist() if last > first else []
    for cut in sorted({first, *drawn}):
        cut_args = [_prefix(a, cut) if i in per_bar else a for i, a in enumerate(args)]
        cut_kwargs = {k: _prefix(v, cut) if k in per_bar_kw else v for k, v in kwargs.items()}
        try:  # a few bars may divide by zero where the whole history did not: stay quiet
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                part = np.asarray(fn(*cut_args, **cut_kwargs))
        except Exception:  # e.g. too few bars for its window: this cut cannot be checked
            continue
        if part.shape != (cut,):
            continue  # its length does not follow its inputs (a closure over whole arrays)
        bar = _first_difference(values[:cut], part)
        if bar is not None:
            return LookAhead(bar, _plain(values[bar]), _plain(part[bar]), cut, n)
    return None


def _is_per_bar(value: object, n: int) -> bool:
    return isinstance(value, np.ndarray) and value.ndim == 1 and value.shape[0] == n


def _prefix(array: npt.NDArray[Any], cut: int) -> npt.NDArray[Any]:
    view = array[:cut]
    view.flags.writeable = False  # an indicator must not rewrite the bars it is given
    return view


def _warmup_end(values: npt.NDArray[Any]) -> int:
    """Index of the first value that is not NaN (0 for non-float results or no warm-up)."""
    if values.dtype.kind not in "fc":
        return 0
    for probe in (values[:_WARMUP_PROBE], values):
        finite = ~np.isnan(probe)
        if finite.any():
            return int(finite.argmax())
    return 0


def _first_difference(full: npt.NDArray[Any], part: npt.NDArray[Any]) -> int | None:
    """First bar where the two differ: NaN equals NaN; floats within `_RTOL`; else exact."""
    if full.dtype.kind in "fc" and part.dtype.kind in "fc":
        with np.errstate(invalid="ignore"):
            close = np.isclose(full, part, rtol=_RTOL, atol=_ATOL, equal_nan=True)
            same = close | (full == part)  # infinities of one sign
    else:
        same = np.asarray(full == part, dtype=bool)
        if same.shape != full.shape:
            return None  # values that do not compare one by one: nothing to say
    if same.all():
        return None
    return int(np.flatnonzero(~same)[0])


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
