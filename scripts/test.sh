#!/usr/bin/env bash
# The test command: installs what the tests need (when it can), then runs every check CI runs.
#   scripts/test.sh            # as root or with sudo available
# What it installs:
#   - Debian's dataset-fashion-mnist (the real Fashion-MNIST IDX files the data tests read)
#   - onnx, onnxruntime, numpy from PyPI (the ONNX reference checker and a second runtime), into
#     the virtual environment target/python-venv/check (scripts/python-env.sh), made by Debian's
#     /usr/bin/python3 (and Debian's python3 and python3-venv when missing)
#   - gcc-aarch64-linux-gnu, qemu-user-static and the Rust aarch64 target (the emulated-Pi test)
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "scripts/test.sh: need root (or sudo) to run: $*" >&2; return 1; fi
}

apt_missing=()
[ -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || apt_missing+=(dataset-fashion-mnist)
command -v aarch64-linux-gnu-gcc >/dev/null || apt_missing+=(gcc-aarch64-linux-gnu)
command -v qemu-aarch64-static >/dev/null || apt_missing+=(qemu-user-static)
command -v file >/dev/null || apt_missing+=(file)
for tool in slurmctld slurmd sbatch munged; do command -v "$tool" >/dev/null || need_slurm=1; done
[ -z "${need_slurm:-}" ] || apt_missing+=(slurmctld slurmd slurm-client munge)
# Debian's python3 and its venv module (ensurepip, in python3-venv) for target/python-venv/check.
if [ ! -x /usr/bin/python3 ]; then apt_missing+=(python3 python3-venv)
elif ! /usr/bin/python3 -c 'import ensurepip' 2>/dev/null; then apt_missing+=(python3-venv); fi
if [ ${#apt_missing[@]} -gt 0 ]; then
  echo "== installing Debian packages: ${apt_missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${apt_missing[@]}"
fi

echo "== the Python ONNX checker (onnx, onnxruntime, numpy) in target/python-venv/check"
# Made with Debian's python3: /usr/bin comes first on the PATH for this step, so a python3 the
# user's PATH puts ahead of it (pyenv, conda, ~/.local) is not what the check relies on, and CI
# proves the README's platform. Only this step gets that PATH, not the whole command: with
# /usr/bin first, a Debian rustc/cargo there would hide the rustup toolchain. The tests need no
# python3 on the PATH: they run the interpreter named by WATTEVO_PYTHON.
WATTEVO_PYTHON="$(PATH="/usr/bin:$PATH" scripts/python-env.sh scripts/requirements-check.txt)"
export WATTEVO_PYTHON
"$WATTEVO_PYTHON" -c 'import sys, onnx, onnxruntime, numpy
print(f"   {sys.executable}: Python {sys.version.split()[0]} from {sys.base_prefix}, onnx {onnx.__version__}, "
      f"onnxruntime {onnxruntime.__version__}, numpy {numpy.__version__}")'

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
echo "== the wgpu training backend compiles (no GPU needed; the cuda feature downloads LLVM while it builds)"
cargo check -p wattevo --features wgpu --locked

echo "== training on Slurm: a single-node cluster on this machine (scripts/test-slurm.sh)"
if [ "$(id -u)" = 0 ]; then
  scripts/test-slurm.sh
else
  echo "SKIPPED: the Slurm test starts munged, slurmctld and slurmd, which needs root" >&2
fi

echo "== the Raspberry Pi agent: aarch64 cross-build, profiled under qemu-aarch64"
# The real board binary, the real protocol, a foreign architecture (issue 7). The Rust target
# comes from rustup's servers; where they cannot be reached the step says so and is skipped.
if rustup target list --installed | grep -qx aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu; then
  scripts/build-agent-pi.sh --arch aarch64 --release
  scripts/test-agent-qemu.sh --arch aarch64
else
  echo "SKIPPED: the emulated-Pi test (rustup could not install aarch64-unknown-linux-gnu)" >&2
fi
