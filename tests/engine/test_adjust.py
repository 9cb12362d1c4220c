"""Corporate-action adjustment: factors and adjusted bars worked out by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.data import BarDataError, BarSeries
from engine.data.adjust import (
    CorporateAction,
    adjust,
    adjustment_factors,
    load_corporate_actions_csv,
    volume_factors,
)
from engine.domain.enums import Exchange

D13, D14, D16 = dt.date(2026, 1, 13), dt.date(2026, 1, 14), dt.date(2026, 1, 16)


def ist(text: str) -> int:
    return int(pd.Timestamp(text, tz="Asia/Kolkata").value)


def rs(text: str) -> int:
    return int(Decimal(text) * 100)


Bar = tuple[str, str, str, str, str, int]


def daily(rows: list[Bar]) -> BarSeries:
    cols = list(zip(*rows, strict=True))
    return BarSeries(
        "INFY",
        "1d",
        np.array([ist(f"{d} 09:15") for d in cols[0]], dtype=np.int64),
        *(np.array([rs(v) for v in col], dtype=np.int64) for col in cols[1:5]),
        np.array(cols[5], dtype=np.int64),
    )


def rows_of(series: BarSeries) -> list[tuple[int, int, int, int, int]]:
    cols = (series.open, series.high, series.low, series.close, series.volume)
    return [tuple(int(c[i]) for c in cols) for i in range(len(series))]  # type: ignore[misc]


def paise(rows: list[tuple[str, str, str, str, int]]) -> list[tuple[int, int, int, int, int]]:
    return [(rs(o), rs(h), rs(lo), rs(c), v) for o, h, lo, c, v in rows]


def split(day: dt.date, a: int, b: int) -> CorporateAction:
    return CorporateAction(day, "split", a, b, None)


def bonus(day: dt.date, a: int, b: int) -> CorporateAction:
    return CorporateAction(day, "bonus", a, b, None)


def dividend(day: dt.date, rupees: str) -> CorporateAction:
    return CorporateAction(day, "dividend", None, None, rs(rupees))


SPLIT_DAYS = daily(
    [
        ("2026-01-13", "1000.00", "1012.35", "990.10", "1005.00", 7),
        ("2026-01-14", "1005.00", "1020.00", "1000.05", "1010.00", 12),
        ("2026-01-16", "202.00", "205.00", "200.00", "204.00", 60),  # ex-date: already split
    ]
)


def test_split_1_to_5_divides_earlier_prices_and_multiplies_volume():
    action = split(D16, 1, 5)
    assert adjustment_factors(SPLIT_DAYS.ts, [action]).tolist() == [0.2, 0.2, 1.0]
    assert volume_factors(SPLIT_DAYS.ts, [action]).tolist() == [5.0, 5.0, 1.0]
    raw_before = rows_of(SPLIT_DAYS)
    adjusted = adjust(SPLIT_DAYS, [action])
    assert rows_of(adjusted) == paise(
        [
            ("200.00", "202.47", "198.02", "201.00", 35),
            ("201.00", "204.00", "200.01", "202.00", 60),
            ("202.00", "205.00", "200.00", "204.00", 60),
        ]
    )
    assert rows_of(SPLIT_DAYS) == raw_before  # the raw series is untouched
    assert adjusted.symbol == "INFY" and adjusted.timeframe == "1d"


def test_rounding_is_half_up_to_the_paisa_and_exact():
    # 12.35 / 10 = 1.235 -> 1.24 and 12.45 / 10 = 1.245 -> 1.25 (floats get these wrong)
    series = daily(
        [
            ("2026-01-14", "12.35", "12.45", "12.05", "12.15", 3),
            ("2026-01-16", "1.30", "1.30", "1.20", "1.25", 30),
        ]
    )
    adjusted = adjust(series, [split(D16, 1, 10)])
    assert rows_of(adjusted)[0] == (124, 125, 121, 122, 30)  # 120.5 -> 121, 121.5 -> 122


def test_bonus_factors_are_held_over_held_plus_bonus():
    series = daily(
        [
            ("2026-01-14", "500.00", "510.00", "123.45", "123.45", 7),
            ("2026-01-16", "200.00", "210.00", "190.00", "205.00", 3),
        ]
    )
    one_for_one = adjust(series, [bonus(D16, 1, 1)])
    assert rows_of(one_for_one)[0] == paise([("250.00", "255.00", "61.73", "61.73", 14)])[0]
    # 3 bonus shares for every 2 held: factor 2/5; 123.45 x 0.4 = 49.38; volume 7 x 2.5 = 17.5
    three_for_two = adjust(series, [bonus(D16, 3, 2)])
    assert rows_of(three_for_two)[0] == paise([("200.00", "204.00", "49.38", "49.38", 18)])[0]
    assert adjustment_factors(series.ts, [bonus(D16, 3, 2)]).tolist() == [0.4, 1.0]


def test_dividend_uses_the_close_before_the_ex_date_and_keeps_volume():
    series = daily(
        [
            ("2026-01-13", "400.00", "410.00", "123.45", "400.00", 5),
            ("2026-01-14", "495.00", "505.00", "490.00", "500.00", 6),
            ("2026-01-16", "490.00", "495.00", "480.00", "488.00", 7),
        ]
    )
    action = dividend(D16, "12.50")  # 1 - 12.50 / 500.00 = 0.975
    factors = adjustment_factors(series.ts, [action], series.close)
    assert factors.tolist() == [0.975, 0.975, 1.0]
    assert volume_factors(series.ts, [action]).tolist() == [1.0, 1.0, 1.0]
    assert rows_of(adjust(series, [action])) == paise(
        [
            ("390.00", "399.75", "120.36", "390.00", 5),  # 123.45 x 0.975 = 120.36375
            ("482.63", "492.38", "477.75", "487.50", 6),  # 495 x .975 = 482.625 -> 482.63
            ("490.00", "495.00", "480.00", "488.00", 7),
        ]
    )


def test_factors_multiply_and_a_dividend_after_a_split_uses_the_raw_post_split_close():
    series = daily(
        [
            ("2026-01-13", "1000.00", "1000.00", "1000.00", "1000.00", 10),
            ("2026-01-14", "510.00", "510.00", "510.00", "510.00", 20),  # split 1:2 ex today
            ("2026-01-16", "500.00", "500.00", "500.00", "500.00", 30),  # dividend 10 ex today
        ]
    )
    actions = [dividend(D16, "10.00"), split(D14, 1, 2)]  # any order
    # dividend factor 1 - 10/510 = 50/51; before the split also x 1/2
    assert adjustment_factors(series.ts, actions, series.close) == pytest.approx(
        [25 / 51, 50 / 51, 1.0], rel=0, abs=1e-15
    )
    assert rows_of(adjust(series, actions)) == [
        (49020, 49020, 49020, 49020, 20),  # 100000 x 25/51 = 49019.6 -> 490.20
        (50000, 50000, 50000, 50000, 20),
        (50000, 50000, 50000, 50000, 30),
    ]


def test_the_ex_date_is_an_ist_date():
    ts = np.array(
        [ist("2026-01-15 23:59"), ist("2026-01-16 00:30"), ist("2026-01-16 09:15")], np.int64
    )
    # 2026-01-16 00:30 IST is still 2026-01-15 in UTC, but it is on the ex-date.
    assert adjustment_factors(ts, [split(D16, 1, 5)]).tolist() == [0.2, 1.0, 1.0]


def test_dividend_edge_cases():
    assert adjustment_factors(SPLIT_DAYS.ts, [dividend(D13, "5")], SPLIT_DAYS.close).tolist() == [
        1.0,
        1.0,
        1.0,
    ]  # no bar before the ex-date: nothing to adjust
    with pytest.raises(ValueError, match="need the close prices"):
        adjustment_factors(SPLIT_DAYS.ts, [dividend(D16, "5")])
    with pytest.raises(BarDataError, match=r"dividend of 1010\.00 .* not below the previous"):
        adjust(SPLIT_DAYS, [dividend(D16, "1010.00")])
    assert rows_of(adjust(SPLIT_DAYS, [])) == rows_of(SPLIT_DAYS)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((D16, "split", 1, None, None), "ratio must be two whole numbers"),
        ((D16, "split", 0, 5, None), "ratio must be two whole numbers"),
        ((D16, "bonus", 1, 1, 100), "has a ratio, not an amount"),
        ((D16, "dividend", 1, 2, 100), "has an amount, not a ratio"),
        ((D16, "dividend", None, None, 0), "must be > 0 paise"),
        ((D16, "merger", None, None, None), "kind must be one of"),
        ((dt.datetime(2026, 1, 16), "split", 1, 5, None), "ex_date must be a date"),
    ],
)
def test_corporate_action_validates_itself(args, message):
    with pytest.raises(ValueError, match=message):
        CorporateAction(*args)


HEADER = "symbol,exchange,ex_date,kind,ratio,amount,note"


def write(tmp_path: Path, *lines: str, header: str = HEADER) -> Path:
    path = tmp_path / "actions.csv"
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


def test_csv_loads_splits_bonuses_and_dividends(tmp_path):
    path = write(
        tmp_path,
        "INFY,NSE,2026-01-16,split,1:5,,face value 10 -> 2",
        "",
        "INFY,nse,21-Oct-2025,Bonus,1:1,,",
        'TCS,BSE,2025-06-10,dividend,,12.50,"final, 2025"',
    )
    assert load_corporate_actions_csv(path) == [
        (Exchange.NSE, "INFY", CorporateAction(D16, "split", 1, 5, None, "face value 10 -> 2")),
        (Exchange.NSE, "INFY", CorporateAction(dt.date(2025, 10, 21), "bonus", 1, 1, None)),
        (
            Exchange.BSE,
            "TCS",
            CorporateAction(dt.date(2025, 6, 10), "dividend", None, None, 1250, "final, 2025"),
        ),
    ]


@pytest.mark.parametrize(
    ("bad_row", "message"),
    [
        ("INFY,NSE,2026-01-16,split,1-5,,", "split ratio '1-5' is not like 1:5"),
        ("INFY,NSE,2026-01-16,split,0:5,,", "must have both sides above zero"),
        ("INFY,NSE,2026-01-16,split,1:5,3,", "a split has no amount, got '3'"),
        ("INFY,NSE,16/01/2026,split,1:5,,", "ex_date '16/01/2026' is not a date"),
        ("INFY,NSX,2026-01-16,split,1:5,,", "exchange 'NSX' is not one of"),
        (",NSE,2026-01-16,split,1:5,,", "symbol is empty"),
        ("INFY,NSE,2026-01-16,rights,1:5,,", "kind 'rights' is not one of"),
        ("INFY,NSE,2026-01-16,dividend,,12.505,", "'12.505' has more than 2 decimals"),
        ("INFY,NSE,2026-01-16,dividend,,abc,", "'abc' is not an amount in rupees"),
        ("INFY,NSE,2026-01-16,dividend,,,", "dividend '' is not an amount in rupees"),
        ("INFY,NSE,2026-01-16,dividend,1:2,5,", "a dividend has no ratio"),
        ("INFY,NSE,2026-01-16,split,1:5,,,extra", "more fields than the header"),
        (
            "INFY,NSE,2026-01-14,split,1:5,,again",
            "duplicate split for NSE:INFY on 2026-01-14 (line 2",
        ),
    ],
)
def test_csv_bad_row_names_file_and_line(tmp_path, bad_row, message):
    path = write(
        tmp_path, "INFY,NSE,2026-01-14,split,1:5,,", bad_row, "TCS,NSE,2026-01-14,bonus,1:1,,"
    )
    with pytest.raises(BarDataError) as caught:
        load_corporate_actions_csv(path)
    assert str(caught.value).startswith(f"{path}:3: ")
    assert message in str(caught.value)
    assert caught.value.line == 3


def test_csv_header_must_have_the_columns(tmp_path):
    path = write(
        tmp_path, "INFY,NSE,2026-01-16,split,1:5", header="symbol,exchange,ex_date,kind,ratio"
    )
    with pytest.raises(BarDataError, match=r"actions\.csv:1: header is symbol,exchange,ex_date"):
        load_corporate_actions_csv(path)
    (tmp_path / "empty.csv").write_text("", encoding="utf-8")
    with pytest.raises(BarDataError, match=r"empty\.csv: file is empty"):
        load_corporate_actions_csv(tmp_path / "empty.csv")
    (tmp_path / "blank.csv").write_text("\n", encoding="utf-8")
    with pytest.raises(BarDataError, match=r"blank\.csv: file is empty"):
        load_corporate_actions_csv(tmp_path / "blank.csv")


ACTIONS_HEADER = "symbol,exchange,ex_date,kind,ratio,amount,note"
ACTIONS_ROWS = ["INFY,NSE,2026-01-16,split,1:5,,", "TCS,BSE,2025-06-10,dividend,,12.50,final"]


def test_a_missing_file_or_a_folder_is_named_not_a_traceback(tmp_path):
    with pytest.raises(BarDataError) as caught:
        load_corporate_actions_csv(tmp_path / "nope.csv")
    assert str(caught.value) == f"{tmp_path / 'nope.csv'}: file not found"
    with pytest.raises(BarDataError) as caught:
        load_corporate_actions_csv(tmp_path)
    assert str(caught.value) == f"{tmp_path}: is not a file"


ACCENTED = "\n".join([ACTIONS_HEADER, "INFY,NSE,2026-01-16,split,1:5,,Société"])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("\n".join([ACTIONS_HEADER, *ACTIONS_ROWS]).encode("utf-16"), "is UTF-16 text"),
        (bytes(range(256)) * 8, "is a binary file, not CSV text"),
        (ACCENTED.encode("cp1252"), "is not UTF-8 text (byte 82); save it as CSV UTF-8"),
    ],
    ids=["utf-16", "binary", "cp1252"],
)
def test_text_that_is_not_utf8_is_named_with_the_file(tmp_path, content, message):
    path = tmp_path / "actions.csv"
    path.write_bytes(content)
    with pytest.raises(BarDataError) as caught:
        load_corporate_actions_csv(path)
    assert str(caught.value).startswith(f"{path}: {message}")


def test_cr_only_line_ends_read_like_lf(tmp_path):
    lf, mac = tmp_path / "lf.csv", tmp_path / "mac.csv"
    lf.write_text("\n".join([ACTIONS_HEADER, *ACTIONS_ROWS]) + "\n", encoding="utf-8")
    mac.write_bytes(lf.read_bytes().replace(b"\n", b"\r"))
    assert len(load_corporate_actions_csv(mac)) == 2
    assert load_corporate_actions_csv(mac) == load_corporate_actions_csv(lf)


@pytest.mark.parametrize(
    ("bad_row", "message"),
    [
        ("INFY,NSE,2026-01-16,split,1:99999999999,,", "split ratio '1:99999999999' is too large"),
        ("INFY,NSE,2026-01-16,dividend,,99999999999999999999,", "is too large"),
    ],
    ids=["ratio", "dividend"],
)
def test_numbers_the_store_cannot_hold_are_refused_on_their_line(tmp_path, bad_row, message):
    path = write(tmp_path, ACTIONS_ROWS[0].replace("INFY", "TCS"), bad_row)
    with pytest.raises(BarDataError) as caught:
        load_corporate_actions_csv(path)
    assert str(caught.value).startswith(f"{path}:3: ")
    assert message in str(caught.value)


def test_long_dividend_histories_stay_exact():
    # 40 dividends make the cumulative fractions far too big for int64: the float path
    # must still round exactly like Fraction arithmetic does.
    from fractions import Fraction

    days = pd.bdate_range("2024-01-01", periods=400)
    rng = np.random.default_rng(3)
    close = rng.integers(10_000, 20_000, len(days))
    ts = np.array([ist(f"{d.date()} 09:15") for d in days], np.int64)
    series = BarSeries("X", "1d", ts, close, close + 7, close - 3, close, close // 10)
    actions = [dividend(days[i].date(), f"{1 + i % 7}.25") for i in range(5, 400, 10)]
    adjusted = adjust(series, actions)
    for i in range(len(days)):
        factor = Fraction(1)
        for a in actions:
            before = np.searchsorted(ts, ist(f"{a.ex_date} 00:00")) - 1
            if ts[i] < ist(f"{a.ex_date} 00:00"):
                factor *= Fraction(int(close[before]) - a.amount_paise, int(close[before]))
        want = [int(int(v) * factor + Fraction(1, 2)) for v in (close[i] + 7, close[i] - 3)]
        assert [int(adjusted.high[i]), int(adjusted.low[i])] == want
    assert np.array_equal(adjusted.volume, series.volume)
