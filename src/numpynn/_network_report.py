"""The "Inside the network" section of report.html, from metrics.json's ``"diagnostics"``
(what ``nn.callbacks.Diagnostics`` recorded): the diagnoses first, then the gradient flow
(each layer's gradient norm over the epochs) and the update-to-weight ratios as line charts,
a table of the last epoch's numbers with the dead and saturated units, and for recurrent
layers the gradient through time.

The charts are inline SVG drawn here from the numbers: no script, nothing fetched, every
name escaped. ``is_diagnostics`` checks the whole structure before anything is drawn, so
that a hand-edited file is named among the report's problems instead of breaking the page.
"""

from __future__ import annotations

import html
import math

LIMIT = 1000  # layers, epochs, diagnoses; steps through time up to 10 times that
TEXT_LIMIT = 10_000
CURVES = ("grad_norm", "weight_norm", "update_ratio", "activation_mean", "activation_std")
CURVES += ("dead_fraction", "saturated_fraction")
# line colours, each at least 3:1 against white (WCAG's figure for graphics)
PALETTE = ("#1f5fbf", "#c2410c", "#0f7b3f", "#7e3fb3", "#b3261e", "#0e7490", "#8a6d00", "#5b6475")
WIDTH, HEIGHT = 480, 230
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 10, 46  # room for the axes' labels


# --- checking what metrics.json holds ------------------------------------------------------


def _text(v, empty_ok: bool = False) -> bool:
    return isinstance(v, str) and len(v) <= TEXT_LIMIT and (empty_ok or bool(v))


def _number_or_none(v) -> bool:
    return v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))


def _numbers(v, limit: int = LIMIT) -> bool:
    return isinstance(v, list) and len(v) <= limit and all(map(_number_or_none, v))


def _layer_ok(layer) -> bool:
    if not isinstance(layer, dict) or not _text(layer.get("name")):
        return False
    if not all(_numbers(layer.get(key)) for key in CURVES):
        return False
    through = layer.get("grad_through_time")
    steps = isinstance(through, list) and len(through) <= LIMIT
    steps = steps and all(t is None or _numbers(t, 10 * LIMIT) for t in through)
    named = layer.get("activation") is None or _text(layer.get("activation"))
    return steps and named and _text(layer.get("type", "?"))


def _finding_ok(finding) -> bool:
    return (
        isinstance(finding, dict)
        and _text(finding.get("message"))
        and _text(finding.get("problem"))
        and (finding.get("layer") is None or _text(finding.get("layer")))
    )


def is_diagnostics(value) -> bool:
    """Whether ``value`` has the shape of ``Diagnostics.results``: layers with a list of
    numbers (or None) per statistic, and diagnoses with a message."""
    if not isinstance(value, dict):
        return False
    layers, found = value.get("layers"), value.get("diagnoses")
    return (
        isinstance(layers, list)
        and len(layers) <= LIMIT
        and all(map(_layer_ok, layers))
        and isinstance(found, list)
        and len(found) <= LIMIT
        and all(map(_finding_ok, found))
    )


# --- the section ----------------------------------------------------------------------------


def inside_the_network(diagnostics: dict | None) -> str:
    """The section's HTML ('' without diagnostics: the run had them turned off)."""
    if not diagnostics or not diagnostics["layers"]:
        return ""
    layers = diagnostics["layers"]
    parts = [_diagnoses(diagnostics["diagnoses"])]
    flow = [(layer["name"], layer["grad_norm"]) for layer in layers]
    ratios = [(layer["name"], layer["update_ratio"]) for layer in layers]
    charts = [
        _figure("Gradient flow: the norm of each layer's gradient", _chart(flow, "epoch")),
        _figure(
            "Update-to-weight ratio per step; dashed: 0.001, the usual ratio",
            _chart(ratios, "epoch", reference=1e-3),
        ),
    ]
    recurrent = [
        (layer["name"], _last_steps(layer["grad_through_time"]))
        for layer in layers
        if _last_steps(layer["grad_through_time"])
    ]
    if recurrent:
        title = "Gradient through time: the share of the last step's gradient reaching step t"
        charts.append(_figure(title, _chart(recurrent, "step", reference=1.0)))
    parts.append(_legend([layer["name"] for layer in layers]))  # above: read before the lines
    parts.append(f'<div class="charts">{"".join(charts)}</div>')
    parts.append(_layer_table(layers))
    return "\n".join(part for part in parts if part)


def _last_steps(through: list) -> list:
    known = [t for t in through if t]
    return known[-1] if known else []


def _diagnoses(found: list) -> str:
    e = html.escape
    if not found:
        return '<p class="note">No problem found in these numbers.</p>'
    items = "".join(f"<li>{e(finding['message'])}</li>" for finding in found)
    count = f"{len(found)} problem{'s' if len(found) != 1 else ''}"
    return f'<div class="diagnoses"><p><b>Diagnostics found {count}:</b></p><ul>{items}</ul></div>'


def _figure(caption: str, chart: str) -> str:
    return f"<figure>{chart}<figcaption>{html.escape(caption)}</figcaption></figure>"


def _legend(names: list[str]) -> str:
    items = "".join(
        f'<li><span class="swatch" style="background:{PALETTE[i % len(PALETTE)]}"></span>'
        f"{html.escape(name)}</li>"
        for i, name in enumerate(names)
    )
    return f'<ul class="legend">{items}</ul>'


def _percent(value) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.0%}"


def _number(value) -> str:
    return "–" if value is None else f"{value:.3g}"


def _last(values: list):
    known = [v for v in values if v is not None]
    return known[-1] if known else None


