#!/usr/bin/env bash
# Runs the studies in experiments/ and checks each one's claims:
# for every experiments/<study>/, train config.toml (the full variant) into
# results/studies/<study>, then `actbench check --expect expected.toml` on
# it. With --quick, quick.toml and expected-quick.toml instead (what CI
# runs, tests/it/studies.rs), into results/studies/<study>-quick.
# A study may add variants of its own: <name>.toml with its claims in
# expected-<name>.toml, cheap enough to run in both modes (CI runs them
# too), into results/studies/<study>-<name>.
#
#   scripts/run-studies.sh [--quick] [STUDY ...]      (default: every study)
#
# Exit status: 0 when every claim of every study holds, 1 otherwise.
# A finished run is kept: a second call trains only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
variant=full
if [ "${1:-}" = "--quick" ]; then variant=quick; shift; fi
studies=("$@")
if [ ${#studies[@]} -eq 0 ]; then
    for d in experiments/*/; do [ -f "$d/config.toml" ] && studies+=("$(basename "$d")"); done
fi
cargo build --release --locked --quiet
bin="${CARGO_TARGET_DIR:-target}/release/actbench"
failed=0
for study in "${studies[@]}"; do
    dir="experiments/$study"
    [ -d "$dir" ] || { echo "run-studies: no study '$study' in experiments/" >&2; exit 2; }
    if [ "$variant" = quick ]; then config="$dir/quick.toml"; claims="$dir/expected-quick.toml"; out="results/studies/$study-quick"
    else config="$dir/config.toml"; claims="$dir/expected.toml"; out="results/studies/$study"; fi
    # A study on CIFAR-10 needs its files (no registry holds them; CI runs
    # the quick variant on generated files of the format, tests/it/studies.rs).
    if grep -q 'dataset = "cifar10"' "$config" && [ ! -e "${ACTBENCH_DATA:-data}/cifar10" ]; then
        echo "run-studies: $study needs CIFAR-10: get it with \`actbench fetch cifar10\`; skipped" >&2
        continue
    fi
    echo "run-studies: $study ($variant)" >&2
    start=$(date +%s)
    "$bin" --config "$config" --out "$out" --quiet --jobs "${JOBS:-2}"
    echo "run-studies: $study trained in $(( $(date +%s) - start )) s" >&2
    "$bin" check --expect "$claims" "$out" || failed=1
    for extra in "$dir"/*.toml; do
        name=$(basename "$extra" .toml)
        case "$name" in config|quick|expected*) continue ;; esac
        [ -f "$dir/expected-$name.toml" ] || continue
        echo "run-studies: $study, variant $name" >&2
        "$bin" --config "$extra" --out "results/studies/$study-$name" --quiet --jobs "${JOBS:-2}"
        "$bin" check --expect "$dir/expected-$name.toml" "results/studies/$study-$name" || failed=1
    done
done
exit "$failed"
