//! One dataset at a glance: what `find` prints per dataset and what
//! `catalog --check` reports per entry, built from a tree already read
//! (no I/O here). The JSON form is one line of `find --json`, so its keys
//! are stable and documented in the README.

use serde::Serialize;

use crate::dataset::total_nbytes;
use crate::hierarchy::Hierarchy;
use crate::metadata::NodeKind;

/// What kind of dataset a location holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetKind {
    /// A Zarr store (v2 or v3 metadata documents).
    Zarr,
    /// An Icechunk repository (its main branch, or the version asked for).
    Icechunk,
    /// A kerchunk reference set in one JSON file (plain, zstd or gzip).
    KerchunkJson,
    /// A kerchunk reference set in a Parquet directory.
    KerchunkParquet,
}

impl DatasetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DatasetKind::Zarr => "zarr",
            DatasetKind::Icechunk => "icechunk",
            DatasetKind::KerchunkJson => "kerchunk-json",
            DatasetKind::KerchunkParquet => "kerchunk-parquet",
        }
    }
}

/// How the tree was read, as a user checking an inventory wants to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Metadata {
    /// From consolidated metadata (one document).
    Consolidated,
    /// Consolidated metadata that does not match the nodes' own documents
    /// (`--check` only).
    Stale,
    /// No consolidated metadata: read node by node.
    Unconsolidated,
    /// A lone array, whose own document is its whole metadata.
    LoneArray,
    /// From an Icechunk snapshot or a reference set, which list every node
    /// by construction.
    Listed,
}

impl Metadata {
    /// As `--json` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Metadata::Consolidated => "consolidated",
            Metadata::Stale => "stale",
            Metadata::Unconsolidated => "unconsolidated",
            Metadata::LoneArray => "lone-array",
            Metadata::Listed => "listed",
        }
    }
}

/// A dimension name and its size, in order of first use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DimensionSize {
    pub name: String,
    pub size: u64,
}

/// One dataset: the line `find` prints and the object `find --json` writes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub url: String,
    pub kind: DatasetKind,
    pub zarr_format: Option<u8>,
    pub metadata: Option<Metadata>,
    pub arrays: Option<usize>,
    /// Groups, the root included.
    pub groups: Option<usize>,
    /// Named dimensions over every array, each name once with the size it
    /// first has (arrays in tree order); unnamed axes are left out.
    pub dimensions: Vec<DimensionSize>,
    /// Logical bytes of every array (shape × item size), uncompressed;
    /// `None` when some array's size is unknown.
    pub nbytes: Option<u128>,
    /// When the dataset's metadata document was last written (RFC 3339),
    /// where the listing or the response said.
    pub last_modified: Option<String>,
    /// Why the dataset could not be read; the other fields say what the
    /// listing alone showed.
    pub error: Option<String>,
}

impl Summary {
    /// A dataset the listing found but whose metadata was not read (yet):
    /// everything unknown but its URL and kind.
    pub fn unread(url: String, kind: DatasetKind) -> Self {
        Self {
            url,
            kind,
            zarr_format: None,
            metadata: None,
            arrays: None,
            groups: None,
            dimensions: Vec::new(),
            nbytes: None,
            last_modified: None,
            error: None,
        }
    }

    /// The summary of a tree read from a dataset of `kind`.
    pub fn of(kind: DatasetKind, h: &Hierarchy) -> Self {
        let arrays = h.nodes.iter().filter(|n| n.is_array()).count();
        let groups = h.nodes.len() - arrays;
        let metadata = match kind {
            DatasetKind::Zarr if h.consolidated => Metadata::Consolidated,
            DatasetKind::Zarr if h.nodes.len() == 1 && h.nodes[0].is_array() => Metadata::LoneArray,
            DatasetKind::Zarr => Metadata::Unconsolidated,
            _ => Metadata::Listed,
        };
        Self {
            url: h.url.clone(),
            kind,
            zarr_format: Some(h.zarr_format),
            metadata: Some(metadata),
            arrays: Some(arrays),
            groups: Some(groups),
            dimensions: dimensions(h),
            nbytes: if h.nodes.is_empty() {
                None
            } else {
                total_nbytes(h, 0)
            },
            last_modified: None,
            error: None,
        }
    }
}

/// Named dimensions over every array of `h`, each once, in order of first
/// use, with the size it first has.
fn dimensions(h: &Hierarchy) -> Vec<DimensionSize> {
    let mut out: Vec<DimensionSize> = Vec::new();
    for node in &h.nodes {
        let NodeKind::Array(info) = &node.kind else {
            continue;
        };
        let names = info
            .dimension_names
            .clone()
            .or_else(|| node.attributes.array_dimensions())
            .unwrap_or_default();
        for (name, &size) in names.iter().zip(&info.shape) {
            let Some(name) = name else { continue };
            if !out.iter().any(|d| &d.name == name) {
                out.push(DimensionSize {
                    name: name.clone(),
                    size,
                });
            }
        }
    }
    out
}
