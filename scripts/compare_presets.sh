#!/usr/bin/env bash
# Runs the accuracy-only baseline and a power-aware preset with the same seed and budget, and
# prints accuracy and energy per inference of each best model side by side.
#   scripts/compare_presets.sh [--preset energy|paper] [any other wattevo evolve flags...]
# Figures from --board sim are SIMULATED (the table says so).
set -euo pipefail
cd "$(dirname "$0")/.."
aware=energy
if [ "${1:-}" = "--preset" ]; then aware=$2; shift 2; fi
bin=${WATTEVO:-target/release/wattevo}
if [ ! -x "$bin" ]; then cargo build --release --workspace; fi
out=${OUT:-runs/compare-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
for preset in accuracy "$aware"; do
  echo "== wattevo evolve --preset $preset $*" >&2
  "$bin" evolve --preset "$preset" --out "$out/$preset" --json "$@" > "$out/$preset.json"
done
python3 - "$out" accuracy "$aware" <<'PY'
import json, sys
out, presets = sys.argv[1], sys.argv[2:]
rows = []
for p in presets:
    s = json.load(open(f"{out}/{p}.json"))
    m = s["best_metrics"]
    for part in s["best_models"]:
        i = part["partition"]
        rows.append((p, i, part["test_accuracy"], m.get(f"accuracy_{i}"), m.get(f"energy_{i}", float("nan")) * 1e3,
                     m.get(f"dynamic_energy_{i}", float("nan")) * 1e3, m.get(f"latency_{i}"), s["source"]))
print(f"{'preset':>9} {'part':>4} {'test acc':>9} {'fit acc':>8} {'mJ/inf':>8} {'dyn mJ':>8} {'lat µs':>8}  source")
for r in rows:
    print(f"{r[0]:>9} {r[1]:>4} {r[2]:>9.4f} {r[3]:>8.4f} {r[4]:>8.4f} {r[5]:>8.4f} {r[6]:>8.1f}  {r[7]}")
PY
