#!/usr/bin/env bash
# Where CPU training spends its time: `perf record` (DWARF call stacks) of wattevo's trainer on one
# network of host/benches/train_throughput.rs, each sample attributed to the innermost burn-flex
# or wattevo operation on its stack (for example `burn_flex::ops::conv::gemm_f32`), kernel time
# marked [kernel]. Prints the top operations with their share of all samples. Not a test.
#
# Usage: [TOP=N] [BENCH=FILE] scripts/profile_training.sh [NETWORK] [SECONDS] [THREADS]
#   TOP    rows printed (default 15)
#   BENCH  a train_throughput executable built earlier (another commit), instead of this checkout's
#   NETWORK  cnn (default), small_cnn, mlp, or a NetSpec JSON file (train_throughput --describe)
# Needs perf (Debian: linux-perf) and permission to profile (root, or kernel.perf_event_paranoid
# <= 1). The bench is built with line tables (the workspace's bench profile keeps debug info).
set -euo pipefail
cd "$(dirname "$0")/.."
network="${1:-cnn}" seconds="${2:-6}" threads="${3:-2}"
command -v perf >/dev/null || { echo "perf is not installed (Debian: apt install linux-perf)" >&2; exit 1; }
bench=${BENCH:-}
[ -n "$bench" ] || bench=$(cargo bench -p wattevo --bench train_throughput --no-run --message-format=json 2>/dev/null \
    | python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "train_throughput" and m.get("executable"):
        print(m["executable"])')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
RAYON_NUM_THREADS="$threads" perf record -q -F 499 --call-graph dwarf,16384 -o "$work/perf.data" -- \
    "$bench" --network "$network" --seconds "$seconds" --warmup 1 >&2
perf script -i "$work/perf.data" 2>/dev/null | python3 -c '
import collections, re, sys
operation = re.compile(r"(burn_flex::(?:ops::[a-z_0-9]+|tensor)::[A-Za-z0-9_]+|wattevo::nn::[a-z_:]*[A-Za-z0-9_]+)")
shares, total = collections.Counter(), 0
for sample in sys.stdin.read().split("\n\n"):
    frames = [line.strip() for line in sample.strip().split("\n")[1:]]
    if not frames:
        continue
    total += 1
    found = next((m.group(1) for m in map(operation.search, frames) if m), None)
    name = found or "elsewhere: " + re.sub(r"^[0-9a-f]+ ", "", frames[0])[:60]
    shares[name + (" [kernel]" if "[kernel.kallsyms]" in frames[0] else "")] += 1
print(f"{total} samples")
for name, n in shares.most_common(int(__import__("os").environ.get("TOP", "15"))):
    print(f"{100 * n / total:5.1f}%  {name}")
'
