//! What one directory is, from its delimited listing alone (no request):
//! a dataset root (and how to read it), or a plain directory whose
//! sub-directories are walked and whose JSON files may be reference sets.

use crate::keys::relative;
use crate::store::listing::{Keys, ObjectInfo};

/// How a dataset root found by listing is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// A `zarr.json` (v3): one GET; a group without consolidated metadata
    /// is then crawled.
    ZarrJson,
    /// `.zmetadata` or the old `zmetadata` (v2 consolidated, or a Parquet
    /// reference directory): one GET.
    ZMetadata(&'static str),
    /// `.zarray` without a group: a lone v2 array, its `.zarray` (and its
    /// `.zattrs` when listed).
    LoneArrayV2 { zattrs: bool },
    /// `.zgroup` without consolidated metadata: `.zgroup` (and `.zattrs`
    /// when listed), then a crawl.
    GroupV2 { zattrs: bool },
    /// An Icechunk repository: the `repo` file (spec v2) or the main
    /// branch's ref (spec v1), then the snapshot.
    Icechunk { repo: bool },
}

/// A dataset root found by listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Bucket-relative directory of the dataset.
    pub prefix: String,
    pub plan: Plan,
    /// When its metadata document was last written, as listed.
    pub last_modified: Option<String>,
    /// Its child directories (store-relative) when the listing was complete,
    /// so a crawl need not list its root again.
    pub children: Option<Vec<String>>,
}

/// One directory, classified.
#[derive(Debug)]
pub enum Directory {
    Dataset(Found),
    Plain {
        /// Bucket-relative sub-directories to walk.
        subdirectories: Vec<String>,
        /// Objects whose name says they may be a JSON reference set.
        candidates: Vec<ObjectInfo>,
    },
}

/// The names that make a directory a dataset root, as markers collected
/// page by page (a listing is not continued once they show a root).
#[derive(Debug, Default)]
pub struct Markers {
    zarr_json: bool,
    zmetadata: bool,
    old_zmetadata: bool,
    zgroup: bool,
    zarray: bool,
    repo: bool,
    refs: bool,
    snapshots: bool,
}

impl Markers {
    /// Take in one page of the listing of `dir`.
    pub fn add(&mut self, dir: &str, page: &Keys) {
        for object in &page.objects {
            match name(&object.key, dir) {
                "zarr.json" => self.zarr_json = true,
                ".zmetadata" => self.zmetadata = true,
                "zmetadata" => self.old_zmetadata = true,
                ".zgroup" => self.zgroup = true,
                ".zarray" => self.zarray = true,
                "repo" => self.repo = true,
                _ => {}
            }
        }
        for sub in &page.directories {
            match relative(sub, dir) {
                "refs" => self.refs = true,
                "snapshots" => self.snapshots = true,
                _ => {}
            }
        }
    }

    /// Whether what was listed so far makes the directory a dataset root.
    pub fn dataset(&self) -> bool {
        self.zarr_json
            || self.zmetadata
            || self.old_zmetadata
            || self.zgroup
            || self.zarray
            || self.icechunk()
    }

    /// A repository has snapshots and a way to find one: the `repo` file
    /// (spec v2) or `refs/` (spec v1). Either alone is too common a name.
    fn icechunk(&self) -> bool {
        self.snapshots && (self.repo || self.refs)
    }
}

/// The object's name inside `dir` (`""` for a folder marker `dir/`).
fn name<'a>(key: &'a str, dir: &str) -> &'a str {
    if dir.is_empty() {
        return key;
    }
    key.strip_prefix(dir)
        .and_then(|rest| rest.strip_prefix('/'))
        .unwrap_or(key)
}

/// Whether an object named `name` may hold a JSON reference set:
/// `*.json`, `*.json.zst`, `*.json.gz`, but not a Zarr document.
pub fn reference_candidate(name: &str) -> bool {
    !name.contains('/') && crate::location::names_a_reference_file(name)
}

