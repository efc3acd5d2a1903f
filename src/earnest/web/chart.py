"""The overview's chart of settlements per day, drawn on the server as SVG geometry: no
script, no library, readable by a screen reader through its table twin."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from earnest.service.overview import DaySettled

WIDTH, HEIGHT = 720, 180  # the drawing's own units (it scales to its box)
LEFT, BOTTOM, TOP = 40, 24, 8  # room for the axis labels
GAP = 2


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    width: float
    confirmed_y: float
    confirmed_height: float
    cancelled_y: float
    cancelled_height: float
    label: str  # its tooltip: "24 Nov: 120 confirmed, 3 cancelled"


@dataclass(frozen=True, slots=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    left: int
    baseline: float
    top: float
    peak: int  # the value at the top of the axis
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]  # a date under every seventh bar, the last one included


def nice_peak(highest: int) -> int:
    """The axis's top: 1, 2 or 5 times a power of ten, at least ``highest`` (and 1)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= max(highest, 1):
                return step * factor
        step *= 10


def settlements_chart(days: Sequence[DaySettled]) -> Chart:
    peak = nice_peak(max((day.total for day in days), default=0))
    plot_width = WIDTH - LEFT
    baseline = HEIGHT - BOTTOM
    plot_height = baseline - TOP
    slot = plot_width / max(len(days), 1)
    bars, ticks = [], []
    for index, day in enumerate(days):
        x = LEFT + index * slot
        confirmed = plot_height * day.confirmed / peak
        cancelled = plot_height * day.cancelled / peak
        label = f"{day.day.day} {day.day:%b}: {day.confirmed} confirmed, {day.cancelled} cancelled"
        bars.append(
            Bar(
                round(x + GAP / 2, 2),
                round(slot - GAP, 2),
                round(baseline - confirmed, 2),
                round(confirmed, 2),
                round(baseline - confirmed - cancelled, 2),
                round(cancelled, 2),
                label,
            )
        )
        if (len(days) - 1 - index) % 7 == 0:
            ticks.append(Tick(round(x + slot / 2, 2), f"{day.day.day} {day.day:%b}"))
    return Chart(WIDTH, HEIGHT, LEFT, baseline, TOP, peak, tuple(bars), tuple(ticks))
