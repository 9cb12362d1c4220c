"""Corporate actions that cannot be right are refused before they are stored (reliability row
60), and an implausible action already stored is named when it breaks an adjusted read."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.calendar import IST
from engine.data.action_checks import ActionChecker
from engine.data.adjust import (
    CorporateAction,
    adjust,
    load_corporate_actions_csv,
    share_factor_problem,
)
from engine.data.adjusted import read_adjusted
from engine.data.bar_series import BarDataError, BarSeries, span_text
from engine.data.store import MarketStore
from engine.domain.enums import Exchange

HEADER = "symbol,exchange,ex_date,kind,ratio,amount,note\n"


def daily(symbol: str, closes: list[float], first: date = date(2025, 6, 2)) -> BarSeries:
    days = pd.bdate_range(first, periods=len(closes))
    ts = [pd.Timestamp(d.date()).tz_localize(IST) + pd.Timedelta(hours=9, minutes=15) for d in days]
    return BarSeries.from_arrays(
        symbol, ts, closes, closes, closes, closes, [10] * len(closes), "1d"
    )


@pytest.fixture
def store(tmp_path: Path):
    with MarketStore.open(tmp_path / "artha.duckdb") as store:
        store.write_bars(daily("INFY", [100.0, 101.0, 102.0, 103.0, 104.0]))  # 2-6 June 2025
        yield store


def split(ex: date, a: int, b: int) -> CorporateAction:
    return CorporateAction(ex, "split", a, b, None)


def dividend(ex: date, paise: int) -> CorporateAction:
    return CorporateAction(ex, "dividend", None, None, paise)


@pytest.mark.parametrize(
    ("action", "plausible"),
    [
        (split(date(2025, 1, 1), 1, 1000), True),
        (split(date(2025, 1, 1), 1000, 1), True),
        (split(date(2025, 1, 1), 1, 1001), False),
        (split(date(2025, 1, 1), 1, 2_000_000_000), False),
        (CorporateAction(date(2025, 1, 1), "bonus", 999, 1, None), True),  # factor 1/1000
        (CorporateAction(date(2025, 1, 1), "bonus", 1000, 1, None), False),
        (dividend(date(2025, 1, 1), 10**15), True),  # no ratio: checked against the price
    ],
)
def test_a_split_or_bonus_moves_prices_at_most_1000_fold(action, plausible):
    assert (share_factor_problem(action) == "") is plausible


def test_an_action_for_a_symbol_without_bars_is_refused(store):
    with pytest.raises(ValueError) as err:
        ActionChecker(store)(Exchange.NSE, "INFYY", split(date(2025, 6, 4), 1, 5))
    assert str(err.value) == (
        "NSE:INFYY is not in the store (no bars): import its bars first "
        "(artha data import FILE), then its corporate actions"
    )
    with pytest.raises(ValueError, match="BSE:INFY is not in the store"):
        ActionChecker(store)(Exchange.BSE, "INFY", split(date(2025, 6, 4), 1, 5))
    ActionChecker(store)(Exchange.NSE, "infy", split(date(2025, 6, 4), 1, 5))  # any case


def test_a_dividend_at_or_above_the_price_is_refused_naming_both_in_rupees(store):
    check = ActionChecker(store)
    check(Exchange.NSE, "INFY", dividend(date(2025, 6, 4), 10_099))  # below ₹101.00: fine
    with pytest.raises(ValueError) as err:
        check(Exchange.NSE, "INFY", dividend(date(2025, 6, 4), 10_100))
    assert "dividend of ₹101.00 per share on ex-date 2025-06-04" in str(err.value)
    assert "the last close before it, ₹101.00 on 2025-06-03" in str(err.value)
    with pytest.raises(ValueError, match=r"its close on the ex-date, ₹100.00"):
        check(Exchange.NSE, "INFY", dividend(date(2025, 6, 2), 15_000))  # no bar before it
    check(Exchange.NSE, "INFY", dividend(date(2025, 5, 1), 15_000))  # nothing to compare with


def test_the_csv_loader_refuses_an_implausible_row_at_its_line(store, tmp_path):
    path = tmp_path / "actions.csv"
    path.write_text(
        HEADER + "INFY,NSE,2025-06-04,split,1:5,,\nINFY,NSE,2025-06-05,dividend,,500,\n"
    )
    with pytest.raises(BarDataError) as err:
        load_corporate_actions_csv(path, ActionChecker(store))
    assert str(err.value).startswith(f"{path}:3: NSE:INFY: a dividend of ₹500.00 per share")
    path.write_text(HEADER + "INFY,NSE,2025-06-04,split,1:2000000000,,\n")
    with pytest.raises(BarDataError, match=r":2: split ratio 1:2000000000 .* at most 1,000-fold"):
        load_corporate_actions_csv(path)  # the ratio bound needs no store


def test_an_adjusted_read_names_the_action_that_rounds_prices_to_zero(store):
    """An implausible split stored before these checks existed: the read says which one."""
    frame = pd.DataFrame(
        [("NSE", "INFY", date(2025, 6, 4), "split", 1, 2_000_000_000, None, "")],
        columns=["exchange", "symbol", "ex_date", "kind", "ratio_from", "ratio_to",
                 "amount_paise", "note"],
    )  # fmt: skip
    store.add_corporate_actions(frame)
    with pytest.raises(BarDataError) as err:
        read_adjusted(store, "INFY", "1d")
    assert str(err.value).startswith(
        "adjusting INFY for the split 1:2000000000 on ex-date 2025-06-04 rounds the open "
        "₹100.00 of the bar at 2025-06-02T09:15:00+05:30 to zero paise"
    )


def test_of_several_actions_the_one_shrinking_prices_most_is_named():
    series = daily("TCS", [1.0, 1.0, 1.0])
    actions = [split(date(2025, 6, 3), 1, 2), split(date(2025, 6, 4), 1, 900)]
    with pytest.raises(BarDataError, match="the split 1:900 on ex-date 2025-06-04"):
        adjust(series, actions)
    assert np.array_equal(series.close, [100, 100, 100])  # the raw series is untouched


@pytest.mark.parametrize(
    ("ns", "text"),
    [(7 * 60, "7m"), (3600, "1h"), (86_400, "1d"), (86_400 + 2 * 3600 + 30 * 60, "1d2h30m"),
     (45, "45s"), (0, "0s")],
)  # fmt: skip
def test_durations_are_written_like_timeframes(ns, text):
    assert span_text(ns * 1_000_000_000) == text
