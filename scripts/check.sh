#!/usr/bin/env bash
# Every check the project has, in the order CI runs them: formatting, lints
# (warnings are errors), then every test: unit, data, model (per backend, and
# the cross-backend equivalence tests), and end to end through the trainer
# binary, including a full notebook training and a smoke training per backend.
#
#   scripts/check.sh                     the default build: flex
#   scripts/check.sh ndarray,wgpu,tch    a build that also holds these backends
#                                        (what CI runs; `auto` then trains on wgpu)
#
# One build is linted and tested, not two: the build with backends holds all
# of the default build's code (but for a three-line fallback compiled only
# without a GPU backend), and linting the default build beside it would cost
# CI another full check of the Burn stack.
#
# wgpu needs a Vulkan driver at run time (without a GPU: apt-get install
# mesa-vulkan-drivers libvulkan1); tch needs `eval "$(scripts/setup-libtorch.sh)"`.
set -euo pipefail
cd "$(dirname "$0")/.."

features=()
if [ $# -gt 0 ]; then
    features=(--features "$(tr ',' '\n' <<<"$1" | sed 's|^|trainer/|' | paste -sd, -)")
fi
cargo fmt --all --check
cargo clippy --workspace --all-targets "${features[@]}" -- -D warnings
cargo test --workspace "${features[@]}"