/// Classify directory `dir` (bucket-relative, `""` for the bucket root)
/// from its listing; `complete` is false when the listing stopped early.
pub fn classify(dir: &str, keys: Keys, complete: bool) -> Directory {
    let mut markers = Markers::default();
    markers.add(dir, &keys);
    let listed = |wanted: &str| {
        keys.objects
            .iter()
            .find(|o| name(&o.key, dir) == wanted)
            .map(|o| o.last_modified.clone())
    };
    // Zarr first, v3 before v2 (as zarr-python opens a directory holding
    // both), consolidated before per-node documents.
    let plan = if markers.zarr_json {
        Some((Plan::ZarrJson, "zarr.json"))
    } else if markers.zmetadata {
        Some((Plan::ZMetadata(".zmetadata"), ".zmetadata"))
    } else if markers.old_zmetadata {
        Some((Plan::ZMetadata("zmetadata"), "zmetadata"))
    } else if markers.zarray {
        Some((
            Plan::LoneArrayV2 {
                zattrs: listed(".zattrs").is_some(),
            },
            ".zarray",
        ))
    } else if markers.zgroup {
        Some((
            Plan::GroupV2 {
                zattrs: listed(".zattrs").is_some(),
            },
            ".zgroup",
        ))
    } else if markers.icechunk() {
        Some((Plan::Icechunk { repo: markers.repo }, "repo"))
    } else {
        None
    };
    if let Some((plan, document)) = plan {
        let last_modified = listed(document);
        let children = complete.then(|| {
            keys.directories
                .iter()
                .map(|d| relative(d, dir).to_string())
                .collect()
        });
        return Directory::Dataset(Found {
            prefix: dir.to_string(),
            plan,
            last_modified,
            children,
        });
    }
    let candidates = keys
        .objects
        .into_iter()
        .filter(|o| o.size > 0 && reference_candidate(name(&o.key, dir)))
        .collect();
    Directory::Plain {
        subdirectories: keys.directories,
        candidates,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(key: &str) -> ObjectInfo {
        ObjectInfo {
            key: key.into(),
            size: 10,
            last_modified: "2026-01-01T00:00:00Z".into(),
            etag: None,
        }
    }

    fn keys(objects: &[&str], directories: &[&str]) -> Keys {
        Keys {
            objects: objects.iter().map(|k| object(k)).collect(),
            directories: directories.iter().map(|d| d.to_string()).collect(),
        }
    }

    fn plan(dir: &str, objects: &[&str], directories: &[&str]) -> Option<Plan> {
        match classify(dir, keys(objects, directories), true) {
            Directory::Dataset(found) => Some(found.plan),
            Directory::Plain { .. } => None,
        }
    }

    #[test]
    fn each_kind_of_root_is_recognised_by_its_listing() {
        assert_eq!(
            plan("a", &["a/.zgroup", "a/.zmetadata"], &["a/x"]),
            Some(Plan::ZMetadata(".zmetadata"))
        );
        assert_eq!(
            plan("", &["zarr.json", ".zmetadata"], &[]),
            Some(Plan::ZarrJson)
        );
        assert_eq!(
            plan("a", &["a/.zgroup", "a/.zattrs"], &["a/x"]),
            Some(Plan::GroupV2 { zattrs: true })
        );
        assert_eq!(
            plan("a", &["a/.zarray", "a/0.0"], &[]),
            Some(Plan::LoneArrayV2 { zattrs: false })
        );
        assert_eq!(
            plan("r", &[], &["r/refs", "r/snapshots", "r/chunks"]),
            Some(Plan::Icechunk { repo: false })
        );
        assert_eq!(
            plan("r", &["r/repo"], &["r/snapshots"]),
            Some(Plan::Icechunk { repo: true })
        );
        // Names that only look alike.
        assert_eq!(plan("d", &["d/repo"], &["d/refs"]), None);
        assert_eq!(plan("d", &["d/x.zgroup", "d/zarr.json.bak"], &[]), None);
    }

    #[test]
    fn a_plain_directory_offers_its_json_files_but_not_zarr_documents() {
        let Directory::Plain {
            subdirectories,
            candidates,
        } = classify(
            "d",
            keys(
                &["d/a.json", "d/b.json.zst", "d/c.json.gz", "d/d.txt", "d/"],
                &["d/s"],
            ),
            true,
        )
        else {
            panic!("a plain directory");
        };
        assert_eq!(subdirectories, ["d/s"]);
        let names: Vec<&str> = candidates.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(names, ["d/a.json", "d/b.json.zst", "d/c.json.gz"]);
    }
}
