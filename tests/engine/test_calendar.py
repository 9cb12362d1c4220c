"""Market calendar against the real exchange-calendars data (no mocks of our code)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import warnings

import pytest

from engine.calendar import (
    IST,
    OVERRIDES,
    CalendarEntry,
    EntryKind,
    MarketCalendar,
    MarketPhase,
    SessionKind,
    get_calendar,
    source,
)
from engine.domain.enums import Exchange

UTC = dt.UTC


def ist(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, ss, tzinfo=IST)


@pytest.fixture(scope="module")
def nse() -> MarketCalendar:
    return get_calendar(Exchange.NSE)


def test_import_does_not_load_the_calendar_package() -> None:
    code = "import sys, engine.calendar; print('exchange_calendars' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_building_a_calendar_reads_the_shipped_table_not_the_package() -> None:
    code = (
        "import sys, datetime; from engine.calendar import get_calendar, IST; "
        "get_calendar('NSE').status(datetime.datetime(2026, 1, 2, 10, tzinfo=IST)); "
        "print('exchange_calendars' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_shipped_table_is_the_packages_schedule() -> None:
    """package_table holds what exchange-calendars builds; if this fails after a package
    upgrade, rewrite it: `engine.calendar.source.write_table()`."""
    last = source.bound_max()
    version = source.installed_version()
    assert version is not None
    assert source.TABLE_PATH.read_text(encoding="utf-8") == source.table_text(
        source._load(end=last), version, last
    )
    assert source.from_table() == source._load()  # the package's default end: as of today


@pytest.mark.parametrize("today", [dt.date(2025, 3, 10), dt.date(2024, 2, 29)])
def test_the_table_ends_where_the_package_would(today: dt.date) -> None:
    import pandas as pd

    last = source.bound_max()
    end = source.default_end(today, last)
    assert end == min((pd.Timestamp(today) + pd.DateOffset(years=1)).date(), last)
    assert source.from_table(today) == source._load(end=end)


def test_the_package_version_is_read_as_importlib_metadata_reads_it(tmp_path, monkeypatch):
    """installed_version() reads the .dist-info folder's name (no importlib.metadata at the
    station's start): the same answer, the first folder on sys.path wins, names compare as
    packaging normalises them, and a package without a .dist-info is left to metadata."""
    import importlib.metadata

    assert source.installed_version() == importlib.metadata.version("exchange-calendars")
    ahead = tmp_path / "ahead"
    (ahead / "Exchange.Calendars-9.8.7.dist-info").mkdir(parents=True)
    (ahead / "exchange_calendars_extra-1.0.dist-info").mkdir()
    monkeypatch.setattr(sys, "path", [str(tmp_path / "missing"), str(ahead), *sys.path])
    assert source.installed_version() == "9.8.7"
    monkeypatch.setattr(sys, "path", [str(tmp_path / "empty")])
    assert source.installed_version() is None


def test_a_table_written_from_another_package_version_is_not_used(monkeypatch) -> None:
    monkeypatch.setattr(source, "installed_version", lambda: "0.0.1")
    assert source.from_table() is None


def test_package_span_is_pinned_to_the_package_range(nse: MarketCalendar) -> None:
    first, last = nse.package_span
    assert first <= dt.date(2006, 11, 22)
    assert last == dt.date(2026, 12, 31)


def test_adhoc_closure_2026_01_15_is_a_holiday(nse: MarketCalendar) -> None:
    day = dt.date(2026, 1, 15)
    assert not nse.is_session(day)
    assert nse.session(day) is None
    assert nse.status(ist(2026, 1, 15, 11)).phase is MarketPhase.HOLIDAY
    assert day in nse.holidays(dt.date(2026, 1, 1), dt.date(2026, 1, 31))


def test_muharram_2026_06_26_closed(nse: MarketCalendar) -> None:
    assert not nse.is_session(dt.date(2026, 6, 26))
    assert nse.status(ist(2026, 6, 26, 10)).phase is MarketPhase.HOLIDAY


def test_new_year_2026_is_a_regular_session(nse: MarketCalendar) -> None:
    s = nse.session(dt.date(2026, 1, 1))
    assert s is not None
    assert s.kind is SessionKind.REGULAR
    assert s.exchange is Exchange.NSE
    assert s.pre_open == ist(2026, 1, 1, 9, 0)
    assert s.open == ist(2026, 1, 1, 9, 15)
    assert s.close == ist(2026, 1, 1, 15, 30)
    assert s.open.tzinfo is IST


def test_saturday_is_closed_not_holiday(nse: MarketCalendar) -> None:
    saturday = dt.date(2026, 1, 3)
    assert saturday.weekday() == 5
    assert not nse.is_session(saturday)
    status = nse.status(ist(2026, 1, 3, 11))
    assert status.phase is MarketPhase.CLOSED
    assert status.session is None
    assert saturday not in nse.holidays(dt.date(2026, 1, 1), dt.date(2026, 1, 10))


def test_muhurat_2025_session_and_phases(nse: MarketCalendar) -> None:
    day = dt.date(2025, 10, 21)
    s = nse.session(day)
    assert s is not None
    assert s.kind is SessionKind.MUHURAT
    assert "Muhurat" in s.note
    assert (s.pre_open, s.open, s.close) == (
        ist(2025, 10, 21, 13, 30),
        ist(2025, 10, 21, 13, 45),
        ist(2025, 10, 21, 14, 45),
    )
    assert nse.status(ist(2025, 10, 21, 14)).phase is MarketPhase.OPEN
    assert nse.status(ist(2025, 10, 21, 13, 35)).phase is MarketPhase.PRE_OPEN
    assert nse.status(ist(2025, 10, 21, 15)).phase is MarketPhase.CLOSED
    # Outside the muhurat hour the day is closed, but it is not a holiday.
    assert nse.status(ist(2025, 10, 21, 10)).phase is MarketPhase.CLOSED
    assert day not in nse.holidays(dt.date(2025, 10, 1), dt.date(2025, 10, 31))
    assert dt.date(2025, 10, 22) in nse.holidays(dt.date(2025, 10, 1), dt.date(2025, 10, 31))


def test_sunday_muhurat_2023(nse: MarketCalendar) -> None:
    day = dt.date(2023, 11, 12)
    assert day.weekday() == 6
    s = nse.session(day)
    assert s is not None
    assert s.kind is SessionKind.MUHURAT
    assert (s.pre_open, s.open, s.close) == (
        ist(2023, 11, 12, 18, 0),
        ist(2023, 11, 12, 18, 15),
        ist(2023, 11, 12, 19, 15),
    )
    assert nse.status(ist(2023, 11, 12, 18, 30)).phase is MarketPhase.OPEN
    # Friday evening's next open is the Sunday muhurat, not Monday.
    assert nse.next_open(ist(2023, 11, 10, 16)) == s


def test_other_muhurat_rows_apply(nse: MarketCalendar) -> None:
    for day, open_ in [
        (dt.date(2021, 11, 4), dt.time(18, 15)),
        (dt.date(2024, 11, 1), dt.time(18, 0)),
    ]:
        s = nse.session(day)
        assert s is not None and s.kind is SessionKind.MUHURAT
        assert s.open.time() == open_
        assert s.pre_open == s.open - dt.timedelta(minutes=15)


def test_2026_muhurat_unknown_so_not_a_session(nse: MarketCalendar) -> None:
    assert not nse.is_session(dt.date(2026, 11, 8))


def test_2027_is_provisional_weekdays_not_an_error(nse: MarketCalendar) -> None:
    # No package knows 2027 and no list is loaded: weekdays are assumed regular sessions.
    day = dt.date(2027, 1, 15)
    session = nse.session(day)
    assert session is not None and session.provisional
    assert (session.open, session.close) == (ist(2027, 1, 15, 9, 15), ist(2027, 1, 15, 15, 30))
    assert nse.session(dt.date(2027, 1, 16)) is None  # a Saturday
    status = nse.status(ist(2027, 1, 4, 10))
    assert status.phase is MarketPhase.OPEN and status.provisional
    assert status.next_open is not None and status.next_open.date == dt.date(2027, 1, 5)
    assert len(nse.sessions(dt.date(2026, 12, 1), dt.date(2027, 1, 31))) == 22 + 21
    assert nse.holidays(dt.date(2027, 1, 1), dt.date(2027, 1, 31)) == []
    assert not nse.is_known(day) and nse.is_known(dt.date(2026, 12, 31))
    warning = nse.provisional_warning(dt.date(2026, 12, 1), dt.date(2027, 1, 31))
    assert "NSE holiday list for 2027 not loaded" in warning
    assert "artha calendar import" in warning
    assert nse.provisional_warning(dt.date(2026, 1, 1), dt.date(2026, 12, 31)) == ""


def test_before_the_package_is_provisional_too(nse: MarketCalendar) -> None:
    first = nse.package_span[0]
    old = nse.session(dt.date(1990, 1, 1))  # a Monday, long before any list
    assert old is not None and old.provisional
    assert nse.session(dt.date(1900, 1, 6)) is None  # a Saturday
    warning = nse.provisional_warning(dt.date(1990, 1, 1), dt.date(2000, 1, 1))
    assert f"1990-{first.year - 1}" in warning


@pytest.mark.parametrize(
    ("hh", "mm", "ss", "phase"),
    [
        (8, 59, 0, MarketPhase.CLOSED),
        (9, 0, 0, MarketPhase.PRE_OPEN),
        (9, 5, 0, MarketPhase.PRE_OPEN),
        (9, 15, 0, MarketPhase.OPEN),
        (15, 29, 59, MarketPhase.OPEN),
        (15, 30, 0, MarketPhase.CLOSED),
        (20, 0, 0, MarketPhase.CLOSED),
    ],
)
def test_phases_through_a_normal_day(
    nse: MarketCalendar, hh: int, mm: int, ss: int, phase: MarketPhase
) -> None:
    status = nse.status(ist(2026, 1, 2, hh, mm, ss))
    assert status.phase is phase
    assert status.session is not None and status.session.date == dt.date(2026, 1, 2)


def test_next_open_same_day_and_after_close(nse: MarketCalendar) -> None:
    assert nse.next_open(ist(2026, 1, 2, 8)).open == ist(2026, 1, 2, 9, 15)
    # At exactly the open, the next open is strictly later: Monday.
    assert nse.next_open(ist(2026, 1, 2, 9, 15)).open == ist(2026, 1, 5, 9, 15)
    assert nse.status(ist(2026, 1, 2, 9, 5)).next_open == nse.session(dt.date(2026, 1, 2))


def test_next_open_across_weekend_and_republic_day(nse: MarketCalendar) -> None:
    s = nse.next_open(ist(2026, 1, 23, 16))
    assert s.date == dt.date(2026, 1, 27)
    assert s.open == ist(2026, 1, 27, 9, 15)
    assert nse.status(ist(2026, 1, 26, 10)).phase is MarketPhase.HOLIDAY
    assert nse.status(ist(2026, 1, 24, 10)).next_open == s


def test_next_open_after_last_listed_close_is_provisional(nse: MarketCalendar) -> None:
    status = nse.status(ist(2026, 12, 31, 17))
    assert status.phase is MarketPhase.CLOSED and not status.provisional
    assert status.session is not None
    assert status.next_open is not None and status.next_open.provisional
    assert status.next_open.date == dt.date(2027, 1, 1)


def test_utc_input_is_converted_to_ist(nse: MarketCalendar) -> None:
    status = nse.status(dt.datetime(2026, 1, 2, 4, 0, tzinfo=UTC))
    assert status.at == ist(2026, 1, 2, 9, 30)
    assert status.at.tzinfo is IST
    assert status.phase is MarketPhase.OPEN
    # 2026-01-01 20:00 UTC is already 2 Jan 01:30 IST: the IST date decides the session.
    late = nse.status(dt.datetime(2026, 1, 1, 20, 0, tzinfo=UTC))
    assert late.session is not None and late.session.date == dt.date(2026, 1, 2)


def test_naive_datetime_rejected(nse: MarketCalendar) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        nse.status(dt.datetime(2026, 1, 2, 10, 0))
    with pytest.raises(ValueError, match="timezone-aware"):
        nse.next_open(dt.datetime(2026, 1, 2, 10, 0))


def test_datetime_passed_as_date_rejected(nse: MarketCalendar) -> None:
    with pytest.raises(TypeError, match="not a datetime"):
        nse.session(ist(2026, 1, 2, 10))


def test_get_calendar_by_name_and_cache() -> None:
    bse = get_calendar("BSE")
    assert bse.exchange is Exchange.BSE
    assert bse is get_calendar(Exchange.BSE)
    assert get_calendar("nse") is get_calendar(Exchange.NSE)
    assert bse.is_session(dt.date(2026, 1, 2))
    assert not bse.is_session(dt.date(2026, 1, 15))
    s = bse.session(dt.date(2026, 1, 2))
    assert s is not None and s.exchange is Exchange.BSE


def test_fo_segments_use_cash_exchange_calendar() -> None:
    nfo, bfo = get_calendar(Exchange.NFO), get_calendar("BFO")
    assert nfo.exchange is Exchange.NSE and bfo.exchange is Exchange.BSE
    for day in (dt.date(2026, 1, 15), dt.date(2026, 1, 16), dt.date(2025, 10, 21)):
        assert nfo.session(day) == get_calendar(Exchange.NSE).session(day)


def test_get_calendar_unknown_exchange() -> None:
    with pytest.raises(ValueError, match="XYZ") as info:
        get_calendar("XYZ")
    assert "NSE" in str(info.value) and "BSE" in str(info.value)


def test_sessions_january_2026(nse: MarketCalendar) -> None:
    start, end = dt.date(2026, 1, 1), dt.date(2026, 1, 31)
    weekdays = [
        start + dt.timedelta(days=i)
        for i in range((end - start).days + 1)
        if (start + dt.timedelta(days=i)).weekday() < 5
    ]
    expected = [d for d in weekdays if d not in {dt.date(2026, 1, 15), dt.date(2026, 1, 26)}]
    assert len(weekdays) == 22
    assert len(expected) == 20
    sessions = nse.sessions(start, end)
    assert [s.date for s in sessions] == expected
    assert nse.holidays(start, end) == [dt.date(2026, 1, 15), dt.date(2026, 1, 26)]
    assert nse.sessions(end, start) == []


def test_holidays_2026_match_domain_notes(nse: MarketCalendar) -> None:
    expected = [
        dt.date(2026, m, d)
        for m, d in [
            (1, 15), (1, 26), (3, 3), (3, 26), (3, 31), (4, 3), (4, 14), (5, 1),
            (5, 28), (6, 26), (9, 14), (10, 2), (10, 20), (11, 10), (11, 24), (12, 25),
        ]
    ]  # fmt: skip
    assert nse.holidays(dt.date(2026, 1, 1), dt.date(2026, 12, 31)) == expected


def test_override_can_add_a_closure() -> None:
    closure = CalendarEntry(
        exchange=Exchange.NSE,
        date=dt.date(2026, 1, 2),
        open=None,
        close=None,
        pre_open=None,
        kind=EntryKind.HOLIDAY,
        note="test closure",
    )
    nse = MarketCalendar(Exchange.NSE, (*OVERRIDES, closure))
    assert not nse.is_session(dt.date(2026, 1, 2))
    assert nse.status(ist(2026, 1, 2, 10)).phase is MarketPhase.HOLIDAY
    following = nse.next_open(ist(2026, 1, 1, 16))
    assert following is not None and following.date == dt.date(2026, 1, 5)
    # An NSE-only row leaves BSE alone.
    bse = MarketCalendar(Exchange.BSE, (*OVERRIDES, closure))
    assert bse.is_session(dt.date(2026, 1, 2))


def test_override_can_add_a_special_session_in_any_year() -> None:
    rows = (
        CalendarEntry(
            exchange=None,
            date=dt.date(2026, 1, 3),  # a Saturday
            open=dt.time(10, 0),
            close=dt.time(11, 0),
            pre_open=None,
            kind=EntryKind.SPECIAL,
            note="test special session",
        ),
        CalendarEntry(
            exchange=None,
            date=dt.date(2027, 1, 9),  # a Saturday in an unlisted year
            open=dt.time(9, 15),
            close=dt.time(15, 30),
            pre_open=None,
            kind=EntryKind.SPECIAL,
            note="past the package",
        ),
    )
    cal = MarketCalendar(Exchange.BSE, rows)
    s = cal.session(dt.date(2026, 1, 3))
    assert s is not None and s.kind is SessionKind.SPECIAL
    assert s.pre_open == ist(2026, 1, 3, 9, 45)
    later = cal.session(dt.date(2027, 1, 9))
    assert later is not None and not later.provisional and later.note == "past the package"
    assert not cal.is_known(dt.date(2027, 1, 9))  # one entry does not make a year known
    # Without the default table the muhurat day falls back to the package: closed.
    assert not cal.is_session(dt.date(2025, 10, 21))


def test_budget_day_weekend_sessions_2025_and_2026(nse: MarketCalendar) -> None:
    for day, weekday in ((dt.date(2025, 2, 1), 5), (dt.date(2026, 2, 1), 6)):
        assert day.weekday() == weekday
        for cal in (nse, get_calendar("BSE"), get_calendar("NFO")):
            s = cal.session(day)
            assert s is not None and s.kind is SessionKind.BUDGET and not s.provisional
            assert (s.open.time(), s.close.time()) == (dt.time(9, 15), dt.time(15, 30))
        status = nse.status(dt.datetime.combine(day, dt.time(11), IST))
        assert status.phase is MarketPhase.OPEN


def test_override_validation() -> None:
    with pytest.raises(ValueError, match="close"):
        CalendarEntry(None, dt.date(2026, 1, 2), dt.time(10), None, None, EntryKind.SPECIAL, "")
    with pytest.raises(ValueError, match="before close"):
        CalendarEntry(
            None, dt.date(2026, 1, 2), dt.time(11), dt.time(10), None, EntryKind.SPECIAL, ""
        )
    with pytest.raises(ValueError, match="needs open and close"):
        CalendarEntry(None, dt.date(2026, 1, 2), None, None, None, EntryKind.MUHURAT, "")
    with pytest.raises(ValueError, match="cannot have opening hours"):
        CalendarEntry(
            None, dt.date(2026, 1, 2), dt.time(9), dt.time(10), None, EntryKind.HOLIDAY, ""
        )
    dup = CalendarEntry(None, dt.date(2026, 1, 2), None, None, None, EntryKind.HOLIDAY, "")
    with pytest.raises(ValueError, match="two calendar entries"):
        MarketCalendar(Exchange.NSE, (dup, dup))


def test_queries_emit_no_warnings(nse: MarketCalendar) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        MarketCalendar(Exchange.NSE)
        nse.status(ist(2026, 1, 2, 10))
        nse.sessions(dt.date(2025, 1, 1), dt.date(2025, 12, 31))


def test_first_load_emits_no_warnings() -> None:
    code = (
        "import warnings; warnings.simplefilter('error');"
        "from engine.calendar import get_calendar; get_calendar('NSE')"
    )
    subprocess.run([sys.executable, "-W", "error", "-c", code], check=True)


def test_open_at_is_the_sessions_open_or_the_regular_open_on_a_closed_day():
    """What bars are stamped and timed by (the importers and the opening range use it)."""
    from engine.calendar import IST, get_calendar

    nse = get_calendar("NSE")
    assert nse.open_at(dt.date(2026, 1, 27)) == dt.datetime(2026, 1, 27, 9, 15, tzinfo=IST)
    muhurat = dt.date(2025, 10, 21)  # Diwali: an afternoon session
    assert nse.open_at(muhurat) == nse.session(muhurat).open
    assert nse.open_at(muhurat).time() == dt.time(13, 45)
    republic_day = dt.date(2026, 1, 26)  # closed: bars held there count from 09:15
    assert nse.session(republic_day) is None
    assert nse.open_at(republic_day) == dt.datetime(2026, 1, 26, 9, 15, tzinfo=IST)
