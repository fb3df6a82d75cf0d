#!/usr/bin/env bash
# Reproducible power profile of one model on one board: everything needed to trust or redo the
# measurement lands in one timestamped directory.
#
#   scripts/profile.sh MODEL.onnx BOARD PORT [OUTDIR] [-- extra `wattevo profile` flags]
#
# BOARD: `sim`, a bare name (`pi4b`) or a profile path (boards/pi4b.toml). PORT: the host's serial
# port (/dev/ttyUSB0, /dev/wattevo-board), or `-` to use the profile's default (always `-` for sim).
# OUTDIR (default runs/profiles) receives <UTC timestamp>-<board>-<model>/ with:
#   check.json / check.txt    `wattevo boards --check`: handshake (agent, tract, kernel, CPU, governor,
#                             sensor calibration) and an idle sensor reading
#   versions.txt              host versions: wattevo --version, uname -a, git rev (and dirty flag),
#                             model sha256, the exact commands run
#   profile.json              `wattevo profile --json`: the measurement
#   temperatures.txt          SoC temperature before/after and throttle flags, from profile.json
#   board.toml                copy of the board profile used (when BOARD is a file)
# Host binary: $WATTEVO (default: `wattevo` on PATH, else target/release then target/debug).
set -euo pipefail

if [[ $# -lt 3 ]]; then
    sed -n '2,19p' "$0" >&2
    exit 2
fi
model="$1" board="$2" port="$3"
shift 3
outdir=runs/profiles
if [[ $# -gt 0 && "$1" != "--" ]]; then
    outdir="$1"
    shift
fi
if [[ $# -gt 0 && "$1" == "--" ]]; then
    shift
fi
extra=("$@")

root_dir="$(cd "$(dirname "$0")/.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$root_dir/target}"
wattevo="${WATTEVO:-}"
if [[ -z "$wattevo" ]]; then
    for candidate in "$(command -v wattevo || true)" "$target_dir/release/wattevo" "$target_dir/debug/wattevo"; do
        if [[ -n "$candidate" && -x "$candidate" ]]; then
            wattevo="$candidate"
            break
        fi
    done
fi
if [[ -z "$wattevo" ]]; then
    echo "profile.sh: no wattevo binary; build it (cargo build --release -p wattevo) or set \$WATTEVO" >&2
    exit 1
fi
if [[ ! -f "$model" ]]; then
    echo "profile.sh: no model at $model" >&2
    exit 1
fi

port_flag=()
if [[ "$port" != "-" ]]; then
    port_flag=(--port "$port")
fi
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
run="$outdir/$stamp-$(basename "${board%.toml}")-$(basename "${model%.onnx}")"
mkdir -p "$run"
if [[ -f "$board" ]]; then
    cp "$board" "$run/board.toml"
fi

check_cmd=("$wattevo" boards --check --board "$board" "${port_flag[@]}")
profile_cmd=("$wattevo" profile "$model" --board "$board" "${port_flag[@]}" --json "${extra[@]}")
{
    echo "date_utc: $stamp"
    echo "wattevo: $("$wattevo" --version) ($wattevo)"
    echo "uname: $(uname -a)"
    echo "git: $(git -C "$root_dir" rev-parse HEAD 2>/dev/null || echo none)$(
        git -C "$root_dir" diff --quiet HEAD 2>/dev/null || echo ' (uncommitted changes)')"
    echo "model: $model sha256 $(sha256sum "$model" | cut -d' ' -f1)"
    echo "check command: ${check_cmd[*]}"
    echo "profile command: ${profile_cmd[*]}"
} > "$run/versions.txt"

echo "profile.sh: checking board $board" >&2
"${check_cmd[@]}" > "$run/check.txt"
"${check_cmd[@]}" --json > "$run/check.json"
echo "profile.sh: measuring $model" >&2
"${profile_cmd[@]}" > "$run/profile.json"

python3 - "$run/profile.json" > "$run/temperatures.txt" <<'TEMPS'
import json, sys
report = json.load(open(sys.argv[1]))
m = report["measurement"]
def celsius(value):
    return "n/a (no sensor)" if value is None else f"{value:.1f} °C"
flags = m["throttled_flags"]
print(f"source: {report['source']}")
print(f"temperature_start_c: {celsius(m['temperature_start_c'])}")
print(f"temperature_end_c: {celsius(m['temperature_end_c'])}")
print(f"throttled_flags: {'n/a (no vcgencmd)' if flags == 2**32 - 1 else hex(flags)}")
TEMPS

cat "$run/temperatures.txt"
echo "profile.sh: wrote $run"
