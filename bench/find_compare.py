"""`zarrscope find` against the seed's way (s3fs glob + zarr
open_consolidated per store) and the depth-bound limit, on the bucket
bench/find_bucket.py writes, against one local S3 server with a fixed delay
per request, in one run. Requests are counted from the server's log.
Driven by bench/find.sh."""

import argparse
import json
import statistics
import subprocess
import time


def requests_in(log: str, start: int) -> tuple[int, list[str]]:
    with open(log) as f:
        lines = f.read().splitlines()
    return len(lines), lines[start:]


def timed(cmd: list[str], log: str) -> tuple[float, list[str], str]:
    # The server appends its log every 20 ms: let it settle on both sides.
    time.sleep(0.3)
    start, _ = requests_in(log, 0)
    t0 = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    time.sleep(0.3)
    _, lines = requests_in(log, start)
    return wall, lines, out.stdout


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--endpoint", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--delay-ms", type=int, required=True)
    p.add_argument("--zarrscope", required=True)
    p.add_argument("--limit", required=True)
    p.add_argument("--python", required=True)
    p.add_argument("--stores", type=int, required=True)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--peer-runs", type=int, default=1)
    p.add_argument("--out")
    a = p.parse_args()
    url = "s3://public/inventory"
    access = ["--anon", "--endpoint-url", a.endpoint]

    rows = []

    def measure(name, cmd, runs, check):
        walls, counts, lists = [], [], []
        for _ in range(runs):
            wall, lines, stdout = timed(cmd, a.log)
            check(stdout)
            walls.append(wall)
            counts.append(len(lines))
            lists.append(sum(1 for l in lines if "list-type=2" in l))
        rows.append((name, statistics.median(walls), statistics.median(counts),
                     statistics.median(lists), runs))
        return statistics.median(walls)

    def zarrscope_check(stdout):
        lines = [json.loads(l) for l in stdout.splitlines() if l.strip()]
        assert len(lines) == a.stores, f"find printed {len(lines)} datasets"
        assert all(l.get("error") is None for l in lines), "a dataset failed"
        assert sum(l["arrays"] for l in lines) == 4 * a.stores

    def limit_check(stdout):
        assert stdout.startswith(f"stores={a.stores} "), stdout

    def peer_check(stdout):
        assert stdout.startswith(f"stores={a.stores} arrays={4 * a.stores}"), stdout

    limit = measure("depth-bound limit (all of a level at once)",
                    [a.limit, a.endpoint, "public", "inventory"], a.runs, limit_check)
    for concurrency in (32, 64, 128, 256):
        measure(f"zarrscope find --json --concurrency {concurrency}",
                [a.zarrscope, "find", url, "--json", "--concurrency", str(concurrency), *access],
                a.runs, zarrscope_check)
    measure("zarrscope find --json (default)",
            [a.zarrscope, "find", url, "--json", *access], a.runs, zarrscope_check)
    measure("s3fs glob + zarr open_consolidated per store",
            [a.python, "bench/find_peer.py", a.endpoint, "public", "inventory"],
            a.peer_runs, peer_check)
    peer = rows[-1][1]

    out = [
        f"{a.stores} stores under inventory/rR/yY/ (4 listing levels), {a.delay_ms} ms per request; "
        f"median of {a.runs} runs (peer: {a.peer_runs})",
        "",
        "| reader | wall | requests | of which LIST | vs limit | vs peer |",
        "|---|---|---|---|---|---|",
    ]
    for name, wall, count, lists, _ in rows:
        out.append(f"| {name} | {wall:.3f} s | {count:.0f} | {lists:.0f} | "
                   f"{wall / limit:.1f}x | {peer / wall:.1f}x faster |")
    text = "\n".join(out)
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
