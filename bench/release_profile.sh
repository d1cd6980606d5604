#!/usr/bin/env bash
# Release build before/after: clean build time, binary size, start-up and
# `tree` wall time, in one run, as ratios against the "before" binary.
#
#   bench/release_profile.sh BEFORE_BIN AFTER_BIN
#   bench/release_profile.sh --build BEFORE_REV [AFTER_REV]
#
# With --build, each revision (AFTER_REV defaults to the working tree's HEAD)
# is checked out in a temporary worktree and built by
# `cargo build --release --locked` in its own empty target directory, one
# after the other, with the wall and CPU time recorded; that is two clean
# builds (5-8 min each on 2 cores), so keep the machine otherwise idle.
# The large documents come from benches/tree.rs (`write-stores`), built here
# with the release profile. Needs hyperfine (Debian's package) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
work=$(mktemp -d /tmp/zarrscope-release.XXXXXX)

build() { # REV NAME: builds, logs the times to stderr, prints the binary's path
  local rev=$1 name=$2 tree="$work/$2-src" target="$work/$2-target"
  if [ "$rev" = WORKTREE ]; then tree=$repo; else git worktree add -q --detach "$tree" "$rev"; fi
  ( cd "$tree" && /usr/bin/time -f "$name build: %e s wall, %U s user, %S s system, %M KiB peak" \
      env CARGO_TARGET_DIR="$target" cargo build --release --locked --quiet ) 2>&1 | tail -1 | tee -a "$work/builds.txt" >&2
  echo "$target/release/zarrscope"
}

if [ "${1:-}" = --build ]; then
  before=$(build "$2" before)
  after=$(build "${3:-WORKTREE}" after)
else
  before=$1 after=$2
fi

cargo bench --locked --quiet --bench tree -- write-stores "$work/stores" 50000
fixture=fixtures/nwm-chrtout-v2.zarr
cmds=(
  "start-up|--version"
  "tree, README fixture|tree $fixture"
  "show, README fixture|show $fixture"
  "tree, v2 .zmetadata 50,000 arrays (38.6 MB)|tree $work/stores/big-v2.zarr"
  "tree, v3 zarr.json 50,000 arrays (46.8 MB)|tree $work/stores/big-v3.zarr"
)
[ -f "$work/builds.txt" ] && cat "$work/builds.txt"
echo "| binary | size | stripped size |"
echo "|---|---|---|"
for b in "$before" "$after"; do
  cp "$b" "$work/s" && strip "$work/s"
  echo "| $b | $(stat -c %s "$b") | $(stat -c %s "$work/s") |"
done
echo
echo "| command | before (mean ± sd) | after (mean ± sd) | after / before |"
echo "|---|---|---|---|"
for entry in "${cmds[@]}"; do
  label=${entry%%|*} args=${entry#*|}
  hyperfine --warmup 3 --min-runs 10 -N --style none --export-json "$work/h.json" \
    "$before $args" "$after $args" >/dev/null 2>&1
  python3 - "$label" "$work/h.json" <<'PY'
import json, sys
label, path = sys.argv[1], sys.argv[2]
b, a = json.load(open(path))["results"]
f = lambda r: f"{r['mean']*1000:.1f} ± {r['stddev']*1000:.1f} ms"
print(f"| {label} | {f(b)} | {f(a)} | {a['mean']/b['mean']:.2f}x |")
PY
done
for d in "$work"/*-src; do [ -d "$d" ] && git worktree remove --force "$d"; done
echo "(work files in $work)"
