#!/usr/bin/env bash
# Every check the project has, in the order CI runs them: formatting, lints
# (warnings are errors), then every test: unit, data, model (per backend, and
# the cross-backend equivalence tests), and end to end through the trainer
# binary, including a full notebook training and a smoke training per backend.
#
#   scripts/check.sh                     the default build: flex
#   scripts/check.sh ndarray,wgpu,tch    the default build's lints, then everything
#                                        on a build that also holds these backends
#                                        (what CI runs; `auto` then trains on wgpu)
#
# wgpu needs a Vulkan driver at run time (without a GPU: apt-get install
# mesa-vulkan-drivers libvulkan1); tch needs `eval "$(scripts/setup-libtorch.sh)"`.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
if [ $# -eq 0 ]; then
    cargo test --workspace
    exit
fi

backends=$1
features=$(tr ',' '\n' <<<"$backends" | sed 's|^|trainer/|' | paste -sd, -)
cargo clippy --workspace --all-targets --features "$features" -- -D warnings
cargo test --workspace --features "$features"
