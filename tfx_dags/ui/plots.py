"""Evaluation plots as SVG, drawn server-side from TFMA's metrics (no plotting library).

One grouped bar chart per metric: a group per slice, a bar per model (candidate, and the
baseline it was compared with), and a dashed line per value threshold of the metric.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from tfx_dags.common.errors import TfxDagsError

WIDTH = 640
HEIGHT = 300
MARGIN = {"left": 56, "right": 16, "top": 40, "bottom": 72}
COLORS = {"candidate": "#1f6feb", "baseline": "#9aa4ae"}
THRESHOLD_COLOR = "#d1242f"


class PlotError(TfxDagsError, ValueError):
    """The evaluation has no values for the metric asked for."""


def metric_names(evaluation: Mapping[str, Any]) -> list[str]:
    """Every scalar metric of the candidate model, in a stable order."""
    names = {
        name
        for slice_ in evaluation.get("slices", [])
        for name in slice_["metrics"].get("candidate", {})
    }
    return sorted(names)


def metric_svg(evaluation: Mapping[str, Any], metric: str) -> str:
    """The SVG document of ``metric`` across the evaluation's slices."""
    slices = [
        s for s in evaluation.get("slices", []) if metric in s["metrics"].get("candidate", {})
    ]
    if not slices:
        raise PlotError(
            f"the evaluation has no metric {metric!r}; it has {metric_names(evaluation)}"
        )
    models = [
        m
        for m in ("candidate", "baseline")
        if any(metric in s["metrics"].get(m, {}) for s in slices)
    ]
    bounds = _value_bounds(evaluation, metric)
    values = [
        s["metrics"][m][metric] for s in slices for m in models if metric in s["metrics"].get(m, {})
    ]
    low, high = _axis_range([*values, *bounds.values()])

    plot_w = WIDTH - MARGIN["left"] - MARGIN["right"]
    plot_h = HEIGHT - MARGIN["top"] - MARGIN["bottom"]

    def y(value: float) -> float:
        return MARGIN["top"] + plot_h * (high - value) / (high - low)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" font-family="sans-serif" font-size="12">',
        f"<title>{escape(metric)} per slice</title>",
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
        f'<text x="{MARGIN["left"]}" y="20" font-size="14" font-weight="bold">'
        f"{escape(metric)}</text>",
    ]
    for tick in _ticks(low, high):
        ty = y(tick)
        parts.append(
            f'<line x1="{MARGIN["left"]}" x2="{WIDTH - MARGIN["right"]}" y1="{ty:.1f}" '
            f'y2="{ty:.1f}" stroke="#e5e7eb"/>'
            f'<text x="{MARGIN["left"] - 6}" y="{ty + 4:.1f}" text-anchor="end">'
            f"{_format(tick)}</text>"
        )
    group_w = plot_w / len(slices)
    bar_w = min(48.0, group_w * 0.8 / len(models))
    for index, slice_ in enumerate(slices):
        left = MARGIN["left"] + index * group_w + (group_w - bar_w * len(models)) / 2
        for offset, model in enumerate(models):
            value = slice_["metrics"].get(model, {}).get(metric)
            if value is None or not math.isfinite(value):
                continue  # no bar for a missing or undefined (NaN) value
            top, bottom = sorted((y(value), y(max(low, min(0.0, high)))))
            parts.append(
                f'<rect class="bar {model}" x="{left + offset * bar_w:.1f}" y="{top:.1f}" '
                f'width="{bar_w - 2:.1f}" height="{max(bottom - top, 0.5):.1f}" '
                f'fill="{COLORS[model]}" data-slice={quoteattr(slice_["slice"])} '
                f'data-value="{value:.6g}"><title>{escape(slice_["slice"])}, {model}: '
                f"{_format(value)}</title></rect>"
            )
        label_x = MARGIN["left"] + (index + 0.5) * group_w
        label_y = HEIGHT - MARGIN["bottom"] + 16
        parts.append(
            f'<text x="{label_x:.1f}" y="{label_y}" text-anchor="end" '
            f'transform="rotate(-30 {label_x:.1f} {label_y})">{escape(slice_["slice"])}</text>'
        )
    for name, bound in bounds.items():
        by = y(bound)
        parts.append(
            f'<line class="threshold" x1="{MARGIN["left"]}" x2="{WIDTH - MARGIN["right"]}" '
            f'y1="{by:.1f}" y2="{by:.1f}" stroke="{THRESHOLD_COLOR}" stroke-dasharray="6 4"/>'
            f'<text x="{MARGIN["left"] + 4}" y="{by - 4:.1f}" '
            f'fill="{THRESHOLD_COLOR}">{escape(name)} {_format(bound)}</text>'
        )
    parts.append(_legend(models))
    parts.append("</svg>")
    return "\n".join(parts)


def _legend(models: Sequence[str]) -> str:
    items = []
    x = WIDTH - MARGIN["right"] - 110 * len(models)
    for model in models:
        items.append(
            f'<rect x="{x}" y="10" width="12" height="12" fill="{COLORS[model]}"/>'
            f'<text x="{x + 16}" y="20">{model}</text>'
        )
        x += 110
    return "".join(items)


def _value_bounds(evaluation: Mapping[str, Any], metric: str) -> dict[str, float]:
    """The metric's value thresholds (lower and upper bound) from the validation checks."""
    bounds = {}
    for check in evaluation.get("validation", {}).get("checks", []):
        if check["metric"] != metric or check["kind"] != "value":
            continue
        for key, label in (("lowerBound", "lower bound"), ("upperBound", "upper bound")):
            if key in check["threshold"]:
                bounds[label] = float(check["threshold"][key])
    return bounds


def _axis_range(values: Sequence[float]) -> tuple[float, float]:
    finite = [v for v in values if math.isfinite(v)]
    low = min([0.0, *finite])
    high = max([0.0, *finite])
    if 0.0 <= low and high <= 1.0 and high > 0.5:
        return 0.0, 1.0  # a rate: the whole scale, so small differences do not look large
    if high == low:
        high = low + 1.0
    # Out to the next tick on either side, so that the longest bar ends under a label.
    step = _step(low, high)
    return math.floor(low / step) * step, math.ceil(high / step) * step


def _step(low: float, high: float, count: int = 5) -> float:
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    return float(next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw))


def _ticks(low: float, high: float) -> list[float]:
    step = _step(low, high)
    first = math.ceil(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    return ticks


def _format(value: float) -> str:
    return f"{value:.4g}"
