"""Writes the bucket `bench/find.sh` searches: 1,000 small Zarr stores under
nested prefixes (inventory/rR/yY/sS.zarr, 10 x 10 x 10), half v2 and half v3,
each consolidated, with a few real chunks so that a recursive listing sees
them. Two stores are written with zarr-python; the rest are copies.

    python bench/find_bucket.py BUCKET_DIR [STORES]
"""

import shutil
import sys
from pathlib import Path

import numpy as np
import zarr


def template(path: Path, zarr_format: int) -> None:
    root = zarr.open_group(str(path), mode="w", zarr_format=zarr_format)
    root.attrs.update({"title": "bench store", "Conventions": "CF-1.8"})
    dims = {"time": 24, "lat": 10, "lon": 10}
    for name, size in dims.items():
        a = root.create_array(
            name, shape=(size,), chunks=(size,), dtype="f8",
            dimension_names=[name] if zarr_format == 3 else None,
        )
        a[:] = np.arange(size, dtype="f8")
        if zarr_format == 2:
            a.attrs["_ARRAY_DIMENSIONS"] = [name]
    t = root.create_array(
        "temperature", shape=(24, 10, 10), chunks=(12, 10, 10), dtype="f4",
        dimension_names=list(dims) if zarr_format == 3 else None,
    )
    t[:] = np.ones((24, 10, 10), dtype="f4")
    if zarr_format == 2:
        t.attrs["_ARRAY_DIMENSIONS"] = list(dims)
    t.attrs["units"] = "K"
    zarr.consolidate_metadata(str(path), zarr_format=zarr_format)


def main() -> None:
    bucket = Path(sys.argv[1])
    stores = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    root = bucket / "inventory"
    shutil.rmtree(root, ignore_errors=True)
    templates = bucket / ".templates"
    shutil.rmtree(templates, ignore_errors=True)
    for fmt in (2, 3):
        template(templates / f"v{fmt}.zarr", fmt)
    written = 0
    for r in range(10):
        for y in range(10):
            for s in range(10):
                if written == stores:
                    break
                fmt = 2 if s % 2 == 0 else 3
                dest = root / f"r{r}" / f"y{2000 + y}" / f"s{s}.zarr"
                shutil.copytree(templates / f"v{fmt}.zarr", dest)
                written += 1
    shutil.rmtree(templates)
    print(f"stores={written}")


if __name__ == "__main__":
    main()
