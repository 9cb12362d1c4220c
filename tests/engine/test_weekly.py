"""Weekly-target evaluator: IST week grouping, each badge with its deciding criterion."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import numpy as np
import pytest

from engine.calendar import IST
from engine.metrics import Badge, EquityCurve, WeeklyReport, WeeklyTarget, evaluate_weekly

pytestmark = pytest.mark.filterwarnings("error")

FRIDAY = dt.datetime(2024, 6, 7, 15, 30, tzinfo=IST)  # a Friday close on NSE
WEEK = dt.timedelta(weeks=1)


def ns(moment: dt.datetime) -> int:
    return (moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1) * 1000


def curve(equity: list[float], times: list[dt.datetime]) -> EquityCurve:
    values = np.array(equity, dtype=np.float64)
    return EquityCurve(
        timestamps=np.array([ns(t) for t in times], dtype=np.int64),
        equity=values,
        gross_equity=values,
        exposure=np.zeros(len(equity)),
    )


def weekly(returns: list[float], capital: float = 100.0) -> EquityCurve:
    """One close per week, every Friday, compounding `returns` from `capital`."""
    equity = list(capital * np.cumprod(1 + np.array(returns)))
    return curve(equity, [FRIDAY + k * WEEK for k in range(len(returns))])


def report_json(report: WeeklyReport) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(json.dumps(report.as_json(), allow_nan=False))
    return result


def test_weeks_are_ist_weeks_not_utc_weeks():
    # Sun 9 Jun 23:00 IST (17:30 UTC Sun) closes the week of Mon 3 Jun;
    # Mon 10 Jun 00:30 IST is still Sunday (19:00 UTC) in UTC but starts the IST week of 10 Jun.
    sunday_late = dt.datetime(2024, 6, 9, 23, 0, tzinfo=IST)
    monday_early = dt.datetime(2024, 6, 10, 0, 30, tzinfo=IST)
    assert monday_early.astimezone(dt.UTC) == dt.datetime(2024, 6, 9, 19, 0, tzinfo=dt.UTC)
    report = evaluate_weekly(curve([101, 103], [sunday_late, monday_early]), 100)
    assert [w.week_start for w in report.weeks] == [dt.date(2024, 6, 3), dt.date(2024, 6, 10)]
    assert report.weeks[0].weekly_return == pytest.approx(0.01)  # from the capital
    assert report.weeks[1].weekly_return == pytest.approx(103 / 101 - 1)


def test_last_sample_of_the_week_closes_it_and_empty_weeks_are_skipped():
    # week of 3 Jun: 102 then 104 (the close); no bars in the week of 10 Jun;
    # week of 17 Jun: 99.84 -> its return is against 104, not a 0% week in between
    times = [FRIDAY - 2 * dt.timedelta(days=1), FRIDAY, FRIDAY + 2 * WEEK]
    report = evaluate_weekly(curve([102, 104, 99.84], times), 100)
    assert [w.week_start.isoformat() for w in report.weeks] == ["2024-06-03", "2024-06-17"]
    assert [w.weekly_return for w in report.weeks] == [
        pytest.approx(0.04),
        pytest.approx(-0.04),
    ]
    assert report_json(report)["weeks"] == [
        {"week_start": "2024-06-03", "return": pytest.approx(0.04), "equity": 104.0},
        {"week_start": "2024-06-17", "return": pytest.approx(-0.04), "equity": 99.84},
    ]


def test_green_decided_by_the_closest_criterion():
    # mean = (.02 - .01 + .02 + .015 + .01 + .017) / 6 = 1.2%: 20% above its 1% target
    # max drawdown = 1% (the one down week): 90% inside the 10% limit
    # p5: sorted -.01, .01, .015, .017, .02, .02; position .25 -> -.01 + .25*.02 = -0.5%,
    #     83% inside -3%.  Closest to failing: the mean.
    report = evaluate_weekly(weekly([0.02, -0.01, 0.02, 0.015, 0.01, 0.017]), 100)
    assert report.badge is Badge.GREEN
    assert report.decided_by == ("mean_weekly_return",)
    assert report.criterion("mean_weekly_return").actual == pytest.approx(0.012)
    assert report.criterion("max_drawdown").actual == pytest.approx(0.01)
    assert report.criterion("p5_weekly_return").actual == pytest.approx(-0.005)
    assert all(c.passed and c.shortfall == 0 for c in report.criteria)
    assert report.summary == (
        "GREEN: all 3 criteria met; closest: mean weekly return 1.20% meets the 1.00% target "
        "with 0.20 pp to spare"
    )
    assert report.warnings == ()


def test_green_decided_by_drawdown():
    # 36 weeks of +2% then 4 weeks of -2.5%: drawdown 1 - .975^4 = 9.63% (3.7% headroom),
    # mean (36*.02 - 4*.025)/40 = 1.55%, p5 = -2.5% (17% headroom)
    report = evaluate_weekly(weekly([0.02] * 36 + [-0.025] * 4), 100)
    assert report.badge is Badge.GREEN
    assert report.decided_by == ("max_drawdown",)
    assert report.criterion("max_drawdown").actual == pytest.approx(1 - 0.975**4)


def test_amber_when_the_mean_misses_by_less_than_the_margin():
    report = evaluate_weekly(weekly([0.0085] * 8), 100)
    assert report.badge is Badge.AMBER
    assert report.decided_by == ("mean_weekly_return",)
    mean = report.criterion("mean_weekly_return")
    assert not mean.passed and mean.near_miss
    assert mean.shortfall == pytest.approx(0.0015)
    assert mean.relative_margin == pytest.approx(-0.15)
    assert report.summary == "AMBER: mean weekly return 0.85% is below the 1.00% target by 0.15 pp"


def test_amber_lists_every_near_miss_worst_first():
    # four -2.9% weeks: drawdown 1 - .971^4 = 11.105% (11% over the limit, inside 12%);
    # the other 36 weeks at x with (36x - .116)/40 = 0.9%: mean 10% short (inside 0.8%)
    x = (0.009 * 40 + 4 * 0.029) / 36
    report = evaluate_weekly(weekly([x] * 36 + [-0.029] * 4), 100)
    assert report.badge is Badge.AMBER
    assert report.decided_by == ("max_drawdown", "mean_weekly_return")
    assert report.criterion("p5_weekly_return").passed  # -2.9% >= -3%
    assert report.summary == (
        "AMBER: max drawdown 11.11% is above the 10.00% limit by 1.11 pp; "
        "mean weekly return 0.90% is below the 1.00% target by 0.10 pp"
    )


def test_red_decided_by_the_worst_relative_shortfall():
    # nineteen +5% weeks and one -15% week: drawdown 15% (50% over the limit) fails;
    # mean (19*.05 - .15)/20 = 4% passes.
    returns = [0.05] * 19 + [-0.15]
    report = evaluate_weekly(weekly(returns), 100)
    assert report.badge is Badge.RED
    p5 = report.criterion("p5_weekly_return")
    drawdown = report.criterion("max_drawdown")
    assert report.criterion("mean_weekly_return").passed
    # p5 at position .05*19 = .95, between -15% and +5%: -.15 + .95*.2 = +4%, passes
    assert p5.actual == pytest.approx(-0.15 + 0.95 * 0.20)
    assert p5.passed
    assert drawdown.actual == pytest.approx(0.15)
    assert report.decided_by == ("max_drawdown",)
    assert report.summary == "RED: max drawdown 15.00% is above the 10.00% limit by 5.00 pp"


def test_red_when_one_near_miss_meets_one_far_miss():
    # mean 0.9% (near miss), p5 about -5% (far below -3.6%): RED, decided by the p5
    # 18 weeks at x, two at -5%: (18x - .1)/20 = .9%; p5 at position .95 is -5%
    # (67% short of -3%); drawdown 1 - .95^2 = 9.75% passes
    x = (0.009 * 20 + 0.1) / 18
    report = evaluate_weekly(weekly([x] * 18 + [-0.05, -0.05]), 100)
    mean = report.criterion("mean_weekly_return")
    assert mean.actual == pytest.approx(0.009) and mean.near_miss
    assert report.badge is Badge.RED
    assert report.decided_by == ("p5_weekly_return",)
    assert not report.criterion("p5_weekly_return").near_miss


def test_margin_and_thresholds_are_configurable():
    returns = [0.007] * 8  # mean 0.7%: 30% short of 1%
    assert evaluate_weekly(weekly(returns), 100).badge is Badge.RED
    wide = WeeklyTarget(amber_margin=0.5)
    assert evaluate_weekly(weekly(returns), 100, wide).badge is Badge.AMBER
    strict = WeeklyTarget(amber_margin=0.0)
    assert evaluate_weekly(weekly([0.0099] * 8), 100, strict).badge is Badge.RED
    easy = WeeklyTarget(min_mean_weekly_return=0.005)
    assert evaluate_weekly(weekly(returns), 100, easy).badge is Badge.GREEN
    p10 = evaluate_weekly(weekly(returns), 100, WeeklyTarget(percentile=10))
    assert p10.criteria[2].name == "p10_weekly_return"
    assert p10.criteria[2].label == "10th-percentile weekly return"


def test_a_result_exactly_on_the_threshold_passes():
    # +1% every week is 1% up to float noise in the compounded equity
    report = evaluate_weekly(weekly([0.01] * 10), 100)
    assert report.badge is Badge.GREEN


def test_intra_week_drawdown_counts_even_if_the_week_closes_flat():
    # Mon 100 -> Wed 85 -> Fri 100: weekly return 0%, but a 15% drawdown inside the week
    days = [FRIDAY - 4 * dt.timedelta(days=1), FRIDAY - 2 * dt.timedelta(days=1), FRIDAY]
    report = evaluate_weekly(curve([100, 85, 100], days), 100)
    assert report.criterion("max_drawdown").actual == pytest.approx(0.15)
    assert report.badge is Badge.RED


def test_few_weeks_warns_but_still_badges():
    report = evaluate_weekly(weekly([0.02, 0.015]), 100)
    assert report.badge is Badge.GREEN
    assert report.warnings == ("only 2 weeks of data (fewer than 4); the badge is indicative",)
    assert report.summary.endswith("(only 2 weeks of data)")
    assert evaluate_weekly(weekly([0.02, 0.015]), 100, WeeklyTarget(min_weeks=2)).warnings == ()


def test_single_bar():
    report = evaluate_weekly(curve([100], [FRIDAY]), 100)
    assert [w.weekly_return for w in report.weeks] == [0.0]
    assert report.badge is Badge.RED  # mean 0% is 100% short of 1%
    assert report.warnings[0].startswith("only 1 week of data")


def test_as_json_shape():
    out = report_json(evaluate_weekly(weekly([0.0085] * 8), 100))
    assert out["badge"] == "AMBER"
    assert out["decided_by"] == ["mean_weekly_return"]
    criteria = out["criteria"]
    assert [c["name"] for c in criteria] == [
        "mean_weekly_return",
        "max_drawdown",
        "p5_weekly_return",
    ]
    assert set(criteria[0]) == {
        "name",
        "label",
        "kind",
        "actual",
        "threshold",
        "passed",
        "shortfall",
        "relative_margin",
        "near_miss",
    }
    assert out["target"] == {
        "min_mean_weekly_return": 0.01,
        "max_drawdown": 0.1,
        "min_percentile_weekly_return": -0.03,
        "percentile": 5.0,
        "amber_margin": 0.2,
        "min_weeks": 4,
    }


def test_wiped_out_week_has_no_return_but_does_not_crash():
    times = [FRIDAY + k * WEEK for k in range(3)]
    report = evaluate_weekly(curve([50, -10, 5], times), 100)
    assert [w.weekly_return for w in report.weeks] == [
        pytest.approx(-0.5),
        pytest.approx(-1.2),
        None,
    ]
    assert report.badge is Badge.RED
    report_json(report)


@pytest.mark.parametrize(
    "bad",
    [
        {"percentile": 0},
        {"percentile": 100},
        {"amber_margin": -0.1},
        {"max_drawdown": -0.1},
        {"min_weeks": 0},
    ],
)
def test_target_is_validated(bad):
    with pytest.raises(ValueError):
        WeeklyTarget(**bad)