def _layer_table(layers: list) -> str:
    e = html.escape
    head = ["Layer", "Gradient", "Update ratio", "Dead", "Saturated"]
    rows = []
    for layer in layers:
        cells = [
            _number(_last(layer["grad_norm"])),
            _number(_last(layer["update_ratio"])),
            _percent(_last(layer["dead_fraction"])),
            _percent(_last(layer["saturated_fraction"])),
        ]
        activation = layer.get("activation") or layer.get("type", "")
        row = [f'<td>{e(layer["name"])} <span class="note">{e(activation)}</span></td>']
        row += [f'<td class="num">{e(cell)}</td>' for cell in cells]
        rows.append("<tr>" + "".join(row) + "</tr>")
    top = "".join(f"<th{' class=num' if i else ''}>{e(h)}</th>" for i, h in enumerate(head))
    return (
        '<p class="note">The last epoch: the gradient\'s norm, the update-to-weight ratio, the '
        "ReLU-family units never positive on the sampled batches (dead), and the sigmoid/tanh "
        "units at a bound on 90% of them (saturated).</p>"
        f'<div class="scroll"><table class="layers"><thead><tr>{top}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


# --- a line chart with a logarithmic y axis, in SVG -----------------------------------------


def _chart(series: list, x_label: str, reference: float | None = None) -> str:
    """Lines of ``series`` [(name, values)] against 1..n on a log10 y axis; values that are
    None, 0 or not finite are left out (a gap). '' when nothing can be drawn."""
    logs = [[math.log10(v) if _positive(v) else None for v in values] for _, values in series]
    known = [v for line in logs for v in line if v is not None]
    if not known:
        return '<p class="missing">Nothing to draw: no positive values.</p>'
    if reference is not None:
        known.append(math.log10(reference))
    low, high = math.floor(min(known)), math.ceil(max(known))
    high = max(high, low + 1)
    steps = max(len(line) for line in logs)
    x = lambda i: LEFT + (WIDTH - LEFT - RIGHT) * (i / max(steps - 1, 1))  # noqa: E731
    y = lambda v: TOP + (HEIGHT - TOP - BOTTOM) * (high - v) / (high - low)  # noqa: E731
    parts = _axes(low, high, steps, x, y, x_label)
    if reference is not None:
        level = y(math.log10(reference))
        parts.append(
            f'<line class="reference" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{level:.1f}" '
            f'y2="{level:.1f}"/>'
        )
    for i, line in enumerate(logs):
        colour = PALETTE[i % len(PALETTE)]
        for run in _runs(line):
            points = " ".join(f"{x(j):.1f},{y(v):.1f}" for j, v in run)
            parts.append(f'<polyline points="{points}" stroke="{colour}"/>')
            if len(run) == 1:  # a single point: a dot, or it would not show
                j, v = run[0]
                parts.append(f'<circle cx="{x(j):.1f}" cy="{y(v):.1f}" r="3" fill="{colour}"/>')
    names = ", ".join(name for name, _ in series)
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{html.escape(names)}">' + "".join(parts) + "</svg>"
    )


def _positive(v) -> bool:
    return v is not None and math.isfinite(v) and v > 0


def _runs(line: list) -> list[list]:
    """The unbroken stretches of (index, value) in ``line``."""
    runs, current = [], []
    for j, v in enumerate(line):
        if v is None:
            runs, current = runs + ([current] if current else []), []
        else:
            current.append((j, v))
    return runs + ([current] if current else [])


def _axes(low: int, high: int, steps: int, x, y, x_label: str) -> list[str]:
    """Grid lines and labels at every decade (every other one past 6), and ticks on x."""
    parts = []
    every = 1 if high - low <= 6 else math.ceil((high - low) / 6)
    for power in range(low, high + 1, every):
        level = y(power)
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{level:.1f}" '
            f'y2="{level:.1f}"/><text x="{LEFT - 6}" y="{level + 4:.1f}" '
            f'text-anchor="end">1e{power}</text>'
        )
    stride = max(1, math.ceil(steps / 8))  # the last tick, then none closer than half a stride
    ticks = [*range(0, steps - 1 - stride // 2, stride), steps - 1] if steps > 1 else [0]
    base = HEIGHT - BOTTOM
    for j in ticks:
        parts.append(f'<text x="{x(j):.1f}" y="{base + 18}" text-anchor="middle">{j + 1}</text>')
    parts.append(
        f'<text x="{(LEFT + WIDTH - RIGHT) / 2}" y="{HEIGHT - 4}" '
        f'text-anchor="middle">{html.escape(x_label)}</text>'
    )
    return parts


CSS = """
.diagnoses { border-left: 4px solid var(--bad); padding-left: 12px; margin-bottom: 12px; }
.diagnoses ul { padding-left: 18px; }
.diagnoses li { margin-bottom: 6px; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(360px, 1fr)); gap: 16px; }
.charts figure { text-align: left; }
svg.chart { width: 100%; height: auto; display: block; color: var(--muted); font-size: 13px; }
svg.chart text { fill: currentColor; }
svg.chart polyline { fill: none; stroke-width: 2; }
svg.chart .grid { stroke: var(--line); }
svg.chart .reference { stroke: var(--ink); stroke-dasharray: 5 4; }
.legend { list-style: none; padding: 0; margin: 8px 0 12px; display: flex; flex-wrap: wrap;
          gap: 4px 16px; font-size: .85rem; }
@media (max-width: 600px) {
  .charts { grid-template-columns: 1fr; }
  svg.chart { font-size: 17px; }  /* drawn at about 0.7 scale */
  table.layers { font-size: .75rem; }
}
table.layers .note { font-size: inherit; }
.swatch { display: inline-block; width: 14px; height: 4px; margin-right: 6px;
          vertical-align: middle; }
"""
