#!/usr/bin/env bash
# The GPU backends against flex, on a machine with an NVIDIA GPU: builds
# actbench with the `wgpu` and `cuda` features (into their own target
# folder), then runs `actbench bench` on flex, wgpu and cuda, alternating
# the backends in every round, and prints one table of medians.
#
#   scripts/gpu-bench.sh [ROUNDS] [WORKLOADS]     (default: 3 w1,w3,w4,w5)
#
# No CUDA toolkit is needed: cudarc loads the driver and NVRTC at run time,
# and CUDARC_CUDA_VERSION (default 12080) stands in for `nvcc --version` at
# build time. The first build downloads an LLVM bundle (cubecl-llvm's build
# script, a dependency of cubecl-cuda): it needs network access beyond
# crates.io. A backend that fails to start (no driver, no Vulkan) is
# reported and left out of the table. The first build takes about 40
# minutes on 2 cores; on a 16-core GPU machine, a few.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
workloads="${2:-w1,w3,w4,w5}"
export CUDARC_CUDA_VERSION="${CUDARC_CUDA_VERSION:-12080}"
export CARGO_TARGET_DIR="${GPU_TARGET_DIR:-target-gpu}"

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null \
    || echo "gpu-bench: nvidia-smi found no NVIDIA GPU; the cuda rows will fail" >&2
cargo build --release --locked --features wgpu,cuda
bin="$CARGO_TARGET_DIR/release/actbench"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for round in $(seq 1 "$rounds"); do
    for backend in flex wgpu cuda; do
        echo "gpu-bench: round $round/$rounds, $backend" >&2
        if ! "$bin" bench --backend "$backend" --workloads "$workloads" --repeats 1 \
            --csv "$tmp/$backend-$round.csv" >"$tmp/$backend-$round.log" 2>&1; then
            echo "gpu-bench: $backend failed: $(tail -1 "$tmp/$backend-$round.log")" >&2
            rm -f "$tmp/$backend-$round.csv"
        fi
    done
done

python3 - "$tmp" "$rounds" <<'PY'
import csv, glob, os, statistics, sys
tmp, rounds = sys.argv[1], sys.argv[2]
rows = {}
for path in glob.glob(os.path.join(tmp, "*.csv")):
    backend = os.path.basename(path).rsplit("-", 1)[0]
    for r in csv.DictReader(open(path)):
        key = (r["workload"], r["optimizer"])
        rows.setdefault(key, {}).setdefault(backend, []).append(
            (float(r["samples_per_s_median"]), float(r["eval_ms_median"])))
backends = ["flex", "wgpu", "cuda"]
print(f"median of {rounds} alternating rounds; samples/s (evaluation ms)")
print()
print("| workload | " + " | ".join(backends) + " | cuda / flex |")
print("|---|" + "---|" * (len(backends) + 1))
for key in sorted(rows):
    cells, med = [], {}
    for b in backends:
        got = rows[key].get(b)
        if got:
            med[b] = statistics.median(g[0] for g in got)
            cells.append(f"{med[b]:,.0f} ({statistics.median(g[1] for g in got):.1f} ms)")
        else:
            cells.append("failed")
    ratio = f"{med['cuda'] / med['flex']:.2f}" if "cuda" in med and "flex" in med else "-"
    print(f"| {key[0]} {key[1]} | " + " | ".join(cells) + f" | {ratio} |")
PY
