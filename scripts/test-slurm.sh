#!/usr/bin/env bash
# `--executor slurm` end to end (run by scripts/test.sh, hence by CI): a throw-away single-node
# Slurm cluster on this machine (scripts/slurm-local.sh), then
#   1. the same short digits run with --executor local and --executor slurm (an epoch budget,
#      one training thread per candidate): the runs must be identical (candidates, genomes,
#      fitness, metrics, module archive);
#   2. a Slurm run during which one of its tasks is cancelled with scancel: the task is
#      resubmitted and the run completes, identical to the local run again.
# The cluster is stopped on exit, whatever happens. Needs root (it starts munged, slurmctld
# and slurmd) and Debian's slurmctld, slurmd, slurm-client and munge (installed if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
state=${SLURM_STATE:-/tmp/wattevo-slurm-test}
target=${CARGO_TARGET_DIR:-target}
cargo build --locked --bin wattevo --bin wattevo-agent
bin=${WATTEVO:-$target/debug/wattevo}
work=$(mktemp -d /tmp/wattevo-slurm-runs.XXXXXX)
cleanup() {
  scripts/slurm-local.sh stop "$state" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
# A machine that cannot run Slurm's daemons (no root, a sandbox that forbids them) skips the
# test with the reason; once the cluster is up, every check below must pass.
if ! scripts/slurm-local.sh start "$state" > "$work/cluster.log" 2>&1; then
  cat "$work/cluster.log" >&2
  echo "SKIPPED: scripts/test-slurm.sh could not start a single-node Slurm cluster on this machine (log above)" >&2
  exit 0
fi
tail -n 2 "$work/cluster.log"
# shellcheck disable=SC1091
. "$state/env"

flags=(evolve --generations 3 --lambda 2 --train-epochs 1 --seed 5 --jobs 2 --threads-per-job 1 --json)
echo "== local run"
"$bin" "${flags[@]}" --out "$work/local" > "$work/local.json"
echo "== slurm run"
"$bin" "${flags[@]}" --executor slurm --out "$work/slurm" > "$work/slurm.json"

same() {
  python3 - "$1" "$2" <<'PY'
import json, sys
def run(d):
    lines = []
    for line in open(f"{d}/log.jsonl"):
        c = json.loads(line)
        e = c["evaluation"]
        lines.append((c["id"], json.dumps(c["individual"], sort_keys=True), e["fitness"], e.get("invalid"),
                      json.dumps(e["metrics"], sort_keys=True)))
    archive = json.load(open(f"{d}/checkpoints/latest.json"))["archive"]
    return lines, json.dumps(archive, sort_keys=True)
(a, arch_a), (b, arch_b) = run(sys.argv[1]), run(sys.argv[2])
if a != b or arch_a != arch_b:
    for x, y in zip(a, b):
        if x != y:
            print("first difference:", x[:3], y[:3])
            break
    sys.exit(f"{sys.argv[1]} and {sys.argv[2]} differ ({len(a)} and {len(b)} candidates, archives equal: {arch_a == arch_b})")
print(f"identical: {len(a)} candidates, their genomes, fitness and metrics, and the module archive")
PY
}
same "$work/local" "$work/slurm"

echo "== slurm run with a task cancelled (scancel) mid-run"
"$bin" "${flags[@]}" --executor slurm --slurm-retries 2 --out "$work/cancelled" \
  > "$work/cancelled.json" 2> "$work/cancelled.err" &
run=$!
cancelled=""
for _ in $(seq 1 600); do
  task=$(squeue -h -r -n wattevo -t pending,running -o '%i' | head -n 1)
  if [ -n "$task" ]; then scancel "$task"; cancelled=$task; break; fi
  sleep 0.1
done
wait "$run" || { cat "$work/cancelled.err" >&2; echo "the run with a cancelled task failed" >&2; exit 1; }
[ -n "$cancelled" ] || { echo "no task was seen to cancel" >&2; exit 1; }
grep -q "resubmitting" "$work/cancelled.err" || { cat "$work/cancelled.err" >&2; echo "task $cancelled was not resubmitted" >&2; exit 1; }
echo "cancelled $cancelled; it was resubmitted and the run completed"
same "$work/local" "$work/cancelled"
echo "== the host killed (SIGKILL) while its tasks run, then resumed"
"$bin" "${flags[@]}" --executor slurm --out "$work/killed" > /dev/null 2> "$work/killed.err" &
run=$!
for _ in $(seq 1 600); do
  if [ -n "$(squeue -h -r -n wattevo -t pending,running -o '%i' | head -n 1)" ]; then break; fi
  sleep 0.1
done
kill -9 "$run"; wait "$run" 2>/dev/null || true
submitted_before=$(grep -c "slurm: submitted job" "$work/killed.err" || true)
# let the orphaned tasks finish: their results are in the run directory when the host returns
for _ in $(seq 1 600); do
  if [ -z "$(squeue -h -r -n wattevo -t pending,running -o '%i' | head -n 1)" ]; then break; fi
  sleep 0.2
done
batch=$(ls -d "$work/killed/slurm/"gen-* | tail -n 1)
results=$(ls "$batch" | grep -c '^result-' || true)
"$bin" resume "$work/killed" --json > /dev/null 2> "$work/resumed.err"
name=$(basename "$batch")
again=$(grep "slurm: submitted job .* for $name " "$work/resumed.err" | sed 's/.*(tasks \(.*\))/\1/' | tr ',' '\n' || true)
echo "killed after $submitted_before submission(s); $results result(s) of $name were on disk; resubmitted on resume: ${again:-none}" | tr '\n' ' '; echo
for file in "$batch"/result-*; do
  [ -e "$file" ] || continue
  index=${file##*result-}; index=${index%.bin}
  if echo "$again" | grep -qx "$index"; then echo "task $index of $name had a result but was submitted again" >&2; exit 1; fi
done
same "$work/local" "$work/killed"

echo "== a task that keeps failing makes its candidate invalid with Slurm's reason"
"$bin" evolve --generations 1 --lambda 2 --train-epochs 1 --seed 5 --jobs 2 --threads-per-job 1 --json \
  --executor slurm --slurm-retries 0 --out "$work/given-up" \
  > "$work/given-up.json" 2> "$work/given-up.err" &
run=$!
for _ in $(seq 1 600); do
  task=$(squeue -h -r -n wattevo -t pending,running -o '%i' | head -n 1)
  if [ -n "$task" ]; then scancel "$task"; break; fi
  sleep 0.1
done
wait "$run" || { cat "$work/given-up.err" >&2; exit 1; }
grep -q "the Slurm task failed 1 time(s)" "$work/given-up/log.jsonl" \
  || { cat "$work/given-up.err" >&2; echo "no candidate was made invalid by the cancelled task" >&2; exit 1; }
echo "the cancelled task's candidate is invalid: $(grep -o 'the Slurm task failed[^"]*' "$work/given-up/log.jsonl" | head -n 1)"
echo "== slurm: all checks passed"
