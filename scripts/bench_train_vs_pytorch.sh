#!/usr/bin/env bash
# Training throughput of wattevo (burn-flex) against PyTorch on the CPU: the same networks, the
# same work, the two sides interleaved so that a change in the machine's load hits both.
#
# Each network is built once, as wattevo's NetSpec JSON; the burn side trains it with wattevo's
# own trainer (host/benches/train_throughput.rs), the PyTorch side builds the same layers from
# that JSON (scripts/bench_train_vs_pytorch.py). One process per measurement: a warm-up run
# (excluded), then one timed run; Adam 1e-3, batch 64, 4096 random inputs in memory, the same
# thread count. For each of PAIRS pairs the two sides run back to back, the side that goes first
# alternating; the table gives each side's median images/s, the min/median/max of the per-pair
# ratio (burn / torch), and each side's peak resident memory (and its growth during training).
#
# Not a test, not part of CI. torch goes into target/python-venv/torch (scripts/python-env.sh,
# scripts/requirements-torch.txt). Remove with: rm -rf target/python-venv/torch
#
# Usage: scripts/bench_train_vs_pytorch.sh [--pairs N] [--seconds S] [--warmup S] [--threads T]
#            [--networks "cnn small_cnn mlp"] [--run RUN_DIR] [--json FILE] [--burn-bench FILE]
#   --networks LIST    preset names (train_throughput --describe) and NetSpec JSON files, e.g. the
#                      evolved networks kept in host/benches/networks/
#   --run RUN_DIR      also the evolved networks on a run's Pareto front (its front.json)
#   --json FILE        every measurement, one JSON object per line
#   --burn-bench FILE  a train_throughput executable built earlier (e.g. from another commit,
#                      to compare it), instead of building this checkout's
# Run it on a quiet machine: PyTorch's worker threads spin, and lose far more than burn's to a
# compile or another job on the same cores.
set -euo pipefail
cd "$(dirname "$0")/.."

pairs=5 seconds=5 warmup=2 threads=2 networks="cnn small_cnn mlp" run="" json="" bench=""
while [ $# -gt 0 ]; do
    case "$1" in
        --pairs) pairs="$2"; shift 2 ;;
        --seconds) seconds="$2"; shift 2 ;;
        --warmup) warmup="$2"; shift 2 ;;
        --threads) threads="$2"; shift 2 ;;
        --networks) networks="$2"; shift 2 ;;
        --run) run="$2"; shift 2 ;;
        --json) json="$2"; shift 2 ;;
        --burn-bench) bench="$2"; shift 2 ;;
        -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
        *) echo "unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

python=$(scripts/python-env.sh scripts/requirements-torch.txt --index-url https://download.pytorch.org/whl/cpu) \
    || python=$(scripts/python-env.sh scripts/requirements-torch.txt)
[ -n "$bench" ] || bench=$(cargo bench -p wattevo --bench train_throughput --no-run --message-format=json 2>/dev/null \
    | "$python" -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "train_throughput" and m.get("executable"):
        print(m["executable"])')
[ -x "$bench" ] || { echo "could not build the train_throughput bench" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
specs=()
for name in $networks; do
    if [ -f "$name" ]; then specs+=("$(realpath "$name")"); continue; fi
    "$bench" --describe "$name" > "$work/$name.json"
    specs+=("$work/$name.json")
done
if [ -n "$run" ]; then
    while read -r path; do specs+=("$path"); done < <("$bench" --export-run "$run" --out "$work/run")
fi

results="$work/results.jsonl"
burn_side() { RAYON_NUM_THREADS="$threads" "$bench" --network "$1" --seconds "$seconds" --warmup "$warmup"; }
torch_side() { "$python" scripts/bench_train_vs_pytorch.py "$1" "$threads" "$seconds" "$warmup" 2>/dev/null; }
echo "$(date -u +%FT%TZ) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs);" \
    "$pairs interleaved pairs, ${warmup} s warm-up + ${seconds} s per run, $threads threads" >&2
for pair in $(seq 1 "$pairs"); do
    for spec in "${specs[@]}"; do
        if [ $((pair % 2)) -eq 1 ]; then
            burn_side "$spec" | sed "s/^{/{\"pair\":$pair,/" >> "$results"
            torch_side "$spec" | sed "s/^{/{\"pair\": $pair, /" >> "$results"
        else
            torch_side "$spec" | sed "s/^{/{\"pair\": $pair, /" >> "$results"
            burn_side "$spec" | sed "s/^{/{\"pair\":$pair,/" >> "$results"
        fi
        echo "pair $pair/$pairs: $(basename "$spec" .json)" >&2
    done
done
[ -z "$json" ] || cp "$results" "$json"

"$python" - "$results" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
nets = list(dict.fromkeys(r["network"] for r in rows))
print(f"{'network':<10} {'burn img/s':>10} {'torch img/s':>11} {'ratio min':>9} {'median':>7} {'max':>6}"
      f" {'burn MB':>8} {'torch MB':>9}")
for net in nets:
    side = {s: {r["pair"]: r for r in rows if r["network"] == net and r["side"] == s} for s in ("burn", "torch")}
    both = sorted(set(side["burn"]) & set(side["torch"]))
    ratios = [side["burn"][p]["images_per_s"] / side["torch"][p]["images_per_s"] for p in both]
    med = lambda s, k: statistics.median(side[s][p][k] for p in both)
    mem = lambda s: f"{med(s, 'peak_rss_mb'):.0f}(+{med(s, 'train_rss_mb'):.0f})"
    print(f"{net:<10} {med('burn', 'images_per_s'):>10.0f} {med('torch', 'images_per_s'):>11.0f}"
          f" {min(ratios):>8.2f}x {statistics.median(ratios):>6.2f}x {max(ratios):>5.2f}x"
          f" {mem('burn'):>8} {mem('torch'):>9}")
print("MB: peak resident set of the process (its growth from before the warm-up to the end).")
EOF
