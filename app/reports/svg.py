"""Charts as inline SVG text, for a report that must open anywhere with no network and no script.

Long curves are thinned to a min/max envelope per pixel column before they are drawn, so a
million-bar run is a few thousand points in the file and looks the same as every bar drawn.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape

import numpy as np
import numpy.typing as npt

from app.reports.analysis import MONTHS, MonthlyReturns

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
NS_PER_SECOND = 1_000_000_000
IST_OFFSET_S = 19_800  # +05:30: axis dates are the exchange's


@dataclass(frozen=True)
class SvgColours:
    """The report's palette (light: it is printed and mailed)."""

    text: str = "#131722"
    muted: str = "#6a6d78"
    grid: str = "#e6e9f0"
    axis: str = "#c5cad6"
    net: str = "#2962ff"
    gross: str = "#9aa3b5"
    up: str = "#089981"
    down: str = "#f23645"
    amber: str = "#f0a202"
    empty: str = "#f3f4f7"


COLOURS = SvgColours()


def envelope(x: FloatArray, y: FloatArray, columns: int) -> tuple[FloatArray, FloatArray]:
    """At most ~2 x `columns` points that draw as the whole series: each column's min and max,
    in the order they occur (a curve that falls then rises keeps its shape)."""
    n = y.size
    if n <= 2 * columns:
        return x, y
    edges = np.linspace(0, n, columns + 1).astype(np.int64)[:-1]
    lo_idx = np.empty(columns, dtype=np.int64)
    hi_idx = np.empty(columns, dtype=np.int64)
    bounds = np.append(edges, n)
    for k in range(columns):  # a few thousand columns: argmin/argmax per slice is cheap
        part = y[bounds[k] : bounds[k + 1]]
        lo_idx[k] = bounds[k] + int(np.argmin(part))
        hi_idx[k] = bounds[k] + int(np.argmax(part))
    pick = np.sort(np.unique(np.concatenate([lo_idx, hi_idx, [0, n - 1]])))
    return x[pick], y[pick]


def _nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    if not math.isfinite(lo) or not math.isfinite(hi):
        return []
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    start = math.ceil(lo / step) * step
    ticks = []
    value = start
    while value <= hi + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    return ticks


def _date_ticks(t0: float, t1: float, count: int = 6) -> list[tuple[float, str]]:
    """Evenly spaced IST dates along a seconds axis, labelled by what the span needs."""
    if t1 <= t0:
        return [(t0, _ist(t0).strftime("%d %b %Y"))]
    span_days = (t1 - t0) / 86_400
    fmt = "%d %b %H:%M" if span_days < 3 else ("%d %b %Y" if span_days < 400 else "%b %Y")
    return [(t, _ist(t).strftime(fmt)) for t in np.linspace(t0, t1, count).tolist()]


def _ist(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds + IST_OFFSET_S, UTC)


FONT = "Segoe UI, Roboto, Helvetica, Arial, sans-serif"


def el(tag: str, attrs: Mapping[str, object], text: str | None = None) -> str:
    """One SVG element; attribute names as written (font-size), floats to 0.1 px."""
    parts = [
        f'{k}="{v:.1f}"' if isinstance(v, float) else f'{k}="{escape(str(v))}"'
        for k, v in attrs.items()
    ]
    head = f"<{tag} {' '.join(parts)}"
    return f"{head}/>" if text is None else f"{head}>{escape(text)}</{tag}>"


def svg_open(css_class: str, width: int, height: int, label: str) -> str:
    return (
        f'<svg class="{css_class}" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}" '
        f'font-family="{FONT}">'
    )


def _label(x: float, y: float, text: str, anchor: str = "middle", **extra: object) -> str:
    attrs: dict[str, object] = {"x": x, "y": y, "font-size": 11, "text-anchor": anchor}
    attrs["fill"] = COLOURS.muted
    attrs.update({k.replace("_", "-"): v for k, v in extra.items()})
    return el("text", attrs, text)


def _hline(x1: float, x2: float, y: float, colour: str) -> str:
    return el("line", {"x1": x1, "x2": x2, "y1": y, "y2": y, "stroke": colour})


