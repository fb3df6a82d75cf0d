#!/usr/bin/env bash
# Cross-builds the board agent (wattevo-agent) for a Raspberry Pi.
#
#   scripts/build-agent-pi.sh [--arch aarch64|armv7] [--release]
#
# aarch64 (default): 64-bit Raspberry Pi OS on a Pi 3/4/5/Zero 2 W. armv7: 32-bit Raspberry Pi OS.
# Run as root, it installs what is missing (the cross gcc from apt, the Rust target from rustup);
# otherwise it says what to install. The linkers are set in .cargo/config.toml. Prints the ELF
# path, `file` output and the highest glibc symbol version the binary needs (Raspberry Pi OS
# bookworm ships glibc 2.36, so that must be <= 2.36).
set -euo pipefail

arch=aarch64
profile_flag=()
profile_dir=debug
while [[ $# -gt 0 ]]; do
    case "$1" in
        --arch) arch="${2:?--arch needs aarch64 or armv7}"; shift 2 ;;
        --release) profile_flag=(--release); profile_dir=release; shift ;;
        -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
        *) echo "build-agent-pi: unknown argument $1" >&2; exit 2 ;;
    esac
done

case "$arch" in
    aarch64) target=aarch64-unknown-linux-gnu; gcc=aarch64-linux-gnu-gcc; apt_pkg="gcc-aarch64-linux-gnu"
             objdump=aarch64-linux-gnu-objdump ;;
    armv7) target=armv7-unknown-linux-gnueabihf; gcc=arm-linux-gnueabihf-gcc; apt_pkg="gcc-arm-linux-gnueabihf"
           objdump=arm-linux-gnueabihf-objdump ;;
    *) echo "build-agent-pi: --arch must be aarch64 or armv7, not $arch" >&2; exit 2 ;;
esac

root_dir="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root_dir"

if ! command -v "$gcc" >/dev/null; then
    if [[ $EUID -eq 0 ]]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$apt_pkg" file
    else
        echo "build-agent-pi: $gcc missing; run: sudo apt-get install $apt_pkg" >&2
        exit 1
    fi
fi
if ! rustup target list --installed | grep -qx "$target"; then
    rustup target add "$target"
fi

cargo build -p wattevo-agent --target "$target" "${profile_flag[@]}"

target_dir="${CARGO_TARGET_DIR:-$root_dir/target}"
elf="$target_dir/$target/$profile_dir/wattevo-agent"
echo "ELF: $elf"
if command -v file >/dev/null; then
    file "$elf"
fi
if command -v "$objdump" >/dev/null; then
    glibc_max="$("$objdump" -T "$elf" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -n 1)"
    echo "highest glibc symbol version needed: $glibc_max (Raspberry Pi OS bookworm has 2.36)"
    if [[ "$(printf '%s\n2.36\n' "$glibc_max" | sort -V | tail -n 1)" != "2.36" ]]; then
        echo "build-agent-pi: WARNING: needs glibc $glibc_max > 2.36; will not run on bookworm" >&2
    fi
fi
