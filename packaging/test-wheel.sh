#!/usr/bin/env bash
# Installs a built zarrscope wheel into a fresh venv and checks that the
# `zarrscope` program lands on the venv's PATH and runs: `--version` names the
# crate's version, and `tree fixtures/nested-v2.zarr` prints exactly what the
# cargo-built program (`cargo run -- tree ...`) prints.
#
# NOT part of .ci/run: it needs a wheel from packaging/build-wheel.sh, a full
# release build (5-6 minutes on this project's 2-core machines). Run:
#
#   packaging/build-wheel.sh && packaging/test-wheel.sh
#   packaging/test-wheel.sh path/to/zarrscope-*.whl     # a given wheel
#
# Without an argument it takes the newest wheel of Cargo.toml's version in
# $WHEEL_DIR (default $CARGO_TARGET_DIR/wheels, or target/wheels). The
# install reads the wheel alone (pip --no-index): no network. The reference
# output comes from `cargo run` (a debug build), or from $REFERENCE_BIN.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "test-wheel: FAILED: $*" >&2; exit 1; }

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
[ -n "$version" ] || fail "no version in Cargo.toml"
wheel=${1:-}
if [ -z "$wheel" ]; then
  wheel_dir=${WHEEL_DIR:-${CARGO_TARGET_DIR:-target}/wheels}
  wheel=$(ls -t "$wheel_dir"/zarrscope-"$version"-*.whl 2>/dev/null | head -n 1 || true)
  [ -n "$wheel" ] || fail "no zarrscope-$version wheel in $wheel_dir; run packaging/build-wheel.sh first"
fi
[ -f "$wheel" ] || fail "$wheel is not a file"
wheel=$(cd "$(dirname "$wheel")" && pwd)/$(basename "$wheel")
echo "wheel: $wheel ($(stat -c %s "$wheel") bytes)"

# The wheel holds the program and its metadata (maturin adds a CycloneDX
# SBOM of the crates linked in), nothing else: no library, no Python code,
# no test or fuzz targets.
python3 - "$wheel" "$version" <<'PY' || fail "unexpected wheel contents (above)"
import re, sys, zipfile
wheel, version = sys.argv[1], sys.argv[2]
names = zipfile.ZipFile(wheel).namelist()
allowed = re.compile(
    rf"zarrscope-{re.escape(version)}\.(data/scripts/zarrscope"
    rf"|dist-info/(METADATA|WHEEL|RECORD|licenses/.+|sboms/[^/]+\.cyclonedx\.json))$")
odd = [n for n in names if not allowed.match(n)]
for n in odd:
    print(f"  not expected in the wheel: {n}", file=sys.stderr)
if f"zarrscope-{version}.data/scripts/zarrscope" not in names:
    print("  the wheel has no zarrscope program", file=sys.stderr)
    odd.append("missing program")
sys.exit(1 if odd else 0)
PY

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# No dev-dependency in the program: the crates of the wheel's SBOM against
# those only the tests reach (Cargo.toml's [dev-dependencies] outside the
# normal and build graph, from cargo metadata).
cargo metadata --locked --format-version 1 >"$scratch/metadata.json"
python3 - "$wheel" "$scratch/metadata.json" <<'PY' || fail "the wheel's program links test-only crates (above)"
import json, sys, zipfile
wheel, metadata = sys.argv[1], json.load(open(sys.argv[2]))
sboms = [n for n in zipfile.ZipFile(wheel).namelist() if n.endswith(".cyclonedx.json")]
if not sboms:
    print("  (no SBOM in the wheel: dev-dependency check skipped)", file=sys.stderr)
    sys.exit(0)
linked = {c["name"] for c in json.loads(zipfile.ZipFile(wheel).read(sboms[0])).get("components", [])}
nodes = {n["id"]: n for n in metadata["resolve"]["nodes"]}
names = {p["id"]: p["name"] for p in metadata["packages"]}
root = metadata["resolve"]["root"]
normal, todo = set(), [root]
while todo:
    node = nodes[todo.pop()]
    for dep in node["deps"]:
        if any(k["kind"] != "dev" for k in dep["dep_kinds"]) and dep["pkg"] not in normal:
            normal.add(dep["pkg"])
            todo.append(dep["pkg"])
dev_only = {names[d["pkg"]] for d in nodes[root]["deps"] if d["pkg"] not in normal} - {names[root]}
if "zarrs" not in linked or not dev_only:
    sys.exit(f"  SBOM or metadata unreadable: {len(linked)} linked crates, dev-only {sorted(dev_only)}")
leaked = sorted(dev_only & linked)
for name in leaked:
    print(f"  dev-dependency {name} is linked into the program", file=sys.stderr)
if leaked:
    sys.exit(1)
print(f"sbom: {len(linked)} crates, none of the dev-only {', '.join(sorted(dev_only))}")
PY

python3 -m venv "$scratch/venv"
venv_bin=$scratch/venv/bin
start=$(date +%s%N)
"$venv_bin/python" -m pip install --quiet --disable-pip-version-check --no-index --no-deps "$wheel"
end=$(date +%s%N)
echo "install: $(( (end - start) / 1000000 )) ms (pip install of the wheel into a fresh venv)"

# As an activated venv (or conda env) sees it: first on PATH.
found=$(PATH="$venv_bin:$PATH" command -v zarrscope) || fail "zarrscope is not on the venv's PATH"
[ "$found" = "$venv_bin/zarrscope" ] || fail "zarrscope on PATH is $found, not the venv's"

got=$(cd "$scratch" && PATH="$venv_bin:$PATH" zarrscope --version) || fail "zarrscope --version exited $?"
echo "zarrscope --version: $got"
[ "$got" = "zarrscope $version" ] || fail "--version printed '$got', expected 'zarrscope $version'"

# Same relative path for both programs: run from the checkout.
PATH="$venv_bin:$PATH" zarrscope tree fixtures/nested-v2.zarr >"$scratch/wheel.txt" ||
  fail "zarrscope tree fixtures/nested-v2.zarr exited $?"
if [ -n "${REFERENCE_BIN:-}" ]; then
  "$REFERENCE_BIN" tree fixtures/nested-v2.zarr >"$scratch/cargo.txt"
else
  cargo run --quiet --locked -- tree fixtures/nested-v2.zarr >"$scratch/cargo.txt"
fi
[ -s "$scratch/wheel.txt" ] || fail "tree printed nothing"
diff -u "$scratch/cargo.txt" "$scratch/wheel.txt" || fail "the wheel's tree differs from cargo run's (diff above)"
echo "tree fixtures/nested-v2.zarr: $(wc -l <"$scratch/wheel.txt") lines, same as cargo run"

"$venv_bin/python" -m pip uninstall --quiet --yes zarrscope
[ ! -e "$venv_bin/zarrscope" ] || fail "pip uninstall left $venv_bin/zarrscope"
echo "test-wheel: ok"
