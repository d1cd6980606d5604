"""The seed notebook's way of taking an inventory, for `bench/find.sh`:
s3fs glob for the stores, then zarr-python's open_consolidated on each, one
after another. Prints `stores=N arrays=M` (arrays over all stores, to check
both tools saw the same datasets).

    python bench/find_peer.py ENDPOINT BUCKET PREFIX
"""

import sys
import warnings

import s3fs
import zarr

warnings.filterwarnings("ignore")

endpoint, bucket, prefix = sys.argv[1:4]
fs = s3fs.S3FileSystem(anon=True, client_kwargs={"endpoint_url": endpoint})
stores = fs.glob(f"{bucket}/{prefix}/**/*.zarr")
arrays = 0
for path in stores:
    group = zarr.open_consolidated(
        f"s3://{path}",
        mode="r",
        storage_options={"anon": True, "client_kwargs": {"endpoint_url": endpoint}},
    )
    arrays += sum(1 for _ in group.arrays())
print(f"stores={len(stores)} arrays={arrays}")
