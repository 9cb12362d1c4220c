"""The file `artha strategies new NAME` writes: a working strategy, commented for a first read.

`template(class_name)` gives its text; a test loads and backtests it as written.
"""

from __future__ import annotations

_TEMPLATE = '''"""{class_name}: describe the idea in a sentence or two (what it buys, when, why).

Run it:    artha backtest --strategy {name} --symbol INFY
Check it:  artha strategies list
Everything a strategy may use comes from strategies.sdk (docs/strategy-guide.md).
"""

from strategies.sdk import BarView, Param, Strategy, crossed_above, crossed_below, ema


class {class_name}(Strategy):
    # Parameters: typed, with ranges and help. `--param fast=12` sets one for a run; the
    # backtest wizard and the optimiser read them from here. They are read-only in the run.
    fast = Param(12, min=2, max=200, help="bars in the fast EMA")
    slow = Param(26, min=3, max=500, help="bars in the slow EMA")
    quantity = Param(50, min=1, help="shares per entry (whole lots for F&O)")
    stop = Param(2.0, min=0.05, help="stop-loss distance in rupees below the entry fill")

    def init(self) -> None:
        # Runs once before the first bar. Compute indicators over the whole history with
        # self.I (they also run bar by bar live), then say on which bars to act.
        fast = self.I(ema, self.data.close, self.fast, name="fast ema")
        slow = self.I(ema, self.data.close, self.slow, name="slow ema")
        self.on(crossed_above(fast, slow), self.enter)
        self.on(crossed_below(fast, slow), self.leave)

    def enter(self, bar: BarView) -> None:
        # Called at the close of each bar where the condition holds; the order fills at the
        # next bar's open. stop_loss_points places a stop-loss exit once the entry fills.
        if self.position.is_flat:
            self.buy(self.quantity, stop_loss_points=self.stop)

    def leave(self, bar: BarView) -> None:
        if self.position.is_long:
            self.close_position()
'''


def template(name: str) -> str:
    """The template for a strategy file `name`.py (its class is the CamelCase of `name`)."""
    class_name = "".join(part.capitalize() for part in name.split("_") if part) or "MyStrategy"
    return _TEMPLATE.format(name=name, class_name=class_name)
