#!/usr/bin/env bash
# Runs the whole benchmark suite (see bench/README.md); extra arguments go to `astra-bench all`,
# e.g. `bench/run.sh --db sqlite --pin pinned --duration 5`.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --release -p astra-bench -- all "$@"
