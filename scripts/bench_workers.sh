#!/usr/bin/env bash
# Wall times of one grid trained three ways, side by side in alternating
# rounds (medians): `run --jobs 1`, `run --jobs 2`, and `actbench slurm
# --submit` as a 2-task array of 1-CPU workers plus its merge job on the local
# cluster (scripts/slurm-up.sh). Then the cost of claiming: a 500-run grid of
# tiny runs trained by `run --jobs 1` and by one `run --worker`, and `merge`
# of that 500-run folder.
# Usage: scripts/bench_workers.sh [ROUNDS] [CONFIG...]   (default: 3 relu_vs_sigmoid)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
shift || true
configs=("${@:-configs/relu_vs_sigmoid.toml}")
bin="${CARGO_TARGET_DIR:-/var/tmp/actbench-target}/release/actbench"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
scripts/slurm-up.sh >/dev/null

seconds() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
slurm_grid() {
    local out=$1 config=$2 ids
    ids=$("$bin" slurm --config "$config" --out "$out" --tasks 2 --cpus-per-task 1 --submit | awk '/submitted/ {print $4 "," $10}')
    while [ -n "$(squeue -h -j "$ids")" ]; do sleep 0.1; done
    grep -q "runs finished; tables" "$out"/slurm/merge-*.log
}

for config in "${configs[@]}"; do
    : > "$work/j1"; : > "$work/j2"; : > "$work/slurm"
    for r in $(seq "$rounds"); do
        rm -rf "$work/o"; seconds "$bin" --config "$config" --out "$work/o" --quiet --jobs 1 >> "$work/j1"
        rm -rf "$work/o"; seconds "$bin" --config "$config" --out "$work/o" --quiet --jobs 2 >> "$work/j2"
        rm -rf "$work/o"; seconds slurm_grid "$work/o" "$config" >> "$work/slurm"
    done
    printf "%s (%s rounds, medians): --jobs 1 %.2f s, --jobs 2 %.2f s, slurm 2 tasks x 1 CPU + merge %.2f s\n" \
        "$config" "$rounds" "$(median < "$work/j1")" "$(median < "$work/j2")" "$(median < "$work/slurm")"
done

# Claiming: 500 runs of a 4-unit network, one epoch each.
cat > "$work/many.toml" <<CONF
activations = ["relu", "tanh", "sigmoid", "elu", "silu"]
[experiment]
seeds = 100
[model]
hidden = [4]
[training]
epochs = 1
[logging]
every_steps = 0
activation_stats = false
CONF
: > "$work/run"; : > "$work/worker"; : > "$work/merge"
for r in $(seq "$rounds"); do
    rm -rf "$work/m"; seconds "$bin" --config "$work/many.toml" --out "$work/m" --quiet >> "$work/run"
    rm -rf "$work/m"; seconds "$bin" --config "$work/many.toml" --out "$work/m" --quiet --worker >> "$work/worker"
    seconds "$bin" merge "$work/m" >> "$work/merge"
done
run=$(median < "$work/run"); worker=$(median < "$work/worker"); merge=$(median < "$work/merge")
printf "500 tiny runs (%s rounds, medians): run %.2f s, run --worker %.2f s (%+.2f ms per run), merge %.2f s\n" \
    "$rounds" "$run" "$worker" "$(echo "($worker - $run) * 1000 / 500" | bc -l)" "$merge"
