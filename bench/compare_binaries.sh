#!/usr/bin/env bash
# Same output before and after a refactor: runs two zarrscope binaries side by
# side over every bundled fixture store and every store under
# ../shared/real-world-fixtures, with a fixed set of read-only commands, then
# the command line alone (every --help, man, completions, usage errors), and
# compares stdout, stderr and the exit code of each run byte for byte.
#
#   bench/compare_binaries.sh OLD_BINARY NEW_BINARY [WORK_DIR]
#
# Typical use: build the old commit into one target dir and the new one into
# another, e.g.
#   git worktree add /tmp/old <commit> && (cd /tmp/old && cargo build --release)
#   cargo build --release
#   bench/compare_binaries.sh /tmp/old/target/release/zarrscope target/release/zarrscope
#
# Then the chores (ls, glob, info, du, head) and dry runs of every write on
# the bundled fixtures served by the tests' S3 server (examples/s3server.rs,
# built with cargo unless S3SERVER names the program).
#
# Exit 0 when every run matches; 1 with a unified diff of each that does not.
# Each binary runs in an empty environment (PATH, a fresh HOME, NO_COLOR,
# COLUMNS=100), so no credentials, colour or terminal width leak in. Runs are
# local only: no network.
set -euo pipefail

old=${1:?usage: $0 OLD_BINARY NEW_BINARY [WORK_DIR]}
new=${2:?usage: $0 OLD_BINARY NEW_BINARY [WORK_DIR]}
work=${3:-$(mktemp -d)}
repo=$(cd "$(dirname "$0")/.." && pwd)
for bin in "$old" "$new"; do
  [ -x "$bin" ] || { echo "not an executable: $bin" >&2; exit 2; }
done
# clap names the program by its file name in usage errors: run both as
# `zarrscope`, from directories of their own.
mkdir -p "$work/bin-old" "$work/bin-new"
cp "$old" "$work/bin-old/zarrscope"
cp "$new" "$work/bin-new/zarrscope"
old="$work/bin-old/zarrscope"
new="$work/bin-new/zarrscope"

