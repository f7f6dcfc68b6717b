#!/usr/bin/env bash
# Every check the project has, in the order CI runs them: formatting, lints
# (warnings are errors), then all tests (unit, data, model, end-to-end through
# the trainer binary, including one full notebook training).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace "$@"
