#!/usr/bin/env bash
# Issue 16's farm benchmark (not in CI): the same run measured on one simulated board and on a
# farm of three (boards/farms/sim3.toml), and the wall time each spent measuring. Training is
# an epoch budget, so both runs train the same candidates; each timed window lasts 10 s of board
# time (MIN_DURATION_MS), as a careful lab measures a millijoule-scale model, so that measuring
# is the bottleneck a farm removes. Figures come from simulated boards and are labelled so.
#
#   scripts/farm_bench.sh [--generations N] [--lambda L] [other evolve flags...]
#
# On a machine with few cores the three agents compete with training for the CPU: the script
# prints the machine's core count beside the figures.
set -euo pipefail
cd "$(dirname "$0")/.."
generations=4 lambda=8
while [ $# -gt 0 ]; do
  case $1 in
    --generations) generations=$2; shift 2 ;;
    --lambda) lambda=$2; shift 2 ;;
    *) break ;;
  esac
done
bin=${WATTEVO:-target/release/wattevo}
if [ ! -x "$bin" ]; then cargo build --release --workspace --bins; fi
out=${OUT:-runs/farm-bench-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
common=(--seed "${SEED:-1}" --generations "$generations" --lambda "$lambda" --train-epochs "${EPOCHS:-2}"
        --min-duration-ms "${MIN_DURATION_MS:-10000}" --json)
for board in sim boards/farms/sim3.toml; do
  name=$(basename "$board" .toml)
  echo "== $(date -u +%H:%M:%S) --board $board" >&2
  "$bin" evolve --board "$board" "${common[@]}" --out "$out/$name" "$@" > "$out/$name.json"
done
python3 - "$out" "$(nproc)" <<'PY'
import json, sys
out, cores = sys.argv[1], sys.argv[2]
print(f"{cores} cores; measuring = wall time during which at least one board was measuring")
rows = []
for name in ("sim", "sim3"):
    s = json.load(open(f"{out}/{name}.json"))
    wall = s["wall"]
    boards = len(s["farm"]["boards"]) if s.get("farm") else 1
    evaluations = s["stats"]["evaluations"]
    print(f"[{name}] {boards} board(s): {evaluations} evaluations, {s['wall_s']:.1f} s wall, "
          f"{wall['measure_s']:.1f} s measuring ({wall['measure_s'] / max(evaluations, 1):.2f} s per evaluation), "
          f"{wall['train_s']:.1f} s training; {s['source']}")
    rows.append(wall["measure_s"])
print(f"measuring wall time, farm of 3 against one board: {rows[1] / rows[0]:.2f}x")
PY
