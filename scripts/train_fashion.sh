#!/usr/bin/env bash
# Trains the known-good small CNN (`wattevo train --preset cnn`) on Fashion-MNIST for a
# wall-clock budget (default 570 s, so that training + export + evaluation fit in 10 minutes),
# release build, and prints the test accuracy computed by tract from the exported ONNX.
# Acceptance figure of issue 5: >= 0.89 within 10 minutes on the 2-core machine.
#
# Usage: scripts/train_fashion.sh [SECONDS] [OUT_DIR]   (WATTEVO_NO_BUILD=1: use the existing binary)
# Data: --data-dir / $WATTEVO_DATA / /usr/share/datasets/fashion-mnist (Debian's package).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-570}"
out="${2:-target/train-fashion}"
[ -n "${WATTEVO_NO_BUILD:-}" ] || cargo build --release -p wattevo --bin wattevo
mkdir -p "$(dirname "$out")"
start=$(date +%s)
./target/release/wattevo train --preset cnn --dataset fashion-mnist --seconds "$seconds" \
    --out "$out" --json > "$out.json"
end=$(date +%s)
python3 - "$out.json" "$((end - start))" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
t = report["training"]
print(f"fashion-mnist, preset cnn: {t['total_epochs']} epochs, {t['total_steps']} steps, "
      f"train {t['train_time_s']:.0f} s, whole command {sys.argv[2]} s (load + train + export + eval)")
for e in report["exported"]:
    print(f"  {e['name']}: test accuracy (tract, ONNX) {e['test_accuracy']:.4f}, "
          f"burn {e['burn_test_accuracy']:.4f}, fitness split {e['fitness_accuracy']:.4f}")
PY
