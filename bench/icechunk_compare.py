"""zarrscope vs icechunk + zarr-python on one Icechunk repository, against one
local S3 server (bench/icechunk.sh). Standard library only.

Every measurement is a fresh process, run one after another, so each tool's
requests are the server log lines written while it ran. Wall time is the
median of --runs processes (Python: imports included, as a user waits; and,
from the peer's own clock, the time after its imports).
"""

import argparse
import os
import platform
import statistics
import subprocess
import time
from datetime import date
from pathlib import Path

P = argparse.ArgumentParser()
P.add_argument("--endpoint", required=True)
P.add_argument("--log", required=True)
P.add_argument("--zarrscope", required=True)
P.add_argument("--python", required=True, help="a Python with icechunk and zarr installed")
P.add_argument("--delay-ms", type=int, default=50)
P.add_argument("--runs", type=int, default=5)
P.add_argument("--out", help="also write the table (markdown) here")
ARGS = P.parse_args()
URL = "s3://public/icechunk/history.icechunk"
PEER = str(Path(__file__).with_name("icechunk_peer.py"))


def log_lines():
    with open(ARGS.log) as f:
        return f.readlines()


def settle():
    # The server appends its log every 20 ms: wait until it has caught up.
    time.sleep(0.15)


def measure(cmd):
    """Median wall, median in-process work time (peers), request counts, bytes."""
    walls, works, counts, sent = [], [], [], 0
    for _ in range(ARGS.runs):
        settle()
        before = len(log_lines())
        t0 = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, PYTHONWARNINGS="ignore"))
        walls.append(time.perf_counter() - t0)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
        last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
        if last.startswith("imports_s="):
            works.append(float(last.split("work_s=")[1]))
        settle()
        lines = log_lines()[before:]
        counts.append(len(lines))
        sent = sum(int(line.split()[-1]) for line in lines)
    return {
        "wall": statistics.median(walls),
        "work": statistics.median(works) if works else None,
        "requests": counts[-1],
        "requests_range": (min(counts), max(counts)),
        "bytes": sent,
        "stdout": done.stdout,
    }


def zs(*args):
    return [ARGS.zarrscope, *args, "--anon", "--endpoint-url", ARGS.endpoint, "--stats"]


def peer(*args):
    return [ARGS.python, PEER, ARGS.endpoint, *args]


SCENARIOS = [
    ("tree of main", zs("tree", URL), [
        ("icechunk + zarr: open_group(readonly_session(branch='main').store), members(max_depth=None)",
         peer("tree", "branch.main")),
    ]),
    ("tree of tag v1", zs("tree", URL + "@tag.v1"), [
        ("icechunk + zarr: open_group(readonly_session(tag='v1').store), members(max_depth=None)",
         peer("tree", "tag.v1")),
    ]),
    ("log of main", zs("log", URL), [
        ("icechunk: repo.ancestry(branch='main')", peer("log")),
        ("icechunk: ancestry + repo.diff(parent, id) per commit", peer("log-diffs")),
    ]),
]


def main():
    rows = []
    for name, ours_cmd, peers in SCENARIOS:
        ours = measure(ours_cmd)
        rows.append((name, "zarrscope " + " ".join(ours_cmd[1:3]).replace(URL, "URL"), ours, ours))
        for label, cmd in peers:
            rows.append((name, label, measure(cmd), ours))
        print(f"{name}: done", flush=True)

    zs_version = subprocess.run([ARGS.zarrscope, "--version"], capture_output=True, text=True).stdout.strip()
    versions = subprocess.run(
        [ARGS.python, "-c", "import icechunk, zarr, sys; print(f'Python {sys.version.split()[0]}, icechunk {icechunk.__version__}, zarr {zarr.__version__}')"],
        capture_output=True, text=True).stdout.strip()
    out = [
        f"Run on {date.today().isoformat()}, {platform.machine()} {os.cpu_count()} cores, {versions}, {zs_version}; "
        f"repository {URL} (spec v1, fixtures/icechunk/history.icechunk); local S3 server (s3s) with "
        f"{ARGS.delay_ms} ms added per request; median of {ARGS.runs} fresh processes each, run one after another.",
        "",
        "| command | tool | requests | bytes | wall (process) | wall after imports | ratio to zarrscope (process) | ratio to zarrscope (after imports) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, label, m, ours in rows:
        lo, hi = m["requests_range"]
        req = f"{m['requests']}" if lo == hi else f"{m['requests']} ({lo}-{hi})"
        work = f"{m['work']:.3f} s" if m["work"] is not None else "-"
        ratio_work = f"{m['work'] / ours['wall']:.1f}x" if m["work"] is not None else "-"
        out.append(f"| {name} | `{label}` | {req} | {m['bytes']:,} | {m['wall']:.3f} s | {work} | "
                   f"{m['wall'] / ours['wall']:.1f}x | {ratio_work} |")
    table = "\n".join(out) + "\n"
    print(table)
    if ARGS.out:
        Path(ARGS.out).write_text(table)


main()
