"""Axis labels of the results plots: one unit per axis, never two ticks reading the same."""

from __future__ import annotations

import numpy as np

from app.gui.value_axes import PercentAxis, RupeeAxis, percent_ticks, rupee_ticks


def test_a_capital_near_one_crore_reads_in_lakh_with_distinct_ticks():
    values = [9_965_000.0, 9_980_000.0, 9_995_000.0, 10_010_000.0]
    labels = rupee_ticks(values, 15_000.0)
    assert labels == ["99.65 L", "99.80 L", "99.95 L", "100.10 L"]
    close = rupee_ticks([10_000_000.0, 10_000_500.0], 500.0)
    assert close[0] != close[1]  # 100.000 L / 100.005 L


def test_crores_rupees_and_zero():
    assert rupee_ticks([20_000_000.0, 30_000_000.0], 10_000_000.0) == ["2.00 Cr", "3.00 Cr"]
    assert rupee_ticks([0.0, 50_000.0, 100_000.0], 50_000.0) == ["0", "50,000", "1,00,000"]
    assert rupee_ticks([-500.0, 0.0, 500.0], 500.0) == ["-500", "0", "500"]


def test_percent_ticks_keep_the_decimals_the_spacing_needs():
    assert percent_ticks([-0.3, -0.2, -0.1, 0.0], 0.1) == ["-0.3%", "-0.2%", "-0.1%", "0.0%"]
    assert percent_ticks([-0.35, -0.30], 0.05) == ["-0.35%", "-0.30%"]
    assert percent_ticks([-20.0, -10.0, 0.0], 10.0) == ["-20%", "-10%", "0%"]


def test_the_axes_never_rescale_into_an_si_prefix(qtbot):
    for axis in (RupeeAxis(), PercentAxis()):
        axis.setRange(-0.004, 0.0)
        assert axis.autoSIPrefix is False
        assert axis.autoSIPrefixScale == 1.0
        assert "x0.001" not in axis.labelString()
    assert PercentAxis().tickStrings(list(np.linspace(-0.3, 0.0, 4)), 1.0, 0.1)[0] == "-0.3%"
