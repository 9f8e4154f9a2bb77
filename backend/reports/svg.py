"""Charts as server-made SVG: no JavaScript, works offline, passes the CSP.

Colours come from CSS classes in app.css (no inline styles). Every chart has a
``<title>`` and the pages show the same numbers in a table for screen readers. Numbers
and days are written in the page's language ("1,4 млн", "7 дек." on a Russian page).
"""

from __future__ import annotations

from markupsafe import Markup, escape

from backend.formatting import format_compact, format_day, format_number

WIDTH = 480
FONT = 12


def _svg(height: int, title: str, body: list[str], width: int = WIDTH) -> Markup:
    head = (
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>"
    )
    return Markup(head + "".join(body) + "</svg>")


def _text(x: float, y: float, label: str, cls: str = "chart-label", anchor: str = "start") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" class="{cls}" text-anchor="{anchor}">{escape(label)}</text>'
    )


# Rough width of one character of a 12 px label; enough to size the label column.
CHAR_W = 7.2
LABEL_MIN, LABEL_MAX = 110, 200


def _label_width(labels: list[str], minimum: int = LABEL_MIN) -> int:
    """Room for the row labels (the longest one), within bounds: longer ones wrap."""
    longest = max([len(text) for text in labels] + [0])
    return int(min(LABEL_MAX, max(minimum, longest * CHAR_W + 12)))


def _wrap(text: str, width: int, lines: int = 2) -> list[str]:
    """``text`` in at most ``lines`` lines of about ``width`` characters, broken at spaces;
    what still does not fit ends in an ellipsis."""
    words, out = text.split(), [""]
    for word in words:
        candidate = f"{out[-1]} {word}".strip()
        if len(candidate) <= width or not out[-1]:
            out[-1] = candidate
        elif len(out) < lines:
            out.append(word)
        else:
            out[-1] = candidate
    if len(out[-1]) > width:
        out[-1] = out[-1][: width - 1].rstrip() + "…"
    return out


def _row_label(x: float, y: float, label: str, width: int) -> str:
    """A right-aligned row label centred on ``y``, wrapped onto two lines when long; the
    full text is its tooltip."""
    lines = _wrap(label, max(4, int((width - 12) / CHAR_W)))
    top = y - (len(lines) - 1) * FONT / 2
    spans = "".join(
        f'<tspan x="{x:.1f}" y="{top + i * FONT:.1f}">{escape(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    return (
        f'<text class="chart-label" text-anchor="end"><title>{escape(label)}</title>{spans}</text>'
    )


def grouped_bars(title: str, categories: list[str], series: list[tuple[str, str, list]]) -> Markup:
    """Horizontal groups of bars: one group per category, one bar per series.

    ``series`` is ``[(name, css class, values)]``; None values draw nothing.
    """
    label_w, right, row_h, bar_h = _label_width(categories), 40, 16, 13
    group_h = max(len(series) * row_h + 10, 2 * FONT + 10)
    legend_h = 24
    height = legend_h + max(1, len(categories)) * group_h + 10
    peak = max([v for _, _, vals in series for v in vals if v is not None] + [1])
    scale = (WIDTH - label_w - right) / peak
    body = []
    for i, (name, cls, _) in enumerate(series):
        x = 10 + i * 120
        body.append(f'<rect x="{x}" y="6" width="12" height="12" class="{cls}"/>')
        body.append(_text(x + 16, 16, name))
    for gi, category in enumerate(categories):
        top = legend_h + gi * group_h
        body.append(_row_label(label_w - 6, top + group_h / 2, category, label_w))
        for si, (_, cls, values) in enumerate(series):
            value = values[gi]
            if value is None:
                continue
            y = top + si * row_h
            w = max(0.0, float(value) * scale)
            body.append(
                f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" class="{cls}"/>'
            )
            body.append(
                _text(label_w + w + 4, y + bar_h - 2, format_compact(float(value)), "chart-value")
            )
    return _svg(height, title, body)


def funnel(title: str, stages: list[tuple[str, int]]) -> Markup:
    """Centred bars narrowing stage by stage, with each count."""
    row_h, gap = 34, 6
    height = len(stages) * (row_h + gap) + 10
    peak = max([c for _, c in stages] + [1])
    label_w = _label_width([label for label, _ in stages], minimum=90)
    usable = WIDTH - label_w - 70
    body = []
    for i, (label, count) in enumerate(stages):
        w = max(2.0, usable * count / peak)
        x = label_w + (usable - w) / 2
        y = 5 + i * (row_h + gap)
        body.append(
            f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row_h}" class="chart-funnel-{i}"/>'
        )
        body.append(_row_label(label_w - 8, y + row_h / 2 + 4, label.capitalize(), label_w))
        body.append(
            _text(label_w + usable + 8, y + row_h / 2 + 4, format_number(count), "chart-value")
        )
    return _svg(height, title, body)


def stacked_shares(title: str, legend: list[str], rows: list[tuple[str, list[int]]]) -> Markup:
    """One 100% bar per row split into the legend's buckets (e.g. time to first touch)."""
    label_w, row_h, gap = _label_width([label for label, _ in rows]), 26, 8
    usable = WIDTH - label_w - 10
    body = []
    # The legend flows: a key that would not fit on its line starts the next one.
    x, y = 10.0, 6
    for i, name in enumerate(legend):
        width = 16 + len(name) * CHAR_W + 12
        if x + width > WIDTH and x > 10:
            x, y = 10.0, y + 18
        body.append(f'<rect x="{x:.1f}" y="{y}" width="12" height="12" class="bucket-{i}"/>')
        body.append(_text(x + 16, y + 10, name))
        x += width
    legend_h = y + 20
    height = legend_h + max(1, len(rows)) * (row_h + gap) + 6
    for ri, (label, counts) in enumerate(rows):
        y = legend_h + ri * (row_h + gap)
        body.append(_row_label(label_w - 6, y + row_h / 2 + 4, label, label_w))
        total = sum(counts)
        x = float(label_w)
        if total == 0:
            body.append(
                f'<rect x="{label_w}" y="{y}" width="{usable}" height="{row_h}" class="bucket-empty"/>'
            )
            continue
        for bi, count in enumerate(counts):
            w = usable * count / total
            if w > 0:
                body.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row_h}" class="bucket-{bi}">'
                    f"<title>{escape(legend[bi])}: {count}</title></rect>"
                )
            x += w
    return _svg(height, title, body)


def columns(title: str, points: list[tuple[str, int]]) -> Markup:
    """Vertical columns, e.g. leads per day (``points`` are ISO days and counts)."""
    height, bottom, top, left = 200, 30, 16, 10
    usable_h = height - bottom - top
    n = max(1, len(points))
    slot = (WIDTH - left - 10) / n
    peak = max([v for _, v in points] + [1])
    body = [
        f'<line x1="{left}" y1="{height - bottom}" x2="{WIDTH - 10}" y2="{height - bottom}" class="chart-axis"/>'
    ]
    for i, (label, value) in enumerate(points):
        h = usable_h * value / peak
        x = left + i * slot + slot * 0.15
        w = slot * 0.7
        y = height - bottom - h
        body.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" class="chart-a"/>'
        )
        body.append(_text(x + w / 2, y - 3, format_number(value), "chart-value", anchor="middle"))
        if n <= 16 or i % max(1, n // 12) == 0:
            body.append(_text(x + w / 2, height - bottom + 16, format_day(label), anchor="middle"))
    return _svg(height, title, body)
