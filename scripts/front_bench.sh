#!/usr/bin/env bash
# Issue 15's benchmark (not in CI): does searching for the front find a better one? The paper's
# (1+λ) weighted-sum search and NSGA-II run with the same seed and wall-clock budget; then the
# hypervolume of each run's front (accuracy on the fitness split against energy per inference,
# every model of the run, each partition its own model) is computed against the same reference
# point (accuracy 0 and 1.1 × the largest energy either run saw) and printed side by side.
#
#   scripts/front_bench.sh [--minutes M] [--dataset digits|fashion-mnist] [other evolve flags...]
#
# Defaults: 10 minutes per run on the embedded digits (a quick look); --dataset fashion-mnist
# --minutes 60 is the issue's comparison. Figures come from the simulated board unless --board
# says otherwise, and are labelled so.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=10 dataset=digits
while [ $# -gt 0 ]; do
  case $1 in
    --minutes) minutes=$2; shift 2 ;;
    --dataset) dataset=$2; shift 2 ;;
    *) break ;;
  esac
done
bin=${WATTEVO:-target/release/wattevo}
if [ ! -x "$bin" ]; then cargo build --release --workspace --bins; fi
out=${OUT:-runs/front-bench-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
common=(--dataset "$dataset" --seed "${SEED:-1}" --generations 100000 --minutes "$minutes"
        --train-seconds "${TRAIN_SECONDS:-10}" --json)
echo "== $(date -u +%H:%M:%S) one-plus-lambda (preset energy)" >&2
"$bin" evolve --strategy one-plus-lambda --preset energy "${common[@]}" --out "$out/one-plus-lambda" "$@" > "$out/one-plus-lambda.json"
echo "== $(date -u +%H:%M:%S) nsga2 (mu ${MU:-8})" >&2
"$bin" evolve --strategy nsga2 --mu "${MU:-8}" "${common[@]}" --out "$out/nsga2" "$@" > "$out/nsga2.json"
# the common reference point: 1.1 × the largest energy of either run's models
reference=$(python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
largest = 0.0
for run in ("one-plus-lambda", "nsga2"):
    for line in open(f"{out}/{run}/log.jsonl"):
        ev = json.loads(line).get("evaluation") or {}
        if ev.get("invalid") is None:
            largest = max([largest] + [v for k, v in (ev.get("metrics") or {}).items() if k in ("energy_0", "energy_1")])
print(1.1 * largest)
PY
)
for run in one-plus-lambda nsga2; do
  "$bin" front "$out/$run" --json --reference-energy "$reference" > "$out/$run.front.json"
done
python3 - "$out" "$reference" <<'PY'
import json, sys
out, reference = sys.argv[1], float(sys.argv[2])
print(f"reference point: accuracy 0, {reference * 1e3:.5f} mJ per inference")
for run in ("one-plus-lambda", "nsga2"):
    summary = json.load(open(f"{out}/{run}.json"))
    front = json.load(open(f"{out}/{run}.front.json"))
    hv = front["hypervolume_by_generation"][-1][1] if front["hypervolume_by_generation"] else 0.0
    print(f"[{run}] {summary['source']}")
    print(f"  {summary['stats']['evaluations']} evaluations in {summary['wall_s']:.0f} s; "
          f"{len(front['members'])} models on the front of {front['models_evaluated']}; hypervolume {hv:.5f} (accuracy × mJ)")
    for m in front["members"]:
        print(f"    #{m['id']:<5} p{m['partition']}  accuracy {m['accuracy']:.4f}  {m['energy_j'] * 1e3:.5f} mJ  {m['latency_us']:.1f} µs")
PY
