"""Artha's shipped table: exchange circulars that exchange-calendars does not (or may not) model.

Rows win over the package; the workspace's own entries (imported lists, the trader's
additions) win over these rows. A row in a year no holiday list covers applies there too (its
session is exact, the rest of that year stays provisional).

Sources: shared/docs/india-domain.md section 2.2 (muhurat) and 2.3 (holidays); budget days
from the exchanges' circulars (NSE and BSE held full sessions on those weekends).
"""

from __future__ import annotations

import datetime

from engine.calendar.model import CalendarEntry, EntryKind

_d = datetime.date
_t = datetime.time

OVERRIDES: tuple[CalendarEntry, ...] = (
    # Muhurat trading: exchange-calendars treats Diwali as closed, but the exchanges hold a
    # one-hour session whose trades settle like a normal day's.
    CalendarEntry(
        exchange=None,
        date=_d(2021, 11, 4),
        open=_t(18, 15),
        close=_t(19, 15),
        pre_open=_t(18, 0),
        kind=EntryKind.MUHURAT,
        note="Muhurat trading (Diwali)",
    ),
    CalendarEntry(
        exchange=None,
        date=_d(2023, 11, 12),  # a Sunday
        open=_t(18, 15),
        close=_t(19, 15),
        pre_open=_t(18, 0),
        kind=EntryKind.MUHURAT,
        note="Muhurat trading (Diwali)",
    ),
    CalendarEntry(
        exchange=None,
        date=_d(2024, 11, 1),
        open=_t(18, 0),
        close=_t(19, 0),
        pre_open=_t(17, 45),
        kind=EntryKind.MUHURAT,
        note="Muhurat trading (Diwali)",
    ),
    CalendarEntry(
        exchange=None,
        date=_d(2025, 10, 21),
        open=_t(13, 45),
        close=_t(14, 45),
        pre_open=_t(13, 30),
        kind=EntryKind.MUHURAT,
        note="Muhurat trading (Diwali), first afternoon muhurat",
    ),
    # Union Budget days that fell on a weekend: both exchanges held a full regular session.
    CalendarEntry(
        exchange=None,
        date=_d(2025, 2, 1),  # a Saturday
        open=_t(9, 15),
        close=_t(15, 30),
        pre_open=_t(9, 0),
        kind=EntryKind.BUDGET,
        note="Union Budget (Saturday session)",
    ),
    CalendarEntry(
        exchange=None,
        date=_d(2026, 2, 1),  # a Sunday
        open=_t(9, 15),
        close=_t(15, 30),
        pre_open=_t(9, 0),
        kind=EntryKind.BUDGET,
        note="Union Budget (Sunday session)",
    ),
    # 2026-11-08 (Sunday, Diwali) had a muhurat session whose timings we could not confirm
    # from the exchange circular, so it is not shipped: `artha calendar add-session 2026-11-08
    # --open HH:MM --close HH:MM --kind muhurat --note ...` (or Tools > Calendar) adds it.
    #
    # Ad-hoc closure announced at short notice (NSE circular of 12 Jan 2026, Maharashtra
    # municipal elections). exchange-calendars 4.13.2 already has it; the row documents it
    # and guards against a package version that lacks it.
    CalendarEntry(
        exchange=None,
        date=_d(2026, 1, 15),
        open=None,
        close=None,
        pre_open=None,
        kind=EntryKind.HOLIDAY,
        note="Closed: Maharashtra municipal elections (NSE circular 12 Jan 2026)",
    ),
)
