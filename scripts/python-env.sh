#!/usr/bin/env bash
# The project's Python virtual environments: creates or updates one, prints its interpreter.
#
#   scripts/python-env.sh [REQUIREMENTS [PIP_OPTION...]]
#     REQUIREMENTS  a requirements file, default scripts/requirements-check.txt (onnx, onnxruntime,
#                   numpy: the exporter cross-check test and the tract-vs-onnxruntime benchmark)
#     PIP_OPTION    passed on to pip install (e.g. --index-url URL)
#
# The environment is target/python-venv/NAME (NAME from requirements-NAME.txt), made by
# `python3 -m venv` with the python3 first on the PATH; the packages are pip-installed into it and
# nowhere else. Prints the absolute path of its interpreter on stdout, everything else on stderr:
#   WATTEVO_PYTHON=$(scripts/python-env.sh) cargo test -p wattevo --test onnx_python
# Re-runs install nothing while target/python-venv/NAME/.wattevo-stamp records the same
# requirements (sha256), base interpreter and pip options; a different base interpreter rebuilds
# the environment from scratch. Where python3 is Debian's and `python3 -m venv` fails for want of
# Debian's python3-venv, that package is apt-installed (as root, or with sudo).
# Remove with: rm -rf target/python-venv
set -euo pipefail

say() { echo "$@" >&2; }

requirements="${1:-$(dirname "$0")/requirements-check.txt}"
[ -f "$requirements" ] || { say "scripts/python-env.sh: no requirements file $requirements"; exit 2; }
requirements="$(realpath "$requirements")"
if [ $# -gt 0 ]; then shift; fi
cd "$(dirname "$0")/.."

name="$(basename "$requirements" .txt)"
name="${name#requirements-}"
venv="$PWD/target/python-venv/$name"
stamp="$venv/.wattevo-stamp"

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    say "scripts/python-env.sh: need root (or sudo) to run: $*"; return 1; fi
}

base="$(command -v python3)" || {
  say "scripts/python-env.sh: no python3 on the PATH (Debian: apt-get install python3 python3-venv)"
  exit 1
}
base_id="$("$base" -c 'import sys; print(sys.executable, sys.version.split()[0])')"
key="$(printf 'requirements %s\nbase %s\npip %s\n' \
  "$(sha256sum <"$requirements" | cut -d' ' -f1)" "$base_id" "$*")"

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ] && "$venv/bin/python" -c '' 2>/dev/null; then
  echo "$venv/bin/python"
  exit 0
fi

make_venv() { "$base" -m venv --clear "$venv" >&2; }

# The environment is rebuilt unless a finished earlier run made it with this same base interpreter.
if ! { [ -f "$stamp" ] && grep -qxF "base $base_id" "$stamp" && "$venv/bin/python" -c '' 2>/dev/null; }; then
  say "== creating $venv with $base_id"
  if ! make_venv; then
    rm -rf "$venv"
    case "$(readlink -f "$base")" in
      /usr/bin/* | /bin/*) ;;
      *) say "scripts/python-env.sh: $base -m venv failed"; exit 1 ;;
    esac
    command -v apt-get >/dev/null || { say "scripts/python-env.sh: $base -m venv failed"; exit 1; }
    say "== installing Debian's python3-venv (python3 -m venv needs it)"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >&2
    make_venv
  fi
fi

rm -f "$stamp"
say "== installing ${requirements#"$PWD"/} into ${venv#"$PWD"/}"
# --require-virtualenv: pip refuses to run outside a virtual environment, whatever happens above.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --require-virtualenv \
  -r "$requirements" "$@" >&2
printf '%s\n' "$key" >"$stamp"
echo "$venv/bin/python"
