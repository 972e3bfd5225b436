#!/usr/bin/env bash
# actbench against PyTorch on the reference workloads w1-w10, side by side:
# in every round each workload is trained once by actbench (`actbench bench`)
# and once by PyTorch (scripts/torch_bench.py), alternately, so both see the
# same machine load; the table gives the medians over the rounds and their
# ratio. PyTorch (CPU, 2 threads) is installed into .venv-torch on first use.
#
#   scripts/bench_vs_pytorch.sh [ROUNDS] [WORKLOADS]     (default: 3 w1,w2,w3,w4,w5,w6,w7,w8,w9,w10)
#
# Each side's peak resident memory (RSS, from /usr/bin/time) is the largest
# over its rounds: a whole process, data generation included.
#
# Every run appends its ratios to docs/src/perf/history.csv (date, CPU, commit,
# rounds, one ratio per workload) and redraws docs/src/perf/history.svg
# (scripts/perf_history.py); docs/src/performance.md shows both.
#
# scripts/torch_bench.py is the project's PyTorch reference (the workloads
# its speed targets were set against): same data recipe, shapes, batch 128,
# optimizers, one epoch of 60000 samples (5120 CIFAR-shaped ones for w9)
# after 10 warm-up steps.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
workloads="${2:-w1,w2,w3,w4,w5,w6,w7,w8,w9,w10}"
venv="${TORCH_VENV:-.venv-torch}"

if ! "$venv/bin/python" -c "import torch" 2>/dev/null; then
    echo "bench: installing PyTorch 2.15.0 into $venv (once; the PyPI wheel is large)" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet torch==2.15.0 numpy==2.4.6
fi
cargo build --release --locked --quiet
bin="${CARGO_TARGET_DIR:-target}/release/actbench"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for round in $(seq 1 "$rounds"); do
    for w in ${workloads//,/ }; do
        echo "bench: round $round/$rounds, $w: actbench" >&2
        /usr/bin/time -f %M -o "$tmp/actbench-$w-$round.rss" \
            "$bin" bench --workloads "$w" --repeats 1 --csv "$tmp/actbench-$w-$round.csv" >/dev/null 2>&1
        echo "bench: round $round/$rounds, $w: PyTorch" >&2
        # --max-foreign -1: keep every run, as for actbench (the alternation evens the load out);
        # evaluation in chunks of 4096, as actbench evaluates.
        /usr/bin/time -f %M -o "$tmp/torch-$w-$round.rss" \
            "$venv/bin/python" scripts/torch_bench.py train --workloads "$w" --repeats 1 --max-foreign -1 --eval-batch-size 4096 \
            --json "$tmp/torch-$w-$round.json" --quiet
    done
done

"$venv/bin/python" - "$tmp" "$rounds" <<'PY'
import csv, glob, json, os, statistics, subprocess, sys, datetime
tmp, rounds = sys.argv[1], sys.argv[2]
ours, theirs = {}, {}
for path in glob.glob(os.path.join(tmp, "actbench-*.csv")):
    for row in csv.DictReader(open(path)):
        key = (row["workload"], row["optimizer"])
        ours.setdefault(key, []).append((float(row["samples_per_s_median"]), float(row["eval_ms_median"])))
for path in glob.glob(os.path.join(tmp, "torch-*.json")):
    for w in json.load(open(path))["workloads"]:
        key = (w["name"], w["optimizer"])
        theirs.setdefault(key, []).append((w["samples_per_s_median"], 1e3 * w["eval_s_median"]))
cpu = next((l.split(":", 1)[1].strip() for l in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines() if l.startswith("Model name")), "?")
print(f"{datetime.date.today()}, {cpu}, {os.cpu_count()} cores; median of {rounds} alternating rounds")
print()
def rss(side, w):
    """The largest peak RSS (MiB) of a side's processes for workload w."""
    kib = [int(open(p).read().split()[-1]) for p in glob.glob(os.path.join(tmp, f"{side}-{w}-*.rss"))]
    return max(kib) / 1024 if kib else float("nan")
print("| workload | actbench samples/s | PyTorch samples/s | ratio | actbench eval ms | PyTorch eval ms | actbench peak RSS MiB | PyTorch peak RSS MiB |")
print("|---|---|---|---|---|---|---|---|")
ratios = {}
# By workload number (w10 after w9), SGD first.
for key in sorted(ours, key=lambda k: (int(k[0][1:]), k[1] != "sgd")):
    if key not in theirs:
        continue
    a = statistics.median(s for s, _ in ours[key]); ae = statistics.median(e for _, e in ours[key])
    t = statistics.median(s for s, _ in theirs[key]); te = statistics.median(e for _, e in theirs[key])
    print(f"| {key[0]} {key[1]} | {a:,.0f} | {t:,.0f} | {a / t:.2f} | {ae:.1f} | {te:.1f} | {rss('actbench', key[0]):,.0f} | {rss('torch', key[0]):,.0f} |")
    ratios[f"{key[0]}_{key[1]}"] = f"{a / t:.2f}"
history = "docs/src/perf/history.csv"
columns = next(csv.reader(open(history)))
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
if subprocess.run(["git", "diff", "--quiet", "HEAD"]).returncode != 0:
    commit += "-dirty"
row = {"date": str(datetime.date.today()), "cpu": cpu, "commit": commit, "rounds": rounds, "note": ""} | ratios
with open(history, "a", newline="") as f:
    csv.writer(f).writerow([row.get(c, "") for c in columns])
print(f"\nappended to {history}")
PY
python3 scripts/perf_history.py
