"""What the backtest runner hands to the metrics: plain arrays, checked once at the door.

The runner works in arrays (a worker process gets arrays, never the database), so the metrics
take arrays too. Floats carry the per-sample and per-trade figures used for returns and
ratios; the money totals that are reported as sums (P&L, charges) travel as exact Decimals
beside them, because summing a million float P&Ls drifts by paise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

from engine.domain.money import to_decimal

FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.int64]

_EXACT_FLOAT_INT = 2**53  # every int below it is exactly a float64


def _largest(values: IntArray) -> int:
    return max(int(values.max()), -int(values.min())) if values.size else 0


# Per-trade float P&L may differ from the exact figure by rounding; one paisa is the most a
# faithful float conversion of a paise amount can be off, so more than that is a wrong input.
_PAISA = 0.01


def _floats(values: object, field: str) -> FloatArray:
    array = np.ascontiguousarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{field} must be one-dimensional, got shape {array.shape}")
    if not np.isfinite(array).all():
        bad = int(np.flatnonzero(~np.isfinite(array))[0])
        raise ValueError(f"{field}[{bad}] is not a finite number: {array[bad]!r}")
    return array


def _nanoseconds(values: object, field: str) -> IntArray:
    """int64 ns since the epoch (UTC); datetime64 is converted, floats are refused."""
    array = np.asarray(values)
    if array.dtype.kind == "M":
        array = array.astype("datetime64[ns]").view(np.int64)
    elif array.dtype.kind not in "iu" and array.size:
        raise TypeError(f"{field} must be int64 nanoseconds since the epoch, got {array.dtype}")
    array = np.ascontiguousarray(array, dtype=np.int64)
    if array.ndim != 1:
        raise ValueError(f"{field} must be one-dimensional, got shape {array.shape}")
    return array


# eq=False: comparing numpy arrays with == is elementwise, so a generated __eq__ would raise.
@dataclass(frozen=True, eq=False)
class EquityCurve:
    """Mark-to-market equity sampled at every bar close (rupees, net and before costs).

    `exposure` is gross position value / equity at each sample: 0 when flat, 1.0 fully
    invested, above 1 when leveraged.
    """

    timestamps: IntArray  # int64 ns since epoch, UTC, strictly increasing
    equity: FloatArray  # net of costs
    gross_equity: FloatArray  # the same curve before costs
    exposure: FloatArray  # >= 0

    def __post_init__(self) -> None:
        ts = _nanoseconds(self.timestamps, "timestamps")
        arrays = {
            name: _floats(getattr(self, name), name)
            for name in ("equity", "gross_equity", "exposure")
        }
        if ts.size == 0:
            raise ValueError("an equity curve needs at least one sample")
        for name, array in arrays.items():
            if array.size != ts.size:
                raise ValueError(f"{name} has {array.size} samples but timestamps has {ts.size}")
        steps = np.diff(ts)
        if (steps <= 0).any():
            bad = int(np.flatnonzero(steps <= 0)[0]) + 1
            raise ValueError(
                f"timestamps must be strictly increasing: timestamps[{bad}] = {ts[bad]} "
                f"follows {ts[bad - 1]}"
            )
        if (arrays["exposure"] < 0).any():
            bad = int(np.flatnonzero(arrays["exposure"] < 0)[0])
            raise ValueError(f"exposure[{bad}] is negative: {arrays['exposure'][bad]}")
        object.__setattr__(self, "timestamps", ts)
        for name, array in arrays.items():
            object.__setattr__(self, name, array)

    def __len__(self) -> int:
        return int(self.timestamps.size)


@dataclass(frozen=True, eq=False)
class TradeArrays:
    """Closed round trips, one element per trade, plus the exact totals of the money columns.

    Build it with `from_decimals` (exact P&L in, floats derived) unless you already hold both
    views. `net_pnl` must equal `gross_pnl - charges` to the paisa, trade by trade, and each
    total must match its float column; a mismatch means the runner mixed up its books, so it
    is refused rather than reported.
    """

    gross_pnl: FloatArray  # rupees, before charges
    net_pnl: FloatArray  # rupees, after charges
    charges: FloatArray  # rupees, all statutory charges and brokerage of the round trip
    entry_ns: IntArray  # int64 ns, UTC
    exit_ns: IntArray  # int64 ns, UTC
    total_gross_pnl: Decimal
    total_net_pnl: Decimal
    total_charges: Decimal

    def __post_init__(self) -> None:
        floats = {n: _floats(getattr(self, n), n) for n in ("gross_pnl", "net_pnl", "charges")}
        times = {n: _nanoseconds(getattr(self, n), n) for n in ("entry_ns", "exit_ns")}
        count = floats["gross_pnl"].size
        for name, array in {**floats, **times}.items():
            if array.size != count:
                raise ValueError(f"{name} has {array.size} trades but gross_pnl has {count}")
        gross, net, charges = floats["gross_pnl"], floats["net_pnl"], floats["charges"]
        off = np.abs(net - (gross - charges)) > _PAISA + 1e-9 * np.abs(gross)
        if off.any():
            i = int(np.flatnonzero(off)[0])
            raise ValueError(
                f"trade {i}: net_pnl {net[i]} is not gross_pnl {gross[i]} - charges {charges[i]}"
            )
        if (times["exit_ns"] < times["entry_ns"]).any():
            i = int(np.flatnonzero(times["exit_ns"] < times["entry_ns"])[0])
            raise ValueError(f"trade {i}: exit_ns is before entry_ns")
        for name, array in floats.items():
            field = "total_charges" if name == "charges" else f"total_{name}"
            total = to_decimal(getattr(self, field), field)
            object.__setattr__(self, field, total)
            slack = _PAISA + 1e-9 * float(np.abs(array).sum())
            if abs(math.fsum(array.tolist()) - float(total)) > slack:
                raise ValueError(f"{field} {total} does not match the sum of {name}")
        for name, array in {**floats, **times}.items():
            object.__setattr__(self, name, array)

    def __len__(self) -> int:
        return int(self.gross_pnl.size)

    @classmethod
    def from_decimals(
        cls,
        gross_pnl: Sequence[Decimal],
        charges: Sequence[Decimal],
        entry_ns: Sequence[int] | IntArray,
        exit_ns: Sequence[int] | IntArray,
    ) -> TradeArrays:
        """Exact per-trade P&L and charges in; net = gross - charges is derived exactly."""
        if len(gross_pnl) != len(charges):
            raise ValueError(f"{len(gross_pnl)} gross_pnl values but {len(charges)} charges")
        gross = [to_decimal(v, f"gross_pnl[{i}]") for i, v in enumerate(gross_pnl)]
        costs = [to_decimal(v, f"charges[{i}]") for i, v in enumerate(charges)]
        net = [g - c for g, c in zip(gross, costs, strict=True)]
        return cls(
            gross_pnl=np.array([float(v) for v in gross], dtype=np.float64),
            net_pnl=np.array([float(v) for v in net], dtype=np.float64),
            charges=np.array([float(v) for v in costs], dtype=np.float64),
            entry_ns=np.asarray(entry_ns, dtype=np.int64),
            exit_ns=np.asarray(exit_ns, dtype=np.int64),
            total_gross_pnl=sum(gross, Decimal(0)),
            total_net_pnl=sum(net, Decimal(0)),
            total_charges=sum(costs, Decimal(0)),
        )

    @classmethod
    def from_paise(
        cls,
        gross_pnl: IntArray,
        charges: IntArray,
        entry_ns: IntArray,
        exit_ns: IntArray,
    ) -> TradeArrays:
        """Exact per-trade P&L and charges in integer paise (a backtest's own records): the
        same arrays and totals as `from_decimals` of those amounts in rupees, without a
        Decimal per trade. A paise amount below 2**53 is exact as a float, so amount / 100
        rounds once, as float(Decimal) does; larger amounts go through `from_decimals`."""
        gross = np.asarray(gross_pnl, dtype=np.int64)
        costs = np.asarray(charges, dtype=np.int64)
        if not gross.size or max(_largest(gross), _largest(costs)) >= _EXACT_FLOAT_INT:
            return cls.from_decimals(
                [Decimal(v).scaleb(-2) for v in gross.tolist()],
                [Decimal(v).scaleb(-2) for v in costs.tolist()],
                entry_ns,
                exit_ns,
            )
        net = gross - costs
        return cls(
            gross_pnl=gross / 100.0,
            net_pnl=net / 100.0,
            charges=costs / 100.0,
            entry_ns=np.asarray(entry_ns, dtype=np.int64),
            exit_ns=np.asarray(exit_ns, dtype=np.int64),
            # Python ints: exact whatever the count (an int64 sum could wrap)
            total_gross_pnl=Decimal(sum(gross.tolist())).scaleb(-2),
            total_net_pnl=Decimal(sum(net.tolist())).scaleb(-2),
            total_charges=Decimal(sum(costs.tolist())).scaleb(-2),
        )

    @classmethod
    def empty(cls) -> TradeArrays:
        """No closed trades (a strategy that never traded, or one still holding)."""
        return cls.from_decimals([], [], [], [])
