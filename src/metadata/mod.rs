//! Step 3 of the flow: the metadata model, kept apart from I/O. Documents go
//! in as bytes; [`NodeDoc`]s come out. Each document is read in one typed
//! pass straight from its bytes: maps of nodes are split into unparsed
//! members, each member is read into a small struct whose fields are zarrs'
//! metadata types (shapes, chunk shapes, `MetadataV2`/`MetadataV3` codecs and
//! grids, order, separator), and attributes stay as text until used (see
//! [`attributes`]). zarrs' whole-document types (`ArrayMetadataV2`,
//! `ArrayMetadataV3`) are not used here: their internal tag and flattened
//! extra fields make serde buffer every document, attributes included, into
//! an intermediate tree first, which was most of the time and memory of
//! reading a large consolidated document. Fields reported "as stored" (dtype,
//! fill value) are kept as JSON values.

pub mod attributes;
pub mod codec;
pub mod dtype;
pub mod json;
pub mod v2;
pub mod v3;

use serde_json::Value;

pub use attributes::Attributes;
use codec::Codec;
use dtype::DataTypeInfo;
use json::JsonError;

/// One node read from metadata. `path` is relative to the store root, without
/// leading `/`; the root is `""`.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeDoc {
    pub path: String,
    pub attributes: Attributes,
    pub kind: NodeKind,
}

/// Why a document, or a node in one, is not usable Zarr metadata: the text
/// is the reason, as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Invalid {}

impl From<String> for Invalid {
    fn from(reason: String) -> Self {
        Invalid(reason)
    }
}

impl From<Invalid> for crate::error::Error {
    fn from(e: Invalid) -> Self {
        crate::error::Error::of_kind(crate::error::ErrorKind::InvalidMetadata, e.0)
    }
}

/// Why a whole document could not be read.
#[derive(Debug, Clone, PartialEq)]
pub enum ReadError {
    /// Not JSON at all.
    Json(JsonError),
    /// JSON, but not the document expected.
    Invalid(String),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Json(e) => write!(f, "not valid JSON at {e}"),
            ReadError::Invalid(reason) => f.write_str(reason),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    Group,
    Array(Box<ArrayInfo>),
    /// An array whose metadata does not conform; shown with the reason rather
    /// than dropping the rest of the tree.
    InvalidArray {
        reason: String,
    },
}

/// What a reader needs to know about an array, for either Zarr format.
#[derive(Debug, Clone, PartialEq)]
pub struct ArrayInfo {
    pub zarr_format: u8,
    pub shape: Vec<u64>,
    /// The (inner) chunk shape; `None` for a chunk grid we do not understand.
    pub chunks: Option<Vec<u64>>,
    /// The shard shape of a sharded v3 array.
    pub shards: Option<Vec<u64>>,
    /// `dtype` (v2) or `data_type` (v3), exactly as stored.
    pub dtype: Value,
    pub data_type: DataTypeInfo,
    /// As stored.
    pub fill_value: Value,
    /// v2 memory order (`C` or `F`).
    pub order: Option<String>,
    /// v2: filters then compressor; v3: the codec chain.
    pub codecs: Vec<Codec>,
    pub dimension_names: Option<Vec<Option<String>>>,
}

impl ArrayInfo {
    /// Logical size in bytes; `None` when the element size is unknown or the
    /// product does not fit in 128 bits.
    pub fn nbytes(&self) -> Option<u128> {
        let elements = self
            .shape
            .iter()
            .try_fold(1u128, |n, &d| n.checked_mul(u128::from(d)))?;
        elements.checked_mul(u128::from(self.data_type.itemsize?))
    }

    /// Number of (inner) chunks: the product of ceil(shape / chunks).
    pub fn nchunks(&self) -> Option<u128> {
        let chunks = self.chunks.as_ref()?;
        if chunks.len() != self.shape.len() {
            return None;
        }
        self.shape
            .iter()
            .zip(chunks)
            .try_fold(1u128, |n, (&extent, &chunk)| {
                let per_dim = u128::from(extent.div_ceil(chunk.max(1)));
                n.checked_mul(per_dim)
            })
    }
}

