//! Icechunk repositories: [`format`] decodes their metadata files (headers,
//! snapshots, repo info, transaction logs) from bytes, apart from any I/O.

pub mod format;
pub mod repository;

pub use repository::{Probed, Version, hinted, probe, read};
