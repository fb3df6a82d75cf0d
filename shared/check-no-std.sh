#!/bin/sh
# Checks that wattevo-proto builds without `std` (its default: no_std + alloc).
# On a bare-metal target (no std library exists there) the check is strict: any use of `std`
# by the crate or a dependency fails the build. Falls back to the host target when that target
# is not installed (`rustup target add thumbv7em-none-eabihf` to get it).
set -eu
cd "$(dirname "$0")/.."
cargo build -p wattevo-proto --no-default-features
if rustup target list --installed 2>/dev/null | grep -qx thumbv7em-none-eabihf; then
    cargo build -p wattevo-proto --no-default-features --target thumbv7em-none-eabihf
else
    echo "note: thumbv7em-none-eabihf not installed; checked the host target only" >&2
fi
