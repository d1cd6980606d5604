#!/usr/bin/env bash
# `zarrscope find` on a bucket of 1,000 small stores under nested prefixes,
# against the seed's way (s3fs glob + zarr open_consolidated per store) and
# the depth-bound limit (examples/find_limit.rs), on one local S3 server
# with DELAY_MS per request, in one run.
#
#   bench/find.sh [DELAY_MS] [STORES]     (defaults 50, 1000)
#
# The peer's Python comes from BENCH_VENV (default target/bench-venv, made
# from bench/requirements.txt when missing). FIND_OUT=FILE also writes the
# table there. The peer alone takes minutes (one store after another). Not
# part of `cargo test` or CI.
set -euo pipefail
cd "$(dirname "$0")/.."
DELAY_MS="${1:-50}"
STORES="${2:-1000}"
VENV="${BENCH_VENV:-target/bench-venv}"
TARGET="${CARGO_TARGET_DIR:-target}"

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet -r bench/requirements.txt
fi
cargo build --release --quiet --bin zarrscope --example s3server --example find_limit

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
LOG="$WORK/requests.log"
: > "$LOG"
exec 3> >("$TARGET/release/examples/s3server" "$DELAY_MS" "$LOG" > "$WORK/server.txt")
for _ in $(seq 100); do grep -q '^public=' "$WORK/server.txt" 2>/dev/null && break; sleep 0.1; done
ENDPOINT="$(sed -n 's/^endpoint=//p' "$WORK/server.txt")"
PUBLIC="$(sed -n 's/^public=//p' "$WORK/server.txt")"

"$VENV/bin/python" bench/find_bucket.py "$PUBLIC" "$STORES" 2>/dev/null
"$VENV/bin/python" bench/find_compare.py \
  --endpoint "$ENDPOINT" --log "$LOG" --delay-ms "$DELAY_MS" --stores "$STORES" \
  --zarrscope "$TARGET/release/zarrscope" --limit "$TARGET/release/examples/find_limit" \
  --python "$VENV/bin/python" ${FIND_OUT:+--out "$FIND_OUT"}
exec 3>&-
