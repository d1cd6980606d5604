//! The kerchunk reference source: a JSON file (spec version 0 or 1, plain,
//! zstd or gzip) or a Parquet directory mapping Zarr keys to inline values
//! or byte ranges of other files. Only the reference set is read, never a
//! target file (except with `refs --verify` and `show --coords`, which ask).

pub mod model;
pub mod parquet;
pub mod scan;
