//! Decoding of Icechunk metadata files from their bytes, kept apart from I/O.
//!
//! Every metadata file (snapshot, manifest, transaction log, repo info) is a
//! 39-byte header (magic `ICE🧊CHUNK`, the writer's name, spec version, file
//! type, compression) and then one flatbuffer, zstd-compressed. The header and
//! the flatbuffers are read with the `icechunk-format` crate; the body is
//! decompressed here, with a caller-given bound, so a hostile file cannot make
//! us allocate more than that bound. Nothing here panics on garbage: every
//! flatbuffer is verified before it is read, and the indices the verifier
//! cannot check (repo info's references between tables) are checked here.
//!
//! What each version of the spec records:
//! - spec v1 (icechunk 1.x): refs are JSON files (`refs/branch.NAME/ref.json`),
//!   and each snapshot records its parent;
//! - spec v2 (icechunk 2.x): a `repo` file lists branches, tags and every
//!   snapshot with its parent, time and message; a snapshot's own parent field
//!   is left empty.
//!
//! Ids are printed as Icechunk prints them: Crockford base32, 20 characters for
//! snapshots and manifests (`1CECHNKREP0F1RSTCMT0`), 13 for node ids.

use std::fmt;
use std::io::Read;
use std::ops::Range;

use chrono::{DateTime, Utc};
use icechunk_format::flatbuffers::generated;
use icechunk_format::format_constants::{
    self as constants, CompressionAlgorithmBin, FileTypeBin, SpecVersionBin,
};
use icechunk_format::repo_info::RepoInfo as IcRepoInfo;
use icechunk_format::snapshot::{NodeData, NodeSnapshot, Snapshot as IcSnapshot};
use icechunk_format::transaction_log::TransactionLog as IcTransactionLog;
use icechunk_format::{IcechunkFormatError, IcechunkFormatErrorKind, SnapshotId};

/// Length of the binary header every metadata file starts with.
pub const HEADER_LEN: usize = constants::ICECHUNK_FILE_HEADER_LEN;

/// The id of every repository's first snapshot ("Repository initialized").
pub const INITIAL_SNAPSHOT_ID: &str = "1CECHNKREP0F1RSTCMT0";

/// Why a metadata file could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error(
        "not an Icechunk metadata file: {0} (is this an Icechunk repository, and the file one of its snapshots/, manifests/, transactions/ or repo?)"
    )]
    NotIcechunk(String),
    #[error(
        "the file uses Icechunk spec version {0}; zarrscope reads spec versions 1 and 2 (a newer zarrscope may read it)"
    )]
    UnsupportedSpecVersion(u8),
    #[error("the Icechunk file header is corrupt: {0}")]
    BadHeader(String),
    #[error("expected an Icechunk {expected} file, found a {found} file")]
    WrongFileType { expected: FileType, found: FileType },
    #[error(
        "the Icechunk {what} expands past {limit} bytes; refusing to decode it (raise the limit if the repository really is this large)"
    )]
    TooLarge { what: FileType, limit: usize },
    #[error("the Icechunk {what} is corrupt: {detail}")]
    Corrupt { what: FileType, detail: String },
    #[error("{0:?} is not an Icechunk id (expected {1} Crockford base32 characters)")]
    BadId(String, usize),
}

/// The kind of metadata file, from its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    Snapshot,
    Manifest,
    Attributes,
    TransactionLog,
    Chunk,
    RepoInfo,
}

impl fmt::Display for FileType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileType::Snapshot => "snapshot",
            FileType::Manifest => "manifest",
            FileType::Attributes => "attributes",
            FileType::TransactionLog => "transaction log",
            FileType::Chunk => "chunk",
            FileType::RepoInfo => "repo info",
        })
    }
}

impl From<FileTypeBin> for FileType {
    fn from(value: FileTypeBin) -> Self {
        match value {
            FileTypeBin::Snapshot => FileType::Snapshot,
            FileTypeBin::Manifest => FileType::Manifest,
            FileTypeBin::Attributes => FileType::Attributes,
            FileTypeBin::TransactionLog => FileType::TransactionLog,
            FileTypeBin::Chunk => FileType::Chunk,
            FileTypeBin::RepoInfo => FileType::RepoInfo,
        }
    }
}

/// How the body after the header is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Zstd,
}

/// A metadata file's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// 1 (icechunk 1.x) or 2 (icechunk 2.x).
    pub spec_version: u8,
    pub file_type: FileType,
    pub compression: Compression,
    /// The writing implementation, e.g. `ic-0.3.24` (icechunk 1.1's Rust core).
    pub writer: String,
}

/// Group or array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    Group,
    Array,
}

/// Where an array's chunks are listed: one manifest, for a range of chunk
/// indices per dimension (empty extents: every chunk).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestRef {
    pub id: String,
    pub extents: Vec<Range<u32>>,
}

/// One node of a snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotNode {
    /// The node id (13 characters), which transaction logs refer to.
    pub id: String,
    /// `/` for the root, else `/a/b`.
    pub path: String,
    pub kind: NodeKind,
    /// The node's `zarr.json` document, as written.
    pub zarr_json: Vec<u8>,
    /// Arrays only: the manifests listing its chunks.
    pub manifests: Vec<ManifestRef>,
}

/// A manifest as the snapshot records it (its header is not read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestInfo {
    pub id: String,
    pub size_bytes: u64,
    /// How many chunk references the manifest holds, over all its arrays.
    pub chunk_refs: u64,
}

/// A decoded snapshot: one version of the whole hierarchy.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub spec_version: u8,
    pub id: String,
    /// Spec v1 records the parent here; spec v2 leaves it out (see [`RepoInfo`]).
    pub parent: Option<String>,
    pub written_at: DateTime<Utc>,
    pub message: String,
    /// The commit's metadata, a JSON object.
    pub metadata: serde_json::Value,
    /// Sorted by path, as stored.
    pub nodes: Vec<SnapshotNode>,
    pub manifests: Vec<ManifestInfo>,
}

