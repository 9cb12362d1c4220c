"""Our own audit trail of every order call: what we asked, what the broker answered.

Brokers keep five years of audit; the 2026 rules expect the trader's tool to keep its own.
One JSON object per line in the workspace's `logs/orders-audit.jsonl`, appended and flushed
to disk before the call returns, so a crash never loses the record of an order that reached a
broker. Only typed fields are written (our request, the broker's id and answer, the error's
kind and message), never HTTP headers or URLs, so no token can get in.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import IO, Any

from engine.broker.errors import BrokerError
from engine.broker.models import OrderChange, OrderRequest

AUDIT_FILE = "orders-audit.jsonl"


def _plain(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def request_fields(request: OrderRequest) -> dict[str, object]:
    """The order as sent, for the audit line."""
    order = request.order
    fields: dict[str, object] = {
        "client_id": order.client_id,
        "symbol": order.symbol,
        "side": order.side,
        "order_type": order.order_type,
        "product": order.product,
        "validity": order.validity,
        "quantity": order.quantity,
        "price": order.price,
        "trigger_price": order.trigger_price,
        "market_protection": request.protection,
        "after_market": request.after_market,
        "slices": request.slices,
    }
    if request.iceberg_legs is not None:
        fields["iceberg_legs"] = request.iceberg_legs
    return fields


def change_fields(change: OrderChange) -> dict[str, object]:
    return {
        name: value
        for name, value in (
            ("quantity", change.quantity),
            ("price", change.price),
            ("trigger_price", change.trigger_price),
            ("order_type", change.order_type),
        )
        if value is not None
    }


@dataclass(frozen=True, slots=True)
class AuditEntry:
    ts: datetime
    account: str
    action: str  # place / modify / cancel / reconcile / retry
    outcome: str  # sent / ok / error / found / not_found
    fields: dict[str, object]

    def to_json(self) -> str:
        line: dict[str, Any] = {
            "ts": self.ts.isoformat(),
            "account": self.account,
            "action": self.action,
            "outcome": self.outcome,
        }
        line.update({k: _plain(v) for k, v in self.fields.items()})
        return json.dumps(line, ensure_ascii=False, sort_keys=False)


class OrderAudit:
    """Appends audit lines to `path` (created with its folder on first use)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    def record(self, account: str, action: str, outcome: str, **fields: object) -> AuditEntry:
        entry = AuditEntry(datetime.now(UTC), account, action, outcome, dict(fields))
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")
        self._file.write(entry.to_json() + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())
        return entry

    def error(self, account: str, action: str, error: BrokerError, **fields: object) -> None:
        self.record(
            account,
            action,
            "error",
            error_kind=error.kind,
            error=error.message,
            http_status=error.status,
            maybe_sent=error.sent,
            **fields,
        )

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def entries(self) -> list[dict[str, Any]]:
        """Every line written so far (for the GUI and tests)."""
        if not self.path.exists():
            return []
        with self.path.open(encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]
