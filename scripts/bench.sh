#!/usr/bin/env bash
# End-to-end benchmark: trains the notebook (configs/notebook.toml: raw pixels,
# batch 32, 3 epochs) RUNS times on each backend, predicts the test split with
# the trained run, and prints a markdown table of medians: seconds per epoch
# (training plus validation, as Keras reports it), final val_accuracy,
# prediction images/s (model time: the first pass, and the median of three warm
# passes, as the reference scripts report them), the whole predict command's
# time, and the training process's peak RSS. With the reference implementations at hand
# it runs them in the same session, for ratios.
#
#   scripts/bench.sh [RUNS] [BACKEND[/stock]...]   default: 3 runs of flex and flex/stock
#
# BACKEND/stock trains with `--kernels stock` (Burn's own operations) instead
# of burnist's kernels, for comparison.
#
# Environment:
#   PROFILE=release|dev       build profile (default release)
#   FEATURES=wgpu,tch         extra backends to compile in (tch: eval "$(scripts/setup-libtorch.sh)" first)
#   TRAINER=PATH              benchmark this trainer binary instead of building one
#   REFERENCE=DIR             keras_notebook.py / torch_notebook.py to run alongside
#   REFERENCE_PYTHON=PATH     their python (a venv with tensorflow-cpu and torch)
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${1:-3}
shift || true
backends=("$@")
[ ${#backends[@]} -gt 0 ] || backends=(flex flex/stock)
profile=${PROFILE:-release}
features=${FEATURES:-}

command -v /usr/bin/time >/dev/null || { echo "bench.sh needs GNU time: apt-get install time" >&2; exit 1; }
if [ -n "${TRAINER:-}" ]; then
    binary=$TRAINER
    profile="prebuilt ($binary)"
else
    cargo build --profile "$profile" -p trainer ${features:+--features "$features"} >&2
    target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
    binary="$target_dir/$([ "$profile" = dev ] && echo debug || echo "$profile")/trainer"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
results="$work/results.jsonl"

# One record per run: {"system", "epoch_s": [...], "val_acc", "img_per_s", "predict_s", "rss_mb"}
for spec in "${backends[@]}"; do
    backend=${spec%%/*}
    kernels=fast
    [[ $spec == */* ]] && kernels=${spec#*/}
    for run in $(seq "$runs"); do
        echo "bench: $backend ($kernels kernels) run $run/$runs" >&2
        artifacts="$work/$backend-$kernels-$run"
        /usr/bin/time -v -o "$work/time.txt" "$binary" train --config configs/notebook.toml \
            --backend "$backend" --kernels "$kernels" --artifacts "$artifacts" >"$work/train.log"
        start=$(date +%s.%N)
        "$binary" predict --run "$artifacts/notebook" --first 0 --repeat 4 >"$work/predict.log"
        end=$(date +%s.%N)
        python3 - "$backend, $kernels kernels" "$artifacts/notebook/run-001/history.json" "$work/time.txt" \
            "$work/predict.log" "$start" "$end" >>"$results" <<'EOF'
import json, re, sys
backend, history, time_txt, predict_log, start, end = sys.argv[1:]
epochs = json.load(open(history))["epochs"]
rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(time_txt).read()).group(1))
log = open(predict_log).read()
img_per_s = float(re.search(r"images in [\d.]+ s: (\d+) images/s", log).group(1))
warm_img_per_s = float(re.search(r"warm: .* s: (\d+) images/s", log).group(1))
print(json.dumps({"system": f"burnist {backend}", "epoch_s": [e["seconds"] for e in epochs],
                  "val_acc": epochs[-1]["val_accuracy"], "img_per_s": img_per_s, "warm_img_per_s": warm_img_per_s,
                  "predict_s": float(end) - float(start), "rss_mb": rss_kb / 1024}))
EOF
    done
done

if [ -n "${REFERENCE:-}" ]; then
    python=${REFERENCE_PYTHON:-python3}
    for script in keras_notebook torch_notebook; do
        for threads in 1 2; do
            for run in $(seq "$runs"); do
                echo "bench: $script --threads $threads run $run/$runs" >&2
                /usr/bin/time -v -o "$work/time.txt" "$python" "$REFERENCE/$script.py" --threads "$threads" \
                    >"$work/reference.log" 2>&1 || { tail -5 "$work/reference.log" >&2; continue; }
                python3 - "$script ($threads thread(s))" "$work/reference.log" "$work/time.txt" >>"$results" <<'EOF'
import json, re, sys
name, log, time_txt = sys.argv[1:]
result = json.loads(open(log).read().strip().splitlines()[-1])
rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(time_txt).read()).group(1))
print(json.dumps({"system": name, "epoch_s": result["epoch_s"], "val_acc": result["val_acc"][-1],
                  "img_per_s": result["predict_img_per_s"], "warm_img_per_s": result["predict_warm_img_per_s"],
                  "predict_s": None, "rss_mb": rss_kb / 1024}))
EOF
            done
        done
    done
fi

python3 - "$results" "$runs" "$profile" <<'EOF'
import json, statistics, sys
from collections import OrderedDict
path, runs, profile = sys.argv[1:]
systems = OrderedDict()
for line in open(path):
    record = json.loads(line)
    systems.setdefault(record["system"], []).append(record)
print(f"{runs} run(s) each, trainer: {profile} build; medians over every epoch of every run (range in brackets)\n")
print("| system | s/epoch | val_accuracy | predict images/s, first pass | warm | predict command s | peak RSS MB |")
print("|---|---|---|---|---|---|---|")
for system, records in systems.items():
    epochs = [s for r in records for s in r["epoch_s"]]
    def median(key):
        values = [r[key] for r in records if r[key] is not None]
        return statistics.median(values) if values else None
    predict_s = median("predict_s")
    print(f"| {system} | {statistics.median(epochs):.2f} [{min(epochs):.2f}-{max(epochs):.2f}] "
          f"| {median('val_acc'):.4f} | {median('img_per_s'):,.0f} | {median('warm_img_per_s'):,.0f} "
          f"| {'' if predict_s is None else f'{predict_s:.2f}'} | {median('rss_mb'):.0f} |")
EOF