impl Snapshot {
    pub fn node(&self, path: &str) -> Option<&SnapshotNode> {
        self.nodes.iter().find(|node| node.path == path)
    }

    /// How many chunk references the array at `path` has, from the manifest
    /// counts the snapshot records. `None` when the count is not the array's
    /// alone (a manifest it uses also lists another array's chunks, or is not
    /// recorded) or when `path` is not an array.
    pub fn array_chunk_refs(&self, path: &str) -> Option<u64> {
        let node = self.node(path)?;
        if node.kind != NodeKind::Array {
            return None;
        }
        let mut total = 0u64;
        for manifest_ref in &node.manifests {
            let shared = self
                .nodes
                .iter()
                .filter(|other| other.manifests.iter().any(|m| m.id == manifest_ref.id))
                .count()
                > 1;
            if shared {
                return None;
            }
            let info = self.manifests.iter().find(|m| m.id == manifest_ref.id)?;
            total = total.saturating_add(info.chunk_refs);
        }
        Some(total)
    }
}

/// A snapshot as the spec v2 `repo` file lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotSummary {
    pub id: String,
    pub parent: Option<String>,
    pub written_at: DateTime<Utc>,
    pub message: String,
    pub metadata: serde_json::Value,
}

/// A branch or tag and the snapshot it points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefTarget {
    pub name: String,
    pub snapshot: String,
}

/// The spec v2 `repo` file: every ref and every snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct RepoInfo {
    pub spec_version: u8,
    pub branches: Vec<RefTarget>,
    pub tags: Vec<RefTarget>,
    /// Tags deleted once; Icechunk refuses to reuse their names.
    pub deleted_tags: Vec<String>,
    pub snapshots: Vec<SnapshotSummary>,
}

impl RepoInfo {
    pub fn branch(&self, name: &str) -> Option<&str> {
        find_ref(&self.branches, name)
    }

    pub fn tag(&self, name: &str) -> Option<&str> {
        find_ref(&self.tags, name)
    }

    /// The ancestry of `id`, newest first, as `repo.ancestry()` lists it. `None`
    /// if `id` is not listed. A parent link that loops or leads outside the
    /// list ends the walk there.
    pub fn ancestry(&self, id: &str) -> Option<Vec<&SnapshotSummary>> {
        let mut current = self.snapshots.iter().find(|s| s.id == id)?;
        let mut out = vec![current];
        // Each step visits a new snapshot, so the walk ends within the list's length.
        while out.len() < self.snapshots.len() {
            let Some(parent) = current.parent.as_deref() else {
                break;
            };
            let Some(next) = self.snapshots.iter().find(|s| s.id == parent) else {
                break;
            };
            if out.iter().any(|seen| seen.id == next.id) {
                break;
            }
            out.push(next);
            current = next;
        }
        Some(out)
    }
}

fn find_ref<'a>(refs: &'a [RefTarget], name: &str) -> Option<&'a str> {
    refs.iter()
        .find(|r| r.name == name)
        .map(|r| r.snapshot.as_str())
}

/// What one commit changed, as its transaction log records it: node ids only
/// (no paths, no attribute names). [`TransactionLog::changes`] turns them into
/// paths with the commit's snapshot and its parent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TransactionLog {
    pub new_groups: Vec<String>,
    pub new_arrays: Vec<String>,
    pub deleted_groups: Vec<String>,
    pub deleted_arrays: Vec<String>,
    /// The group's `zarr.json` changed (attributes, in practice).
    pub updated_groups: Vec<String>,
    /// The array's `zarr.json` changed (attributes, shape, ...).
    pub updated_arrays: Vec<String>,
    /// Node id and how many chunks were written.
    pub updated_chunks: Vec<(String, u64)>,
    /// Node moves (spec v2): from path, to path.
    pub moves: Vec<(String, String)>,
}

/// A commit's changes by path, sorted; a node id found in neither snapshot is
/// kept as `?ID` rather than dropped.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Changes {
    pub new_groups: Vec<String>,
    pub new_arrays: Vec<String>,
    pub deleted_groups: Vec<String>,
    pub deleted_arrays: Vec<String>,
    pub updated_groups: Vec<String>,
    pub updated_arrays: Vec<String>,
    pub updated_chunks: Vec<(String, u64)>,
    pub moves: Vec<(String, String)>,
}

impl TransactionLog {
    /// Paths for the node ids: new and updated nodes are looked up in the
    /// commit's `snapshot`, deleted ones in its `parent`.
    pub fn changes(&self, snapshot: &Snapshot, parent: Option<&Snapshot>) -> Changes {
        let in_snapshot = |id: &String| path_of(Some(snapshot), id);
        let in_parent = |id: &String| path_of(parent, id);
        let paths = |ids: &[String], find: &dyn Fn(&String) -> String| {
            let mut out: Vec<String> = ids.iter().map(find).collect();
            out.sort();
            out
        };
        let mut updated_chunks: Vec<(String, u64)> = self
            .updated_chunks
            .iter()
            .map(|(id, n)| (in_snapshot(id), *n))
            .collect();
        updated_chunks.sort();
        Changes {
            new_groups: paths(&self.new_groups, &in_snapshot),
            new_arrays: paths(&self.new_arrays, &in_snapshot),
            deleted_groups: paths(&self.deleted_groups, &in_parent),
            deleted_arrays: paths(&self.deleted_arrays, &in_parent),
            updated_groups: paths(&self.updated_groups, &in_snapshot),
            updated_arrays: paths(&self.updated_arrays, &in_snapshot),
            updated_chunks,
            moves: self.moves.clone(),
        }
    }
}

fn path_of(snapshot: Option<&Snapshot>, id: &str) -> String {
    snapshot
        .and_then(|s| s.nodes.iter().find(|n| n.id == id))
        .map_or_else(|| format!("?{id}"), |n| n.path.clone())
}

