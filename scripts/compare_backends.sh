#!/usr/bin/env bash
# Times the same experiment on each CPU backend, alternating backends in
# every round so that machine noise hits both alike, and prints the median
# wall time per backend and the ratio ndarray / flex.
#   scripts/compare_backends.sh [CONFIG] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
config="${1:-configs/relu_vs_sigmoid.toml}"
rounds="${2:-5}"
bin="${CARGO_TARGET_DIR:-target}/release/actbench"
[ -x "$bin" ] || cargo build --release --quiet
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
declare -A times
for round in $(seq "$rounds"); do
  for backend in flex ndarray; do
    start=$(date +%s.%N)
    "$bin" --config "$config" --backend "$backend" --out "$out/$backend" --quiet
    end=$(date +%s.%N)
    times[$backend]+="$(echo "$end - $start" | bc) "
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
f=$(echo "${times[flex]}" | median); n=$(echo "${times[ndarray]}" | median)
echo "config: $config, rounds: $rounds, threads: $(nproc)"
printf "flex     median %.2f s   (%s)\n" "$f" "${times[flex]}"
printf "ndarray  median %.2f s   (%s)\n" "$n" "${times[ndarray]}"
printf "ndarray / flex = %.2f\n" "$(echo "$n / $f" | bc -l)"
