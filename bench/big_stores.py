"""Writes two consolidated stores of N arrays on local disk, shaped like
benches/tree.rs's synthetic documents (CF attributes, blosc / zstd):
DIR/big-v2.zarr (.zmetadata) and DIR/big-v3.zarr (root zarr.json).
Used by bench/release_profile.sh to time `tree` on a large document.

    python3 bench/big_stores.py DIR [N]
"""
import json
import os
import sys


def cf_attrs(i):
    return {
        "_ARRAY_DIMENSIONS": ["time", "y", "x"],
        "coordinates": "lat lon",
        "grid_mapping": "crs",
        "long_name": f"synthetic variable number {i} with a long descriptive name",
        "standard_name": f"variable_{i}",
        "units": "kg m-2 s-1",
        "description": "ACCUMULATED TOTAL GRID SCALE PRECIPITATION OVER THE OUTPUT INTERVAL",
        "valid_range": [0.0, 1000.0],
        "scale_factor": 0.01,
        "add_offset": 0.0,
        "missing_value": -9999,
        "history": "created for the zarrscope benchmark; the text is here to reach a realistic size per variable",
    }


def v2(n):
    m = {".zgroup": {"zarr_format": 2}, ".zattrs": {"title": "benchmark"}}
    for g in range(10):
        m[f"group{g}/.zgroup"] = {"zarr_format": 2}
    for i in range(n):
        key = f"group{i % 10}/var{i}"
        m[f"{key}/.zarray"] = {
            "chunks": [144, 175, 175],
            "compressor": {"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": 0},
            "dtype": "<f4", "fill_value": "NaN", "filters": None, "order": "C",
            "shape": [376945, 1015, 1367], "zarr_format": 2, "dimension_separator": ".",
        }
        m[f"{key}/.zattrs"] = cf_attrs(i)
    return {"metadata": m, "zarr_consolidated_format": 1}


def v3(n):
    m = {}
    for g in range(10):
        m[f"group{g}"] = {"zarr_format": 3, "node_type": "group", "attributes": {}}
    for i in range(n):
        m[f"group{i % 10}/var{i}"] = {
            "zarr_format": 3, "node_type": "array", "shape": [376945, 1015, 1367],
            "data_type": "float32",
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [144, 175, 175]}},
            "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
            "fill_value": "NaN",
            "codecs": [{"name": "bytes", "configuration": {"endian": "little"}},
                       {"name": "zstd", "configuration": {"level": 9, "checksum": False}}],
            "attributes": cf_attrs(i), "dimension_names": ["time", "y", "x"],
        }
    return {"zarr_format": 3, "node_type": "group", "attributes": {"title": "benchmark"},
            "consolidated_metadata": {"kind": "inline", "must_understand": False, "metadata": m}}


def main():
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 50_000
    for name, doc, key in (("big-v2.zarr", v2(n), ".zmetadata"), ("big-v3.zarr", v3(n), "zarr.json")):
        store = os.path.join(out, name)
        os.makedirs(store, exist_ok=True)
        with open(os.path.join(store, key), "w") as f:
            json.dump(doc, f, separators=(",", ":"))
        if key == ".zmetadata":
            with open(os.path.join(store, ".zgroup"), "w") as f:
                json.dump({"zarr_format": 2}, f)


if __name__ == "__main__":
    main()
