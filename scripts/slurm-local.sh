#!/usr/bin/env bash
# slurm-local.sh — bring up / tear down a throw-away single-node Slurm cluster
# on this machine, for CI tests of `wattevo --executor slurm`.
#
# Usage:
#   scripts/slurm-local.sh start  [STATE_DIR]   # install if needed, start munged/slurmctld/slurmd
#   scripts/slurm-local.sh stop   [STATE_DIR]   # stop what `start` started (no error if not running)
#   scripts/slurm-local.sh status [STATE_DIR]   # sinfo + squeue; exit 1 if the controller is down
#   STATE_DIR defaults to /tmp/wattevo-slurm.
#
# After `start`, client commands need the config path, because the config is
# kept in STATE_DIR (not /etc/slurm) so that the machine's own files stay
# untouched:
#   . /abs/STATE_DIR/env          # == export SLURM_CONF=STATE_DIR/slurm.conf
#   (give a path with a slash: `source env` would look for "env" on PATH)
#
# Target: Debian 12 (Slurm 22.05, munge 0.5.15), run as root, no systemd, no
# usable cgroups (containers / gVisor).  Hence:
#   * ProctrackType=proctrack/linuxproc and TaskPlugin=task/none: no cgroups.
#   * --mem is NOT enforced by the kernel (no memory cgroup).  Slurm's only
#     fallback is the jobacct_gather/linux poller with
#     JobAcctGatherParams=OverMemoryKill, which is what SLURM_LOCAL_MEM_ENFORCE=1
#     turns on (off by default: jobacct_gather/none).  See "Job states" below.
#   * No slurmdbd, so `sacct` cannot be used (accounting_storage/none makes it
#     refuse to run).  Finished jobs are instead
#       - visible in `squeue`/`scontrol show job` for MinJobAge seconds
#         (set to SLURM_LOCAL_MIN_JOB_AGE, default 120) after they end, and
#       - appended, one line per job / array task, to STATE_DIR/jobcomp.log by
#         JobCompType=jobcomp/filetxt (a permanent record: JobId=, JobState=,
#         ExitCode= fields).
#
# Job states (per array task), without sacct — all verified here:
#   squeue -h -t all -j ARRAYID -o '%i|%T|%r'          # 12_2|CANCELLED|None
#   scontrol -o show job ARRAYID_TASK                  # one line; pick out
#        JobState=CANCELLED Reason=None ExitCode=0:15 (exit code:signal)
#   grep -E 'ArrayJobId=12 ArrayTaskId=2 ' STATE_DIR/jobcomp.log  # after MinJobAge
#   Address tasks as ARRAYID_TASK (the %i form): each task gets its own JobId,
#   and the array's own id ends up on one arbitrary task (often the last).
#   squeue -O exit_code prints the raw wait status (exit 1 -> 256); prefer
#   scontrol's ExitCode=.  Observed outcomes:
#     exit 0 / exit 3          COMPLETED|None|0:0 / FAILED|NonZeroExitCode|3:0
#     scancel of running task  CANCELLED|None|0:15, sometimes |143:0 (the
#                              shell exited after its child): trust JobState
#     scancel of PENDING task  no record at all (squeue, scontrol, jobcomp):
#                              the id just drops out of the array's range
#     --time exceeded          TIMEOUT|TimeLimit|0:15, 60-90 s for --time=0:01
#                              (limits are checked every 30 s)
#     --mem exceeded           COMPLETED (not enforced) by default; with
#                              SLURM_LOCAL_MEM_ENFORCE=1: FAILED|JobLaunchFailure|0:9
#                              and "exceeded memory limit" in the job's stderr.
#                              Never OUT_OF_MEMORY (that needs the cgroup OOM killer).
#     scontrol requeue ID_T    works (JobRequeue=1); it restarts after
#                              cred_expire (10 s here), SLURM_RESTART_COUNT=1,
#                              and truncates -o files unless --open-mode=append.
#   Waiting: `sbatch --wait` works but polls slowly (a 1 s job returned after
#   10 s); polling `squeue -h -j ID -t pending,running,completing -o %i` once a
#   second until it prints nothing is faster.
#   scripts/slurm/smoke-test.sh checks all of the above end to end.
#
# Environment knobs (all optional):
#   SLURM_LOCAL_CTLD_PORT (6817), SLURM_LOCAL_SLURMD_PORT (6818): change if taken.
#   SLURM_LOCAL_MIN_JOB_AGE (120): seconds a finished job stays in squeue/scontrol.
#   SLURM_LOCAL_MEM_ENFORCE (0): 1 = poll-based --mem enforcement (see above).
#   SLURM_LOCAL_KEEP_STATE (0): 1 = keep jobs/job ids from a previous run
#     (default: clean start, `slurmctld -c`, and a fresh jobcomp.log).
#   SLURM_LOCAL_TIMEOUT (60): seconds to wait for the node to become idle.

