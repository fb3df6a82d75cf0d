#!/usr/bin/env bash
# End-to-end check of the cross-built board agent under user-mode emulation (qemu-user-static).
#
#   scripts/test-agent-qemu.sh [--arch aarch64|armv7] [ELF]
#
# ELF defaults to the release build of scripts/build-agent-pi.sh --arch ARCH --release
# (target/aarch64-unknown-linux-gnu/release/wattevo-agent for aarch64). The host's simulated
# board spawns the agent named by $WATTEVO_AGENT on a pseudo-terminal; here that is a wrapper that
# runs the Pi ELF under qemu with the cross sysroot, so the whole protocol (handshake, upload,
# measurement) runs against the binary that will go on the Pi. Checks the JSON: handshake arch
# aarch64 (arm for armv7), figures present and finite, labelled SIMULATED. Timings under
# emulation are meaningless for the board.
#
# Not part of `cargo test` or CI: it needs the cross build (~10 min) and qemu; the run itself
# takes seconds. Run as root to install qemu-user-static if missing. Host binary: $WATTEVO
# (default target/debug/wattevo, built if absent).
set -euo pipefail

arch=aarch64
if [[ "${1:-}" == --arch ]]; then
    arch="${2:?--arch needs aarch64 or armv7}"
    shift 2
fi
case "$arch" in
    # expected: what the agent reports as its arch (Rust's std::env::consts::ARCH)
    aarch64) target=aarch64-unknown-linux-gnu; qemu="qemu-aarch64-static"; sysroot=/usr/aarch64-linux-gnu
             expected=aarch64; gcc_pkg="gcc-aarch64-linux-gnu" ;;
    armv7) target=armv7-unknown-linux-gnueabihf; qemu="qemu-arm-static"; sysroot=/usr/arm-linux-gnueabihf
           expected=arm; gcc_pkg="gcc-arm-linux-gnueabihf" ;;
    *) echo "test-agent-qemu: --arch must be aarch64 or armv7, not $arch" >&2; exit 2 ;;
esac

root_dir="$(cd "$(dirname "$0")/.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$root_dir/target}"
elf="$(realpath "${1:-$target_dir/$target/release/wattevo-agent}")"
wattevo="${WATTEVO:-$target_dir/debug/wattevo}"

if [[ ! -x "$elf" ]]; then
    echo "test-agent-qemu: no agent ELF at $elf; run scripts/build-agent-pi.sh --arch $arch --release first" >&2
    exit 1
fi
if ! command -v "$qemu" >/dev/null; then
    if [[ $EUID -eq 0 ]]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user-static
    else
        echo "test-agent-qemu: $qemu missing; run: sudo apt-get install qemu-user-static" >&2
        exit 1
    fi
fi
if [[ ! -d "$sysroot/lib" ]]; then
    echo "test-agent-qemu: no $arch sysroot at $sysroot; run: sudo apt-get install $gcc_pkg" >&2
    exit 1
fi
if [[ ! -x "$wattevo" ]]; then
    (cd "$root_dir" && cargo build -p wattevo --bin wattevo)
fi

work="$(mktemp -d -t wattevo-qemu.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cat > "$work/agent-qemu" <<WRAPPER
#!/bin/sh
exec $qemu -L $sysroot "$elf" "\$@"
WRAPPER
chmod +x "$work/agent-qemu"

echo "agent: $(file -b "$elf" | cut -d, -f1-2) under $("$qemu" --version | head -n 1)"
"$wattevo" sample --seed 1 --export "$work/model.onnx" > /dev/null
WATTEVO_AGENT="$work/agent-qemu" "$wattevo" profile "$work/model.onnx" --board sim \
    --idle-ms 200 --min-duration-ms 300 --repetitions 2 --json > "$work/profile.json"

python3 - "$work/profile.json" "$expected" <<'CHECK'
import json, math, sys
report = json.load(open(sys.argv[1]))
hello, m = report["handshake"], report["measurement"]
problems = []
expected = sys.argv[2]
if hello["cpu"]["arch"] != expected:
    problems.append(f"handshake arch is {hello['cpu']['arch']!r}, not {expected!r}")
if not report["simulated"] or not report["source"].startswith("SIMULATED"):
    problems.append(f"figures not labelled simulated: source {report['source']!r}")
for key in ("total_power_w", "dynamic_power_w", "energy_per_inference_j", "dynamic_energy_per_inference_j"):
    if not math.isfinite(m[key]["mean"]):
        problems.append(f"{key} mean is not finite")
if m["inferences"] <= 0 or m["repetitions"] != 2 or m["latency_mean_us"] <= 0:
    problems.append(f"inferences {m['inferences']}, repetitions {m['repetitions']}, latency {m['latency_mean_us']}")
print(f"handshake: agent {hello['agent_version']}, tract {hello['tract_version']}, arch {hello['cpu']['arch']}, "
      f"kernel {hello['cpu']['kernel']}, board {hello['board_name']}")
print(f"source: {report['source']}")
print(f"energy/inference {m['energy_per_inference_j']['mean'] * 1e3:.4f} mJ, total power "
      f"{m['total_power_w']['mean']:.4f} W, {m['inferences']} inferences in {m['repetitions']} windows, "
      f"latency mean {m['latency_mean_us']:.1f} us")
if problems:
    print("test-agent-qemu: FAILED: " + "; ".join(problems), file=sys.stderr)
    sys.exit(1)
print("test-agent-qemu: OK")
CHECK
echo "timings under emulation are meaningless for the board"
