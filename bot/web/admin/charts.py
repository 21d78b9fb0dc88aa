"""Server-rendered SVG charts: horizontal bars, paired bars, stacked bars and column histograms.

Each chart is an inline `<svg role="img">` named by its `<title>` and described by a `<desc>` that spells out
every number, so a screen reader gets the whole chart; every bar has its own `<title>` (a tooltip on hover).
Values are printed next to or inside the bars, so the chart reads without hovering. Colours come from the
Okabe-Ito palette, which stays distinguishable for colour-blind readers. No JavaScript.

Contrast meets WCAG 2.1 AA: every text is at least 4.5:1 against what it sits on (flagged labels use a darker
vermillion than the bars, text inside a bar is white, ink or black, whichever reads best), and every bar has a dark
edge, so it stands at least 3:1 against the white card and against its neighbours whatever its fill.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 900
ROW = 30  # height of one bar row
BAR = 18
FONT = 13
LABEL_CHARS = 34  # longer labels are cut with an ellipsis (the full label stays in the bar's tooltip)

BLUE, ORANGE, GREEN, VERMILLION, SKY, YELLOW, PURPLE, GREY = (
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#F0E442", "#CC79A7", "#9A9A9A",
)  # fmt: skip
PALETTE = (BLUE, ORANGE, GREEN, VERMILLION, SKY, PURPLE, YELLOW, GREY)
INK, MUTED, GRID = "#1f2a33", "#5b6670", "#d9dee3"
FLAG_INK = "#A33A00"  # flagged labels: the vermillion darkened to 6.6:1 on white (the bars' #D55E00 is 3.9:1)
EDGE = f'stroke="{INK}" stroke-width="1"'  # every bar's outline: 14.6:1 on white, so light fills (yellow, sky) still show

_ids = itertools.count(1)


def _id() -> str:
    return f"chart{next(_ids)}"


def _fmt(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _short(label: str, limit: int = LABEL_CHARS) -> str:
    return label if len(label) <= limit else label[: limit - 1].rstrip() + "…"


def luminance(color: str) -> float:
    """WCAG relative luminance of a #rrggbb colour."""
    channels = (int(color[i : i + 2], 16) / 255 for i in (1, 3, 5))
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two #rrggbb colours (1 to 21)."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _text_on(color: str) -> str:
    """White, ink or black text, whichever has the most contrast on `color` (black reaches 4.5:1 on every fill here)."""
    return max(("#ffffff", INK, "#000000"), key=lambda text: contrast(text, color))


def _label_width(labels: Sequence[str], limit: int = LABEL_CHARS) -> int:
    longest = max((len(_short(label, limit)) for label in labels), default=4)
    return min(max(60, int(longest * FONT * 0.62) + 16), 420)


def _unit(unit: str) -> str:
    return "" if not unit else unit if unit == "%" else f" {unit}"


def _svg(chart_id: str, title: str, desc: str, height: int, body: list[str]) -> Markup:
    return Markup(
        f'<svg class="chart" role="img" aria-labelledby="{chart_id}-t {chart_id}-d" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg" font-size="{FONT}">'
        f'<title id="{chart_id}-t">{escape(title)}</title><desc id="{chart_id}-d">{escape(desc)}</desc>'
        + "".join(body)
        + "</svg>"
    )


def _empty(title: str, message: str) -> Markup:
    chart_id = _id()
    return _svg(
        chart_id, title, message, 44,
        [f'<text x="0" y="26" fill="{MUTED}">{escape(message)}</text>'],
    )  # fmt: skip


def _axis_ticks(maximum: float, count: int = 4) -> list[float]:
    if maximum <= 0:
        return [0]
    raw = maximum / count
    if float(maximum).is_integer() and raw < 1:
        raw = 1.0  # counts: whole-number ticks
    magnitude = 10 ** (len(str(int(raw))) - 1) if raw >= 1 else 0.1
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    ticks, value = [], 0.0
    while value <= maximum + 1e-9:
        ticks.append(round(value, 6))
        value += step
    return ticks


@dataclass(frozen=True)
class Bar:
    """One bar: a label, its value, an optional note printed after the value, and a flag that colours it."""

    label: str
    value: float
    note: str = ""
    flagged: bool = False


