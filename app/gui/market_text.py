"""Words for market state, shared by the status-bar clock and the home panel."""

from __future__ import annotations

from datetime import datetime

from engine.calendar import IST, MarketPhase, MarketStatus, Session

PHASE_LABELS = {
    MarketPhase.PRE_OPEN: "PRE-OPEN",
    MarketPhase.OPEN: "OPEN",
    MarketPhase.CLOSED: "CLOSED",
    MarketPhase.HOLIDAY: "HOLIDAY",
}
PHASE_COLOURS = {
    MarketPhase.PRE_OPEN: "#d99a1e",
    MarketPhase.OPEN: "#2e9d5b",
    MarketPhase.CLOSED: "#6b7280",
    MarketPhase.HOLIDAY: "#8b5cf6",
}


def session_hours(session: Session) -> str:
    text = f"{session.open.astimezone(IST):%H:%M}–{session.close.astimezone(IST):%H:%M}"
    return f"{text} ({session.note or session.kind})" if session.kind != "regular" else text


def when(moment: datetime, now: datetime) -> str:
    """'09:15' today, 'tomorrow 09:15', else 'Mon 24 Nov 09:15' (IST)."""
    local, today = moment.astimezone(IST), now.astimezone(IST).date()
    days = (local.date() - today).days
    if days == 0:
        return f"{local:%H:%M}"
    if days == 1:
        return f"tomorrow {local:%H:%M}"
    return f"{local:%a %d %b %H:%M}"


def status_detail(status: MarketStatus) -> str:
    """One short phrase about what happens next."""
    session = status.session
    if status.phase is MarketPhase.OPEN and session is not None:
        return f"closes {session.close.astimezone(IST):%H:%M}"
    if status.phase is MarketPhase.PRE_OPEN and session is not None:
        return f"opens {session.open.astimezone(IST):%H:%M}"
    if status.next_open is None:
        return "no session in the next two years — check the calendar"
    return f"next open {when(status.next_open.open, status.at)}"
