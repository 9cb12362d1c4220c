"""The order-input fixes as a user meets them: `artha backtest` in a subprocess on a 3,000-bar
broker-style CSV, with strategy files written the way a newcomer writes them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.app.backtest_cli_helpers import artha, csv_lines, write_csv, write_strategy

ENTRIES = '''\
"""Buys on every cross up of SMA(10) over SMA(30) while flat, with the options below."""

from strategies.sdk import BarView, Param, Strategy, crossed_above, sma


class Entries(Strategy):
    fast = Param(10, min=1)

    def init(self) -> None:
        fast = self.I(sma, self.data.close, self.fast)
        slow = self.I(sma, self.data.close, 30)
        self.on(crossed_above(fast, slow), self.enter)

    def enter(self, bar: BarView) -> None:
        c = self.data.close[-1]
        if self.position.is_flat:
            self.buy(100, {options})
'''


@pytest.fixture(scope="module")
def csv_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_csv(tmp_path_factory.mktemp("bars") / "RELIANCE.csv", csv_lines())


def backtest(tmp_path: Path, csv: Path, options: str, *args: str):
    source = write_strategy(tmp_path / "entries.py", ENTRIES.format(options=options))
    out = artha("--strategy", str(source), "--data", str(csv), *args, home=tmp_path / "home")
    assert "Traceback" not in out.stderr, out.stderr
    return source, out


def line_of(source: Path, text: str) -> int:
    (number,) = [n for n, line in enumerate(source.read_text().splitlines(), 1) if text in line]
    return number


def test_slippage_beyond_10000_bps_is_a_cli_error(tmp_path, csv_file):
    _, out = backtest(tmp_path, csv_file, 'product="MIS"', "--slippage-bps", "1e9")
    assert out.returncode == 2
    assert out.stdout == ""
    assert out.stderr == (
        "artha backtest: error: slippage_bps must be between 0 and 10000 basis points "
        "(10000 bps = 100% of the price), got 1000000000\n"
    )


def test_numpy_prices_from_the_close_run(tmp_path, csv_file):
    options = 'product="MIS", stop_loss=round(c * 0.998, 1), target=round(c * 1.003, 1)'
    _, out = backtest(tmp_path, csv_file, options, "--json", "-")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["rejections"] == []
    assert len(report["trades"]) > 10


def test_a_bad_product_names_the_strategy_line_and_the_valid_values(tmp_path, csv_file):
    source, out = backtest(tmp_path, csv_file, 'product="XYZ"')
    assert out.returncode == 2
    assert "ValueError: product='XYZ' is not valid: use one of 'CNC', 'MIS', 'NRML'" in out.stderr
    assert f"{source}:{line_of(source, 'self.buy(100')}" in out.stderr
    assert "enum.py" not in out.stderr


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ('price="x"', "BUY 100 rejected: price must be a number, got 'x'"),
        (
            'product="MIS", stop_loss=8, target=16',
            "BUY 100 rejected: target 16.00 is below the entry price ",
        ),
    ],
    ids=["price-text", "distances-as-prices"],
)
def test_nonsense_orders_are_reported_as_rejections(tmp_path, csv_file, options, fragment):
    _, out = backtest(tmp_path, csv_file, options, "--json", "-")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["trades"] == []
    assert report["rejections"] and all(fragment in r for r in report["rejections"])
