#!/usr/bin/env bash
# shellcheck disable=SC2016 # single-quoted job scripts are expanded by the job
# smoke-test.sh — end-to-end check of scripts/slurm-local.sh and of the Slurm
# behaviour that `wattevo --executor slurm` relies on (no sacct: squeue and
# scontrol only).  Starts a cluster in STATE_DIR, runs the checks, stops it.
#
# Usage: scripts/slurm/smoke-test.sh [STATE_DIR]     (default /tmp/wattevo-slurm-smoke)
# Takes ~2 minutes, mostly the --time=0:01 job (Slurm's minimum limit is one
# minute and slurmctld checks limits every 30 s).  Prints "N passed, N failed".

set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
cluster="$here/../slurm-local.sh"
STATE=${1:-/tmp/wattevo-slurm-smoke}
pass=0
fail=0

ok() { pass=$((pass + 1)); printf 'ok   %s\n' "$*"; }
bad() { fail=$((fail + 1)); printf 'FAIL %s\n' "$*"; }
check() { # check DESCRIPTION EXPECTED ACTUAL
    if [[ $2 == "$3" ]]; then ok "$1 ($3)"; else bad "$1: expected '$2', got '$3'"; fi
}

# Always tear the cluster down, whatever failed.
trap '"$cluster" stop "$STATE" || true' EXIT

# State of one array task: "STATE|REASON|EXITCODE" from scontrol (works only
# while the job record exists, i.e. MinJobAge after it ended).
task_info() {
    scontrol -o show job "$1" 2>/dev/null |
        grep -oE '(JobState|Reason|ExitCode)=[^ ]*' | cut -d= -f2 | paste -sd'|'
}

# Wait, polling squeue once a second (bounded), until nothing of job $1 is
# pending/running/completing.  squeue -j on an unknown id exits non-zero,
# hence "|| true".
wait_done() {
    local job=$1 limit=${2:-60} i
    for ((i = 0; i < limit; i++)); do
        [[ -z $(squeue -h -j "$job" -t pending,running,configuring,completing,suspended -o %i 2>/dev/null || true) ]] && return 0
        sleep 1
    done
    return 1
}

wait_running() {
    local job=$1 i
    for ((i = 0; i < 30; i++)); do
        [[ $(squeue -h -j "$job" -o %T 2>/dev/null || true) == RUNNING ]] && return 0
        sleep 1
    done
    return 1
}

echo "== 1. start"
eval "$("$cluster" start "$STATE")"
check "node idle" idle "$(sinfo -h -o %t)"
if [[ $SLURM_CONF == "$STATE/slurm.conf" ]]; then ok "SLURM_CONF exported"; else bad "SLURM_CONF=$SLURM_CONF"; fi

echo "== 2. array job"
rm -f "$STATE"/out.* "$STATE"/rq_*.out "$STATE"/mem.out # left from an earlier run
jid=$(sbatch --parsable --array=0-3 -o /dev/null --wrap "echo task \$SLURM_ARRAY_TASK_ID > $STATE/out.\$SLURM_ARRAY_TASK_ID")
if wait_done "$jid" 60; then ok "array $jid finished"; else bad "array $jid did not finish"; fi
for t in 0 1 2 3; do
    check "out.$t" "task $t" "$(cat "$STATE/out.$t" 2>/dev/null || true)"
    check "task ${jid}_$t state" "COMPLETED|None|0:0" "$(task_info "${jid}_$t")"
done
squeue -h -t all -j "$jid" -o '%i|%T|%r'

echo "== 3. exit codes, sacct"
jid=$(sbatch --parsable --array=0-1 -o /dev/null --wrap 'exit $((SLURM_ARRAY_TASK_ID * 3))')
wait_done "$jid" 60 || bad "job $jid did not finish"
check "exit 0 task" "COMPLETED|None|0:0" "$(task_info "${jid}_0")"
check "exit 3 task" "FAILED|NonZeroExitCode|3:0" "$(task_info "${jid}_1")"
if sacct -j "$jid" >/dev/null 2>&1; then ok "sacct works"; else ok "sacct unavailable as expected: $(sacct -j "$jid" 2>&1 | head -1)"; fi