def bar_chart(
    title: str,
    bars: Sequence[Bar],
    *,
    unit: str = "",
    max_value: float | None = None,
    color: str = BLUE,
    flag_color: str = VERMILLION,
    value_format: Callable[[float], str] = _fmt,
    empty: str = "Nothing to show yet.",
) -> Markup:
    """Horizontal bars, one row per item, the value printed at the end of each bar."""
    if not bars:
        return _empty(title, empty)
    chart_id = _id()
    left = _label_width([("⚠ " if b.flagged else "") + b.label for b in bars])
    right = 200
    span = WIDTH - left - right
    top = max(max_value or 0, max((b.value for b in bars), default=0)) or 1
    height = 28 + ROW * len(bars)
    body = _grid(left, span, top, 8, height - 4, value_format)
    for i, bar in enumerate(bars):
        y = 8 + i * ROW
        width = max(0.0, bar.value) / top * span
        fill = flag_color if bar.flagged else color
        shown = value_format(bar.value) + _unit(unit) + (f" · {bar.note}" if bar.note else "")
        label = ("⚠ " if bar.flagged else "") + bar.label
        body.append(
            f"<g><title>{escape(bar.label)}: {escape(shown)}</title>"
            f'<text x="{left - 8}" y="{y + BAR - 4}" text-anchor="end" fill="{FLAG_INK if bar.flagged else INK}">{escape(_short(label))}</text>'
            f'<rect x="{left}" y="{y}" width="{width:.1f}" height="{BAR}" rx="2" fill="{fill}" {EDGE}/>'
            f'<text x="{left + width + 6:.1f}" y="{y + BAR - 4}" fill="{INK}">{escape(shown)}</text></g>'
        )
    desc = "; ".join(f"{b.label}: {value_format(b.value)}{_unit(unit)}{(' (' + b.note + ')') if b.note else ''}" for b in bars)
    return _svg(chart_id, title, desc, height, body)


def _grid(left: float, span: float, top: float, y0: float, y1: float, value_format: Callable[[float], str]) -> list[str]:
    parts = []
    for tick in _axis_ticks(top):
        x = left + tick / top * span
        if x > left + span + 0.5:
            break
        parts.append(f'<line x1="{x:.1f}" y1="{y0 - 4}" x2="{x:.1f}" y2="{y1 - 14}" stroke="{GRID}" stroke-width="1"/>')
        parts.append(f'<text x="{x:.1f}" y="{y1}" text-anchor="middle" fill="{MUTED}" font-size="11">{escape(value_format(tick))}</text>')
    return parts


def paired_bars(
    title: str,
    rows: Sequence[tuple[str, float, float, bool]],
    *,
    series: tuple[str, str],
    colors: tuple[str, str] = (BLUE, ORANGE),
    flag_text: str = "scarce",
    empty: str = "Nothing to show yet.",
) -> Markup:
    """Two bars per row (e.g. mentors and mentees of one area); flagged rows are marked in the label and tooltip."""
    if not rows:
        return _empty(title, empty)
    chart_id = _id()
    labels = [(f"⚠ {label}" if flagged else label) for label, _a, _b, flagged in rows]
    left = _label_width(labels)
    right = 60
    span = WIDTH - left - right
    top = max(max(a, b) for _l, a, b, _f in rows) or 1
    legend_h = 26
    pair_h = 2 * 13 + 10
    height = legend_h + pair_h * len(rows) + 22
    body = _legend(list(zip(series, colors)), left, 14)
    body += _grid(left, span, top, legend_h + 4, height - 2, _fmt)
    for i, ((label, a, b, flagged), shown) in enumerate(zip(rows, labels)):
        y = legend_h + 4 + i * pair_h
        tip = f"{label}: {series[0]} {_fmt(a)}, {series[1]} {_fmt(b)}" + (f" ({flag_text})" if flagged else "")
        label_color = FLAG_INK if flagged else INK
        weight = ""
        body.append(
            f"<g><title>{escape(tip)}</title>"
            f'<text x="{left - 8}" y="{y + 17}" text-anchor="end" fill="{label_color}"{weight}>{escape(_short(shown))}</text>'
        )
        for k, (value, color) in enumerate(((a, colors[0]), (b, colors[1]))):
            width = max(0.0, value) / top * span
            yy = y + k * 13
            body.append(
                f'<rect x="{left}" y="{yy}" width="{width:.1f}" height="12" fill="{color}" {EDGE}/>'
                f'<text x="{left + width + 4:.1f}" y="{yy + 10}" font-size="11" fill="{INK}">{_fmt(value)}</text>'
            )
        body.append("</g>")
    desc = "; ".join(
        f"{label}: {series[0]} {_fmt(a)}, {series[1]} {_fmt(b)}" + (f", {flag_text}" if flagged else "") for label, a, b, flagged in rows
    )
    return _svg(chart_id, title, desc, height, body)


def _legend(items: Sequence[tuple[str, str]], x0: float, y: float) -> list[str]:
    parts, x = [], x0
    for name, color in items:
        parts.append(
            f'<rect x="{x:.1f}" y="{y - 10}" width="12" height="12" fill="{color}" {EDGE}/>'
            f'<text x="{x + 16:.1f}" y="{y}" fill="{INK}" font-size="12">{escape(name)}</text>'
        )
        x += 16 + len(name) * 7 + 18
    return parts


