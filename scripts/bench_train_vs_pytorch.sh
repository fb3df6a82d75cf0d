#!/usr/bin/env bash
# Training throughput of wattevo (burn-flex) vs PyTorch on the CPU, same networks, same
# thread count (default 2 = both cores here), images/s and the ratio per network.
# Not a test, not part of CI. torch goes into the virtual environment target/python-venv/torch
# (scripts/python-env.sh, scripts/requirements-torch.txt): the CPU build from PyTorch's wheel
# index, or plain PyPI's (larger, CUDA libraries included) where that index is unreachable.
# Remove with: rm -rf target/python-venv/torch
#
# Usage: scripts/bench_train_vs_pytorch.sh [THREADS] [SECONDS_PER_RUN]
set -euo pipefail
cd "$(dirname "$0")/.."
threads="${1:-2}"
seconds="${2:-8}"
python=$(scripts/python-env.sh scripts/requirements-torch.txt --index-url https://download.pytorch.org/whl/cpu) \
    || python=$(scripts/python-env.sh scripts/requirements-torch.txt)
torch_out=$("$python" scripts/bench_train_vs_pytorch.py "$threads" "$seconds")
burn_out=$(RAYON_NUM_THREADS="$threads" WATTEVO_BENCH_SECONDS="$seconds" \
    cargo bench -p wattevo --bench train_throughput 2>/dev/null | grep '^network ')
printf '%-10s %14s %14s %8s\n' network "burn img/s" "torch img/s" ratio
while read -r _ name _ burn; do
    torch=$(echo "$torch_out" | awk -v n="$name" '$2 == n { print $4 }')
    ratio=$(awk -v b="$burn" -v t="$torch" 'BEGIN { printf "%.2f", b / t }')
    printf '%-10s %14s %14s %7sx\n' "$name" "$burn" "$torch" "$ratio"
done <<< "$burn_out"
