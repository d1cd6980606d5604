#!/usr/bin/env bash
# One command: zarrscope vs zarr-python / s3fs / xarray against the same local
# S3 server, side by side. Usage: bench/run.sh [DELAY_MS] (default 50).
# Needs the Rust toolchain, Python 3.11 and the package registries (PyPI,
# crates.io); not part of `cargo test` or CI.
set -euo pipefail
cd "$(dirname "$0")/.."
DELAY_MS="${1:-50}"
VENV="${BENCH_VENV:-target/bench-venv}"

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet -r bench/requirements.txt
fi
cargo build --release --quiet --bin zarrscope --example s3server

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
LOG="$WORK/requests.log"
: > "$LOG"
# The server runs while its stdin stays open.
exec 3> >(target/release/examples/s3server "$DELAY_MS" "$LOG" > "$WORK/server.txt")
for _ in $(seq 100); do grep -q '^public=' "$WORK/server.txt" 2>/dev/null && break; sleep 0.1; done
ENDPOINT="$(sed -n 's/^endpoint=//p' "$WORK/server.txt")"
PUBLIC="$(sed -n 's/^public=//p' "$WORK/server.txt")"

"$VENV/bin/python" bench/compare.py \
  --endpoint "$ENDPOINT" --bucket-dir "$PUBLIC" --log "$LOG" --delay-ms "$DELAY_MS" \
  --zarrscope target/release/zarrscope --out bench/results.md
exec 3>&-
