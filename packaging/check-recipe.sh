#!/usr/bin/env bash
# Checks recipe/recipe.yaml without conda: rattler-build's own recipe parser
# (py-rattler-build, pinned, from PyPI into a throwaway venv) renders it for
# linux-64 with recipe/variants.yaml, then the rendered build script runs by
# hand on a copy of this checkout with PREFIX in a scratch directory, and the
# rendered tests run against what it installed (the package_contents files,
# then the script tests with their source files beside them). Also fails when
# the recipe's version is not Cargo.toml's.
#
# What it cannot do: resolve the recipe's build requirements (the compilers
# come from the conda-forge channel); it uses this machine's cargo and cc
# instead, and cargo-bundle-licenses from PATH
# (`cargo install --locked cargo-bundle-licenses`).
#
# NOT part of .ci/run: `cargo install` is a full release build (5-6
# minutes on this project's 2-core machines; with CARGO_TARGET_DIR pointing
# where packaging/build-wheel.sh built, cargo reuses that build). Run:
#
#   packaging/check-recipe.sh
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

RATTLER_BUILD_VERSION=0.73.0
fail() { echo "check-recipe: FAILED: $*" >&2; exit 1; }
for tool in python3 cargo cc cargo-bundle-licenses; do
  command -v "$tool" >/dev/null || fail "needs $tool on PATH"
done

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
python3 -m venv "$scratch/venv"
"$scratch/venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  "py-rattler-build==$RATTLER_BUILD_VERSION"

# Render: the build script, the tests and the about section as rattler-build
# sees them for linux-64, one JSON document.
"$scratch/venv/bin/python" - recipe/recipe.yaml recipe/variants.yaml >"$scratch/rendered.json" <<'PY'
import json, sys
import rattler_build as rb
from rattler_build.tool_config import PlatformConfig

recipe = rb.Stage0Recipe.from_file(sys.argv[1])
variants = recipe.render(
    rb.VariantConfig.from_file(sys.argv[2]),
    rb.RenderConfig(platform=PlatformConfig(target_platform="linux-64")),
)
if len(variants) != 1:
    sys.exit(f"expected one variant for linux-64, rendered {len(variants)}")
json.dump(variants[0].recipe.to_dict(), sys.stdout, default=str)
PY
field() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$scratch/rendered.json" "$1"; }

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
recipe_version=$(field 'd["package"]["version"]')
[ "$recipe_version" = "$version" ] || fail "recipe version $recipe_version, Cargo.toml $version"
echo "rendered: $(field 'd["package"]["name"]') $recipe_version, build requirements: $(field '", ".join(d["requirements"]["build"])')"

# The source as rattler-build copies it (use_gitignore): tracked and
# untracked files, without ignored ones.
mkdir "$scratch/work" "$scratch/prefix"
git ls-files -z --cached --others --exclude-standard |
  (while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done) |
  tar -cf - --null -T - | tar -xf - -C "$scratch/work"

field '"\n".join(d["build"]["script"])' >"$scratch/build.sh"
echo "build script:"; sed 's/^/  /' "$scratch/build.sh"
start=$(date +%s)
(cd "$scratch/work" && PREFIX="$scratch/prefix" SRC_DIR="$scratch/work" bash -euo pipefail "$scratch/build.sh") ||
  fail "the recipe's build script failed (above)"
echo "build script: $(( $(date +%s) - start )) s"

# (Each list is read into a variable first: a failed read then stops the
# script, where inside `for ... in $(...)` it would check nothing.)
license_files=$(field '" ".join(d["about"]["license_file"])')
[ -n "$license_files" ] || fail "the recipe names no license file"
for f in $license_files; do
  [ -s "$scratch/work/$f" ] || fail "license file $f was not made by the build"
done
bins=$(field '" ".join(f for t in d["tests"] if "package_contents" in t for f in t["package_contents"]["bin"])')
[ -n "$bins" ] || fail "the recipe's package_contents test names no program"
for f in $bins; do
  [ -x "$scratch/prefix/bin/$f" ] || fail "package_contents: bin/$f is not in the prefix"
done
echo "installed: $(cd "$scratch/prefix" && find . -type f | sort | tr '\n' ' ')"

# Script tests: in a fresh directory holding only their listed source files.
tests=$(field 'len([t for t in d["tests"] if "script" in t])')
[ "$tests" -gt 0 ] || fail "the recipe has no script test"
for i in $(seq 0 $((tests - 1))); do
  t="[t for t in d[\"tests\"] if \"script\" in t][$i]"
  mkdir "$scratch/test$i"
  files=$(field "\" \".join($t.get(\"files\", {}).get(\"source\", []))")
  for f in $files; do
    mkdir -p "$scratch/test$i/$(dirname "$f")"
    cp -R "$scratch/work/${f%/}" "$scratch/test$i/$(dirname "$f")/"
  done
  field "\"\\n\".join($t[\"script\"])" >"$scratch/test$i.sh"
  echo "test $i:"; sed 's/^/  $ /' "$scratch/test$i.sh"
  (cd "$scratch/test$i" && PATH="$scratch/prefix/bin:$PATH" bash -euxo pipefail "$scratch/test$i.sh") ||
    fail "test $i failed (above)"
done
echo "check-recipe: ok"