def _path(xs: Sequence[float], ys: Sequence[float]) -> str:
    parts = [f"M{xs[0]:.1f},{ys[0]:.1f}"]
    parts += [f"L{x:.1f},{y:.1f}" for x, y in zip(xs[1:], ys[1:], strict=True)]
    return "".join(parts)


@dataclass(frozen=True)
class Series:
    label: str
    values: FloatArray
    colour: str
    width: float = 1.6
    fill_to_zero: bool = False


def line_chart(
    timestamps: IntArray,
    series: Sequence[Series],
    *,
    title: str,
    y_text: Callable[[float], str],
    width: int = 960,
    height: int = 260,
    css_class: str = "chart",
) -> str:
    """A time-series chart: gridlines, IST date axis, value axis, a legend, one path each."""
    left, right, top, bottom = 78, 16, 30, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    seconds = timestamps.astype(np.float64) / NS_PER_SECOND
    thinned = [envelope(seconds, s.values, plot_w) for s in series]
    t0, t1 = float(seconds[0]), float(seconds[-1])
    values = np.concatenate(
        [y for _, y in thinned] + ([np.zeros(1)] if any(s.fill_to_zero for s in series) else [])
    )
    lo, hi = float(np.min(values)), float(np.max(values))
    if hi - lo < 1e-12:
        lo, hi = lo - 1.0, hi + 1.0
    pad = (hi - lo) * 0.05
    lo, hi = lo - (0 if any(s.fill_to_zero for s in series) and lo >= 0 else pad), hi + pad

    def sx(t: float) -> float:
        return left + (t - t0) / (t1 - t0) * plot_w if t1 > t0 else left + plot_w / 2

    def sy(v: float) -> float:
        return top + (hi - v) / (hi - lo) * plot_h

    out = [
        svg_open(css_class, width, height, title),
        el(
            "text",
            {"x": left, "y": 18, "font-size": 13, "font-weight": 600, "fill": COLOURS.text},
            title,
        ),
    ]
    for v in _nice_ticks(lo, hi):
        y = sy(v)
        out.append(_hline(left, left + plot_w, y, COLOURS.grid))
        out.append(_label(left - 6, y + 4, y_text(v), "end"))
    for t, label in _date_ticks(t0, t1):
        x = sx(t)
        anchor = "start" if x < left + 30 else ("end" if x > left + plot_w - 30 else "middle")
        out.append(_label(x, height - 8, label, anchor))
    out.append(_hline(left, left + plot_w, top + plot_h, COLOURS.axis))
    legend_x = left + plot_w
    for s, (tx, vy) in zip(series, thinned, strict=True):
        xs = [sx(v) for v in tx.tolist()]
        ys = [sy(v) for v in vy.tolist()]
        path = _path(xs, ys)
        if s.fill_to_zero:
            zero = sy(0.0)
            area = f"{path}L{xs[-1]:.1f},{zero:.1f}L{xs[0]:.1f},{zero:.1f}Z"
            out.append(f'<path d="{area}" fill="{s.colour}" fill-opacity="0.18" stroke="none"/>')
        out.append(
            f'<path d="{path}" fill="none" stroke="{s.colour}" stroke-width="{s.width}" '
            'stroke-linejoin="round"/>'
        )
    for s in reversed(series):
        text_w = 7 * len(s.label) + 22
        legend_x -= text_w
        out.append(el("rect", {"x": legend_x, "y": 9, "width": 12, "height": 3, "fill": s.colour}))
        out.append(_label(legend_x + 16, 15, s.label, "start"))
    out.append("</svg>")
    return "".join(out)


def return_colour(value: float | None, scale: float) -> str:
    """Green for gains, red for losses, stronger with size (blended over white)."""
    if value is None:
        return COLOURS.empty
    strength = min(abs(value) / scale, 1.0) * 0.85 + 0.1
    base = COLOURS.up if value >= 0 else COLOURS.down
    r, g, b = (int(base[i : i + 2], 16) for i in (1, 3, 5))
    mix = [round(255 + (c - 255) * strength) for c in (r, g, b)]
    return "#{:02x}{:02x}{:02x}".format(*mix)


def text_on(fill: str) -> str:
    """Dark or white text, whichever reads on `fill`."""
    r, g, b = (int(fill[i : i + 2], 16) for i in (1, 3, 5))
    return "#ffffff" if 0.299 * r + 0.587 * g + 0.114 * b < 150 else COLOURS.text


