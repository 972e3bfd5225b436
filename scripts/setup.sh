#!/usr/bin/env bash
# Everything the build and the tests need beyond the Rust toolchain.
# Today that is nothing: the digits data set is compiled into the binary and
# the activation reference values are committed under tests/data. Later
# needs (datasets, Mesa's Vulkan driver for wgpu, SLURM) are installed here,
# so that `.ci/run` and a fresh machine never depend on a manual step.
set -euo pipefail
command -v cargo >/dev/null || { echo "setup: cargo not found: install Rust (https://rustup.rs)" >&2; exit 1; }
echo "setup: $(cargo --version)"