echo "== 4. scancel one running task, requeue another"
jid=$(sbatch --parsable --array=0-1 -o "$STATE/rq_%a.out" --open-mode=append \
    --wrap 'echo start restart=${SLURM_RESTART_COUNT:-0}; sleep 8')
wait_running "${jid}_1" || bad "${jid}_1 never ran"
wait_running "${jid}_0" || bad "${jid}_0 never ran"
scancel "${jid}_1"
if scontrol requeue "${jid}_0"; then ok "scontrol requeue accepted"; else bad "scontrol requeue refused"; fi
wait_done "$jid" 90 || bad "job $jid did not finish"
# The exit code races: 0:15 if the batch shell died of SIGTERM, 143:0 if it
# exited after its child did.  The state is the reliable signal.
info=$(task_info "${jid}_1")
check "cancelled task" "CANCELLED|None" "${info%|*}"
case ${info##*|} in
0:15 | 143:0) ok "cancelled task exit code (${info##*|})" ;;
*) bad "cancelled task exit code: ${info##*|}" ;;
esac
check "requeued task" "COMPLETED|None|0:0" "$(task_info "${jid}_0")"
check "requeued task ran twice" "start restart=0 start restart=1" \
    "$(grep -h '^start' "$STATE/rq_0.out" | paste -sd' ')"
check "jobcomp.log has the cancel" 1 \
    "$(grep -cE "JobState=CANCELLED .*ArrayJobId=$jid ArrayTaskId=1 " "$STATE/jobcomp.log" || true)"

echo "== 4b. scancel one PENDING task"
jid=$(sbatch --parsable --array=0-3 -o /dev/null --wrap 'sleep 3')
scancel "${jid}_3"
wait_done "$jid" 60 || bad "job $jid did not finish"
squeue -h -t all -j "$jid" -o '%i|%T|%r' | sort
check "cancelled pending task has no record" "" "$(task_info "${jid}_3")"

echo "== 5a. --time=0:01 (about 60-90 s)"
jid=$(sbatch --parsable --time=0:01 -o /dev/null --wrap 'sleep 300')
wait_done "$jid" 150 || bad "job $jid did not time out"
check "timeout" "TIMEOUT|TimeLimit|0:15" "$(task_info "$jid")"

echo "== 5b. --mem=100M exceeded, no enforcement (default)"
# Touch 400 MiB so it is really resident.
hog='python3 -c "import time; b=bytearray(400<<20); b[::4096]=b\"x\"*(len(b)//4096); time.sleep(4); print(\"survived\")"'
jid=$(sbatch --parsable --mem=100M -o "$STATE/mem.out" --wrap "$hog")
wait_done "$jid" 60 || bad "job $jid did not finish"
check "over --mem, not enforced" "COMPLETED|None|0:0" "$(task_info "$jid")"

echo "== 5c. --mem=100M exceeded, SLURM_LOCAL_MEM_ENFORCE=1"
"$cluster" stop "$STATE"
eval "$(SLURM_LOCAL_MEM_ENFORCE=1 "$cluster" start "$STATE")"
jid=$(sbatch --parsable --mem=100M -o "$STATE/mem.out" --wrap "$hog")
wait_done "$jid" 60 || bad "job $jid did not finish"
check "over --mem, enforced" "FAILED|JobLaunchFailure|0:9" "$(task_info "$jid")"
if grep -q 'exceeded memory limit' "$STATE/mem.out"; then
    ok "job output says 'exceeded memory limit'"
else
    bad "no memory message in output"
fi

echo "== 6. stop"
# munged counts only if slurm-local.sh started it (it reuses a running one).
daemons='slurmctld|slurmd|slurmstepd'
[[ -f $STATE/munged.pid ]] && daemons+='|munged'
"$cluster" stop "$STATE"
trap - EXIT
left=$(ps -eo pid=,comm= | awk -v re="^($daemons)\$" '$2 ~ re' || true)
check "no daemons left" "" "$left"

echo "$pass passed, $fail failed"
((fail == 0))
