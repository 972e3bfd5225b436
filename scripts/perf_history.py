#!/usr/bin/env python3
"""Draws docs/src/perf/history.csv (one row per scripts/bench_vs_pytorch.sh run:
date, CPU, commit, and actbench's samples/s over PyTorch's per workload) as
docs/src/perf/history.svg: one line per workload over the runs, and the parity
line at 1. Plain SVG, so it needs nothing beyond Python's standard library.

    scripts/perf_history.py [CSV] [SVG]
"""
import csv
import sys

src = sys.argv[1] if len(sys.argv) > 1 else "docs/src/perf/history.csv"
dst = sys.argv[2] if len(sys.argv) > 2 else "docs/src/perf/history.svg"
rows = list(csv.DictReader(open(src)))
workloads = [k for k in rows[0] if k.startswith("w")]
W, H, L, R, T, B = 760, 360, 60, 150, 30, 70
top = max([2.0] + [float(r[w]) for r in rows for w in workloads if r[w]])
x = lambda i: L + (W - L - R) * (i / max(1, len(rows) - 1))
y = lambda v: T + (H - T - B) * (1 - v / top)
colours = ["#1f77b4", "#aec7e8", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="11">',
       f'<rect width="{W}" height="{H}" fill="white"/>',
       f'<text x="{L}" y="18" font-size="13">actbench samples/s over PyTorch\'s, per workload (scripts/bench_vs_pytorch.sh)</text>']
for tick in [t / 2 for t in range(0, int(top * 2) + 1)]:
    # Parity (1x) dashed and dark, the other ticks light.
    style = 'stroke="#000" stroke-dasharray="4 3"' if tick == 1 else 'stroke="#ddd"'
    out.append(f'<line x1="{L}" x2="{W - R}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" {style}/>')
    out.append(f'<text x="{L - 8}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick:g}</text>')
for i, r in enumerate(rows):
    out.append(f'<text transform="translate({x(i):.1f},{H - B + 14}) rotate(30)">{r["date"]} {r["commit"]}</text>')
for j, w in enumerate(workloads):
    points = [(x(i), y(float(r[w]))) for i, r in enumerate(rows) if r[w]]
    if not points:
        continue
    c = colours[j % len(colours)]
    out.append(f'<polyline fill="none" stroke="{c}" stroke-width="2" points="{" ".join(f"{a:.1f},{b:.1f}" for a, b in points)}"/>')
    out += [f'<circle cx="{a:.1f}" cy="{b:.1f}" r="3" fill="{c}"/>' for a, b in points]
    out.append(f'<line x1="{W - R + 15}" x2="{W - R + 35}" y1="{T + 16 * j}" y2="{T + 16 * j}" stroke="{c}" stroke-width="2"/>')
    out.append(f'<text x="{W - R + 40}" y="{T + 16 * j + 4}">{w.replace("_", " ")}</text>')
out.append("</svg>")
open(dst, "w").write("\n".join(out) + "\n")
print(f"wrote {dst}: {len(rows)} runs, {len(workloads)} workloads")
