"""MarketStore on real DuckDB files: round trips, idempotent and atomic imports, reads.

"Exactly as before" is checked by dumping every table (all rows, sorted) before and after.
Opening, migrating and the application-state tables: test_store_schema.py.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.calendar.model import IST
from engine.data import schema
from engine.data.bar_series import BarSeries
from engine.data.batch import BAR_COLUMNS, ImportBatch
from engine.data.store import MarketStore, SeriesInfo, StoreError
from engine.domain.enums import Exchange, OptionType, Segment
from tests.engine.store_helpers import (
    DAY1,
    MINUTE,
    bar_frame,
    dump,
    instrument_row,
    make_batch,
    session_open_ns,
)


def test_instruments_and_bars_round_trip(store):
    option = instrument_row(
        "NIFTY24JAN21500CE", "NFO", segment="OPT", lot_size=50, tick_size=5, token=123456,
        expiry=date(2024, 1, 25), strike=2_150_000, option_type="CE", underlying="NIFTY",
        freeze_quantity=1800,
    )  # fmt: skip
    rows = [instrument_row("RELIANCE", isin="INE002A01018", series="EQ", name="Reliance"), option]
    batch = make_batch("mem:day1", "RELIANCE", n=40, instruments=rows)
    report = store.import_batch(batch)
    assert (report.instruments_added, report.bars_written, report.bars_unchanged) == (2, 40, 0)
    assert report.first_ts == batch.bars.ts.iloc[0] and report.last_ts == batch.bars.ts.iloc[-1]
    assert not report.already_imported

    series = store.read_bars("RELIANCE")
    assert isinstance(series, BarSeries) and (series.symbol, series.timeframe) == ("RELIANCE", "1m")
    for name in ("ts", "open", "high", "low", "close", "volume"):
        assert series.__getattribute__(name).dtype == np.int64
        np.testing.assert_array_equal(getattr(series, name), batch.bars[name].to_numpy())

    frame = store.instruments()
    assert list(frame.symbol) == ["NIFTY24JAN21500CE", "RELIANCE"]  # by exchange, symbol
    assert list(store.instruments("nfo").symbol) == ["NIFTY24JAN21500CE"]
    ce = store.instrument("nifty24jan21500ce")
    assert (ce.exchange, ce.segment, ce.option_type) == (
        Exchange.NFO,
        Segment.OPTIONS,
        OptionType.CALL,
    )
    assert (ce.strike, ce.tick_size, ce.lot_size, ce.expiry) == (
        Decimal("21500.00"), Decimal("0.05"), 50, date(2024, 1, 25)
    )  # fmt: skip
    assert (ce.token, ce.freeze_quantity) == (123456, 1800)
    assert store.instrument("RELIANCE").isin == "INE002A01018"


def test_reimporting_the_same_file_changes_nothing(store, tmp_path):
    source = tmp_path / "bars.csv"
    source.write_text("the file the importer parsed\n")  # its bytes are the idempotency key
    batch = make_batch(str(source), "AAA", "BBB")
    first = store.import_batch(batch)
    before = dump(store)
    again = store.import_batch(batch)
    assert again.already_imported and (again.bars_written, again.instruments_added) == (0, 0)
    assert "already" not in first.notes and "identical content" in again.notes[-1]
    assert dump(store) == before
    assert len(store.import_log()) == 1 and len(store.import_log().sha256[0]) == 64


def test_same_bars_from_another_source_are_reported_unchanged(store):
    longer = make_batch("mem:b", "AAA", "BBB", n=60)
    head = longer.bars.groupby("symbol").head(50)
    store.import_batch(ImportBatch("mem:a", "generic", longer.instruments, head))
    bars_before = dump(store)["bars"]
    report = store.import_batch(longer)  # 50 + 50 known, 10 + 10 new
    assert (report.bars_written, report.bars_unchanged, report.instruments_added) == (20, 100, 0)
    bars_after = dump(store)["bars"]
    assert set(bars_before) <= set(bars_after) and len(bars_after) == 120


def test_a_changed_bar_is_updated_in_place(store):
    batch = make_batch("mem:a", "AAA")
    store.import_batch(batch)
    fixed = batch.bars.copy()
    fixed.loc[7, ["high", "close"]] = [fixed.loc[7, "high"] + 100, fixed.loc[7, "high"] + 100]
    report = store.import_batch(ImportBatch("mem:fixed", "generic", batch.instruments, fixed))
    assert (report.bars_written, report.bars_unchanged) == (1, 49)
    assert "1 stored bar had different values and was replaced" in report.notes[0]
    assert store.read_bars("AAA").close[7] == fixed.close[7]
    assert len(store.read_bars("AAA")) == 50


def test_a_bad_bar_rolls_back_the_whole_batch(store):
    store.import_batch(make_batch("mem:a", "AAA"))
    before = dump(store)
    batch = make_batch("mem:bad", "AAA", "NEWCO", n=80)  # adds NEWCO, then fails on its bars
    bad = batch.bars.copy()
    row = 80 + 41
    bad.loc[row, "high"] = bad.loc[row, "low"] - 5
    with pytest.raises(StoreError) as err:
        store.import_batch(ImportBatch("mem:bad", "generic", batch.instruments, bad))
    when = pd.Timestamp(bad.ts[row], tz="UTC").tz_convert(IST).isoformat()
    assert f"mem:bad: NSE:NEWCO 1m bar at {when}: high" in str(err.value)
    assert "is below low" in str(err.value)
    assert dump(store) == before


def test_a_bad_instrument_rolls_back(store):
    store.import_batch(make_batch("mem:a", "AAA"))
    before = dump(store)
    rows = [instrument_row("AAA", name="renamed"), instrument_row("ZERO", lot_size=0)]
    with pytest.raises(StoreError, match=r"mem:lot: instrument NSE:ZERO: lot_size 0 must be"):
        store.import_batch(make_batch("mem:lot", "AAA", instruments=rows))
    assert dump(store) == before


def test_a_failure_after_the_bars_are_written_rolls_back(store, monkeypatch):
    store.import_batch(make_batch("mem:a", "AAA"))
    before = dump(store)

    def boom():
        raise RuntimeError("disk full while logging the import")

    monkeypatch.setattr(schema, "utc_now_naive", boom)  # the import_log row comes last
    with pytest.raises(RuntimeError, match="disk full"):
        store.import_batch(make_batch("mem:b", "AAA", "BBB", n=70))
    assert dump(store) == before


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda b: b.loc[3:3].assign(), "is in the batch 2 times"),
        (lambda b: b.assign(symbol="GHOST"), "bars of NSE:GHOST but no such instrument"),
        (lambda b: b.assign(timeframe="7m"), "timeframe '7m' is not one of"),
        (lambda b: b.assign(volume=-1), "volume -1 is negative"),
    ],
)
def test_bad_batches_are_refused_with_a_reason(store, change, message):
    batch = make_batch("mem:x", "AAA")
    changed = change(batch.bars)
    bars = pd.concat([batch.bars, changed]) if len(changed) == 1 else changed
    before = dump(store)
    with pytest.raises(StoreError, match=message):
        store.import_batch(ImportBatch("mem:x", "generic", batch.instruments, bars))
    assert dump(store) == before


def test_read_bars_with_start_and_end(store):
    store.import_batch(make_batch("mem:a", "AAA", n=3 * 375))  # three sessions: Jan 2, 3, 4
    whole = store.read_bars("AAA")
    day2 = store.read_bars("AAA", start=date(2024, 1, 3), end=date(2024, 1, 3))
    assert len(day2) == 375 and day2.ts[0] == session_open_ns(date(2024, 1, 3))
    np.testing.assert_array_equal(day2.close, whole.close[375:750])
    assert len(store.read_bars("AAA", start=date(2024, 1, 3))) == 750
    assert len(store.read_bars("AAA", end=date(2024, 1, 2))) == 375
    at = datetime(2024, 1, 2, 9, 20, tzinfo=IST)
    window = store.read_bars("AAA", start=at, end=at.astimezone(UTC) + timedelta(minutes=4))
    assert len(window) == 5 and window.ts[0] == pd.Timestamp(at).value  # both ends inclusive
    assert len(store.read_bars("AAA", start=date(2025, 1, 1))) == 0
    with pytest.raises(StoreError, match="no time zone"):
        store.read_bars("AAA", start=datetime(2024, 1, 2, 9, 15))
    with pytest.raises(StoreError, match=r"no 5m bars for NSE:AAA .*\(it has: 1m\)"):
        store.read_bars("AAA", "5m")


def test_ambiguous_and_unknown_symbols(store):
    rows = [instrument_row("TWIN"), instrument_row("TWIN", "BSE"), instrument_row("AAA")]
    batch = make_batch("mem:a", "AAA", instruments=rows)
    store.import_batch(batch)
    store.import_batch(
        ImportBatch("mem:b", "generic", batch.instruments, bar_frame("TWIN", 5, exchange="BSE"))
    )
    with pytest.raises(
        StoreError, match=r"'TWIN' is ambiguous: it is listed as BSE:TWIN, NSE:TWIN"
    ):
        store.instrument("TWIN")
    assert store.instrument("TWIN", exchange="BSE").exchange is Exchange.BSE
    assert store.instrument("NSE:TWIN").exchange is Exchange.NSE
    assert len(store.read_bars("TWIN", exchange="BSE")) == 5
    with pytest.raises(StoreError, match="ambiguous"):
        store.read_bars("TWIN")
    with pytest.raises(StoreError, match=r"no instrument 'TWINN'.*did you mean .*TWIN"):
        store.instrument("TWINN")


def test_list_series(store):
    store.import_batch(make_batch("mem:a", "BBB", "AAA", n=30))
    daily = BarSeries.from_arrays(
        "AAA", [session_open_ns(DAY1)], [100], [110], [90], [105], [1000], timeframe="1d"
    )
    assert store.write_bars(daily) == 1
    first = session_open_ns(DAY1)
    assert store.list_series() == [  # timeframes shortest first (the ENUM's order)
        SeriesInfo("NSE", "AAA", "1m", first, first + 29 * MINUTE, 30),
        SeriesInfo("NSE", "AAA", "1d", first, first, 1),
        SeriesInfo("NSE", "BBB", "1m", first, first + 29 * MINUTE, 30),
    ]


def test_write_bars_creates_the_instrument_and_merges(store):
    series = BarSeries.from_arrays(
        "DEMO", bar_frame("DEMO", 20).ts, *(bar_frame("DEMO", 20)[c] for c in BAR_COLUMNS[4:9]),
        timeframe="1m", prices_in_paise=True,
    )  # fmt: skip
    assert store.write_bars(series) == 20
    assert store.write_bars(series) == 0
    assert store.instrument("DEMO").lot_size == 1
    np.testing.assert_array_equal(store.read_bars("DEMO").close, series.close)
    with pytest.raises(StoreError, match="import the contract first"):
        store.write_bars(series, exchange="NFO", segment="FUT")


def test_corporate_actions_are_idempotent(store):
    actions = pd.DataFrame(
        {
            "exchange": ["NSE", "NSE", "BSE"],
            "symbol": ["AAA", "AAA", "BBB"],
            "ex_date": [date(2024, 3, 1), date(2024, 6, 1), date(2024, 3, 1)],
            "kind": ["split", "dividend", "bonus"],
            "ratio_from": pd.array([1, None, 1], dtype="Int64"),
            "ratio_to": pd.array([5, None, 1], dtype="Int64"),
            "amount_paise": pd.array([None, 850, None], dtype="Int64"),
            "note": ["face value 10 -> 2", "", "1:1 bonus"],
        }
    )
    assert store.add_corporate_actions(actions) == 3
    before = dump(store)
    assert store.add_corporate_actions(actions) == 0
    assert dump(store) == before
    changed = actions.assign(amount_paise=pd.array([None, 900, None], dtype="Int64"))
    assert store.add_corporate_actions(changed) == 1
    got = store.corporate_actions("aaa")
    assert list(got.kind) == ["split", "dividend"] and got.amount_paise.iloc[1] == 900
    assert len(store.corporate_actions()) == 3 and len(store.corporate_actions("BSE:BBB")) == 1
    before = dump(store)
    with pytest.raises(StoreError, match="a dividend needs amount_paise > 0"):
        store.add_corporate_actions(actions.assign(amount_paise=pd.NA))
    with pytest.raises(StoreError, match="kind merger is not split/bonus/dividend"):
        store.add_corporate_actions(actions.assign(kind="merger"))
    with pytest.raises(StoreError, match="missing column"):
        store.add_corporate_actions(actions.drop(columns=["kind"]))
    assert dump(store) == before


def test_an_edited_action_moves_in_one_transaction(store):
    split = pd.DataFrame({"exchange": ["NSE"], "symbol": ["AAA"], "ex_date": [date(2024, 3, 1)],
                          "kind": ["split"], "ratio_from": [1], "ratio_to": [5],
                          "amount_paise": pd.array([None], dtype="Int64")})  # fmt: skip
    store.add_corporate_actions(split)
    old = ("NSE", "AAA", date(2024, 3, 1), "split")
    before = dump(store)
    with pytest.raises(StoreError, match="ratio_from and ratio_to"):  # the new row is bad:
        store.add_corporate_actions(split.assign(ratio_to=0), replacing=old)
    assert dump(store) == before  # ... so the old one was not deleted either
    moved = split.assign(ex_date=[date(2024, 3, 4)])
    assert store.add_corporate_actions(moved, replacing=old) == 1
    assert list(store.corporate_actions("AAA").ex_date.dt.date) == [date(2024, 3, 4)]
    assert store.delete_corporate_action("nse", "AAA", date(2024, 3, 4), "SPLIT") == 1
    assert len(store.corporate_actions()) == 0


def test_bars_in_any_order_are_stored_and_read_back_sorted(store):
    batch = make_batch("mem:a", "AAA", "BBB", n=400)
    interleaved = batch.bars.sort_values(["ts", "symbol"], ignore_index=True)  # time-major
    store.import_batch(ImportBatch("mem:a", "generic", batch.instruments, interleaved))
    late = make_batch("mem:b", "AAA", n=400).bars.iloc[::-1]  # same bars, reversed
    assert (
        store.import_batch(ImportBatch("mem:b", "generic", batch.instruments, late)).bars_unchanged
        == 400
    )
    for symbol in ("AAA", "BBB"):
        want = batch.bars[batch.bars.symbol == symbol]
        got = store.read_bars(symbol)
        np.testing.assert_array_equal(got.ts, want.ts.to_numpy())
        np.testing.assert_array_equal(got.low, want.low.to_numpy())


def test_many_files_go_in_one_transaction_each_logged_and_idempotent(tmp_path):
    from engine.data.import_files import import_files

    fixtures = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "bhavcopy"
    files = sorted(p for p in fixtures.iterdir() if p.suffix.lower() == ".csv")
    with MarketStore.open(tmp_path / "group.duckdb") as grouped:
        outcome = import_files(grouped, files)
        assert outcome.errors == []
        assert len(grouped.import_log()) == len(files)
        added = sum(r.instruments_added for _, r in outcome.reports)
        assert added == len(grouped.instruments())
        again = import_files(grouped, files)
        assert all(r.already_imported for _, r in again.reports)
        grouped_bars = {(s.exchange, s.symbol, s.bars) for s in grouped.list_series()}
    with MarketStore.open(tmp_path / "single.duckdb") as single:
        for path in files:
            from engine.data.importers import read_file

            single.import_batch(read_file(path))
        assert {(s.exchange, s.symbol, s.bars) for s in single.list_series()} == grouped_bars


def test_a_long_read_comes_back_whole_across_its_chunks(store):
    """Bars are fetched ~100,000 at a time (one fetchnumpy of a million held the GIL 30-40
    ms): two interleaved series of several chunks and a partial one read back exact."""
    from engine.data.store_query import VECTORS_PER_CHUNK
    from tests.engine.synthetic import make_bars, series

    n = 2 * VECTORS_PER_CHUNK * 2_048 + 1_234
    written = {}
    for symbol, seed in (("AAA", 1), ("BBB", 2)):
        made = make_bars(n, seed=seed)
        written[symbol] = made
        assert store.write_bars(series(made, symbol)) == n
    for symbol, made in written.items():
        got = store.read_bars(symbol)
        assert len(got) == n
        for column in ("ts", "open", "high", "low", "close", "volume"):
            values = getattr(got, column)
            assert values.dtype == np.int64
            np.testing.assert_array_equal(values, made[column])
    middle = written["AAA"]["ts"][n // 2]
    part = store.read_bars("AAA", start=datetime.fromtimestamp(middle / 1e9, UTC))
    np.testing.assert_array_equal(part.ts, written["AAA"]["ts"][n // 2 :])
    future = datetime(2031, 1, 1, tzinfo=UTC)
    assert len(store.read_bars("AAA", start=future)) == 0  # none there: empty, not an error
