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
from sqlalchemy.engine.default import DefaultExecutionContext
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


def _default_name(context: DefaultExecutionContext) -> str:
    """A run stored without a name is called after its strategy (never an empty name)."""
    parameters: dict[str, Any] = context.get_current_parameters()  # type: ignore[no-untyped-call]
    return f"{parameters['strategy']} run"


class BacktestRun(AppBase):
    """One backtest: what ran (strategy, its source's sha256, parameters, symbols, data range,
    config), its headline metrics (`summary`) and the saved report that reopens it.

    `report` (JSON) can be megabytes: it is deferred, loaded only when read
    (engine/data/run_history.py reads and writes it; the format is described there). The
    equity curve is rows of `run_curves` (schema v6); `curve` held it as npz bytes before, and
    still holds an old curve that could not be read (shown as damaged).
    """

    __tablename__ = "backtest_runs"

    id: Mapped[int] = mapped_column(
        sa.BigInteger, _run_id, server_default=_run_id.next_value(), primary_key=True
    )
    name: Mapped[str] = mapped_column(sa.String, nullable=False, default=_default_name)
    strategy: Mapped[str] = mapped_column(sa.String, nullable=False)
    strategy_module: Mapped[str | None] = mapped_column(sa.String, nullable=True)
    strategy_path: Mapped[str | None] = mapped_column(sa.String, nullable=True)
    strategy_class: Mapped[str] = mapped_column(sa.String, nullable=False, default="")
    source_hash: Mapped[str | None] = mapped_column(sa.String, nullable=True)
    params: Mapped[dict[str, Any]] = mapped_column(sa.JSON, nullable=False, default=dict)
    symbols: Mapped[list[str]] = mapped_column(sa.JSON, nullable=False, default=list)
    timeframe: Mapped[str | None] = mapped_column(sa.String, nullable=True)
    data_first: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    data_last: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    config: Mapped[dict[str, Any]] = mapped_column(sa.JSON, nullable=False, default=dict)
    tags: Mapped[list[str]] = mapped_column(sa.JSON, nullable=False, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, default=utc_now)
    status: Mapped[str] = mapped_column(sa.String, nullable=False, default=RunStatus.QUEUED.value)
    summary: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON, nullable=True)
    report: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON, nullable=True, deferred=True)
    curve: Mapped[bytes | None] = mapped_column(sa.LargeBinary, nullable=True, deferred=True)


APP_TABLES: tuple[str, ...] = tuple(AppBase.metadata.tables)
