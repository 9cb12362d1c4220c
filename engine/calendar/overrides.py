"""Override table: exchange circulars that exchange-calendars does not (or may not) model.

Rows win over the package. They never extend coverage: a row for a year the package does
not cover has no effect until the package is upgraded to cover that year.

Sources: shared/docs/india-domain.md section 2.2 (muhurat) and 2.3 (holidays).
"""

from __future__ import annotations

import datetime

from engine.calendar.model import SessionKind, SessionOverride

_d = datetime.date
_t = datetime.time

OVERRIDES: tuple[SessionOverride, ...] = (
    # Muhurat trading: exchange-calendars treats Diwali as closed, but the exchanges hold a
    # one-hour session whose trades settle like a normal day's.
    SessionOverride(
        exchange=None,
        date=_d(2021, 11, 4),
        open=_t(18, 15),
        close=_t(19, 15),
        pre_open=_t(18, 0),
        kind=SessionKind.MUHURAT,
        note="Muhurat trading (Diwali)",
    ),
    SessionOverride(
        exchange=None,
        date=_d(2023, 11, 12),  # a Sunday
        open=_t(18, 15),
        close=_t(19, 15),
        pre_open=_t(18, 0),
        kind=SessionKind.MUHURAT,
        note="Muhurat trading (Diwali)",
    ),
    SessionOverride(
        exchange=None,
        date=_d(2024, 11, 1),
        open=_t(18, 0),
        close=_t(19, 0),
        pre_open=_t(17, 45),
        kind=SessionKind.MUHURAT,
        note="Muhurat trading (Diwali)",
    ),
    SessionOverride(
        exchange=None,
        date=_d(2025, 10, 21),
        open=_t(13, 45),
        close=_t(14, 45),
        pre_open=_t(13, 30),
        kind=SessionKind.MUHURAT,
        note="Muhurat trading (Diwali), first afternoon muhurat",
    ),
    # 2026-11-08 (Sunday, Diwali) will have a muhurat session, but its timings are not
    # known to us yet: add the row once the exchange circular is out. Until then the day
    # is simply not a session (a Sunday, so phase CLOSED).
    #
    # Ad-hoc closure announced at short notice (NSE circular of 12 Jan 2026, Maharashtra
    # municipal elections). exchange-calendars 4.13.2 already has it; the row documents it
    # and guards against a package version that lacks it.
    SessionOverride(
        exchange=None,
        date=_d(2026, 1, 15),
        open=None,
        close=None,
        pre_open=None,
        kind=SessionKind.SPECIAL,
        note="Closed: Maharashtra municipal elections (NSE circular 12 Jan 2026)",
    ),
)
