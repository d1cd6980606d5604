"""zarrscope vs the Python tools, against one local S3 server (bench/run.sh).

Every measurement is a fresh process (what a user waits for, imports
included), repeated; the wall time is the median. Requests and bytes come
from the server's own log (bytes: response bodies the server sent).
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numcodecs
import numpy as np
import zarr

P = argparse.ArgumentParser()
P.add_argument("--endpoint", required=True)
P.add_argument("--bucket-dir", required=True)
P.add_argument("--log", required=True)
P.add_argument("--delay-ms", type=int, default=50)
P.add_argument("--zarrscope", required=True)
P.add_argument("--out", required=True)
P.add_argument("--runs", type=int, default=5)
ARGS = P.parse_args()
BUCKET = Path(ARGS.bucket_dir)
E = ARGS.endpoint
OPTS = {"anon": True, "client_kwargs": {"endpoint_url": E}}


def log_lines():
    with open(ARGS.log) as f:
        return f.readlines()


def measure(cmd, runs):
    """Median wall of `runs` fresh processes; requests/bytes of the last."""
    walls, requests, sent = [], 0, 0
    for _ in range(runs):
        time.sleep(0.15)
        before = len(log_lines())
        t0 = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, PYTHONWARNINGS="ignore"))
        walls.append(time.perf_counter() - t0)
        if done.returncode != 0:
            raise SystemExit(f"{cmd} failed:\n{done.stderr[-2000:]}")
        time.sleep(0.15)
        lines = log_lines()[before:]
        requests = len(lines)
        sent = sum(int(l.split()[-1]) for l in lines)
    return statistics.median(walls), requests, sent


def py(code):
    return [sys.executable, "-c", f"OPTS = {OPTS!r}\n" + code]


def zs(*args):
    return [ARGS.zarrscope, *args, "--anon", "--endpoint-url", E]


# ------------------------------------------------------------------ stores

def write_store(name, n_arrays, zarr_format, consolidated):
    path = BUCKET / name
    if path.exists():
        shutil.rmtree(path)
    root = zarr.open_group(path, mode="w", zarr_format=zarr_format)
    root.attrs["title"] = name
    for i in range(n_arrays):
        kw = {"dimension_names": ["time", "x"]} if zarr_format == 3 else {}
        a = root.create_array(f"var{i:05d}", shape=(8760, 1000), chunks=(720, 1000), dtype="float32",
                              fill_value=0.0, **kw)
        a.attrs.update({"units": "K", "long_name": f"variable {i}"})
        if zarr_format == 2:
            a.attrs["_ARRAY_DIMENSIONS"] = ["time", "x"]
    if consolidated:
        zarr.consolidate_metadata(path)


def write_cf():
    path = BUCKET / "cf.zarr"
    if path.exists():
        shutil.rmtree(path)
    root = zarr.open_group(path, mode="w", zarr_format=2)
    lz4 = numcodecs.Blosc(cname="lz4", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE)
    n_time, n_station = 8760, 1000

    def arr(name, data, chunks, dims, attrs, write=True):
        shape = data.shape if write else data
        a = root.create_array(name, shape=shape, chunks=chunks, dtype="<i8" if name == "time" else "<f4",
                              fill_value=None, compressors=lz4, filters=None)
        a.attrs.update(dict(attrs, _ARRAY_DIMENSIONS=dims))
        if write:
            a[...] = data

    arr("time", np.arange(n_time, dtype="<i8"), (720,), ["time"],
        {"units": "hours since 1979-02-01 00:00:00", "calendar": "standard"})
    arr("station", np.arange(n_station, dtype="<f4"), (n_station,), ["station"], {"long_name": "id"})
    arr("lat", np.linspace(25, 49, n_station).astype("<f4"), (500,), ["station"], {"units": "degrees_north"})
    arr("lon", np.linspace(-124, -67, n_station).astype("<f4"), (500,), ["station"], {"units": "degrees_east"})
    arr("flow", (n_time, n_station), (720, 1000), ["time", "station"],
        {"units": "m3 s-1", "coordinates": "lat lon"}, write=False)
    zarr.consolidate_metadata(path)


def write_big():
    line = b"x" * 99 + b"\n"
    with open(BUCKET / "big.csv", "wb") as f:
        f.write(line * 500_000)


# ------------------------------------------------------------------ scenarios

rows = []


def scenario(name, peer_label, peer_cmd, ours_cmd, runs=None):
    runs = runs or ARGS.runs
    ours = measure(ours_cmd, runs)
    peer = measure(peer_cmd, runs)
    rows.append((name, peer_label, peer, ours))
    print(f"{name}: {peer_label} {peer[0]:.2f}s/{peer[1]} req vs zarrscope {ours[0]:.3f}s/{ours[1]} req",
          flush=True)


def main():
    for n in (10, 1000, 5000):
        write_store(f"c{n}-v2.zarr", n, 2, True)
        write_store(f"c{n}-v3.zarr", n, 3, True)
    for n in (10, 1000):
        write_store(f"u{n}-v2.zarr", n, 2, False)
        write_store(f"u{n}-v3.zarr", n, 3, False)
    write_cf()
    write_big()

    imports = measure(py("import zarr, s3fs, xarray"), ARGS.runs)
    for n in (10, 1000, 5000):
        for fmt in (2, 3):
            url = f"s3://public/c{n}-v{fmt}.zarr"
            scenario(f"tree, consolidated, {n} arrays, v{fmt}",
                     "zarr.open_consolidated(...).tree()",
                     py(f"import zarr; g = zarr.open_consolidated({url!r}, storage_options=OPTS, zarr_format={fmt}); print(g.tree())"),
                     zs("tree", url))
    scenario("dataset view, CF store", "print(xr.open_zarr(...))",
             py("import xarray as xr; print(xr.open_zarr('s3://public/cf.zarr', storage_options=OPTS, consolidated=True))"),
             zs("show", "s3://public/cf.zarr"))
    for n in (10, 1000):
        for fmt in (2, 3):
            url = f"s3://public/u{n}-v{fmt}.zarr"
            scenario(f"tree, not consolidated, {n} arrays, v{fmt}",
                     "zarr.open_group(use_consolidated=False).tree()",
                     py(f"import zarr; g = zarr.open_group({url!r}, mode='r', storage_options=OPTS, zarr_format={fmt}, use_consolidated=False); print(g.tree())"),
                     zs("tree", url, "--crawl"), runs=3 if n > 10 else None)
    scenario("readline x5, 50 MB object", "fs.open(key).readline() x5",
             py("import s3fs; fs = s3fs.S3FileSystem(**OPTS); f = fs.open('public/big.csv'); [f.readline() for _ in range(5)]"),
             zs("head", "-n", "5", "s3://public/big.csv"))

    versions = {m: __import__(m).__version__ for m in ("zarr", "s3fs", "xarray", "numcodecs")}
    zs_version = subprocess.run([ARGS.zarrscope, "--version"], capture_output=True, text=True).stdout.strip()
    out = [
        f"Run on {date.today().isoformat()}, {platform.machine()} {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {', '.join(f'{k} {v}' for k, v in versions.items())}, {zs_version}; "
        f"local S3 server (s3s) with {ARGS.delay_ms} ms added per request; median of {ARGS.runs} fresh processes "
        f"(3 for the 1,000-array crawls). Python import of zarr+s3fs+xarray alone: {imports[0]:.2f} s.",
        "",
        "| scenario | peer | peer wall | peer requests | peer bytes | zarrscope wall | zarrscope requests | zarrscope bytes | wall ratio (peer / zarrscope) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, label, (pw, pr, pb), (ow, orq, ob) in rows:
        out.append(f"| {name} | `{label}` | {pw:.2f} s | {pr} | {pb:,} | {ow:.3f} s | {orq} | {ob:,} | {pw / ow:.1f}x |")
    Path(ARGS.out).write_text("\n".join(out) + "\n")
    print("\n".join(out))


main()
