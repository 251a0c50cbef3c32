"""Server-rendered SVG charts: geometry computed here, drawn by templates/manager/_charts.html.

No JavaScript and no CDN: the charts are plain SVG in the page, readable by screen readers
through their title and the data table that follows each one.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

WIDTH, HEIGHT = 720, 240
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 44, 12, 12, 36
PALETTE = ("#0b4f8a", "#c75000", "#1d6b3a", "#7a3fa0", "#9a1b1b", "#00727a")  # distinct, print-safe


def nice_ceiling(value: float) -> float:
    """1, 2, 2.5, 5 or 10 × a power of ten, at least ``value`` (and at least 1)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


@dataclass
class Line:
    name: str
    colour: str
    points: str  # SVG polyline points
    dots: list[tuple[str, str]] = field(default_factory=list)  # (x, y) markers, on short series


@dataclass
class Bar:
    label: str
    value: float
    x: float
    y: float
    width: float
    height: float
    text: str = ""


@dataclass
class Chart:
    title: str
    width: int = WIDTH
    height: int = HEIGHT
    y_ticks: list[tuple[float, str]] = field(default_factory=list)  # (y, label)
    x_labels: list[tuple[float, str]] = field(default_factory=list)  # (x, label)
    lines: list[Line] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
    plot: tuple[float, float, float, float] = (MARGIN_LEFT, MARGIN_TOP, WIDTH - MARGIN_RIGHT, HEIGHT - MARGIN_BOTTOM)

    @property
    def empty(self) -> bool:
        return not self.lines and not self.bars


def _y_axis(top_value: float, fmt, whole: bool = True) -> tuple[float, list[tuple[float, str]]]:
    ceiling = nice_ceiling(top_value)
    if whole:  # counts: four whole steps
        ceiling = max(4, math.ceil(ceiling / 4) * 4)
    bottom, top = HEIGHT - MARGIN_BOTTOM, MARGIN_TOP
    ticks = [(bottom - (bottom - top) * i / 4, fmt(ceiling * i / 4)) for i in range(5)]
    return ceiling, ticks


def _count(value: float) -> str:
    return f"{value:g}"


def line_chart(title: str, keys: list[str], series: dict[str, list[float | None]],
               label_every: int = 1, key_label=str, fmt=_count, ceiling: float | None = None,
               labelled=None) -> Chart:
    """Several series over the same keys; ``None`` values leave a gap. The keys shown under the
    axis are every ``label_every``-th one, or those ``labelled(key)`` accepts."""
    chart = Chart(title)
    top_value = ceiling or max((v for values in series.values() for v in values if v is not None), default=0)
    top_value, chart.y_ticks = _y_axis(top_value, fmt, whole=ceiling is None)
    left, top, right, bottom = chart.plot
    step = (right - left) / max(len(keys) - 1, 1)
    for index, key in enumerate(keys):
        if (labelled(key) if labelled else index % label_every == 0):
            chart.x_labels.append((left + index * step, key_label(key)))
    for number, (name, values) in enumerate(series.items()):
        segments, current = [], []
        for index, value in enumerate(values):
            if value is None:
                segments, current = (segments + [current]) if current else segments, []
                continue
            current.append(f"{left + index * step:.1f},{bottom - (bottom - top) * value / top_value:.1f}")
        if current:
            segments.append(current)
        for segment in segments:
            points = segment if len(segment) > 1 else segment * 2
            dots = [tuple(point.split(",")) for point in segment] if len(keys) <= 31 else []
            chart.lines.append(Line(name, PALETTE[number % len(PALETTE)], " ".join(points), dots))
    return chart


def bar_chart(title: str, labels: list[str], values: list[float], fmt=_count) -> Chart:
    chart = Chart(title)
    top_value, chart.y_ticks = _y_axis(max(values, default=0), fmt)
    left, top, right, bottom = chart.plot
    slot = (right - left) / max(len(values), 1)
    for index, (label, value) in enumerate(zip(labels, values, strict=False)):
        height = (bottom - top) * value / top_value
        x = left + index * slot + slot * 0.15
        chart.bars.append(Bar(label, value, x, bottom - height, slot * 0.7, height, fmt(value)))
        chart.x_labels.append((left + index * slot + slot / 2, label))
    return chart
