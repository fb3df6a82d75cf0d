#!/usr/bin/env bash
# Installs the board agent on a Raspberry Pi as a systemd service, or removes it.
#
#   scripts/deploy-pi.sh HOST [--board pi4b] [--port /dev/ttyGS0] [--arch aarch64|armv7] [--uninstall]
#
# HOST is anything ssh accepts (pi@raspberrypi.local). Copies the agent built by
# scripts/build-agent-pi.sh --release and boards/BOARD.toml to the Pi, installs
# /usr/local/bin/wattevo-agent, /etc/wattevo/BOARD.toml and the unit rendered from
# deploy/wattevo-agent.service, then enables and starts it. --port defaults to the profile's
# serial.agent_port (/dev/serial0: GPIO UART; /dev/ttyGS0: USB gadget). The service runs as the
# ssh login user, with the i2c and dialout groups. Needs sudo on the Pi (ssh -t asks for the
# password if sudo wants one). --uninstall stops, disables and removes all three files.
set -euo pipefail

usage() { sed -n '2,13p' "$0"; }

host=""
board=pi4b
port=""
arch=aarch64
uninstall=false
while [[ $# -gt 0 ]]; do
    case "$1" in
        --board) board="${2:?--board needs a name}"; shift 2 ;;
        --port) port="${2:?--port needs a path}"; shift 2 ;;
        --arch) arch="${2:?--arch needs aarch64 or armv7}"; shift 2 ;;
        --uninstall) uninstall=true; shift ;;
        -h|--help) usage; exit 0 ;;
        -*) echo "deploy-pi: unknown option $1" >&2; exit 2 ;;
        *) host="$1"; shift ;;
    esac
done
if [[ -z "$host" ]]; then
    usage >&2
    exit 2
fi

root_dir="$(cd "$(dirname "$0")/.." && pwd)"
unit=/etc/systemd/system/wattevo-agent.service

if $uninstall; then
    ssh -t "$host" "sudo systemctl disable --now wattevo-agent.service || true
        sudo rm -f $unit /usr/local/bin/wattevo-agent
        sudo rm -rf /etc/wattevo
        sudo systemctl daemon-reload"
    echo "deploy-pi: wattevo-agent removed from $host"
    exit 0
fi

case "$arch" in
    aarch64) target=aarch64-unknown-linux-gnu; strip_tool=aarch64-linux-gnu-strip ;;
    armv7) target=armv7-unknown-linux-gnueabihf; strip_tool=arm-linux-gnueabihf-strip ;;
    *) echo "deploy-pi: --arch must be aarch64 or armv7, not $arch" >&2; exit 2 ;;
esac
elf="${CARGO_TARGET_DIR:-$root_dir/target}/$target/release/wattevo-agent"
profile="$root_dir/boards/$board.toml"
for file in "$elf" "$profile"; do
    if [[ ! -f "$file" ]]; then
        echo "deploy-pi: missing $file (build with scripts/build-agent-pi.sh --arch $arch --release)" >&2
        exit 1
    fi
done
if [[ -z "$port" ]]; then
    port="$(sed -n 's/^agent_port *= *"\([^"]*\)".*/\1/p' "$profile")"
fi
if [[ "$port" != /dev/* ]]; then
    echo "deploy-pi: port must be a /dev path, not '$port'" >&2
    exit 2
fi

# systemd's device unit of a path: strip the leading '/', escape '-', then '/' becomes '-'.
device_unit="$(printf '%s' "${port#/}" | sed 's/-/\\x2d/g; s|/|-|g').device"
remote_user="$(ssh "$host" id -un)"
staging="$(ssh "$host" mktemp -d -t wattevo-deploy.XXXXXX)"
local_dir="$(mktemp -d -t wattevo-deploy.XXXXXX)"
trap 'rm -rf "$local_dir"' EXIT
rendered="$local_dir/wattevo-agent.service"
# Ship a stripped copy: the release build keeps line tables (~130 MB for aarch64, ~20 MB stripped).
cp "$elf" "$local_dir/wattevo-agent"
if command -v "$strip_tool" >/dev/null; then
    "$strip_tool" "$local_dir/wattevo-agent"
fi
# Placeholders are filled on every line but the template's own comments.
sed -e "/^#/!{s|@PORT@|$port|g; s|@DEVICE_UNIT@|$device_unit|g}" \
    -e "/^#/!{s|@BOARD_TOML@|/etc/wattevo/$board.toml|g; s|@USER@|$remote_user|g}" \
    "$root_dir/deploy/wattevo-agent.service" > "$rendered"

scp -q "$local_dir/wattevo-agent" "$profile" "$rendered" "$host:$staging/"
ssh -t "$host" "set -e
    sudo install -m 0755 $staging/wattevo-agent /usr/local/bin/wattevo-agent
    sudo install -d /etc/wattevo
    sudo install -m 0644 $staging/$board.toml /etc/wattevo/$board.toml
    sudo install -m 0644 $staging/wattevo-agent.service $unit
    rm -rf $staging
    sudo systemctl daemon-reload
    sudo systemctl enable --now wattevo-agent.service
    sudo systemctl restart wattevo-agent.service
    sleep 1
    systemctl --no-pager status wattevo-agent.service | head -n 5"
echo "deploy-pi: wattevo-agent serving $port with board $board on $host (logs: ssh $host journalctl -u wattevo-agent)"