set -euo pipefail

# Daemons live in /usr/sbin, which a non-login root shell may not have on PATH.
PATH="/usr/sbin:/sbin:${PATH}"

readonly DEFAULT_STATE_DIR=/tmp/wattevo-slurm
readonly MUNGE_KEY=/etc/munge/munge.key
# munged's own defaults: libmunge in every Slurm daemon and client looks for the
# socket there, so moving it would need AuthInfo=socket=... everywhere.
readonly MUNGE_RUN_DIR=/run/munge
readonly MUNGE_PID_FILE=/run/munge/munged.pid

log() { printf 'slurm-local: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
}

# Resolve STATE_DIR to an absolute path: slurm.conf paths must be absolute and
# the daemons chdir away from the caller's directory.
state_dir_from_arg() {
    local dir=${1:-$DEFAULT_STATE_DIR}
    mkdir -p -- "$dir"
    (cd -- "$dir" && pwd -P)
}

# True if PID file $1 names a live process whose command name is $2.  Checking
# the name guards against a stale PID file whose number was reused by an
# unrelated process (which we must never signal).
pid_alive() {
    local pidfile=$1 name=$2 pid comm
    [[ -s $pidfile ]] || return 1
    pid=$(tr -dc '0-9' <"$pidfile")
    [[ -n $pid ]] || return 1
    comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
    [[ $comm == "$name" ]]
}

# Stop the process named in PID file $1 (command name $2): SIGTERM, bounded
# wait, then SIGKILL.  Silent no-op if it is not running.
stop_pidfile() {
    local pidfile=$1 name=$2 pid i
    if ! pid_alive "$pidfile" "$name"; then
        rm -f -- "$pidfile"
        return 0
    fi
    pid=$(tr -dc '0-9' <"$pidfile")
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do # 15 s in 0.1 s steps
        [[ -d /proc/$pid ]] || break
        sleep 0.1
    done
    if [[ -d /proc/$pid ]]; then
        log "$name (pid $pid) ignored SIGTERM for 15 s, sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.5
    fi
    rm -f -- "$pidfile"
}