/// Checks that `id` is a snapshot (or manifest) id as Icechunk prints them,
/// and returns it normalised to upper case.
pub fn parse_snapshot_id(id: &str) -> Result<String, FormatError> {
    let bad = || FormatError::BadId(id.to_string(), 20);
    if id.len() != 20 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(bad());
    }
    let parsed = SnapshotId::try_from(id).map_err(|_| bad())?;
    Ok(parsed.to_string())
}

/// Reads a metadata file's header.
pub fn file_header(bytes: &[u8]) -> Result<Header, FormatError> {
    use IcechunkFormatErrorKind as K;
    let header = constants::parse_file_header(bytes).map_err(|e| match e.kind() {
        K::InvalidIcechunkHeaderSize { found, expected } => FormatError::NotIcechunk(format!(
            "it has {found} bytes, shorter than the {expected}-byte header"
        )),
        K::InvalidMagicNumbers => {
            FormatError::NotIcechunk("it does not start with the Icechunk magic bytes".into())
        }
        K::InvalidSpecVersion { found, .. } => FormatError::UnsupportedSpecVersion(*found),
        K::UnknownFileType { got } => FormatError::BadHeader(format!("unknown file type {got}")),
        K::InvalidCompressionAlgorithm => FormatError::BadHeader(format!(
            "unknown compression {}",
            bytes
                .get(constants::ICECHUNK_COMPRESSION_OFFSET)
                .copied()
                .unwrap_or_default()
        )),
        other => FormatError::BadHeader(other.to_string()),
    })?;
    Ok(Header {
        spec_version: header.spec_version as u8,
        file_type: header.file_type.into(),
        compression: match header.compression {
            CompressionAlgorithmBin::None => Compression::None,
            CompressionAlgorithmBin::Zstd => Compression::Zstd,
        },
        writer: header.impl_name,
    })
}

/// The header and the decompressed body of a file expected to be `expected`,
/// refusing a body that expands past `max_bytes`.
fn open(
    bytes: &[u8],
    expected: FileType,
    max_bytes: usize,
) -> Result<(Header, SpecVersionBin, Vec<u8>), FormatError> {
    let header = file_header(bytes)?;
    if header.file_type != expected {
        return Err(FormatError::WrongFileType {
            expected,
            found: header.file_type,
        });
    }
    let spec = SpecVersionBin::try_from(header.spec_version)
        .map_err(|_| FormatError::UnsupportedSpecVersion(header.spec_version))?;
    let compressed = bytes.get(HEADER_LEN..).unwrap_or_default();
    let too_large = FormatError::TooLarge {
        what: expected,
        limit: max_bytes,
    };
    let body = match header.compression {
        Compression::None => {
            if compressed.len() > max_bytes {
                return Err(too_large);
            }
            compressed.to_vec()
        }
        Compression::Zstd => {
            let corrupt = |e: std::io::Error| FormatError::Corrupt {
                what: expected,
                detail: format!("its zstd body does not decompress ({e})"),
            };
            let decoder = zstd::stream::read::Decoder::with_buffer(compressed).map_err(corrupt)?;
            // One byte past the limit tells "exactly the limit" from "more".
            let limit = u64::try_from(max_bytes)
                .unwrap_or(u64::MAX)
                .saturating_add(1);
            let mut body = Vec::new();
            decoder
                .take(limit)
                .read_to_end(&mut body)
                .map_err(corrupt)?;
            if body.len() > max_bytes {
                return Err(too_large);
            }
            body
        }
    };
    Ok((header, spec, body))
}

/// The limits icechunk-format verifies with (its own are private), so a file
/// it reads is one we read; the body is already bounded by `max_bytes`.
static VERIFIER: flatbuffers::VerifierOptions = flatbuffers::VerifierOptions {
    max_depth: 64,
    max_tables: 50_000_000,
    max_apparent_size: usize::MAX,
    ignore_missing_null_terminator: true,
};

fn corrupt(what: FileType) -> impl Fn(IcechunkFormatError) -> FormatError {
    move |e| FormatError::Corrupt {
        what,
        detail: e.kind().to_string(),
    }
}

fn properties_json(properties: icechunk_format::snapshot::SnapshotProperties) -> serde_json::Value {
    serde_json::Value::Object(properties.into_iter().collect())
}

fn node(node: NodeSnapshot) -> SnapshotNode {
    let (kind, manifests) = match node.node_data {
        NodeData::Group => (NodeKind::Group, Vec::new()),
        NodeData::Array { manifests, .. } => (
            NodeKind::Array,
            manifests
                .into_iter()
                .map(|m| ManifestRef {
                    id: m.object_id.to_string(),
                    extents: m.extents.iter().cloned().collect(),
                })
                .collect(),
        ),
    };
    SnapshotNode {
        id: node.id.to_string(),
        path: node.path.to_string(),
        kind,
        zarr_json: node.user_data.to_vec(),
        manifests,
    }
}