# Copies, so that both binaries see the same paths and nothing can change the
# repository (every command below is read-only; consolidate is a dry run).
stores_dir="$work/stores"
rm -rf "$stores_dir"
mkdir -p "$stores_dir/fixtures" "$stores_dir/real-world"
cp -R "$repo"/fixtures/*.zarr "$stores_dir/fixtures/"
shared="$repo/../shared/real-world-fixtures"
if [ -d "$shared" ]; then
  cp -R "$shared/." "$stores_dir/real-world/"
else
  echo "note: $shared missing; comparing the bundled fixtures only" >&2
fi

# A store root: a directory with its own Zarr document, whose parent has none.
is_node() { [ -e "$1/.zgroup" ] || [ -e "$1/.zarray" ] || [ -e "$1/zarr.json" ] || [ -e "$1/.zmetadata" ]; }
stores=()
while IFS= read -r -d '' dir; do
  if is_node "$dir" && ! is_node "$(dirname "$dir")"; then
    stores+=("$dir")
  fi
done < <(find "$stores_dir" -type d -print0 | sort -z)

# The commands each store is read with: {} is the store's path.
commands=(
  "tree {}"
  "tree {} --json"
  "tree {} --format table"
  "tree {} --attrs --sizes"
  "tree {} --depth 1"
  "tree {} --crawl --json"
  "tree {} --consolidated-only"
  "show {}"
  "show {} --json"
  "check {}"
  "check {} --json --strict"
  "consolidate {}"
  "diff {} {}"
  "ls {}"
  "ls -r -l {}"
  "du {} -d 1"
  "du -s {} --json"
  "info {}"
  "glob {}/**"
)

home="$work/home"
mkdir -p "$home"
# Extra variables for the runs against the S3 server (its endpoint and keys).
run_env=()
run() { # run BINARY OUT_PREFIX ARGS...
  local bin=$1 out=$2
  shift 2
  set +e
  (cd "$work" && env -i PATH="$PATH" HOME="$home" NO_COLOR=1 COLUMNS=100 "${run_env[@]}" \
    timeout 60 "$bin" "$@" >"$out.stdout" 2>"$out.stderr")
  echo $? >"$out.code"
  set -e
}

same_runs() { # same_runs PREFIX_A PREFIX_B: stdout, stderr and code all equal
  cmp -s "$1.stdout" "$2.stdout" && cmp -s "$1.stderr" "$2.stderr" && cmp -s "$1.code" "$2.code"
}

total=0
differ=0
unstable=0
report="$work/differences.txt"
unstable_report="$work/unstable.txt"
: >"$report"
: >"$unstable_report"
compare() { # compare ARGS...: one run of each binary, retried if they differ
  local args=("$@")
  local shown="zarrscope ${args[*]//"$stores_dir/"/}"
  total=$((total + 1))
  run "$old" "$work/old" "${args[@]}"
  run "$new" "$work/new" "${args[@]}"
  same_runs "$work/old" "$work/new" && return 0
  # Some runs race by design (a crawl's listing may or may not start
  # before the documents answer, and --stats counts it): a run that
  # differs from itself in three more runs of each binary is reported
  # apart, not as a change.
  local raced=false again part
  for again in 2 3 4; do
    run "$old" "$work/old$again" "${args[@]}"
    run "$new" "$work/new$again" "${args[@]}"
    if ! same_runs "$work/old" "$work/old$again" || ! same_runs "$work/new" "$work/new$again"; then
      raced=true
      break
    fi
  done
  if $raced; then
    unstable=$((unstable + 1))
    echo "$shown" >>"$unstable_report"
    return 0
  fi
  differ=$((differ + 1))
  for part in stdout stderr code; do
    if ! cmp -s "$work/old.$part" "$work/new.$part"; then
      {
        echo "== $shown ($part)"
        diff -u "$work/old.$part" "$work/new.$part" | head -40 || true
      } >>"$report"
    fi
  done
}

for store in "${stores[@]}"; do
  for template in "${commands[@]}"; do
    # shellcheck disable=SC2086 # the templates split on spaces by design
    compare ${template//\{\}/$store}
  done
done

# The command line itself: every help text, the manual page, completion
# scripts and usage errors, so that moving flags around changes none of them.
subcommands=(tree show check consolidate diff ls glob info head cat du cp mv rm mkdir completions man)
usage=(
  "--help" "-h" "--version" "man" "completions bash" "completions zsh" "completions fish"
  "tree" "tree x --json --format table" "show x --crawl --consolidated-only"
  "tree x --endpoint-url foo" "tree x --max-bytes lots" "tree x --timeout soon"
  "tree x -v -q" "tree x --concurrency 0" "ls" "head -n 3 -c 4 s3://b/k"
  "du -s -d 1 s3://b/" "du -h -b s3://b/" "rm s3://b/k --yes --dry-run"
)
for sub in "${subcommands[@]}"; do
  usage+=("$sub --help" "$sub -h" "help $sub")
done
for line in "${usage[@]}"; do
  # shellcheck disable=SC2086 # split on spaces by design
  compare $line
done
cli_runs=${#usage[@]}

# Object storage: the chores (ls, glob, info, du, head) and the dry runs of
# every write, on the bundled fixtures served by the tests' S3 server
# (examples/s3server.rs, built here unless S3SERVER names it). No --stats or
# -v: their timings differ from run to run.
s3_runs=0
s3server=${S3SERVER:-}
if [ -z "$s3server" ]; then
  (cd "$repo" && cargo build --quiet --example s3server)
  s3server="${CARGO_TARGET_DIR:-$repo/target}/debug/examples/s3server"
fi
exec 3> >("$s3server" 0 "$work/s3-requests.log" >"$work/s3server.txt")
for _ in $(seq 200); do grep -q '^public=' "$work/s3server.txt" 2>/dev/null && break; sleep 0.1; done
endpoint=$(sed -n 's/^endpoint=//p' "$work/s3server.txt")
public=$(sed -n 's/^public=//p' "$work/s3server.txt")
[ -n "$endpoint" ] && [ -d "$public" ] || { echo "the S3 server did not start ($s3server)" >&2; exit 2; }
cp -R "$repo"/fixtures/*.zarr "$public/"
run_env=(AWS_ACCESS_KEY_ID=AKIDZARRSCOPETEST AWS_SECRET_ACCESS_KEY=zs-secret-MARKER-4f9c2b7e1d
  AWS_REGION=us-east-1 AWS_ENDPOINT_URL="$endpoint")
s3_commands=(
  "tree {}" "tree {} --json" "show {}" "check {} --json" "consolidate {}"
  "ls {}/" "ls -r -l {}" "ls -r -l -h {}" "du {} -d 1" "du -s -h {} --json"
  "info {}/" "info {}/.zattrs" "glob {}/**" "head -n 2 {}/.zmetadata"
  "cp -r {} s3://private/copy/" "mv {} s3://private/moved" "rm -r {}"
)
bucket_commands=(
  "ls s3://public/" "glob s3://public/*.zarr" "du -d 1 s3://public/" "du -s s3://public/ --json"
  "mkdir s3://new-bucket" "mkdir -p s3://public" "tree s3://public/no-such.zarr"
)
for store in "$public"/*.zarr; do
  url="s3://public/$(basename "$store")"
  for template in "${s3_commands[@]}"; do
    # shellcheck disable=SC2086 # the templates split on spaces by design
    compare ${template//\{\}/$url}
    s3_runs=$((s3_runs + 1))
  done
done
for line in "${bucket_commands[@]}"; do
  # shellcheck disable=SC2086 # split on spaces by design
  compare $line
  s3_runs=$((s3_runs + 1))
done
exec 3>&-
run_env=()

echo "${#stores[@]} stores, ${#commands[@]} commands each, $cli_runs runs of the command line alone and $s3_runs against the S3 server: $total runs, $((total - differ - unstable)) identical, $differ different, $unstable unstable (a binary differs from itself)"
if [ "$unstable" -gt 0 ]; then
  echo "unstable:"
  sed 's/^/  /' "$unstable_report"
fi
if [ "$differ" -gt 0 ]; then
  cat "$report"
  exit 1
fi