# slurmstepd (one per running job step) outlives slurmd if its job was not
# cancelled, e.g. when the controller was already gone, and so do the job's
# processes under it.  Ours are recognisable by SLURM_CONF=<our slurm.conf> in
# the stepd's environment (inherited from the slurmd we started); only those
# and their descendants are signalled.  Matching job processes by environment
# instead would be wrong: callers of this script carry the same SLURM_CONF.
stop_stray_stepds() {
    local conf=$1 pid ppid pids=() i n
    for pid in $(pgrep -x slurmstepd || true); do
        # -z: environ is NUL-separated; reading it directly avoids a pipe
        # (grep -q closing early + pipefail would read as "no match").
        if grep -qzxF "SLURM_CONF=$conf" "/proc/$pid/environ" 2>/dev/null; then
            pids+=("$pid")
        fi
    done
    ((${#pids[@]} > 0)) || return 0
    # Add descendants (the job's shell and its children): repeat until the
    # set stops growing.  The job tree is small, so this is cheap.
    local -A seen=()
    for pid in "${pids[@]}"; do seen[$pid]=1; done
    while :; do
        n=${#pids[@]}
        while read -r pid ppid; do
            if [[ -n ${seen[$ppid]:-} && -z ${seen[$pid]:-} ]]; then
                seen[$pid]=1
                pids+=("$pid")
            fi
        done < <(ps -e -o pid=,ppid=)
        ((${#pids[@]} == n)) && break
    done
    log "terminating leftover job steps (slurmstepd and children): ${pids[*]}"
    kill -TERM "${pids[@]}" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do # 5 s
        any_alive "${pids[@]}" || return 0
        sleep 0.1
    done
    kill -KILL "${pids[@]}" 2>/dev/null || true
}

any_alive() {
    local pid
    for pid in "$@"; do
        [[ -d /proc/$pid ]] && return 0
    done
    return 1
}

ensure_installed() {
    local missing=()
    command -v slurmctld >/dev/null || missing+=(slurmctld)
    command -v slurmd >/dev/null || missing+=(slurmd)
    command -v sbatch >/dev/null || missing+=(slurm-client)
    command -v munged >/dev/null || missing+=(munge)
    ((${#missing[@]} == 0)) && return 0
    [[ $(id -u) -eq 0 ]] || die "need root to install: ${missing[*]}"
    log "installing ${missing[*]}"
    # The package scripts try to start the daemons via invoke-rc.d; without an
    # init system that is refused harmlessly ("policy-rc.d denied").
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge
}

munge_works() {
    munge -n 2>/dev/null | unmunge >/dev/null 2>&1
}

start_munge() {
    local state=$1 i
    # Reuse a munged that is already serving the default socket (e.g. one the
    # machine runs itself); we then do not own it and `stop` leaves it alone.
    if munge_works; then
        log "munged already running and working; reusing it"
        return 0
    fi
    if [[ ! -s $MUNGE_KEY ]]; then
        # The Debian package normally creates the key at install time.
        log "creating $MUNGE_KEY"
        install -d -m 0700 -o munge -g munge /etc/munge
        mungekey --create --keyfile="$MUNGE_KEY" --force
        chown munge:munge "$MUNGE_KEY"
        chmod 0600 "$MUNGE_KEY"
    fi
    # /run is a tmpfs: the socket dir vanishes on reboot and nothing recreates
    # it without systemd/tmpfiles.  munged refuses group/world-writable dirs.
    install -d -m 0755 -o munge -g munge "$MUNGE_RUN_DIR" /var/lib/munge /var/log/munge
    # Run as the munge user (as the package intends) rather than root --force:
    # munged is happy with that here.  A stale socket from a killed munged is
    # removed by munged itself when it can take its lock.
    runuser -u munge -- munged
    for ((i = 0; i < 50; i++)); do
        munge_works && break
        sleep 0.1
    done
    munge_works || {
        tail -n 20 /var/log/munge/munged.log >&2 || true
        die "munged did not come up"
    }
    # Remember that *we* started it, so `stop` may stop it.
    cp -- "$MUNGE_PID_FILE" "$state/munged.pid"
    log "munged started (pid $(cat "$state/munged.pid"))"
}

# Size the node a bit below what slurmd detects: if RealMemory/CPUs exceeded
# the hardware, slurmd would register and the node would be DRAINED
# ("Low RealMemory").
write_conf() {
    local state=$1 host=$2 cpus mem_kb mem_mb margin def_mem gather gather_params
    cpus=$(nproc)
    mem_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
    mem_mb=$((mem_kb / 1024))
    margin=$((mem_mb / 10))
    ((margin < 512)) && margin=512
    mem_mb=$((mem_mb - margin))
    ((mem_mb > 256)) || mem_mb=256
    # Without a default, a job that asks for no memory is given the whole
    # node under CR_*_Memory, i.e. jobs would run one at a time.
    def_mem=$((mem_mb / cpus))

    if [[ ${SLURM_LOCAL_MEM_ENFORCE:-0} == 1 ]]; then
        # Polls /proc every second; kills a step whose RSS exceeds --mem.
        gather=jobacct_gather/linux
        gather_params="JobAcctGatherParams=OverMemoryKill
JobAcctGatherFrequency=task=1"
    else
        gather=jobacct_gather/none
        gather_params=""
    fi

    mkdir -p -- "$state/ctld" "$state/spool"
    cat >"$state/slurm.conf" <<EOF
# Generated by scripts/slurm-local.sh — single-node test cluster. Do not edit.
ClusterName=wattevo-local
# host(addr): talk over loopback so a container hostname that is not in DNS
# still works.
SlurmctldHost=${host}(127.0.0.1)
SlurmctldPort=${SLURM_LOCAL_CTLD_PORT:-6817}
SlurmdPort=${SLURM_LOCAL_SLURMD_PORT:-6818}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# cred_expire (default 120 s) is also how long a requeued job waits before it
# may start again; keep requeue tests short.
AuthInfo=cred_expire=10
MpiDefault=none
# No mail on this box; the default (/bin/mail) is missing and logs an error.
MailProg=/bin/true

StateSaveLocation=${state}/ctld
SlurmdSpoolDir=${state}/spool
SlurmctldPidFile=${state}/slurmctld.pid
SlurmdPidFile=${state}/slurmd.pid
SlurmctldLogFile=${state}/slurmctld.log
SlurmdLogFile=${state}/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info

# No cgroups in containers: track processes via /proc, no task binding.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=${def_mem}

# No slurmdbd: no sacct.  jobcomp/filetxt keeps one line per finished job.
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=${state}/jobcomp.log
JobAcctGatherType=${gather}
${gather_params}

# Fast turnaround for tests: 2 s from SIGTERM to SIGKILL on cancel/timeout,
# no grace time past --time, finished jobs stay queryable for MinJobAge s.
KillWait=2
OverTimeLimit=0
MinJobAge=${SLURM_LOCAL_MIN_JOB_AGE:-120}
InactiveLimit=0
# Submits and job ends trigger scheduling at once; these periodic passes only
# matter for jobs waiting on a begin time (e.g. after a requeue).  Default 60/30 s.
SchedulerParameters=sched_interval=5,bf_interval=5
SlurmdTimeout=30
ReturnToService=2
# Let "scontrol requeue" / --requeue work, and let a job see its restart count.
JobRequeue=1

NodeName=${host} NodeAddr=127.0.0.1 CPUs=${cpus} RealMemory=${mem_mb} State=UNKNOWN
PartitionName=debug Nodes=${host} Default=YES MaxTime=INFINITE State=UP
EOF
    printf 'export SLURM_CONF=%q\n' "$state/slurm.conf" >"$state/env"
}

dump_logs() {
    local state=$1 f
    for f in "$state/slurmctld.log" "$state/slurmd.log" /var/log/munge/munged.log; do
        [[ -r $f ]] || continue
        printf '===== last lines of %s =====\n' "$f" >&2
        tail -n 40 -- "$f" >&2 || true
    done
}

cmd_start() {
    local state host ctld_args=() i st=""
    state=$(state_dir_from_arg "${1:-}")
    [[ $(id -u) -eq 0 ]] || die "must run as root (SlurmUser=root, munged setup)"
    ensure_installed
    # slurmd identifies itself by the short hostname; NodeName must match.
    host=$(hostname -s)
    [[ -n $host ]] || die "empty hostname"

    start_munge "$state"

    export SLURM_CONF="$state/slurm.conf"
    if pid_alive "$state/slurmctld.pid" slurmctld || pid_alive "$state/slurmd.pid" slurmd; then
        log "daemons from a previous start are still running; keeping their config"
    else
        write_conf "$state" "$host"
    fi

    if ! pid_alive "$state/slurmctld.pid" slurmctld; then
        if [[ ${SLURM_LOCAL_KEEP_STATE:-0} != 1 ]]; then
            # Clean slate for tests: no jobs or node states from an old run.
            ctld_args+=(-c)
            rm -f -- "$state/jobcomp.log"
        fi
        # Fresh log per start, so a failure dump shows this run only.
        [[ -f $state/slurmctld.log ]] && mv -f -- "$state/slurmctld.log" "$state/slurmctld.log.prev"
        log "starting slurmctld"
        slurmctld -f "$SLURM_CONF" "${ctld_args[@]}" || { dump_logs "$state"; die "slurmctld failed to start"; }
    fi
    if ! pid_alive "$state/slurmd.pid" slurmd; then
        [[ -f $state/slurmd.log ]] && mv -f -- "$state/slurmd.log" "$state/slurmd.log.prev"
        log "starting slurmd"
        slurmd -f "$SLURM_CONF" || { dump_logs "$state"; die "slurmd failed to start"; }
    fi

    # Wait (bounded, 1 s steps) for the node to register as idle.
    local timeout=${SLURM_LOCAL_TIMEOUT:-60}
    for ((i = 0; i < timeout; i++)); do
        st=$(sinfo -h -n "$host" -o %t 2>/dev/null || true)
        [[ $st == idle ]] && break
        # A node left DOWN/DRAIN by an earlier run would never become idle
        # on its own when state was kept.
        if [[ $st == down* || $st == drain* ]]; then
            scontrol update NodeName="$host" State=RESUME 2>/dev/null || true
        fi
        sleep 1
    done
    if [[ $st != idle ]]; then
        dump_logs "$state"
        sinfo -N -l >&2 2>/dev/null || true
        die "node $host not idle after ${timeout}s (state: '${st:-no answer}')"
    fi
    log "cluster up: node $host idle"
    # Callers: eval "$(scripts/slurm-local.sh start)" or source STATE_DIR/env.
    cat -- "$state/env"
}

cmd_stop() {
    local state i
    state=$(state_dir_from_arg "${1:-}")
    export SLURM_CONF="$state/slurm.conf"
    # Cancel jobs first so their slurmstepd processes (children of nobody once
    # slurmd exits) do not outlive the cluster.
    if pid_alive "$state/slurmctld.pid" slurmctld && pid_alive "$state/slurmd.pid" slurmd; then
        local ids=()
        mapfile -t ids < <(squeue -h -o %i 2>/dev/null || true)
        if ((${#ids[@]} > 0)); then
            log "cancelling remaining jobs: ${ids[*]}"
            scancel --quiet "${ids[@]}" 2>/dev/null || true
            for ((i = 0; i < 15; i++)); do
                [[ -z $(squeue -h -t running,completing -o %i 2>/dev/null) ]] && break
                sleep 1
            done
        fi
    fi
    stop_pidfile "$state/slurmd.pid" slurmd
    stop_stray_stepds "$state/slurm.conf"
    stop_pidfile "$state/slurmctld.pid" slurmctld
    # Only a munged that this script started (recorded in STATE_DIR).
    stop_pidfile "$state/munged.pid" munged
    log "stopped"
}

cmd_status() {
    local state
    state=$(state_dir_from_arg "${1:-}")
    export SLURM_CONF="$state/slurm.conf"
    [[ -r $SLURM_CONF ]] || die "no cluster config in $state (not started?)"
    sinfo || die "controller not reachable"
    squeue -t all -o '%.10i %.9P %.20j %.10T %.10M %.6D %R'
}

main() {
    local cmd=${1:-}
    shift || true
    case $cmd in
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    status) cmd_status "$@" ;;
    *) usage ;;
    esac
}

main "$@"
