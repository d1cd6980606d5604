"""The fsspec side of `cargo bench --bench references`: open a kerchunk JSON
reference set the way xarray/zarr users do (fsspec's ReferenceFileSystem,
which parses the whole file with ujson when it is installed) and list it.

Usage: python3 bench/references_fsspec.py PATH   -> one line of key=value
       python3 bench/references_fsspec.py --idle -> imports only (baseline)
Needs: pip install fsspec ujson
"""

import sys
import time

try:
    import fsspec
    import ujson  # noqa: F401  (fsspec's reference filesystem uses it when present)
except ImportError as e:
    print(f"missing={e.name}")
    sys.exit(3)

if sys.argv[1] == "--idle":
    print("keys=0 open_s=0 ls_s=0")
    sys.exit(0)

started = time.perf_counter()
# The targets are s3:// URLs that are never read: an in-memory filesystem
# stands in for s3fs (which fsspec would otherwise need just to start).
fs = fsspec.filesystem("reference", fo=sys.argv[1], fs={"s3": fsspec.filesystem("memory")})
opened = time.perf_counter()
top = fs.ls("", detail=False)  # builds the directory cache over every key
listed = time.perf_counter()
print(
    f"keys={len(fs.references)} top={len(top)} "
    f"open_s={opened - started:.3f} ls_s={listed - opened:.3f} fsspec={fsspec.__version__}"
)
