"""The Python side of bench/icechunk.sh: what a user of icechunk + zarr-python
runs to see what zarrscope shows for an Icechunk repository on S3.

  python bench/icechunk_peer.py ENDPOINT tree [branch.NAME|tag.NAME]
  python bench/icechunk_peer.py ENDPOINT log          # repo.ancestry(branch="main")
  python bench/icechunk_peer.py ENDPOINT log-diffs    # ancestry + repo.diff per commit

Prints what it lists, then one last line `imports_s=… work_s=…` (the time
spent importing, and the time after the imports).

No file in bench/ may be named icechunk.py: Python puts this directory first
on sys.path, so it would shadow the icechunk package.
"""

import sys
import time

started = time.perf_counter()
import icechunk  # noqa: E402
import zarr  # noqa: E402

imported = time.perf_counter()
endpoint, mode = sys.argv[1], sys.argv[2]
ref = sys.argv[3] if len(sys.argv) > 3 else "branch.main"
storage = icechunk.s3_storage(
    bucket="public",
    prefix="icechunk/history.icechunk",
    endpoint_url=endpoint,
    allow_http=True,
    anonymous=True,
    region="us-east-1",
    force_path_style=True,
)
repo = icechunk.Repository.open(storage)
if mode == "tree":
    kind, name = ref.split(".", 1)
    session = repo.readonly_session(branch=name) if kind == "branch" else repo.readonly_session(tag=name)
    root = zarr.open_group(session.store, mode="r")
    # What `zarrscope tree` shows: every member, arrays with shape, dtype, chunks.
    for path, member in sorted(root.members(max_depth=None)):
        if isinstance(member, zarr.Array):
            print(path, member.shape, member.dtype, member.chunks)
        else:
            print(path + "/")
elif mode in ("log", "log-diffs"):
    for snap in repo.ancestry(branch="main"):
        print(snap.id, snap.written_at.isoformat(), snap.message)
        if mode == "log-diffs" and snap.parent_id is not None:
            # What `zarrscope log` also shows: what each commit changed.
            print(repo.diff(from_snapshot_id=snap.parent_id, to_snapshot_id=snap.id))
else:
    raise SystemExit(f"unknown mode {mode}")
done = time.perf_counter()
print(f"imports_s={imported - started:.4f} work_s={done - imported:.4f}")
