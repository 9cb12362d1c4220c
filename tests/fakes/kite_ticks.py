"""Kite ticker binary frames, built exactly as Kite lays them out (india-domain.md §4.6).

Kept apart from the server so adapter tests can build frames (or odd ones) by hand.
All integers are big-endian; prices are integers in paise (CDS: 1e-7, BCD/NCO: 1e-4 rupee).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

HEARTBEAT = b"\x00"
MODES = ("ltp", "quote", "full")
SEGMENT_CDS = 3
SEGMENT_BCD = 6
SEGMENT_INDICES = 9
SEGMENT_NCO = 12

# Names in the mock fixture ticker_*.json (gokiteconnect style) -> pykiteconnect's names.
ALIASES = {
    "last_quantity": "last_traded_quantity",
    "average_price": "average_traded_price",
    "volume": "volume_traded",
    "buy_quantity": "total_buy_quantity",
    "sell_quantity": "total_sell_quantity",
    "timestamp": "exchange_timestamp",
}


def price_divisor(instrument_token: int) -> int:
    """Kite scales prices per segment (token & 0xFF); the client divides by the same number."""
    segment = instrument_token & 0xFF
    if segment == SEGMENT_CDS:
        return 10_000_000
    if segment in (SEGMENT_BCD, SEGMENT_NCO):
        return 10_000
    return 100


def _scaled(value: Any, divisor: int) -> int:
    """Price -> exact integer units; refuses prices that are not whole units (a test bug)."""
    scaled = Decimal(str(value)) * divisor
    if scaled != scaled.to_integral_value():
        raise ValueError(f"price {value} is not a whole number of 1/{divisor} rupee")
    return int(scaled)


def _unix(value: Any) -> int:
    """Timestamps go on the wire as unix seconds; accept aware datetimes, ISO text or ints."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("tick timestamps must be timezone-aware")
        return int(value.timestamp())
    raise TypeError(f"unsupported timestamp {value!r}")


def normalise_tick(tick: Mapping[str, Any]) -> dict[str, Any]:
    """Accept both pykiteconnect's tick names and the fixture's (last_quantity, volume, ...)."""
    out: dict[str, Any] = {}
    for key, value in tick.items():
        out[ALIASES.get(key, key)] = value
    if "instrument_token" not in out or "last_price" not in out:
        raise ValueError("a tick needs at least instrument_token and last_price")
    return out


def encode_packet(tick: Mapping[str, Any], mode: str) -> bytes:
    """One packet (no length prefix) for `tick` in `mode`; indices use the 28/32-byte forms."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    t = normalise_tick(tick)
    token = int(t["instrument_token"])
    div = price_divisor(token)
    ohlc = t.get("ohlc") or {}

    def p(value: Any) -> int:
        return _scaled(value or 0, div)

    ltp = p(t["last_price"])
    if mode == "ltp":
        return struct.pack(">II", token, ltp)
    if token & 0xFF == SEGMENT_INDICES:
        close = p(ohlc.get("close"))
        change = ltp - close
        body = struct.pack(
            ">IIIIIIi",
            token,
            ltp,
            p(ohlc.get("high")),
            p(ohlc.get("low")),
            p(ohlc.get("open")),
            close,
            change,
        )
        if mode == "full":
            body += struct.pack(">I", _unix(t.get("exchange_timestamp")))
        return body
    body = struct.pack(
        ">IIIIIIIIIII",
        token,
        ltp,
        int(t.get("last_traded_quantity") or 0),
        p(t.get("average_traded_price")),
        int(t.get("volume_traded") or 0),
        int(t.get("total_buy_quantity") or 0),
        int(t.get("total_sell_quantity") or 0),
        p(ohlc.get("open")),
        p(ohlc.get("high")),
        p(ohlc.get("low")),
        p(ohlc.get("close")),
    )
    if mode == "quote":
        return body
    body += struct.pack(
        ">IIIII",
        _unix(t.get("last_trade_time")),
        int(t.get("oi") or 0),
        int(t.get("oi_day_high") or 0),
        int(t.get("oi_day_low") or 0),
        _unix(t.get("exchange_timestamp")),
    )
    depth = t.get("depth") or {}
    for side in ("buy", "sell"):
        levels = list(depth.get(side) or [])[:5]
        levels += [{}] * (5 - len(levels))
        for level in levels:
            body += struct.pack(
                ">IIHH",
                int(level.get("quantity") or 0),
                p(level.get("price")),
                int(level.get("orders") or 0),
                0,
            )
    assert len(body) == 184
    return body


def encode_frame(packets: Iterable[bytes]) -> bytes:
    """The binary message: uint16 packet count, then uint16 length + packet for each."""
    items = list(packets)
    out = struct.pack(">H", len(items))
    for packet in items:
        out += struct.pack(">H", len(packet)) + packet
    return out
