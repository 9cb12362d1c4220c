"""The --json report's writer: the same document json.dumps would give, trades one per line."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from app.commands.backtest_report import indented

leaf = st.none() | st.booleans() | st.integers() | st.text(max_size=8)
value = st.recursive(
    leaf,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.text(max_size=6), value, max_size=6))
def test_any_report_reads_back_as_itself(report):
    assert json.loads(indented(report)) == report


def test_each_trade_is_one_line():
    trades = [{"symbol": "INFY", "quantity": n, "net_pnl": "1.50"} for n in range(3)]
    lines = indented({"strategy": "s", "trades": trades, "metrics": {"sharpe": 1.2}}).splitlines()
    assert lines[2:7] == [
        '  "trades": [',
        '    {"symbol": "INFY", "quantity": 0, "net_pnl": "1.50"},',
        '    {"symbol": "INFY", "quantity": 1, "net_pnl": "1.50"},',
        '    {"symbol": "INFY", "quantity": 2, "net_pnl": "1.50"}',
        "  ],",
    ]
