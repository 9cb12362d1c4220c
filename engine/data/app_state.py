"""Application state as SQLAlchemy 2 ORM models, on the same DuckDB file as the market data.

Small, row-at-a-time tables (settings, strategies, backtest runs) suit the ORM; bars never go
through it (store.py). The tables are CREATED by the versioned migrations in schema.py, never by
`metadata.create_all`, so an old workspace and a new one end up with the same schema; a test
checks that these models and the migrated tables agree.

Times are stored as naive UTC TIMESTAMPs and come back as aware UTC datetimes (UtcDateTime).
Get a session with `MarketStore.session()`:

    with store.session() as s, s.begin():
        s.add(BacktestRun(strategy="sma_crossover", params={"fast": 10}, config={}))
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utc_now() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(sa.TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; naive input is refused (it is ambiguous)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{value!r} has no time zone; app-state times must be aware")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class AppBase(DeclarativeBase):
    pass


class Setting(AppBase):
    """One user setting; `value` is any JSON value."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(sa.String, primary_key=True)
    value: Mapped[Any] = mapped_column(sa.JSON, nullable=False)


class StrategyRecord(AppBase):
    """A strategy the user has added, by name, and the file it lives in."""

    __tablename__ = "strategies"

    name: Mapped[str] = mapped_column(sa.String, primary_key=True)
    path: Mapped[str] = mapped_column(sa.String, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(
        UtcDateTime, nullable=False, default=utc_now, onupdate=utc_now
    )


_run_id = sa.Sequence("backtest_run_id_seq")


class BacktestRun(AppBase):
    """One backtest: what ran with which parameters and config, and its summary results."""

    __tablename__ = "backtest_runs"

    id: Mapped[int] = mapped_column(
        sa.BigInteger, _run_id, server_default=_run_id.next_value(), primary_key=True
    )
    strategy: Mapped[str] = mapped_column(sa.String, nullable=False)
    params: Mapped[dict[str, Any]] = mapped_column(sa.JSON, nullable=False, default=dict)
    config: Mapped[dict[str, Any]] = mapped_column(sa.JSON, nullable=False, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, default=utc_now)
    status: Mapped[str] = mapped_column(sa.String, nullable=False, default=RunStatus.QUEUED.value)
    summary: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON, nullable=True)


APP_TABLES: tuple[str, ...] = tuple(AppBase.metadata.tables)
