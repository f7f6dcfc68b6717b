#!/usr/bin/env bash
# The benchmark suite: each network of the suite trained by burnist, then by
# its Keras and PyTorch twins (scripts/twins.py: same layers, init, optimiser,
# batch, scaling and validation) at 1 and 2 threads, back to back; prints a
# markdown table of median seconds per epoch, the last validation accuracy,
# peak RSS, and burnist's time over the faster peer's.
#
#   scripts/suite.sh [EPOCHS] [CONFIG...]   default: 2 epochs of the four networks
#
# Environment:
#   TRAINER=PATH            the trainer binary (default: build --release)
#   REFERENCE_PYTHON=PATH   python with tensorflow-cpu, keras and torch
#                           (default: the venv of ../shared/reference/setup.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

epochs=${1:-2}
shift || true
configs=("$@")
[ ${#configs[@]} -gt 0 ] || configs=(notebook mlp lenet keras-convnet)
python=${REFERENCE_PYTHON:-$HOME/.cache/burnist-reference-venv/bin/python}
command -v /usr/bin/time >/dev/null || { echo "suite.sh needs GNU time: apt-get install time" >&2; exit 1; }
if [ -z "${TRAINER:-}" ]; then
    cargo build --release -p trainer >&2
    TRAINER=target/release/trainer
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
results="$work/results.jsonl"

# One JSON record per system and network: {"config", "system", "epoch_s", "val_acc", "rss_mb"}
record() {
    python3 - "$@" >>"$results" <<'EOF'
import json, re, sys
config, system, kind, out, timing = sys.argv[1:6]
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(timing).read()).group(1)) / 1024
if kind == "burnist":
    epochs = json.load(open(out))["epochs"]
    epoch_s, val = [e["seconds"] for e in epochs], epochs[-1]["val_accuracy"]
else:
    line = json.loads(open(out).read().strip().splitlines()[-1])
    epoch_s, val = line["epoch_s"], line["val_acc"][-1]
print(json.dumps({"config": config, "system": system, "epoch_s": epoch_s, "val_acc": val, "rss_mb": rss}))
EOF
}

for config in "${configs[@]}"; do
    echo "suite: $config, burnist" >&2
    artifacts="$work/$config"
    /usr/bin/time -v -o "$work/time.txt" "$TRAINER" train --config "configs/$config.toml" \
        --epochs "$epochs" --artifacts "$artifacts" >/dev/null
    record "$config" "burnist" burnist "$artifacts/$config/run-001/history.json" "$work/time.txt"
    for framework in keras torch; do
        for threads in 1 2; do
            echo "suite: $config, $framework at $threads thread(s)" >&2
            /usr/bin/time -v -o "$work/time.txt" "$python" scripts/twins.py "$framework" \
                --config "configs/$config.toml" --epochs "$epochs" --threads "$threads" >"$work/twin.log" 2>/dev/null
            record "$config" "$framework ($threads)" twin "$work/twin.log" "$work/time.txt"
        done
    done
done

python3 - "$results" <<'EOF'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
print("| network | system | s/epoch (median) | val_accuracy | peak RSS MB | burnist / faster peer |")
print("|---|---|---|---|---|---|")
for config in dict.fromkeys(r["config"] for r in rows):
    mine = [r for r in rows if r["config"] == config]
    median = {r["system"]: statistics.median(r["epoch_s"]) for r in mine}
    peer = min(v for k, v in median.items() if k != "burnist")
    for r in mine:
        ratio = f"**{median['burnist'] / peer:.2f}**" if r["system"] == "burnist" else ""
        print(f"| {config} | {r['system']} | {median[r['system']]:.2f} | {r['val_acc']:.4f} | {r['rss_mb']:.0f} | {ratio} |")
EOF
