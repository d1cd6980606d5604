//! zarrscope: explore Zarr stores in object storage from their metadata alone.
//!
//! The data flows one way, module by module:
//! [`location`] (what the user typed) → [`store`] (guarded object store) →
//! [`metadata`] (documents → nodes) → [`hierarchy`] (the tree) → [`render`].
//! [`open`] ties store and metadata together; [`cli`] is the command line.

pub mod cf;
pub mod cli;
pub mod compare;
pub mod consolidate;
pub mod crawl;
pub mod dataset;
pub mod decode;
pub mod error;
pub mod hierarchy;
pub mod keys;
pub mod lint;
pub mod location;
pub mod metadata;
pub mod objects;
pub mod ome;
pub mod open;
pub mod peek;
pub mod render;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod robustness;
pub mod store;