/// Nodes read from one consolidated document, plus what was odd about it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Consolidated {
    pub nodes: Vec<NodeDoc>,
    /// Problems that did not stop the read (a skipped key, a bad entry).
    pub warnings: Vec<String>,
}

/// The error for a document that did not read: a valid JSON value that is
/// not an object gets a plain statement instead of serde's wording.
fn document_error(bytes: &[u8], e: JsonError) -> ReadError {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') && json::parse(bytes).is_ok() {
        return ReadError::Invalid("expected a JSON object at the top level".into());
    }
    ReadError::Json(e)
}

/// Check a relative node path: no empty, `.` or `..` segments, no NUL.
/// Deepest node path accepted. Real hierarchies are a few levels deep; a
/// path thousands of levels deep is hostile (its implied parents alone cost
/// quadratic memory), so it is skipped with a warning.
pub const MAX_PATH_DEPTH: usize = 256;

fn valid_node_path(path: &str) -> bool {
    path.is_empty()
        || (path.split('/').count() <= MAX_PATH_DEPTH
            && path
                .split('/')
                .all(|seg| !seg.is_empty() && seg != "." && seg != ".." && !seg.contains('\0')))
}

/// Why a node path was skipped, with the path cut to a readable length.
fn invalid_path_warning(what: &str, path: &str) -> String {
    let shown = crate::render::text::first_chars(path, 120);
    let more = if shown.len() < path.len() { "…" } else { "" };
    format!(
        "skipped {what} {:?}{more}: not a valid node path (empty, \".\", \"..\" or NUL segments, or deeper than {MAX_PATH_DEPTH} levels)",
        shown
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn array(shape: Vec<u64>, chunks: Vec<u64>, itemsize: Option<u64>) -> ArrayInfo {
        ArrayInfo {
            zarr_format: 2,
            shape,
            chunks: Some(chunks),
            shards: None,
            dtype: json!("<i4"),
            data_type: DataTypeInfo {
                v3_name: None,
                itemsize,
                display: "".into(),
            },
            fill_value: Value::Null,
            order: None,
            codecs: vec![],
            dimension_names: None,
        }
    }

    #[test]
    fn sizes_of_a_chrtout_like_array() {
        let a = array(vec![367_439, 2_776_738], vec![672, 30_000], Some(4));
        assert_eq!(a.nchunks(), Some(547 * 93));
        assert_eq!(a.nbytes(), Some(367_439u128 * 2_776_738 * 4));
    }

    #[test]
    fn sizes_never_overflow() {
        let huge = array(vec![1 << 63, 1 << 63], vec![1, 1], Some(8));
        assert_eq!(huge.nchunks(), Some(1u128 << 126));
        assert_eq!(huge.nbytes(), None, "2^126 * 8 does not fit in u128");
        let three = array(vec![u64::MAX; 3], vec![1; 3], Some(1));
        assert_eq!(three.nchunks(), None);
    }

    #[test]
    fn zero_dimensional_and_empty_arrays() {
        let scalar = array(vec![], vec![], Some(1));
        assert_eq!((scalar.nbytes(), scalar.nchunks()), (Some(1), Some(1)));
        let empty = array(vec![0, 10], vec![5, 5], Some(4));
        assert_eq!((empty.nbytes(), empty.nchunks()), (Some(0), Some(0)));
        let mismatched = array(vec![10, 10], vec![5], Some(4));
        assert_eq!(mismatched.nchunks(), None);
    }

    #[test]
    fn node_paths_are_checked() {
        assert!(valid_node_path(""));
        assert!(valid_node_path("a/__xarray_dataarray_variable__"));
        for bad in ["/a", "a//b", "a/../b", "./a", "a/\0"] {
            assert!(!valid_node_path(bad), "{bad:?}");
        }
    }
}