/// Decodes a snapshot file (`snapshots/ID`), whose body may expand to at
/// most `max_bytes`.
pub fn snapshot(bytes: &[u8], max_bytes: usize) -> Result<Snapshot, FormatError> {
    let what = FileType::Snapshot;
    let (header, spec, body) = open(bytes, what, max_bytes)?;
    // icechunk-format panics on a node that is neither group nor array
    // (found by the byte-flipping test): check every node before it reads them.
    {
        let root = flatbuffers::root_with_opts::<generated::Snapshot<'_>>(&VERIFIER, &body)
            .map_err(|e| FormatError::Corrupt {
                what,
                detail: format!("invalid flatbuffer ({e})"),
            })?;
        for n in root.nodes().iter() {
            let readable = match n.node_data_type() {
                generated::NodeData::Array => n.node_data_as_array().is_some(),
                generated::NodeData::Group => n.node_data_as_group().is_some(),
                _ => false,
            };
            if !readable {
                return Err(FormatError::Corrupt {
                    what,
                    detail: format!("node {:?} is neither a group nor an array", n.path()),
                });
            }
        }
    }
    let snap = IcSnapshot::from_buffer(spec, body).map_err(corrupt(what))?;
    // Deprecated because spec v2 no longer fills it; spec v1 does.
    #[allow(deprecated)]
    let parent = snap.parent_id().map(|id| id.to_string());
    let manifests = snap
        .manifest_files()
        .map(|m| {
            m.map(|m| ManifestInfo {
                id: m.id.to_string(),
                size_bytes: m.size_bytes,
                chunk_refs: u64::from(m.num_chunk_refs),
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(corrupt(what))?;
    let nodes = snap
        .iter()
        .map(|n| n.map(node))
        .collect::<Result<Vec<_>, _>>()
        .map_err(corrupt(what))?;
    Ok(Snapshot {
        spec_version: header.spec_version,
        id: snap.id().to_string(),
        parent,
        written_at: snap.flushed_at().map_err(corrupt(what))?,
        message: snap.message(),
        metadata: properties_json(snap.metadata().map_err(corrupt(what))?),
        nodes,
        manifests,
    })
}

/// Decodes a spec v2 `repo` file, whose body may expand to at most `max_bytes`.
pub fn repo_info(bytes: &[u8], max_bytes: usize) -> Result<RepoInfo, FormatError> {
    let what = FileType::RepoInfo;
    let (header, _spec, body) = open(bytes, what, max_bytes)?;
    let bad = |detail: String| FormatError::Corrupt { what, detail };
    // icechunk-format trusts the table indices inside a verified buffer and
    // would panic on one out of range: check them all before using it.
    {
        let root = flatbuffers::root_with_opts::<generated::Repo<'_>>(&VERIFIER, &body)
            .map_err(|e| bad(format!("invalid flatbuffer ({e})")))?;
        let count = root.snapshots().len();
        for r in root.branches().iter().chain(root.tags().iter()) {
            if usize::try_from(r.snapshot_index()).map_or(true, |i| i >= count) {
                return Err(bad(format!(
                    "ref {:?} points at snapshot {} of {count}",
                    r.name(),
                    r.snapshot_index()
                )));
            }
        }
        for s in root.snapshots().iter() {
            let parent = s.parent_offset();
            if parent >= 0 && usize::try_from(parent).map_or(true, |i| i >= count) {
                return Err(bad(format!(
                    "a snapshot's parent is entry {parent} of {count}"
                )));
            }
        }
    }
    let info = IcRepoInfo::from_buffer(body).map_err(corrupt(what))?;
    let refs = |it: Vec<(&str, SnapshotId)>| {
        it.into_iter()
            .map(|(name, id)| RefTarget {
                name: name.to_string(),
                snapshot: id.to_string(),
            })
            .collect::<Vec<_>>()
    };
    let branches = refs(info.branches().map_err(corrupt(what))?.collect());
    let tags = refs(info.tags().map_err(corrupt(what))?.collect());
    let deleted_tags = info
        .deleted_tags()
        .map_err(corrupt(what))?
        .map(str::to_string)
        .collect();
    let snapshots = info
        .all_snapshots()
        .map_err(corrupt(what))?
        .map(|s| {
            s.map(|s| SnapshotSummary {
                id: s.id.to_string(),
                parent: s.parent_id.map(|p| p.to_string()),
                written_at: s.flushed_at,
                message: s.message,
                metadata: properties_json(s.metadata),
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(corrupt(what))?;
    Ok(RepoInfo {
        spec_version: header.spec_version,
        branches,
        tags,
        deleted_tags,
        snapshots,
    })
}

/// Decodes a transaction log (`transactions/ID`, named after the snapshot it
/// led to), whose body may expand to at most `max_bytes`.
pub fn transaction_log(bytes: &[u8], max_bytes: usize) -> Result<TransactionLog, FormatError> {
    let what = FileType::TransactionLog;
    let (_header, _spec, body) = open(bytes, what, max_bytes)?;
    let log = IcTransactionLog::from_buffer(body).map_err(corrupt(what))?;
    let ids = |it: &mut dyn Iterator<Item = icechunk_format::NodeId>| {
        it.map(|id| id.to_string()).collect::<Vec<_>>()
    };
    let moves = log
        .moves()
        .map(|m| m.map(|m| (m.from.to_string(), m.to.to_string())))
        .collect::<Result<Vec<_>, _>>()
        .map_err(corrupt(what))?;
    Ok(TransactionLog {
        new_groups: ids(&mut log.new_groups()),
        new_arrays: ids(&mut log.new_arrays()),
        deleted_groups: ids(&mut log.deleted_groups()),
        deleted_arrays: ids(&mut log.deleted_arrays()),
        updated_groups: ids(&mut log.updated_groups()),
        updated_arrays: ids(&mut log.updated_arrays()),
        updated_chunks: log
            .updated_chunks_counts()
            .map(|(id, n)| (id.to_string(), n))
            .collect(),
        moves,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};

    use icechunk_format::format_constants::ICECHUNK_FORMAT_MAGIC_BYTES;
    use icechunk_format::repo_info::UpdateType;
    use icechunk_format::snapshot::SnapshotInfo;
    use serde_json::Value;

    use super::*;

    const MAX: usize = 1 << 20;

    fn fixtures() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/icechunk")
    }

    fn expected() -> Value {
        let text = std::fs::read_to_string(fixtures().join("expected.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    fn repo(name: &str) -> Value {
        expected()["repositories"][name].clone()
    }

    fn read(repo: &str, key: &str) -> Vec<u8> {
        std::fs::read(fixtures().join(repo).join(key)).unwrap()
    }

    fn decode_snapshot(repo: &str, id: &str) -> Snapshot {
        snapshot(&read(repo, &format!("snapshots/{id}")), MAX).unwrap()
    }

    /// The snapshot a version of expected.json's trees names, resolved through
    /// the committed ref files for branches and tags.
    fn resolve(repo: &str, version: &str) -> String {
        if let Some(id) = version.strip_prefix("snapshot.") {
            return id.to_string();
        }
        let text = read(repo, &format!("refs/{version}/ref.json"));
        let json: Value = serde_json::from_slice(&text).unwrap();
        json["snapshot"].as_str().unwrap().to_string()
    }

    fn header_bytes(spec: u8, file_type: u8, compression: u8) -> Vec<u8> {
        let mut out = ICECHUNK_FORMAT_MAGIC_BYTES.to_vec();
        out.extend_from_slice(format!("{:<24}", "ic-test").as_bytes());
        out.extend_from_slice(&[spec, file_type, compression]);
        out
    }

    fn with_header(spec: u8, file_type: u8, body: &[u8]) -> Vec<u8> {
        let mut out = header_bytes(spec, file_type, 1);
        out.extend(zstd::encode_all(body, 3).unwrap());
        out
    }

    /// The decompressed flatbuffer of a fixture file.
    fn body_of(file: &[u8]) -> Vec<u8> {
        zstd::decode_all(&file[HEADER_LEN..]).unwrap()
    }

    #[test]
    fn headers_of_every_metadata_file_are_read() {
        let history = repo("history.icechunk");
        let headers = history["headers"].as_object().unwrap();
        let mut checked = 0;
        for key in headers.keys() {
            let expected_type = match key.split('/').next().unwrap() {
                "snapshots" => FileType::Snapshot,
                "manifests" => FileType::Manifest,
                "transactions" => FileType::TransactionLog,
                // Chunks have no header.
                _ => {
                    let err = file_header(&read("history.icechunk", key)).unwrap_err();
                    assert!(matches!(err, FormatError::NotIcechunk(_)), "{key}: {err}");
                    continue;
                }
            };
            let header = file_header(&read("history.icechunk", key)).unwrap();
            assert_eq!(
                header,
                Header {
                    spec_version: 1,
                    file_type: expected_type,
                    compression: Compression::Zstd,
                    writer: "ic-0.3.24".into(),
                },
                "{key}"
            );
            checked += 1;
        }
        assert!(checked >= 18, "only {checked} headers checked");
    }

    #[test]
    fn every_snapshot_matches_the_recorded_ancestry() {
        let history = repo("history.icechunk");
        let mut seen = std::collections::BTreeSet::new();
        for branch in ["main", "dev"] {
            let ancestry = history["ancestry"][branch].as_array().unwrap();
            assert!(ancestry.len() >= 2);
            for entry in ancestry {
                let id = entry["id"].as_str().unwrap();
                let snap = decode_snapshot("history.icechunk", id);
                assert_eq!(snap.spec_version, 1);
                assert_eq!(snap.id, id);
                assert_eq!(snap.parent.as_deref(), entry["parent_id"].as_str(), "{id}");
                assert_eq!(snap.message, entry["message"].as_str().unwrap(), "{id}");
                assert_eq!(snap.metadata, entry["metadata"], "{id}");
                let written_at =
                    DateTime::parse_from_rfc3339(entry["written_at"].as_str().unwrap()).unwrap();
                assert_eq!(snap.written_at, written_at, "{id}");
                let manifests: Vec<ManifestInfo> = entry["manifests"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| ManifestInfo {
                        id: m["id"].as_str().unwrap().into(),
                        size_bytes: m["size_bytes"].as_u64().unwrap(),
                        chunk_refs: m["num_chunk_refs"].as_u64().unwrap(),
                    })
                    .collect();
                assert_eq!(snap.manifests, manifests, "{id}");
                seen.insert(id.to_string());
            }
        }
        // Every snapshot file is in some ancestry, so every one was decoded.
        let files: std::collections::BTreeSet<String> =
            std::fs::read_dir(fixtures().join("history.icechunk/snapshots"))
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
        assert_eq!(seen, files);
    }

    /// The parts of an array's zarr.json that zarr-python's record names.
    fn array_record(zarr_json: &Value) -> Value {
        serde_json::json!({
            "shape": zarr_json["shape"],
            "chunks": zarr_json["chunk_grid"]["configuration"]["chunk_shape"],
            "dtype": zarr_json["data_type"],
            "fill_value": zarr_json["fill_value"],
            "dimension_names": zarr_json["dimension_names"],
        })
    }

    #[test]
    fn trees_equal_what_zarr_python_lists_for_each_version() {
        let history = repo("history.icechunk");
        let trees = history["trees"].as_object().unwrap();
        assert_eq!(trees.len(), 5);
        for (version, recorded) in trees {
            let snap = decode_snapshot("history.icechunk", &resolve("history.icechunk", version));
            let recorded = recorded.as_array().unwrap();
            let ours: Vec<(String, &str)> = snap
                .nodes
                .iter()
                .map(|n| {
                    let kind = match n.kind {
                        NodeKind::Group => "group",
                        NodeKind::Array => "array",
                    };
                    (n.path.clone(), kind)
                })
                .collect();
            let theirs: Vec<(String, &str)> = recorded
                .iter()
                .map(|n| {
                    (
                        n["path"].as_str().unwrap().to_string(),
                        n["kind"].as_str().unwrap(),
                    )
                })
                .collect();
            assert_eq!(ours, theirs, "{version}");
            for (node, record) in snap.nodes.iter().zip(recorded) {
                let zarr_json: Value = serde_json::from_slice(&node.zarr_json).unwrap();
                let expected_kind = if node.kind == NodeKind::Array {
                    "array"
                } else {
                    "group"
                };
                assert_eq!(
                    zarr_json["node_type"], expected_kind,
                    "{version} {}",
                    node.path
                );
                let attributes = zarr_json
                    .get("attributes")
                    .cloned()
                    .unwrap_or_else(|| serde_json::json!({}));
                assert_eq!(attributes, record["attributes"], "{version} {}", node.path);
                if node.kind == NodeKind::Array {
                    let expected = serde_json::json!({
                        "shape": record["shape"],
                        "chunks": record["chunks"],
                        "dtype": record["dtype"],
                        "fill_value": record["fill_value"],
                        "dimension_names": record["dimension_names"],
                    });
                    assert_eq!(
                        array_record(&zarr_json),
                        expected,
                        "{version} {}",
                        node.path
                    );
                    assert!(!node.manifests.is_empty(), "{version} {}", node.path);
                }
            }
        }
    }

    #[test]
    fn chunk_refs_per_array_match_the_recorded_chunk_counts() {
        let history = repo("history.icechunk");
        let chunks = history["chunks"].as_object().unwrap();
        let mut compared = 0;
        for (version, arrays) in chunks {
            let snap = decode_snapshot("history.icechunk", &resolve("history.icechunk", version));
            for (path, record) in arrays.as_object().unwrap() {
                assert_eq!(
                    snap.array_chunk_refs(path),
                    record["count"].as_u64(),
                    "{version} {path}"
                );
                compared += 1;
            }
        }
        assert_eq!(compared, 8);
        // A group has no chunk count.
        let main = decode_snapshot(
            "history.icechunk",
            &resolve("history.icechunk", "branch.main"),
        );
        assert_eq!(main.array_chunk_refs("/"), None);
    }

    #[test]
    fn a_shared_manifest_gives_no_per_array_count() {
        let mut snap = decode_snapshot(
            "history.icechunk",
            &resolve("history.icechunk", "branch.main"),
        );
        let elevation = snap.node("/elevation").unwrap().manifests.clone();
        assert_eq!(snap.array_chunk_refs("/precip"), Some(1));
        snap.nodes
            .iter_mut()
            .find(|n| n.path == "/precip")
            .unwrap()
            .manifests = elevation;
        assert_eq!(snap.array_chunk_refs("/precip"), None);
        assert_eq!(snap.array_chunk_refs("/elevation"), None);
    }

    #[test]
    fn the_empty_repository_has_only_the_initial_snapshot() {
        let empty = repo("empty.icechunk");
        let id = resolve("empty.icechunk", "branch.main");
        assert_eq!(id, INITIAL_SNAPSHOT_ID);
        let snap = decode_snapshot("empty.icechunk", &id);
        let entry = &empty["ancestry"]["main"][0];
        assert_eq!(snap.id, INITIAL_SNAPSHOT_ID);
        assert_eq!(snap.parent, None);
        assert_eq!(snap.message, "Repository initialized");
        assert_eq!(snap.metadata, entry["metadata"]);
        let written_at =
            DateTime::parse_from_rfc3339(entry["written_at"].as_str().unwrap()).unwrap();
        assert_eq!(snap.written_at, written_at);
        // zarr-python finds no root group: the snapshot has no nodes at all.
        assert!(snap.nodes.is_empty(), "{:?}", snap.nodes);
        assert!(snap.manifests.is_empty());
    }

    #[test]
    fn transaction_logs_name_what_each_commit_changed() {
        let history = repo("history.icechunk");
        let commits = history["commits"].as_object().unwrap();
        let diffs = history["diffs"].as_object().unwrap();
        let mut compared = 0;
        for (name, diff) in diffs {
            let Some((from, to)) = name.split_once("..") else {
                continue;
            };
            let (Some(from), Some(to)) =
                (from.strip_prefix("snapshot."), to.strip_prefix("snapshot."))
            else {
                continue;
            };
            let from = commits[from].as_str().unwrap();
            let to = commits[to].as_str().unwrap();
            let child = decode_snapshot("history.icechunk", to);
            let parent = decode_snapshot("history.icechunk", from);
            assert_eq!(child.parent.as_deref(), Some(from));
            let log = transaction_log(
                &read("history.icechunk", &format!("transactions/{to}")),
                MAX,
            )
            .unwrap();
            let changes = log.changes(&child, Some(&parent));
            let list = |key: &str| -> Vec<String> {
                diff[key]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p.as_str().unwrap().to_string())
                    .collect()
            };
            assert_eq!(changes.new_groups, list("new_groups"), "{name}");
            assert_eq!(changes.new_arrays, list("new_arrays"), "{name}");
            assert_eq!(changes.deleted_groups, list("deleted_groups"), "{name}");
            assert_eq!(changes.deleted_arrays, list("deleted_arrays"), "{name}");
            assert_eq!(changes.updated_groups, list("updated_groups"), "{name}");
            assert_eq!(changes.updated_arrays, list("updated_arrays"), "{name}");
            let chunks: Vec<(String, u64)> = diff["updated_chunks"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(path, coords)| (path.clone(), coords.as_array().unwrap().len() as u64))
                .collect();
            assert_eq!(changes.updated_chunks, chunks, "{name}");
            assert!(changes.moves.is_empty());
            compared += 1;
        }
        assert_eq!(compared, 5);
    }

    fn info(
        id: SnapshotId,
        parent: Option<SnapshotId>,
        message: &str,
        micros: i64,
    ) -> SnapshotInfo {
        let mut metadata = BTreeMap::new();
        metadata.insert("step".to_string(), Value::from(message));
        SnapshotInfo {
            id,
            parent_id: parent,
            flushed_at: DateTime::from_timestamp_micros(micros).unwrap(),
            message: message.to_string(),
            metadata,
            pruned_ancestor_tx_logs: vec![],
        }
    }

    /// A spec v2 `repo` file as icechunk-format writes one: main with two
    /// commits, a branch and a tag.
    fn a_repo_file() -> (Vec<u8>, [String; 3]) {
        let v2 = SpecVersionBin::V2;
        let initial = IcSnapshot::INITIAL_SNAPSHOT_ID;
        let first = SnapshotId::new([1; 12]);
        let second = SnapshotId::new([2; 12]);
        let repo = IcRepoInfo::initial(
            v2,
            info(initial.clone(), None, "init", 1_000),
            10,
            None::<&()>,
            None,
        );
        let commit = |repo: &IcRepoInfo, snap: SnapshotInfo| {
            let new_snap_id = snap.id.clone();
            repo.add_snapshot(
                v2,
                snap,
                Some("main"),
                UpdateType::NewCommitUpdate {
                    branch: "main".into(),
                    new_snap_id,
                },
                None,
                "previous",
                10,
            )
            .unwrap()
        };
        let repo = commit(
            &repo,
            info(first.clone(), Some(initial.clone()), "one", 2_000),
        );
        let repo = repo.add_branch(v2, "dev", &first, "previous", 10).unwrap();
        let repo = commit(
            &repo,
            info(second.clone(), Some(first.clone()), "two", 3_000),
        );
        let repo = repo.add_tag(v2, "v1", &first, "previous", 10).unwrap();
        (
            with_header(2, 6, repo.bytes()),
            [initial.to_string(), first.to_string(), second.to_string()],
        )
    }

    #[test]
    fn repo_info_of_spec_v2_lists_refs_and_ancestry() {
        let (file, [initial, first, second]) = a_repo_file();
        let info = repo_info(&file, MAX).unwrap();
        assert_eq!(info.spec_version, 2);
        assert_eq!(info.branch("main"), Some(second.as_str()));
        assert_eq!(info.branch("dev"), Some(first.as_str()));
        assert_eq!(info.tag("v1"), Some(first.as_str()));
        assert_eq!(info.branch("nope"), None);
        assert_eq!(info.snapshots.len(), 3);
        let ancestry = info.ancestry(&second).unwrap();
        let ids: Vec<&str> = ancestry.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, [second.as_str(), first.as_str(), initial.as_str()]);
        assert_eq!(ancestry[0].message, "two");
        assert_eq!(ancestry[0].parent.as_deref(), Some(first.as_str()));
        assert_eq!(ancestry[0].metadata, serde_json::json!({"step": "two"}));
        assert_eq!(ancestry[1].written_at.timestamp_micros(), 2_000);
        assert_eq!(info.ancestry("00000000000000000000"), None);
        // A snapshot file is not a repo file.
        let snap = read(
            "history.icechunk",
            &format!("snapshots/{INITIAL_SNAPSHOT_ID}"),
        );
        assert!(matches!(
            repo_info(&snap, MAX),
            Err(FormatError::WrongFileType {
                expected: FileType::RepoInfo,
                found: FileType::Snapshot
            })
        ));
    }

    /// A spec v2 snapshot as icechunk-format writes one (no fixture has one:
    /// PyPI's icechunk for Python 3.11 writes spec v1).
    #[test]
    fn snapshot_of_spec_v2_decodes() {
        use icechunk_format::manifest::{ManifestExtents, ManifestRef as IcManifestRef};
        use icechunk_format::snapshot::{ArrayShape, ManifestFileInfo};
        use icechunk_format::{ManifestId, NodeId, Path as IcPath};

        let manifest = ManifestId::new([7; 12]);
        let array = NodeSnapshot {
            id: NodeId::new([1; 8]),
            path: IcPath::new("/t").unwrap(),
            user_data: bytes::Bytes::from_static(br#"{"node_type":"array"}"#),
            node_data: NodeData::Array {
                shape: ArrayShape::new([(4, 2)]).unwrap(),
                dimension_names: None,
                manifests: vec![IcManifestRef {
                    object_id: manifest.clone(),
                    extents: ManifestExtents::new(&[0], &[2]),
                }],
            },
        };
        let root = NodeSnapshot {
            id: NodeId::new([2; 8]),
            path: IcPath::root(),
            user_data: bytes::Bytes::from_static(br#"{"node_type":"group"}"#),
            node_data: NodeData::Group,
        };
        let mut metadata = BTreeMap::new();
        metadata.insert("who".to_string(), Value::from("test"));
        let id = SnapshotId::new([3; 12]);
        let written = IcSnapshot::from_iter(
            Some(id.clone()),
            None,
            SpecVersionBin::V2,
            "v2 commit",
            Some(metadata),
            vec![ManifestFileInfo {
                id: manifest.clone(),
                size_bytes: 99,
                num_chunk_refs: 2,
            }],
            Some(DateTime::from_timestamp_micros(5_000).unwrap()),
            [Ok(root), Ok(array)],
        )
        .unwrap();
        let snap = snapshot(&with_header(2, 1, written.bytes()), MAX).unwrap();
        assert_eq!(snap.spec_version, 2);
        assert_eq!(snap.id, id.to_string());
        assert_eq!(snap.parent, None);
        assert_eq!(snap.message, "v2 commit");
        assert_eq!(snap.metadata, serde_json::json!({"who": "test"}));
        assert_eq!(snap.written_at.timestamp_micros(), 5_000);
        let paths: Vec<(&str, NodeKind)> = snap
            .nodes
            .iter()
            .map(|n| (n.path.as_str(), n.kind))
            .collect();
        assert_eq!(paths, [("/", NodeKind::Group), ("/t", NodeKind::Array)]);
        assert_eq!(snap.nodes[1].zarr_json, br#"{"node_type":"array"}"#);
        assert_eq!(
            snap.nodes[1].manifests,
            [ManifestRef {
                id: manifest.to_string(),
                extents: std::iter::once(0..2).collect()
            }]
        );
        assert_eq!(snap.array_chunk_refs("/t"), Some(2));
        assert_eq!(snap.manifests[0].size_bytes, 99);
    }

    #[test]
    fn ancestry_ends_on_a_parent_loop() {
        let summary = |id: &str, parent: &str| SnapshotSummary {
            id: id.into(),
            parent: Some(parent.into()),
            written_at: DateTime::from_timestamp_micros(0).unwrap(),
            message: String::new(),
            metadata: Value::Null,
        };
        let info = RepoInfo {
            spec_version: 2,
            branches: vec![],
            tags: vec![],
            deleted_tags: vec![],
            snapshots: vec![
                summary("A", "B"),
                summary("B", "A"),
                summary("C", "A"),
                summary("D", "C"),
            ],
        };
        let ids: Vec<&str> = info
            .ancestry("C")
            .unwrap()
            .iter()
            .map(|s| s.id.as_str())
            .collect();
        assert_eq!(ids, ["C", "A", "B"]);
    }

    #[test]
    fn snapshot_ids_are_checked() {
        assert_eq!(
            parse_snapshot_id("1cechnkrep0f1rstcmt0").unwrap(),
            INITIAL_SNAPSHOT_ID
        );
        assert_eq!(
            parse_snapshot_id(INITIAL_SNAPSHOT_ID).unwrap(),
            INITIAL_SNAPSHOT_ID
        );
        for bad in [
            "",
            "main",
            "1CECHNKREP0F1RSTCMT",
            "1CECHNKREP0F1RSTCMT0X",
            "1CECHNKREP0F1RSTCM/0",
        ] {
            assert!(
                matches!(parse_snapshot_id(bad), Err(FormatError::BadId(..))),
                "{bad}"
            );
        }
    }

    #[test]
    fn garbage_gives_errors_not_panics() {
        let file = read("history.icechunk", "snapshots/9QSNZ29886HXXJVWH37G");

        // Truncated header, wrong magic, a newer spec, an unknown type.
        assert!(matches!(
            snapshot(&file[..20], MAX),
            Err(FormatError::NotIcechunk(_))
        ));
        assert!(matches!(
            snapshot(b"", MAX),
            Err(FormatError::NotIcechunk(_))
        ));
        let mut wrong_magic = file.clone();
        wrong_magic[0] = b'X';
        let err = snapshot(&wrong_magic, MAX).unwrap_err();
        assert!(matches!(err, FormatError::NotIcechunk(_)), "{err}");
        assert!(err.to_string().contains("magic"), "{err}");
        let mut newer = file.clone();
        newer[36] = 9;
        assert!(matches!(
            snapshot(&newer, MAX),
            Err(FormatError::UnsupportedSpecVersion(9))
        ));
        let mut unknown_type = file.clone();
        unknown_type[37] = 77;
        assert!(matches!(
            snapshot(&unknown_type, MAX),
            Err(FormatError::BadHeader(_))
        ));
        let mut unknown_compression = file.clone();
        unknown_compression[38] = 7;
        assert!(matches!(
            snapshot(&unknown_compression, MAX),
            Err(FormatError::BadHeader(_))
        ));
        let manifest = read("history.icechunk", "manifests/QT2BVZD2PHTJ6EBQJ9F0");
        assert!(matches!(
            snapshot(&manifest, MAX),
            Err(FormatError::WrongFileType {
                expected: FileType::Snapshot,
                found: FileType::Manifest
            })
        ));

        // A zstd bomb: 64 MiB of zeros in a few kB, refused at the limit.
        let bomb = with_header(1, 1, &vec![0u8; 64 << 20]);
        assert!(bomb.len() < 64 << 10);
        let err = snapshot(&bomb, MAX).unwrap_err();
        assert!(
            matches!(err, FormatError::TooLarge { limit: MAX, .. }),
            "{err}"
        );
        // An uncompressed body is held to the same limit.
        let mut plain = header_bytes(1, 1, 0);
        plain.extend(vec![0u8; MAX + 1]);
        assert!(matches!(
            snapshot(&plain, MAX),
            Err(FormatError::TooLarge { .. })
        ));
        // The real body is refused under a limit one byte too small, read at its size.
        let body = body_of(&file);
        assert!(matches!(
            snapshot(&file, body.len() - 1),
            Err(FormatError::TooLarge { .. })
        ));
        assert!(snapshot(&file, body.len()).is_ok());

        // A truncated zstd stream, a truncated flatbuffer, noise.
        let err = snapshot(&file[..file.len() - 10], MAX).unwrap_err();
        assert!(matches!(err, FormatError::Corrupt { .. }), "{err}");
        let truncated = with_header(1, 1, &body[..body.len() / 2]);
        let err = snapshot(&truncated, MAX).unwrap_err();
        assert!(matches!(err, FormatError::Corrupt { .. }), "{err}");
        let noise = with_header(1, 1, b"this is not a flatbuffer at all, not at all");
        assert!(matches!(
            snapshot(&noise, MAX),
            Err(FormatError::Corrupt { .. })
        ));
        assert!(matches!(
            repo_info(&with_header(2, 6, &body[..8]), MAX),
            Err(FormatError::Corrupt { .. })
        ));
        assert!(matches!(
            transaction_log(&with_header(1, 4, &body[..8]), MAX),
            Err(FormatError::Corrupt { .. })
        ));

        // Every prefix of the file, and every byte of the body changed: an
        // error or a snapshot, never a panic.
        for len in 0..file.len() {
            let _ = snapshot(&file[..len], MAX);
        }
        for i in 0..body.len() {
            for value in [0x00, 0xff, body[i] ^ 0x80] {
                let mut changed = body.clone();
                changed[i] = value;
                let _ = snapshot(&with_header(1, 1, &changed), MAX);
            }
        }
    }

    #[test]
    fn changed_repo_and_transaction_files_give_errors_not_panics() {
        let (file, _) = a_repo_file();
        let body = body_of(&file);
        let mut errors = 0;
        for i in 0..body.len() {
            for value in [0x00, 0xff, body[i] ^ 0x80] {
                let mut changed = body.clone();
                changed[i] = value;
                if repo_info(&with_header(2, 6, &changed), MAX).is_err() {
                    errors += 1;
                }
            }
        }
        assert!(errors > 0);
        let log = read("history.icechunk", "transactions/XYZ3K9KD7GCYV1JRZND0");
        let body = body_of(&log);
        for i in 0..body.len() {
            for value in [0x00, 0xff, body[i] ^ 0x80] {
                let mut changed = body.clone();
                changed[i] = value;
                let _ = transaction_log(&with_header(1, 4, &changed), MAX);
            }
        }
    }
}
