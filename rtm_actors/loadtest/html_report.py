"""``--html``: one self-contained HTML file with inline SVG plots (no network, no JS).

Plots: latency percentiles over time, throughput over time, the latency
distribution (HDR percentile spectrum), users per connection state over time and
errors per second, with the phases (traffic start and end) marked.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rtm_actors.loadtest.report import format_summary

if TYPE_CHECKING:
    from rtm_actors.loadtest.runner import LoadResult

Point = tuple[float, float]

_W, _H = 760, 260
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 150, 16, 36
_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#7f7f7f"]
_STATE_COLORS = {
    "CONNECTED": "#2ca02c",
    "CONNECTING": "#1f77b4",
    "RECONNECTING": "#ff7f0e",
    "DISCONNECTED": "#7f7f7f",
    "ABORTED": "#d62728",
}


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    if high <= low:
        high = low + 1.0
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    return ticks


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.0f}"
    if abs(value) >= 1:
        return f"{value:.1f}".rstrip("0").rstrip(".")
    return f"{value:.2g}"


class _Frame:
    """Maps data to SVG coordinates and draws the axes."""

    def __init__(
        self,
        x_range: tuple[float, float],
        y_range: tuple[float, float],
        *,
        log_y: bool = False,
    ) -> None:
        self.x0, self.x1 = x_range
        if self.x1 <= self.x0:
            self.x1 = self.x0 + 1.0
        self.log_y = log_y
        y0, y1 = y_range
        if log_y:
            y0 = 10 ** math.floor(math.log10(max(y0, 1e-3)))
            y1 = 10 ** math.ceil(math.log10(max(y1, y0 * 10)))
        elif y1 <= y0:
            y1 = y0 + 1.0
        self.y0, self.y1 = y0, y1
        self.parts: list[str] = []

    def x(self, value: float) -> float:
        span = _W - _LEFT - _RIGHT
        return _LEFT + (value - self.x0) / (self.x1 - self.x0) * span

    def y(self, value: float) -> float:
        span = _H - _TOP - _BOTTOM
        if self.log_y:
            value = max(value, self.y0)
            frac = (math.log10(value) - math.log10(self.y0)) / (
                math.log10(self.y1) - math.log10(self.y0)
            )
        else:
            frac = (value - self.y0) / (self.y1 - self.y0)
        return _H - _BOTTOM - frac * span

    def axes(
        self, x_label: str, y_label: str, x_ticks: Sequence[tuple[float, str]] | None = None
    ) -> None:
        p = self.parts
        bottom, right = _H - _BOTTOM, _W - _RIGHT
        if self.log_y:
            exponents = range(round(math.log10(self.y0)), round(math.log10(self.y1)) + 1)
            y_ticks = [10.0**e for e in exponents]
        else:
            y_ticks = _nice_ticks(self.y0, self.y1)
        for value in y_ticks:
            y = self.y(value)
            p.append(f'<line x1="{_LEFT}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" class="grid"/>')
            p.append(f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">')
            p.append(f"{_fmt(value)}</text>")
        ticks = x_ticks or [(v, _fmt(v)) for v in _nice_ticks(self.x0, self.x1, 8)]
        for value, label in ticks:
            x = self.x(value)
            p.append(
                f'<line x1="{x:.1f}" y1="{bottom}" x2="{x:.1f}" y2="{bottom + 4}" class="axis"/>'
            )
            p.append(f'<text x="{x:.1f}" y="{bottom + 16}" class="tick" text-anchor="middle">')
            p.append(f"{html.escape(label)}</text>")
        p.append(f'<line x1="{_LEFT}" y1="{bottom}" x2="{right}" y2="{bottom}" class="axis"/>')
        p.append(f'<line x1="{_LEFT}" y1="{_TOP}" x2="{_LEFT}" y2="{bottom}" class="axis"/>')
        p.append(
            f'<text x="{(_LEFT + right) / 2:.0f}" y="{_H - 4}" class="label" '
            f'text-anchor="middle">{html.escape(x_label)}</text>'
        )
        p.append(
            f'<text x="14" y="{(_TOP + bottom) / 2:.0f}" class="label" text-anchor="middle" '
            f'transform="rotate(-90 14 {(_TOP + bottom) / 2:.0f})">{html.escape(y_label)}</text>'
        )

    def marker(self, at: float, label: str) -> None:
        if not self.x0 <= at <= self.x1:
            return
        x = self.x(at)
        self.parts.append(
            f'<line x1="{x:.1f}" y1="{_TOP}" x2="{x:.1f}" y2="{_H - _BOTTOM}" class="marker"/>'
        )
        self.parts.append(f'<text x="{x + 3:.1f}" y="{_TOP + 10}" class="tick">{label}</text>')

    def legend(self, entries: Sequence[tuple[str, str]]) -> None:
        for i, (name, color) in enumerate(entries):
            y = _TOP + 8 + i * 18
            x = _W - _RIGHT + 14
            self.parts.append(f'<rect x="{x}" y="{y - 8}" width="12" height="10" fill="{color}"/>')
            self.parts.append(
                f'<text x="{x + 18}" y="{y + 1}" class="tick">{html.escape(name)}</text>'
            )

    def polyline(self, points: Sequence[Point], color: str, width: float = 1.8) -> None:
        if not points:
            return
        coords = " ".join(f"{self.x(px):.1f},{self.y(py):.1f}" for px, py in points)
        self.parts.append(
            f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="{width}"/>'
        )
        if len(points) == 1:
            px, py = points[0]
            self.parts.append(
                f'<circle cx="{self.x(px):.1f}" cy="{self.y(py):.1f}" r="2.5" fill="{color}"/>'
            )

    def svg(self, title: str) -> str:
        body = "".join(self.parts)
        return (
            f"<figure><figcaption>{html.escape(title)}</figcaption>"
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {_H}" width="{_W}" '
            f'height="{_H}" role="img" aria-label="{html.escape(title)}">{body}</svg></figure>'
        )


def line_chart(
    title: str,
    lines: Sequence[tuple[str, Sequence[Point]]],
    *,
    x_label: str = "seconds",
    y_label: str = "",
    log_y: bool = False,
    markers: Sequence[tuple[float, str]] = (),
    x_range: tuple[float, float] | None = None,
) -> str:
    """An SVG line chart (one polyline per series) with axes and a legend."""
    points = [p for _, pts in lines for p in pts]
    if not points:
        return f"<figure><figcaption>{html.escape(title)}</figcaption><p>no data</p></figure>"
    xs = [x for x, _ in points]
    ys = [y for _, y in points]
    positive = [y for y in ys if y > 0]
    y_low = min(positive) if log_y and positive else 0.0
    frame = _Frame(x_range or (min(xs), max(xs)), (y_low, max(ys)), log_y=log_y)
    frame.axes(x_label, y_label)
    for at, label in markers:
        frame.marker(at, label)
    entries = []
    for i, (name, pts) in enumerate(lines):
        color = _COLORS[i % len(_COLORS)]
        frame.polyline(pts, color)
        entries.append((name, color))
    frame.legend(entries)
    return frame.svg(title)


def stacked_chart(
    title: str,
    layers: Sequence[tuple[str, str, Sequence[Point]]],
    *,
    y_label: str = "",
    markers: Sequence[tuple[float, str]] = (),
    x_range: tuple[float, float] | None = None,
) -> str:
    """An SVG stacked area chart; ``layers`` are (name, color, points) on shared x."""
    xs = sorted({x for _, _, pts in layers for x, _ in pts})
    if not xs:
        return f"<figure><figcaption>{html.escape(title)}</figcaption><p>no data</p></figure>"
    values = [dict(pts) for _, _, pts in layers]
    totals = [sum(v.get(x, 0.0) for v in values) for x in xs]
    frame = _Frame(x_range or (xs[0], xs[-1]), (0.0, max(totals) or 1.0))
    frame.axes("seconds", y_label)
    base = [0.0] * len(xs)
    # Steps: a sample holds until the next one (a state count is not a trend).
    ends = [*xs[1:], xs[-1] + 1.0]
    for (_, color, _), layer in zip(layers, values, strict=True):
        top = [b + layer.get(x, 0.0) for b, x in zip(base, xs, strict=True)]
        upper = " ".join(
            f"{frame.x(x0):.1f},{frame.y(t):.1f} {frame.x(x1):.1f},{frame.y(t):.1f}"
            for x0, x1, t in zip(xs, ends, top, strict=True)
        )
        lower = " ".join(
            f"{frame.x(x1):.1f},{frame.y(b):.1f} {frame.x(x0):.1f},{frame.y(b):.1f}"
            for x0, x1, b in reversed(list(zip(xs, ends, base, strict=True)))
        )
        frame.parts.append(f'<polygon points="{upper} {lower}" fill="{color}" opacity="0.85"/>')
        base = top
    for at, label in markers:
        frame.marker(at, label)
    frame.legend([(name, color) for name, color, _ in layers])
    return frame.svg(title)


def bar_chart(
    title: str,
    bars: Sequence[Point],
    *,
    y_label: str = "",
    markers: Sequence[tuple[float, str]] = (),
    x_range: tuple[float, float] | None = None,
) -> str:
    """An SVG bar chart of one value per second."""
    if not bars:
        return f"<figure><figcaption>{html.escape(title)}</figcaption><p>none</p></figure>"
    xs = [x for x, _ in bars]
    frame = _Frame(x_range or (min(xs), max(xs) + 1), (0.0, max(y for _, y in bars) or 1.0))
    frame.axes("seconds", y_label)
    width = max(1.0, frame.x(1) - frame.x(0) - 1)
    for x, y in bars:
        if y > 0:
            top = frame.y(y)
            frame.parts.append(
                f'<rect x="{frame.x(x):.1f}" y="{top:.1f}" width="{width:.1f}" '
                f'height="{_H - _BOTTOM - top:.1f}" fill="#d62728"/>'
            )
    for at, label in markers:
        frame.marker(at, label)
    return frame.svg(title)


def _spectrum_chart(points: Sequence[Point]) -> str:
    """Latency by percentile, x on the HDR scale 1/(1-p) (90%, 99%, 99.9% evenly apart)."""
    title = "Latency distribution (by percentile, end to end)"
    if not points:
        return f"<figure><figcaption>{title}</figcaption><p>no data</p></figure>"
    cap = 1e6

    def scale(p: float) -> float:
        return math.log10(min(cap, 1.0 / max(1e-6, 1.0 - p / 100.0)))

    data = [(scale(p), ms) for p, ms in points]
    top = max(x for x, _ in data)
    labels = ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%", "99.9999%"]
    ticks = [(float(i), label) for i, label in enumerate(labels) if i <= math.ceil(top)]
    positive = [ms for _, ms in data if ms > 0]
    frame = _Frame(
        (0.0, max(1.0, math.ceil(top))),
        (min(positive or [0.01]), max(positive or [1.0])),
        log_y=True,
    )
    frame.axes("percentile", "ms", ticks)
    frame.polyline(data, _COLORS[0], 2.2)
    frame.legend([("latency", _COLORS[0])])
    return frame.svg(title)


_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:980px;color:#222}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
pre{background:#f6f6f6;padding:12px;overflow:auto;font-size:12px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;
text-align:right}th{background:#f0f0f0}td:first-child,th:first-child{text-align:left}
figure{margin:12px 0}figcaption{font-weight:600;margin-bottom:4px}
svg text.tick{font-size:11px;fill:#444}svg text.label{font-size:12px;fill:#222}
svg .grid{stroke:#e4e4e4}svg .axis{stroke:#444}svg .marker{stroke:#999;stroke-dasharray:4 3}
.ok{color:#2a7d2a;font-weight:700}.fail{color:#c62828;font-weight:700}
"""


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _latency_table(summary: dict[str, Any]) -> str:
    columns = ("count", "min", "p50", "p90", "p99", "p99.9", "max")
    rows = []
    named = [("end-to-end", summary["latency_ms"])]
    named += [(f"{k} messages", v) for k, v in summary["latency_ms_by_kind"].items()]
    named += list(summary["ops_ms"].items())
    for name, figures in named:
        cells: list[object] = [name]
        for c in columns:
            value = figures.get(c)
            cells.append(f"{value:,}" if c == "count" else (f"{value:.2f}" if value else "-"))
        rows.append(cells)
    return _table(["latency (ms)", *columns], rows)


