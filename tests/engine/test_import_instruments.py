"""Files that carry prices only (generic CSV/Parquet, the documented bar CSV) create the
instruments they name when the store lacks them, and never overwrite what an exchange file
told the store: a futures CSV must not reset NIFTY's lot size to 1."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.data.import_files import ImportOptions, import_files
from engine.data.store import MarketStore

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "bhavcopy"
NSE_FO = FIXTURES / "BhavCopy_NSE_FO_0_0_0_20250603_F_0000.csv"
NSE_CM = FIXTURES / "BhavCopy_NSE_CM_0_0_0_20250603_F_0000.csv"


def instrument(store: MarketStore, exchange: str, symbol: str) -> dict[str, object]:
    frame = store.instruments()
    rows = frame[(frame["exchange"] == exchange) & (frame["symbol"] == symbol)]
    assert len(rows) == 1, f"{exchange}:{symbol} is not in the store"
    return {k: (None if v != v else v) for k, v in rows.iloc[0].to_dict().items()}


def futures_csv(tmp_path: Path) -> Path:
    path = tmp_path / "nifty_fut_5m.csv"
    path.write_text(
        "symbol,timestamp,open,high,low,close,volume,oi\n"
        "NIFTY25JUNFUT,2025-06-03T09:15:00+05:30,24790,24800,24780,24800,1500,75\n"
        "NIFTY25JUNFUT,2025-06-03T09:20:00+05:30,24800,24810,24790,24805.5,750,100\n"
    )
    return path


def bar_csv(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.csv"
    path.write_text(
        "timestamp,open,high,low,close,volume\n"
        "2025-06-04T09:15:00+05:30,1550.00,1552.00,1549.00,1551.00,1200\n"
        "2025-06-04T09:16:00+05:30,1551.00,1553.00,1550.50,1552.50,900\n"
    )
    return path


@pytest.mark.parametrize("together", [False, True], ids=["one by one", "one call"])
def test_a_generic_futures_csv_keeps_the_contract_details(tmp_path, together):
    prices = futures_csv(tmp_path)
    with MarketStore.open(tmp_path / "s.duckdb") as store:
        if together:  # both parsed and written in one grouped transaction
            outcome = import_files(store, [NSE_FO, prices], ImportOptions(exchange="NFO"))
            assert not outcome.errors
        else:
            assert not import_files(store, [NSE_FO]).errors
            before = instrument(store, "NFO", "NIFTY25JUNFUT")
            assert before["lot_size"] == 75 and before["expiry"] is not None
            assert not import_files(store, [prices], ImportOptions(exchange="NFO")).errors
            assert instrument(store, "NFO", "NIFTY25JUNFUT") == before
        after = instrument(store, "NFO", "NIFTY25JUNFUT")
        assert after["lot_size"] == 75 and after["segment"] == "FUT"
        assert str(after["expiry"]).startswith("2025-06-26")
        assert any(s.timeframe == "5m" for s in store.list_series())


def test_the_documented_bar_csv_keeps_an_equity_known_from_the_bhavcopy(tmp_path):
    with MarketStore.open(tmp_path / "s.duckdb") as store:
        assert not import_files(store, [NSE_CM]).errors
        before = instrument(store, "NSE", "INFY")
        assert before["isin"]
        ((_, report),) = import_files(store, [bar_csv(tmp_path, "INFY")]).reports
        assert report.instruments_added == 0 and report.bars_written == 2
        assert instrument(store, "NSE", "INFY") == before
        ((_, fresh),) = import_files(store, [bar_csv(tmp_path, "NEWCO")]).reports
        assert fresh.instruments_added == 1
        created = instrument(store, "NSE", "NEWCO")
        assert (created["segment"], created["lot_size"], created["tick_size_paise"]) == ("EQ", 1, 5)


def test_a_bar_csv_for_a_derivatives_venue_needs_contract_names(tmp_path):
    with MarketStore.open(tmp_path / "s.duckdb") as store:
        outcome = import_files(store, [bar_csv(tmp_path, "X")], ImportOptions(exchange="NFO"))
        (error,) = outcome.errors
        assert "X on NFO is neither a future" in error
        assert len(store.instruments()) == 0


def test_the_chosen_exchange_reaches_files_the_fast_path_does_not_take(tmp_path):
    import zipfile

    packed = tmp_path / "TATA.zip"  # a zipped bar CSV: read by the generic importer
    with zipfile.ZipFile(packed, "w") as archive:
        archive.write(bar_csv(tmp_path, "TATA"), "TATA.csv")
    with MarketStore.open(tmp_path / "s.duckdb") as store:
        assert not import_files(store, [packed], ImportOptions(exchange="BSE")).errors
        assert instrument(store, "BSE", "TATA")["segment"] == "EQ"
        assert [(s.exchange, s.symbol) for s in store.list_series()] == [("BSE", "TATA")]


def test_generic_options_are_left_aside_for_bhavcopies_in_the_same_import(tmp_path):
    kite = tmp_path / "kite.csv"
    kite.write_text(
        "date,open,high,low,close,volume\n"
        "2025-06-04 09:15:00,1550,1552,1549,1551,1200\n"
        "2025-06-04 09:16:00,1551,1553,1550.5,1552.5,900\n"
    )
    options = ImportOptions(mapping={"date": "timestamp", "timezone": "Asia/Kolkata"},
                            symbol="INFY")  # fmt: skip
    with MarketStore.open(tmp_path / "s.duckdb") as store:
        outcome = import_files(store, [NSE_CM, kite], options)
        assert not outcome.errors
        reports = dict(outcome.reports)
        assert any("left aside" in note for note in reports[str(NSE_CM)].notes)
        series = {(s.symbol, s.timeframe): s.bars for s in store.list_series()}
    assert series[("INFY", "1m")] == 2 and series[("INFY", "1d")] == 1
    with pytest.raises(ValueError, match="apply to OHLCV files"):  # asked for explicitly
        from engine.data.importers import read_file

        read_file(NSE_CM, "nse_cm_udiff", symbol="INFY")
