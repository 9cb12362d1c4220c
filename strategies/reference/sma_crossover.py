"""SMA crossover, long only: the reference strategy every engine comparison uses.

Semantics (fixed, the benchmark checks them against backtesting.py): SMA of close; a cross
up at bar t is fast[t] > slow[t] and fast[t-1] <= slow[t-1] (first possible at t = slow);
a cross up while flat buys `quantity`, a cross down while long sells everything; orders fill
at the next bar's open.

The conditions are built from the Series `self.I` returns (not their `.full()` arrays), so the
same class runs bar by bar live and in replay (engine/replay) with identical orders.
"""

from strategies.sdk import BarView, Param, Strategy, crossed_above, crossed_below, sma


class SmaCrossover(Strategy):
    name = "sma_crossover"

    fast = Param(10, min=1, max=500, help="bars in the fast simple moving average")
    slow = Param(30, min=2, max=2000, help="bars in the slow simple moving average")
    quantity = Param(100, min=1, help="shares (or units) bought on a cross up")

    def init(self) -> None:
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be shorter than slow ({self.slow})")
        fast = self.I(sma, self.data.close, self.fast, name=f"sma{self.fast}")
        slow = self.I(sma, self.data.close, self.slow, name=f"sma{self.slow}")
        self.on(crossed_above(fast, slow), self.enter)  # Series in: the condition keeps its
        self.on(crossed_below(fast, slow), self.exit)  # recipe, so it also runs bar by bar

    def enter(self, bar: BarView) -> None:
        if self.position.is_flat:
            self.buy(self.quantity)

    def exit(self, bar: BarView) -> None:
        if self.position.is_long:
            self.close_position()