def render_html(result: LoadResult) -> str:
    """The whole report as one HTML document."""
    data = result.to_json()
    summary, series = data["summary"], data["series"]
    marks = summary["marks"]
    markers = [(marks[k], k) for k in ("go", "end") if k in marks]
    # Every plot over time shares one x axis: from time zero to the end of the run.
    span = (0.0, max([float(len(series)), *marks.values(), 1.0]))
    failures = result.failures()
    verdict = (
        '<p class="ok">OK: within --max-loss and --max-errors</p>'
        if not failures
        else '<p class="fail">FAILED: ' + html.escape("; ".join(failures)) + "</p>"
    )
    latency_lines = [
        (name, [(r["t"], r[key]) for r in series if r[key] is not None])
        for name, key in (("p50", "p50_ms"), ("p99", "p99_ms"), ("max", "max_ms"))
    ]
    throughput = [
        (name, [(r["t"], float(r[key])) for r in series])
        for name, key in (("sent/s", "sent"), ("acked/s", "acked"), ("delivered/s", "delivered"))
    ]
    state_names = sorted({s for r in series for s in r["states"]}, key=_state_order)
    layers = [
        (
            name,
            _STATE_COLORS.get(name, "#aaa"),
            [(float(r["t"]), float(r["states"].get(name, 0))) for r in series if r["states"]],
        )
        for name in state_names
    ]
    errors = [(float(r["t"]), float(r["errors"])) for r in series if r["errors"]]
    error_rows = sorted(summary["errors_by_code"].items(), key=lambda kv: -kv[1])
    o = result.options
    title = f"rtm-actors loadtest: {o.user_class or o.scenario}, {summary['users']:,} users"
    parts = [
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>",
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        verdict,
        f"<pre>{html.escape(format_summary(result))}</pre>",
        "<h2>Latency</h2>",
        _latency_table(summary),
        line_chart(
            "End-to-end latency per second (from the intended send time)",
            latency_lines,
            y_label="ms",
            log_y=True,
            markers=markers,
            x_range=span,
        ),
        _spectrum_chart(data["latency_spectrum_ms"]),
        "<h2>Throughput</h2>",
        line_chart(
            "Messages per second", throughput, y_label="per second", markers=markers, x_range=span
        ),
        "<h2>Connections</h2>",
        stacked_chart(
            "Users per connection state", layers, y_label="users", markers=markers, x_range=span
        ),
        _table(["state change", "count"], sorted(summary["state_changes"].items())),
        "<h2>Errors</h2>",
        bar_chart("Errors per second", errors, y_label="errors", markers=markers, x_range=span),
        _table(["error", "count"], error_rows) if error_rows else "<p>No errors.</p>",
        "</body></html>",
    ]
    return "\n".join(parts)


def _state_order(name: str) -> int:
    order = list(_STATE_COLORS)
    return order.index(name) if name in order else len(order)


def write_html(result: LoadResult, path: str | Path) -> None:
    """Write the HTML report to ``path``."""
    Path(path).write_text(render_html(result), encoding="utf-8")
