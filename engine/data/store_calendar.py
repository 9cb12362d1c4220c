"""The workspace's market calendar in the store: reading it as a CalendarLayer, writing a plan.

The calendar itself (engine/calendar) knows nothing of DuckDB; the store loads its rows into a
`CalendarLayer`, and a write replaces the rows with those of a `CalendarPlan` in one
transaction. The store that opens or writes a workspace makes its layer the process's
calendar (`engine.calendar.use_workspace_calendar`), so every reader agrees at once.
"""

from __future__ import annotations

import datetime

import duckdb

from engine.calendar import (
    CalendarEntry,
    CalendarLayer,
    CalendarSegment,
    EntryKind,
    EntrySource,
    HolidayList,
    use_workspace_calendar,
)
from engine.data import schema
from engine.domain.enums import Exchange

BOTH = "both"


def _exchange_text(exchange: Exchange | None) -> str:
    return exchange.value if exchange is not None else BOTH


def _exchange_of(text: str) -> Exchange | None:
    return None if text == BOTH else Exchange(text)


def read_layer(cur: duckdb.DuckDBPyConnection) -> CalendarLayer:
    """The workspace's entries and loaded lists (empty before migration v4 has run)."""
    if schema.current_version(cur) < 4:
        return CalendarLayer()
    rows = cur.execute(
        "SELECT day, exchange, segment, kind, pre_open, open, close, note, source, origin "
        "FROM calendar_entries ORDER BY day, exchange, segment"
    ).fetchall()
    entries = tuple(
        CalendarEntry(
            exchange=_exchange_of(exchange),
            date=day,
            open=open_,
            close=close,
            pre_open=pre_open,
            kind=EntryKind(kind),
            note=note,
            segment=CalendarSegment(segment),
            source=EntrySource(source),
            origin=origin,
        )
        for day, exchange, segment, kind, pre_open, open_, close, note, source, origin in rows
    )
    lists = tuple(
        HolidayList(
            _exchange_of(exchange), CalendarSegment(segment), year, EntrySource(source), origin
        )
        for exchange, segment, year, source, origin in cur.execute(
            "SELECT exchange, segment, year, source, origin FROM calendar_lists "
            "ORDER BY year, exchange, segment"
        ).fetchall()
    )
    return CalendarLayer(entries, lists)


def write_layer(cur: duckdb.DuckDBPyConnection, layer: CalendarLayer) -> None:
    """Replace the stored calendar with ``layer`` (inside the caller's transaction).

    Rows that did not change keep their edited/loaded time; the rest get now."""
    now = schema.utc_now_naive()
    current = read_layer(cur)
    old_entries = {_entry_key(e): e for e in current.entries}
    new_entries = {_entry_key(e): e for e in layer.entries}
    if len(new_entries) != len(layer.entries):
        raise ValueError("two calendar entries share a day, exchange and segment")
    for key, entry in old_entries.items():
        if new_entries.get(key) != entry:
            cur.execute(
                "DELETE FROM calendar_entries WHERE day = ? AND exchange = ? AND segment = ?",
                list(key),
            )
    for key, entry in new_entries.items():
        if old_entries.get(key) == entry:
            continue
        if entry.source not in (EntrySource.USER, EntrySource.IMPORTED):
            raise ValueError(f"the workspace stores user and imported entries, not {entry.source}")
        cur.execute(
            "INSERT INTO calendar_entries (day, exchange, segment, kind, pre_open, open, close, "
            "note, source, origin, edited_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                *key,
                str(entry.kind),
                entry.pre_open,
                entry.open,
                entry.close,
                entry.note,
                str(entry.source),
                entry.origin,
                now,
            ],
        )
    old_lists = {_list_key(item): item for item in current.lists}
    new_lists = {_list_key(item): item for item in layer.lists}
    for list_key, item in old_lists.items():
        if new_lists.get(list_key) != item:
            cur.execute(
                "DELETE FROM calendar_lists WHERE exchange = ? AND segment = ? AND year = ?",
                list(list_key),
            )
    for list_key, item in new_lists.items():
        if old_lists.get(list_key) != item:
            cur.execute(
                "INSERT INTO calendar_lists (exchange, segment, year, source, origin, loaded_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [*list_key, str(item.source), item.origin, now],
            )


def _entry_key(entry: CalendarEntry) -> tuple[datetime.date, str, str]:
    return (entry.date, _exchange_text(entry.exchange), str(entry.segment))


def _list_key(item: HolidayList) -> tuple[str, str, int]:
    return (_exchange_text(item.exchange), str(item.segment), item.year)


def install(layer: CalendarLayer) -> None:
    """This store's calendar becomes the process's. It stays after the store closes (a
    command reads bars, closes the workspace, then backtests them on its calendar) until
    another workspace is opened."""
    use_workspace_calendar(layer)
