#!/usr/bin/env bash
# Load benchmark of `trainer serve`: trains the notebook if no run is given,
# starts the server on a free loopback port, sends 10,000 `POST /api/predict`
# (the test set's first digit as a PNG, as `trainer show` draws it) from 32
# concurrent clients, and prints requests/s, p50/p99 latency and the
# server's peak RSS. Runs three times; quote the median.
#
#   scripts/serve-bench.sh [RUN_DIR] [REQUESTS] [CLIENTS]
set -euo pipefail
cd "$(dirname "$0")/.."

requests=${2:-10000}
clients=${3:-32}
cargo build --release -p trainer --bins --example load >&2
trainer=target/release/trainer
work=$(mktemp -d)
server=
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

if [ -n "${1:-}" ]; then
    artifacts=$(dirname "$(dirname "$(realpath "$1")")")
else
    artifacts="$work/artifacts"
    "$trainer" train --artifacts "$artifacts" >&2
fi
"$trainer" show --split test --index 0 -o "$work/seven.png" >&2

"$trainer" serve --artifacts "$artifacts" --port 0 >"$work/serve.log" &
server=$!
for _ in $(seq 100); do grep -q http "$work/serve.log" && break; sleep 0.1; done
url=$(grep -o 'http://[^ ]*' "$work/serve.log" | head -1)

for run in 1 2 3; do
    echo -n "run $run: "
    target/release/examples/load "$url" "$work/seven.png" "$requests" "$clients"
done
echo "server peak RSS: $(awk '/VmHWM/ {print $2 / 1024 " MB"}' "/proc/$server/status")"
