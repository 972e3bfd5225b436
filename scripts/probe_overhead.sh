#!/usr/bin/env bash
# Cost of the activation statistics (logging.activation_stats): runs the same
# experiment with them on and off, alternating in every round, and prints the
# median training time (sum of the runs' wall_seconds) of each and the ratio.
#   scripts/probe_overhead.sh [CONFIG] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
config="${1:-configs/relu_vs_sigmoid.toml}"
rounds="${2:-5}"
bin="${CARGO_TARGET_DIR:-target}/release/actbench"
[ -x "$bin" ] || cargo build --release --quiet
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The same config with the statistics off: append the key to its [logging] table.
python3 - "$config" "$tmp/off.toml" <<'PY'
import sys, re
text = open(sys.argv[1]).read()
if "[logging]" in text:
    text = text.replace("[logging]", "[logging]\nactivation_stats = false", 1)
else:
    text += "\n[logging]\nactivation_stats = false\n"
open(sys.argv[2], "w").write(text)
PY
train_seconds() { awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "wall_seconds") c = i; next } { s += $c } END { print s }' "$1/summary.csv"; }
on=(); off=()
for round in $(seq "$rounds"); do
  "$bin" --config "$config" --out "$tmp/on" --quiet;      on+=("$(train_seconds "$tmp/on")")
  "$bin" --config "$tmp/off.toml" --out "$tmp/off" --quiet; off+=("$(train_seconds "$tmp/off")")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
m_on=$(median "${on[@]}"); m_off=$(median "${off[@]}")
echo "config: $config, rounds: $rounds"
echo "activation stats on:  median ${m_on} s   (${on[*]})"
echo "activation stats off: median ${m_off} s   (${off[*]})"
echo "overhead: $(echo "($m_on / $m_off - 1) * 100" | bc -l | xargs printf '%.1f')%"
