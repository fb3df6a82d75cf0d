#!/usr/bin/env bash
# Soak test of a run's crash safety (issue 11; not in CI). Runs `wattevo evolve` on the simulated
# board while injecting faults at random moments (SIGKILL of the host and its agents, SIGKILL of
# the agent alone, SIGTERM of the host), resuming after each, then checks that the final run
# equals an uninterrupted one given the same measurements (candidates, genomes, fitness, parent,
# best and archive), as tests/tests/evolve_cli.rs does for one kill.
#
#   scripts/soak.sh [--minutes N] [--seed S] [--generations G] [--lambda L]
#
# Needs the debug binaries (cargo build --bins). Bounded in time: after --minutes of faults the
# run is resumed to its end without faults. Prints the faults injected and survived.
set -euo pipefail
cd "$(dirname "$0")/.."

minutes=3 seed=5 generations=12 lambda=2
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) minutes=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --generations) generations=$2; shift 2 ;;
    --lambda) lambda=$2; shift 2 ;;
    *) echo "usage: $0 [--minutes N] [--seed S] [--generations G] [--lambda L]" >&2; exit 2 ;;
  esac
done

bin=${WATTEVO:-target/debug/wattevo}
export WATTEVO_AGENT=${WATTEVO_AGENT:-target/debug/wattevo-agent}
for exe in "$bin" "$WATTEVO_AGENT"; do
  [ -x "$exe" ] || { echo "soak: $exe is not built (cargo build --bins)" >&2; exit 1; }
done
work=$(mktemp -d /tmp/wattevo-soak.XXXXXX)
RANDOM=$seed
flags=(--generations "$generations" --lambda "$lambda" --train-epochs 1 --seed "$seed")

children() { cat /proc/"$1"/task/*/children 2>/dev/null || true; }

echo "soak: reference run in $work/whole"
"$bin" -q evolve "${flags[@]}" --out "$work/whole" >/dev/null

# the same measurements: the interrupted run starts from the reference run's cache
mkdir -p "$work/cut"
cp "$work/whole/measurements.json" "$work/cut/"
injected=0 survived=0 runs=0 finished=0 pid=
deadline=$((SECONDS + minutes * 60))
cmd=(evolve "${flags[@]}" --out "$work/cut")
while [ $SECONDS -lt $deadline ]; do
  if [ -z "$pid" ]; then
    "$bin" -q "${cmd[@]}" >/dev/null 2>>"$work/stderr.log" &
    pid=$!
    runs=$((runs + 1))
    cmd=(resume "$work/cut")
  fi
  sleep "$((RANDOM % 6 + 1)).$((RANDOM % 10))"
  if ! kill -0 "$pid" 2>/dev/null; then
    rc=0; wait "$pid" || rc=$?
    if [ $rc -eq 0 ]; then finished=1; echo "soak: the run finished"; break; fi
    echo "soak: FAILED: the run exited with $rc without a fault (see $work/stderr.log)" >&2; exit 1
  fi
  agents=$(children "$pid")
  injected=$((injected + 1))
  case $((RANDOM % 3)) in
    0) what="SIGKILL host+agents" expected=137; kill -9 "$pid"; [ -z "$agents" ] || kill -9 $agents 2>/dev/null || true ;;
    1) what="SIGKILL agent" expected=running; [ -z "$agents" ] || kill -9 $agents 2>/dev/null || true ;;
    2) what="SIGTERM host" expected=143; kill -TERM "$pid" ;;
  esac
  if [ $expected = running ]; then
    sleep 1
    if kill -0 "$pid" 2>/dev/null; then survived=$((survived + 1)); echo "soak: fault $injected: $what (the host reopened it)"; continue; fi
    rc=0; wait "$pid" || rc=$?
    [ $rc -eq 0 ] || { echo "soak: FAILED: $what ended the host with $rc (see $work/stderr.log)" >&2; exit 1; }
    survived=$((survived + 1)); finished=1; echo "soak: fault $injected: $what; the run finished"; break
  fi
  rc=0; wait "$pid" || rc=$?
  pid=
  if [ $rc -ne $expected ] && [ $rc -ne 0 ]; then
    echo "soak: FAILED: $what gave exit code $rc, expected $expected (see $work/stderr.log)" >&2; exit 1
  fi
  survived=$((survived + 1))
  echo "soak: fault $injected: $what (exit $rc)"
done

if [ -n "$pid" ] && [ $finished -eq 0 ]; then
  wait "$pid" || { echo "soak: FAILED: the last run failed (see $work/stderr.log)" >&2; exit 1; }
elif [ $finished -eq 0 ]; then
  "$bin" -q resume "$work/cut" >/dev/null 2>>"$work/stderr.log" || {
    echo "soak: FAILED: the last resume failed (see $work/stderr.log)" >&2; exit 1; }
fi

python3 - "$work/whole" "$work/cut" <<'EOF'
import json, sys
whole, cut = sys.argv[1], sys.argv[2]
def log(d):
    return [(l["id"], l["individual"], l["evaluation"]["fitness"]) for l in map(json.loads, open(d + "/log.jsonl"))]
def latest(d):
    return json.load(open(d + "/checkpoints/latest.json"))
a, b = latest(whole), latest(cut)
problems = []
if log(whole) != log(cut):
    problems.append("log.jsonl decisions differ")
for key in ("parent", "best"):
    if a[key]["individual"] != b[key]["individual"] or a[key]["evaluation"]["fitness"] != b[key]["evaluation"]["fitness"]:
        problems.append(key + " differs")
if a["archive"] != b["archive"]:
    problems.append("archive differs")
if problems:
    sys.exit("soak: FAILED: " + "; ".join(problems))
EOF
echo "soak: $injected faults injected, $survived survived, $runs runs; final run equals the uninterrupted one ($work)"