def monthly_heatmap(table: MonthlyReturns, width: int = 960) -> str:
    """Years down, months across, a year column; each cell coloured by its return."""
    left, top, cell_h, year_w = 56, 26, 26, 74
    cell_w = (width - left - year_w - 8) / 12
    height = top + cell_h * max(1, len(table.years)) + 8
    scale = table.largest()
    out = [svg_open("heatmap", width, height, "Monthly returns")]
    for m, name in enumerate(MONTHS):
        out.append(_label(left + m * cell_w + cell_w / 2, 17, name))
    out.append(_label(left + 12 * cell_w + year_w / 2 + 4, 17, "Year", font_weight=600))
    for row, year in enumerate(table.years):
        y = top + row * cell_h
        out.append(_label(left - 8, y + cell_h / 2 + 4, str(year), "end", fill=COLOURS.text))
        cells: list[tuple[float, float, float | None, bool]] = [
            (left + m * cell_w, cell_w, v, False) for m, v in enumerate(table.cells[year])
        ]
        cells.append((left + 12 * cell_w + 4, year_w, table.year_total[year], True))
        for x, w, value, bold in cells:
            fill = return_colour(value, scale)
            box = {"x": x + 1, "y": y + 1, "width": w - 2, "height": cell_h - 2, "rx": 3}
            out.append(el("rect", {**box, "fill": fill}))
            if value is not None:
                text = f"{value * 100:+.1f}%"
                weight = 600 if bold else 400
                out.append(
                    _label(
                        x + w / 2, y + cell_h / 2 + 4, text, fill=text_on(fill), font_weight=weight
                    )
                )
    out.append("</svg>")
    return "".join(out)


def weekly_bars(returns: Sequence[float | None], width: int = 960, height: int = 150) -> str:
    """Each IST week's return as a bar: green up, red down."""
    left, right, top, bottom = 56, 10, 10, 18
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [0.0 if v is None else v for v in returns] or [0.0]
    top_v = max(max(values), 0.0)
    low_v = min(min(values), 0.0)
    if top_v - low_v < 1e-12:
        top_v, low_v = 0.01, -0.01

    def sy(v: float) -> float:
        return top + (top_v - v) / (top_v - low_v) * plot_h

    step = plot_w / len(values)
    bar = max(step * 0.7, 0.6)
    out = [svg_open("weekly", width, height, "Weekly returns")]
    for v in _nice_ticks(low_v, top_v, 4):
        y = sy(v)
        out.append(_hline(left, left + plot_w, y, COLOURS.grid))
        out.append(_label(left - 6, y + 4, f"{round(v * 100, 1) + 0.0:.1f}%", "end"))
    zero = sy(0.0)
    for k, v in enumerate(values):
        y = min(sy(v), zero)
        h = max(abs(sy(v) - zero), 0.5)
        colour = COLOURS.up if v >= 0 else COLOURS.down
        out.append(
            el("rect", {"x": left + k * step, "y": y, "width": bar, "height": h, "fill": colour})
        )
    out.append(_hline(left, left + plot_w, zero, COLOURS.axis))
    out.append(_label(left, height - 3, f"{len(values)} weeks", "start"))
    out.append("</svg>")
    return "".join(out)


BADGE_COLOURS = {"GREEN": COLOURS.up, "AMBER": COLOURS.amber, "RED": COLOURS.down}


def badge(name: str) -> str:
    """The weekly-target badge as a pill."""
    colour = BADGE_COLOURS.get(name, COLOURS.muted)
    width = 16 + 9 * len(name)
    text: dict[str, object] = {"x": width / 2, "y": 17.5, "font-size": 12.5, "font-weight": 700}
    text.update({"text-anchor": "middle", "fill": "#ffffff", "letter-spacing": 0.5})
    return (
        f'<svg class="badge" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} 26" '
        f'width="{width}" height="26" role="img" aria-label="Weekly target {escape(name)}" '
        f'font-family="{FONT}">'
        + el("rect", {"width": width, "height": 26, "rx": 13, "fill": colour})
        + el("text", text, name)
        + "</svg>"
    )
