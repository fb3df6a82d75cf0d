#!/usr/bin/env bash
# The headline benchmark of issue 14 (not in CI): the accuracy-only preset and a power-aware
# preset, same seed and wall-clock budget, on Fashion-MNIST; prints for each run the best
# model's test accuracy, energy per inference and latency (both partitions), evaluations per
# hour and where the wall time went; then the power-aware run's energy saving against the
# accuracy-only best (best vs best, and at equal accuracy); and the runs' plots.
#
#   scripts/headline.sh [--minutes M] [--aware energy|paper] [any other wattevo evolve flags...]
#
# Defaults: 60 minutes per preset (the issue's target budget), seed 1, the simulated board
# (its figures are SIMULATED and labelled so), Fashion-MNIST at 28×28 from DATA_DIR
# (default /usr/share/datasets/fashion-mnist, Debian's dataset-fashion-mnist).
# Targets: accuracy-only ≥ 0.90 test accuracy; power-aware ≥ 0.89 with ≥ 40 % less energy.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=60 aware=energy
while [ $# -gt 0 ]; do
  case $1 in
    --minutes) minutes=$2; shift 2 ;;
    --aware) aware=$2; shift 2 ;;
    *) break ;;
  esac
done
bin=${WATTEVO:-target/release/wattevo}
if [ ! -x "$bin" ]; then cargo build --release -p wattevo -p wattevo-agent; fi
out=${OUT:-runs/headline-$(date +%Y%m%d-%H%M%S)}
data_dir=${DATA_DIR:-/usr/share/datasets/fashion-mnist}
mkdir -p "$out"
# Fashion-MNIST at its native 28×28 (the run default upsamples the small digits to 16×16).
printf 'resize = %s\n' "${RESIZE:-0}" > "$out/headline.toml"
common=(--config "$out/headline.toml" --dataset fashion-mnist --data-dir "$data_dir" --seed "${SEED:-1}" --generations 100000
        --minutes "$minutes" --train-seconds "${TRAIN_SECONDS:-30}" --init-draws "${INIT_DRAWS:-8}"
        --race-margin "${RACE_MARGIN:-0.05}")
for preset in accuracy "$aware"; do
  echo "== $(date -u +%H:%M:%S) wattevo evolve --preset $preset ${common[*]} $*" >&2
  "$bin" evolve --preset "$preset" "${common[@]}" --out "$out/$preset" --json "$@" > "$out/$preset.json"
done
python3 scripts/headline_report.py "$out" accuracy "$aware" | tee "$out/headline.txt"
