#!/usr/bin/env python3
"""Plots the allocator's scaling curve (BM_Scaling) as an SVG.

Usage:
  bench_allocator --benchmark_filter=BM_Scaling --benchmark_repetitions=3 \
      --benchmark_report_aggregates_only=true --benchmark_format=json > scaling.json
  bench/allocator/plot_scaling.py scaling.json docs/img/allocator-scaling.svg

x: devices on the node (log scale), y: wall time per pod allocation (log
scale), one line per claims-per-pod count; the medians when the run has
aggregates, else the single runs. Also prints the table (markdown) that
BENCHMARKS.md shows beside the plot. Standard library only.
"""
import json
import math
import re
import sys

NAME = re.compile(r"^BM_Scaling/devices:(\d+)/claims:(\d+)")
UNIT = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]


def load(path):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    points = {}  # (devices, claims) -> seconds per pod
    for b in data.get("benchmarks", []):
        m = NAME.match(b.get("run_name", b["name"]))
        if not m or b.get("error_occurred"):
            continue
        agg = b.get("aggregate_name")
        if agg not in (None, "median"):
            continue
        key = (int(m.group(1)), int(m.group(2)))
        if agg is None and key in points:
            continue  # repetitions without aggregates: keep the first
        points[key] = b["real_time"] * UNIT[b.get("time_unit", "ns")]
    if not points:
        sys.exit(f"{path}: no BM_Scaling results (run bench_allocator with "
                 "--benchmark_filter=BM_Scaling --benchmark_format=json)")
    return data.get("context", {}), points


def fmt_time(s):
    if s < 1e-3:
        return f"{s * 1e6:.0f} µs"
    if s < 1:
        return f"{s * 1e3:.1f} ms"
    return f"{s:.2f} s"


def svg(points, context):
    w, h, left, right, top, bottom = 720, 440, 80, 150, 40, 60
    devs = sorted({d for d, _ in points})
    claims = sorted({c for _, c in points})
    ys = list(points.values())
    xlo, xhi = math.log2(devs[0]), math.log2(devs[-1])
    ylo = math.floor(math.log10(min(ys)))
    yhi = math.ceil(math.log10(max(ys)))
    if yhi == ylo:
        yhi += 1

    def x(d):
        span = (xhi - xlo) or 1
        return left + (math.log2(d) - xlo) / span * (w - left - right)

    def y(s):
        return top + (yhi - math.log10(s)) / (yhi - ylo) * (h - top - bottom)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{w / 2}" y="22" text-anchor="middle" font-size="14">'
           'Allocator: time per pod allocation vs devices on the node</text>']
    for e in range(ylo, yhi + 1):
        yy = y(10 ** e)
        out.append(f'<line x1="{left}" y1="{yy:.1f}" x2="{w - right}" y2="{yy:.1f}" '
                   'stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{yy + 4:.1f}" text-anchor="end">'
                   f'{fmt_time(10 ** e)}</text>')
    for d in devs:
        xx = x(d)
        out.append(f'<line x1="{xx:.1f}" y1="{top}" x2="{xx:.1f}" y2="{h - bottom}" '
                   'stroke="#eee"/>')
        out.append(f'<text x="{xx:.1f}" y="{h - bottom + 18}" text-anchor="middle">{d}</text>')
    out.append(f'<text x="{(left + w - right) / 2}" y="{h - 15}" text-anchor="middle">'
               'devices on the node (log scale)</text>')
    out.append(f'<text transform="translate(18,{(top + h - bottom) / 2}) rotate(-90)" '
               'text-anchor="middle">wall time per pod (log scale)</text>')
    for i, c in enumerate(claims):
        col = COLOURS[i % len(COLOURS)]
        line = sorted((d, s) for (d, cc), s in points.items() if cc == c)
        pts = " ".join(f"{x(d):.1f},{y(s):.1f}" for d, s in line)
        out.append(f'<polyline points="{pts}" fill="none" stroke="{col}" stroke-width="2"/>')
        for d, s in line:
            out.append(f'<circle cx="{x(d):.1f}" cy="{y(s):.1f}" r="3.5" fill="{col}">'
                       f'<title>{d} devices, {c} claims: {fmt_time(s)}</title></circle>')
        ly = top + 20 + 20 * i
        out.append(f'<line x1="{w - right + 15}" y1="{ly}" x2="{w - right + 40}" y2="{ly}" '
                   f'stroke="{col}" stroke-width="2"/>')
        out.append(f'<text x="{w - right + 46}" y="{ly + 4}">{c} claim{"s" if c > 1 else ""}'
                   '/pod</text>')
    host = context.get("host_name", "")
    cpus = context.get("num_cpus", "")
    out.append(f'<text x="{left}" y="{h - 2}" font-size="10" fill="#666">'
               f'{cpus} CPUs {host}, {context.get("date", "")}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def table(points):
    devs = sorted({d for d, _ in points})
    claims = sorted({c for _, c in points})
    rows = ["| devices | " + " | ".join(f"{c} claim{'s' if c > 1 else ''}/pod" for c in claims)
            + " |", "| ---: |" + " ---: |" * len(claims)]
    for d in devs:
        cells = [fmt_time(points[(d, c)]) if (d, c) in points else "–" for c in claims]
        rows.append(f"| {d} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    context, points = load(sys.argv[1])
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        f.write(svg(points, context))
    print(table(points))


if __name__ == "__main__":
    main()
