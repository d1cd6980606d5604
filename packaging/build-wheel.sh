#!/usr/bin/env bash
# Builds the zarrscope wheel (the release binary in a py3-none-<platform>
# wheel, see pyproject.toml) with a pinned maturin from PyPI, installed into a
# throwaway venv, and prints the wheel's path and size.
#
# NOT part of .ci/run: it is a full release build (5-6 minutes on this
# project's 2-core machines, more when other builds share the cores). Run it by hand or in a release job:
#
#   packaging/build-wheel.sh              # wheel in $CARGO_TARGET_DIR/wheels (or target/wheels)
#   WHEEL_DIR=dist packaging/build-wheel.sh
#   packaging/test-wheel.sh               # then install it into a fresh venv and run it
#
# Needs python3 (with venv), the Rust toolchain (1.95) and a C compiler, and
# network access to PyPI (maturin) and crates.io (unless the crates are
# already in ~/.cargo). Extra arguments go to `maturin build`
# (e.g. --target aarch64-unknown-linux-gnu, --compatibility manylinux_2_28).
set -euo pipefail
cd "$(dirname "$0")/.."

MATURIN_VERSION=1.16.0
target_dir=${CARGO_TARGET_DIR:-target}
out=${WHEEL_DIR:-$target_dir/wheels}

for tool in python3 cargo cc; do
  command -v "$tool" >/dev/null || { echo "build-wheel: needs $tool on PATH" >&2; exit 1; }
done

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
python3 -m venv "$scratch/venv"
"$scratch/venv/bin/python" -m pip install --quiet --disable-pip-version-check "maturin==$MATURIN_VERSION"

# Into an empty directory first, so the wheel printed is the one just built.
"$scratch/venv/bin/maturin" build --release --locked --out "$scratch/wheels" "$@"
mkdir -p "$out"
for built in "$scratch"/wheels/*.whl; do
  mv -f "$built" "$out/"
  wheel="$out/$(basename "$built")"
  echo "wheel: $wheel"
  echo "size: $(stat -c %s "$wheel") bytes ($(du -h "$wheel" | cut -f1))"
done
