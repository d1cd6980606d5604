//! Step 5 of the flow: every command's text. A tree is rendered through one
//! trait, one small file per output format (`tree`, `table`, `json`); the
//! other commands have a file each (`objects`: ls/glob/info/du, `check`:
//! check/diff/consolidate, `writes`: cp/mv/rm/mkdir, `dataset`: show, with
//! `ome` and `peek`). Every one of them takes data and writes text with the
//! one toolkit in [`text`] (shapes, sizes, cut text, counts).

pub mod catalog;
pub mod check;
pub mod comparison;
pub mod dataset;
pub mod find;
mod json;
pub mod log;
pub mod objects;
pub mod ome;
pub mod peek;
pub mod references;
mod table;
pub mod text;
mod tree;
pub mod writes;

use std::io;

use serde::Serialize;

use crate::hierarchy::Hierarchy;
pub use json::JsonRenderer;
pub use table::TableRenderer;
pub use tree::TreeRenderer;

/// What the command measured, reported in JSON and by `--stats`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub requests: u64,
    pub bytes: u64,
}

pub trait Renderer {
    fn render(
        &self,
        hierarchy: &Hierarchy,
        stats: Stats,
        out: &mut dyn io::Write,
    ) -> io::Result<()>;
}
