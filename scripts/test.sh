#!/usr/bin/env bash
# The test command: installs what the tests need (when it can), then runs every check CI runs.
#   scripts/test.sh            # as root or with sudo available
# What it installs:
#   - Debian's dataset-fashion-mnist (the real Fashion-MNIST IDX files the data tests read)
#   - onnx, onnxruntime, numpy from PyPI (the ONNX reference checker and a second runtime)
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "scripts/test.sh: need root (or sudo) to run: $*" >&2; return 1; fi
}

if [ ! -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  echo "== installing dataset-fashion-mnist (Debian package)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q dataset-fashion-mnist
fi

if ! python3 -c "import onnx, onnxruntime, numpy" 2>/dev/null; then
  echo "== installing the Python ONNX checker (onnx, onnxruntime, numpy)"
  python3 -m pip install -q --disable-pip-version-check -r scripts/requirements-check.txt
fi

# A one-off build (CI) gains nothing from incremental compilation and its files double target/.
if [ "${CI:-}" = true ]; then export CARGO_INCREMENTAL=0; fi

echo "== formatting"
cargo fmt --all -- --check
echo "== clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== wire protocol builds without std"
cargo build -p wattevo-proto --no-default-features --locked
echo "== tests"
# The end-to-end tests run the built wattevo and wattevo-agent binaries: cargo test builds them
# because host/ and device/ both have integration tests (host/tests, device/tests).
cargo test --workspace --locked
