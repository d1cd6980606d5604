#!/usr/bin/env bash
# zarrscope vs icechunk + zarr-python on an Icechunk repository (tree of main,
# tree of a tag, log), against the same local S3 server, one after another:
# requests (from the server's log) and wall time, median of 5 runs.
#
#   bench/icechunk.sh [DELAY_MS] (default 50)
#
# The peer's Python comes from ICE_VENV (default target/ice-venv, created with
# icechunk 1.1.21 and zarr 3.1.6 from PyPI when missing). Set ICE_OUT=FILE to
# also write the table there. Not part of `cargo test` or CI.
set -euo pipefail
cd "$(dirname "$0")/.."
DELAY_MS="${1:-50}"
VENV="${ICE_VENV:-target/ice-venv}"
TARGET="${CARGO_TARGET_DIR:-target}"

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet icechunk==1.1.21 zarr==3.1.6
fi
cargo build --release --quiet --bin zarrscope --example s3server

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
LOG="$WORK/requests.log"
: > "$LOG"
# The server runs while its stdin stays open; it serves fixtures/ in bucket `public`.
exec 3> >("$TARGET/release/examples/s3server" "$DELAY_MS" "$LOG" > "$WORK/server.txt")
for _ in $(seq 100); do grep -q '^public=' "$WORK/server.txt" 2>/dev/null && break; sleep 0.1; done
ENDPOINT="$(sed -n 's/^endpoint=//p' "$WORK/server.txt")"

python3 bench/icechunk_compare.py \
  --endpoint "$ENDPOINT" --log "$LOG" --delay-ms "$DELAY_MS" \
  --zarrscope "$TARGET/release/zarrscope" --python "$VENV/bin/python" ${ICE_OUT:+--out "$ICE_OUT"}
exec 3>&-
