"""The strategy guide's examples are code that runs: each one is taken from
docs/strategy-guide.md as written and backtested on synthetic minute bars."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from engine.backtest import BacktestConfig, run_backtest
from tests.engine.synthetic import make_bars, series

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "strategy-guide.md"


def example(class_name: str, tmp_path: Path) -> type:
    """The guide's ```python block that defines `class_name`, loaded as a module."""
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.S)
    (source,) = [b for b in blocks if f"class {class_name}(" in b]
    path = tmp_path / f"{class_name.lower()}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, class_name)


def test_the_first_example_trades(tmp_path):
    strategy = example("SmaCrossover", tmp_path)
    result = run_backtest(strategy, None, [series(make_bars(3_000, seed=2))], BacktestConfig())
    assert len(result.trades) > 10 and result.rejected_orders == 0


def test_the_pair_example_trades_both_legs_together(tmp_path):
    strategy = example("RatioPair", tmp_path)
    data = [series(make_bars(375 * 6, seed=n), s) for n, s in ((8, "HDFCBANK"), (9, "ICICIBANK"))]
    result = run_backtest(strategy, None, data, BacktestConfig())
    symbols = [t.symbol for t in result.trades]
    assert symbols.count("HDFCBANK") > 5 and symbols.count("ICICIBANK") > 5
    assert result.rejected_orders == 0
    from engine.replay import replay_bars  # as written, it replays (and so runs live) alike

    replayed = replay_bars(strategy, None, data, BacktestConfig())
    assert [(o.symbol, o.placed_bar, o.side, o.quantity) for o in result.order_log] == [
        (o.symbol, o.placed_bar, o.side, o.quantity) for o in replayed.order_log
    ]
    assert replayed.final_equity == result.final_equity


def test_the_parts_examples_trade_the_same_in_backtest_and_replay(tmp_path):
    from engine.replay import replay_bars

    data = series(make_bars(375 * 5, seed=4))
    for name, costs in (("TrendParts", ("zerodha", 2)), ("BreakoutParts", ("zerodha", 0))):
        strategy = example(name, tmp_path)
        result = run_backtest(strategy, None, [data], BacktestConfig())
        assert len(result.trades) > 5 and result.rejected_orders == 0, name
        assert (result.config.costs, result.config.slippage_bps) == costs
        replayed = replay_bars(strategy, None, data, BacktestConfig())
        assert [(o.placed_bar, o.side, o.quantity) for o in result.order_log] == [
            (o.placed_bar, o.side, o.quantity) for o in replayed.order_log
        ]
    assert [p.name for p in strategy.parameters()][:2] == ["window", "sizer_risk_percent"]
