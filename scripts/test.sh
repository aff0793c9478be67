#!/usr/bin/env bash
# Runs every test of the workspace: unit tests, snapshot and compile-fail tests, and the
# integration tests against the real services (MariaDB with the binlog, Tansu, osmem), which this
# script starts first. Extra arguments go to the test runner (e.g. a test name filter).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/services.sh start

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --all-features --no-fail-fast "$@"
else
  echo "[test] cargo-nextest not found; using cargo test" >&2
  cargo test --workspace --all-features --no-fail-fast "$@"
fi
# nextest does not run doc tests; run them separately (only when no filter was given).
if [ $# -eq 0 ]; then
  cargo test --workspace --all-features --doc
fi