def stacked_bars(
    title: str,
    rows: Sequence[tuple[str, Sequence[float]]],
    *,
    series: Sequence[str],
    colors: Sequence[str] | None = None,
    empty: str = "Nothing to show yet.",
    label_chars: int = LABEL_CHARS,
) -> Markup:
    """One horizontal bar per row, split into the series; each bar is scaled to 100% of its row and labelled with counts."""
    rows = [(label, list(values)) for label, values in rows if sum(values) > 0]
    if not rows:
        return _empty(title, empty)
    colors = list(colors or PALETTE)
    chart_id = _id()
    left = _label_width([label for label, _ in rows], label_chars)
    right = 56
    span = WIDTH - left - right
    legend_rows = _legend_rows(series, left)
    legend_h = 22 * len(legend_rows) + 6
    height = legend_h + ROW * len(rows) + 4
    body: list[str] = []
    for n, items in enumerate(legend_rows):
        body += _legend([(series[i], colors[i % len(colors)]) for i in items], left, 14 + 22 * n)
    for i, (label, values) in enumerate(rows):
        y = legend_h + i * ROW
        total = sum(values)
        body.append(f'<text x="{left - 8}" y="{y + BAR - 4}" text-anchor="end" fill="{INK}">{escape(_short(label, label_chars))}</text>')
        x = float(left)
        for k, value in enumerate(values):
            if value <= 0:
                continue
            width = value / total * span
            color = colors[k % len(colors)]
            share = value / total * 100
            body.append(
                f"<g><title>{escape(label)}: {escape(series[k])} {_fmt(value)} ({share:.0f}%)</title>"
                f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="{BAR}" fill="{color}" {EDGE}/>'
            )
            if width >= 22:
                body.append(
                    f'<text x="{x + width / 2:.1f}" y="{y + BAR - 4}" text-anchor="middle" font-size="12" '
                    f'fill="{_text_on(color)}">{_fmt(value)}</text>'
                )
            body.append("</g>")
            x += width
        body.append(f'<text x="{left + span + 6}" y="{y + BAR - 4}" fill="{MUTED}" font-size="12">n={_fmt(total)}</text>')
    desc = "; ".join(
        f"{label}: " + ", ".join(f"{series[k]} {_fmt(v)}" for k, v in enumerate(values)) for label, values in rows
    )
    return _svg(chart_id, title, desc, height, body)


def _legend_rows(series: Sequence[str], left: float) -> list[list[int]]:
    rows: list[list[int]] = [[]]
    x = left
    for i, name in enumerate(series):
        width = 16 + len(name) * 7 + 18
        if rows[-1] and x + width > WIDTH:
            rows.append([])
            x = left
        rows[-1].append(i)
        x += width
    return rows


def column_chart(
    title: str,
    columns: Sequence[tuple[str, float]],
    *,
    x_label: str,
    y_label: str,
    color: str = BLUE,
    empty: str = "Nothing to show yet.",
) -> Markup:
    """Vertical columns (a histogram when the labels are bins), each with its count on top."""
    if not columns:
        return _empty(title, empty)
    chart_id = _id()
    height = 260
    left, bottom, top_pad = 48, 48, 24
    plot_h = height - bottom - top_pad
    span = WIDTH - left - 16
    step = span / len(columns)
    width = min(90.0, step * 0.7)
    top = max(value for _, value in columns) or 1
    body = []
    for tick in _axis_ticks(top):
        y = top_pad + plot_h - tick / top * plot_h
        if y < top_pad - 0.5:
            break
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{WIDTH - 8}" y2="{y:.1f}" stroke="{GRID}"/>')
        body.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{MUTED}" font-size="11">{_fmt(tick)}</text>')
    for i, (label, value) in enumerate(columns):
        x = left + i * step + (step - width) / 2
        h = max(0.0, value) / top * plot_h
        y = top_pad + plot_h - h
        body.append(
            f"<g><title>{escape(label)}: {_fmt(value)} {escape(y_label)}</title>"
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{h:.1f}" fill="{color}" {EDGE}/>'
            f'<text x="{x + width / 2:.1f}" y="{y - 5:.1f}" text-anchor="middle" fill="{INK}">{_fmt(value)}</text>'
            f'<text x="{x + width / 2:.1f}" y="{top_pad + plot_h + 16}" text-anchor="middle" fill="{INK}">{escape(_short(label))}</text></g>'
        )
    body.append(f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{WIDTH - 8}" y2="{top_pad + plot_h}" stroke="{MUTED}"/>')
    body.append(f'<text x="{left + span / 2:.1f}" y="{height - 8}" text-anchor="middle" fill="{MUTED}" font-size="12">{escape(x_label)}</text>')
    body.append(
        f'<text x="12" y="{top_pad + plot_h / 2:.1f}" text-anchor="middle" fill="{MUTED}" font-size="12" '
        f'transform="rotate(-90 12 {top_pad + plot_h / 2:.1f})">{escape(y_label)}</text>'
    )
    desc = f"{x_label} against {y_label}: " + "; ".join(f"{label}: {_fmt(value)}" for label, value in columns)
    return _svg(chart_id, title, desc, height, body)
