//! zarrscope: explore Zarr stores in object storage from their metadata alone.
//!
//! The data flows one way, module by module:
//! [`location`] (what the user typed) → [`store`] (guarded object store) →
//! [`metadata`] (documents → nodes) → [`hierarchy`] (the tree) → [`render`].
//! [`source`] ties store and metadata together (one module per way of
//! reading a tree); [`cli`] is the command line.

pub mod catalog;
pub mod cf;
pub mod cli;
pub mod compare;
pub mod consolidate;
pub mod dataset;
pub mod decode;
pub mod error;
pub mod find;
pub mod hierarchy;
pub mod inventory;
pub mod keys;
pub mod lint;
pub mod location;
pub mod metadata;
pub mod objects;
pub mod ome;
pub mod peek;
pub mod progress;
pub mod render;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod robustness;
pub mod source;
pub mod store;
