//! Step 1 of the flow: turn what the user typed into a [`Location`] — which
//! backend, which bucket or base, and the prefix of the store inside it.

use std::path::PathBuf;

use crate::error::{Error, Result};

/// Where the bytes live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    S3 {
        bucket: String,
    },
    Gcs {
        bucket: String,
    },
    Azure {
        container: String,
        /// The storage account the URL names (`abfss://c@ACCOUNT.dfs…`,
        /// `https://ACCOUNT.blob…`); `None`: the environment names it.
        account: Option<String>,
        /// The SAS token in an `https://ACCOUNT.blob.core.windows.net/…?sv=…&sig=…`
        /// URL's query.
        sas: Option<SasToken>,
    },
    /// A plain HTTP(S) server; `base` is scheme, host and port.
    Http {
        base: String,
    },
    Local {
        root: PathBuf,
    },
}

/// A SAS token taken from a URL: a secret, so it never shows in Debug
/// output, and the URL kept for display has no query.
#[derive(Clone, PartialEq, Eq)]
pub struct SasToken(String);

impl SasToken {
    /// A token as given (`--sas-token`, a variable): with or without the
    /// leading `?`.
    pub fn new(token: &str) -> Self {
        Self(token.trim().trim_start_matches('?').to_string())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SasToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SasToken(<redacted>)")
    }
}

/// A parsed store location: a backend plus the key prefix of the store root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub backend: Backend,
    /// Key prefix inside the bucket/base, without leading or trailing `/`.
    pub prefix: String,
    /// Normalised form for display and JSON (`s3a://` → `s3://`, no trailing `/`).
    pub url: String,
    /// Written as `reference://URL` (or fsspec's chained `reference::URL`):
    /// the file is a kerchunk reference set whatever its name.
    pub reference: bool,
    /// A version of an Icechunk repository written after the URL:
    /// `URL@branch.NAME`, `URL@tag.NAME` or `URL@SNAPSHOT_ID`, as written
    /// after the `@`.
    pub version: Option<String>,
}

/// `input` without a trailing Icechunk version (`@branch.NAME`,
/// `@tag.NAME`, `@` and a 20-character snapshot id), and that version.
/// An `@` elsewhere (an abfs account, a key holding `@`) is left alone.
pub fn split_version(input: &str) -> (&str, Option<&str>) {
    let last_segment = input.rsplit('/').next().unwrap_or(input);
    let Some((_, version)) = last_segment.rsplit_once('@') else {
        return (input, None);
    };
    let named = ["branch.", "tag."]
        .iter()
        .any(|p| version.strip_prefix(p).is_some_and(|name| !name.is_empty()));
    let snapshot_id = version.len() == 20
        && version
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase());
    if named || snapshot_id {
        let at = input.len() - version.len() - 1;
        (&input[..at], Some(version))
    } else {
        (input, None)
    }
}

const SUPPORTED: &str = "s3://, s3a://, gs://, az://, http://, https://, file:// or a local path";

/// A remote URL: `s3://`, `gs://`, `az://`, `http(s)://` (not `file://`,
/// not a path).
pub fn is_remote_url(arg: &str) -> bool {
    arg.contains("://") && !arg.starts_with("file://")
}

/// Whether `arg` names a directory (ends with `/`): the SAS query of an
/// Azure https URL does not count.
pub fn names_a_directory(arg: &str) -> bool {
    let arg = match arg.split_once('?') {
        Some((url, _)) if is_azure_blob_url(arg) => url,
        _ => arg,
    };
    arg.ends_with('/')
}

/// The names a JSON reference file (kerchunk) ends with.
const REFERENCE_ENDINGS: [&str; 4] = [".json", ".json.zst", ".json.zstd", ".json.gz"];

/// Whether a file name is that of a kerchunk JSON reference file: a
/// `.json` (possibly compressed) that is not a Zarr metadata document.
pub fn names_a_reference_file(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    REFERENCE_ENDINGS.iter().any(|e| lower.ends_with(e)) && lower != "zarr.json"
}

impl Location {
    /// Only URLs name object storage in the chores (a local path is for
    /// cp/mv).
    pub fn parse_remote(arg: &str) -> Result<Self> {
        if !is_remote_url(arg) {
            return Err(Error::new(format!("{arg:?} is not a storage URL"))
                .with_hint("give s3://bucket/prefix (or gs://, az://, https://)"));
        }
        Self::parse(arg)
    }

    /// A location that may name a version of an Icechunk repository
    /// (`URL@branch.NAME`, `URL@tag.NAME`, `URL@SNAPSHOT_ID`): for the
    /// commands that read trees. The chores (`ls`, `cp`, …) use [`parse`],
    /// where an `@` is part of the key.
    ///
    /// [`parse`]: Location::parse
    pub fn parse_versioned(input: &str) -> Result<Self> {
        let (url, version) = split_version(input.trim());
        Self::parse(url).map(|location| Self {
            version: version.map(str::to_string),
            ..location
        })
    }

    pub fn parse(input: &str) -> Result<Self> {
        let trimmed = input.trim();
        if let Some(target) = ["reference://", "reference::"]
            .iter()
            .find_map(|p| trimmed.strip_prefix(p))
        {
            if target.is_empty() || target.starts_with("reference:") {
                return Err(Error::new(format!(
                    "no reference file after \"reference://\" in {input:?}"
                ))
                .with_hint(
                    "write reference://s3://bucket/refs.json (or the reference file's URL alone)",
                ));
            }
            let location = if target.contains("://") && !target.starts_with("file://") {
                Self::parse(target)
            } else {
                Self::local_with(
                    PathBuf::from(target.strip_prefix("file://").unwrap_or(target)),
                    true,
                )
            };
            return location.map(|location| Self {
                reference: true,
                ..location
            });
        }
        if trimmed.is_empty() {
            return Err(Error::new("empty store URL").with_hint(format!("give {SUPPORTED}")));
        }
        let Some((scheme, rest)) = trimmed.split_once("://") else {
            return Self::local(PathBuf::from(trimmed));
        };
        match scheme.to_ascii_lowercase().as_str() {
            "s3" | "s3a" | "s3n" => {
                let (bucket, prefix) = split_bucket(rest, input)?;
                Ok(Self::new(Backend::S3 { bucket }, prefix, "s3"))
            }
            "gs" | "gcs" => {
                let (bucket, prefix) = split_bucket(rest, input)?;
                Ok(Self::new(Backend::Gcs { bucket }, prefix, "gs"))
            }
            "az" | "azure" | "abfs" | "abfss" => {
                let (container, prefix) = split_bucket(rest, input)?;
                // abfs://container@account.dfs.core.windows.net/path
                let Some((container, host)) = container.split_once('@') else {
                    let backend = Backend::Azure {
                        container,
                        account: None,
                        sas: None,
                    };
                    return Ok(Self::new(backend, prefix, "az"));
                };
                let account = azure_account(host).ok_or_else(|| {
                    Error::new(format!(
                        "{input:?} does not name a storage account: the part after '@' must be ACCOUNT.dfs.core.windows.net"
                    ))
                    .with_hint("write abfss://CONTAINER@ACCOUNT.dfs.core.windows.net/path, or az://CONTAINER/path with AZURE_STORAGE_ACCOUNT_NAME (and --endpoint-url for another cloud)")
                })?;
                if container.is_empty() {
                    return Err(Error::new(format!("no container name in {input:?}"))
                        .with_hint("write abfss://CONTAINER@ACCOUNT.dfs.core.windows.net/path"));
                }
                let base = format!("{}://{container}@{host}", scheme.to_ascii_lowercase());
                Ok(Self {
                    reference: false,
                    version: None,
                    url: join_url(&base, &prefix),
                    backend: Backend::Azure {
                        container: container.to_string(),
                        account: Some(account),
                        sas: None,
                    },
                    prefix,
                })
            }
            "https" if is_azure_blob_url(trimmed) => Self::azure_https(trimmed),
            "http" | "https" => {
                let parsed = url::Url::parse(trimmed).map_err(|e| {
                    Error::new(format!("invalid URL {input:?}: {e}"))
                        .with_hint("an HTTP store URL looks like https://host/path/store.zarr")
                })?;
                let host = parsed.host_str().unwrap_or_default();
                if host.is_empty() {
                    return Err(Error::new(format!("URL {input:?} has no host")));
                }
                let base = match parsed.port() {
                    Some(port) => format!("{}://{host}:{port}", parsed.scheme()),
                    None => format!("{}://{host}", parsed.scheme()),
                };
                // The server's key is the decoded URL path (object_store's
                // HTTP client encodes each segment again).
                let decoded = crate::keys::from_url_path(parsed.path()).map_err(|e| {
                    Error::new(format!("invalid URL {input:?}: {e}"))
                        .with_hint("percent-escapes in the path must decode to UTF-8 text")
                })?;
                let prefix = clean_prefix(&decoded);
                let url = join_url(&base, &prefix);
                Ok(Self {
                    reference: false,
                    version: None,
                    backend: Backend::Http { base },
                    prefix,
                    url,
                })
            }
            "file" => {
                let parsed = url::Url::parse(trimmed)
                    .map_err(|e| Error::new(format!("invalid file URL {input:?}: {e}")))?;
                let path = parsed.to_file_path().map_err(|()| {
                    Error::new(format!("file URL {input:?} does not name a local path"))
                        .with_hint("use file:///absolute/path/store.zarr or a plain path")
                })?;
                Self::local(path)
            }
            other => Err(
                Error::new(format!("unsupported URL scheme {other:?} in {input:?}"))
                    .with_hint(format!("zarrscope reads {SUPPORTED}")),
            ),
        }
    }

    /// `https://ACCOUNT.blob.core.windows.net/CONTAINER/path[?SAS]`: Azure,
    /// not plain HTTP. Messages about it never show the query (a SAS token).
    fn azure_https(input: &str) -> Result<Self> {
        let shown = input.split_once('?').map_or(input, |(url, _)| url);
        let parsed = url::Url::parse(input).map_err(|e| {
            Error::new(format!("invalid URL {shown:?}: {e}"))
                .with_hint("an Azure blob URL looks like https://ACCOUNT.blob.core.windows.net/CONTAINER/path/store.zarr")
        })?;
        let host = parsed.host_str().unwrap_or_default();
        let account = azure_account(host)
            .ok_or_else(|| Error::new(format!("{shown:?} does not name a storage account")))?;
        let decoded = crate::keys::from_url_path(parsed.path()).map_err(|e| {
            Error::new(format!("invalid URL {shown:?}: {e}"))
                .with_hint("percent-escapes in the path must decode to UTF-8 text")
        })?;
        let path = decoded.trim_start_matches('/');
        let (container, rest) = path.split_once('/').unwrap_or((path, ""));
        if container.is_empty() {
            return Err(
                Error::new(format!("no container name in {shown:?}")).with_hint(
                    "write https://ACCOUNT.blob.core.windows.net/CONTAINER/path/store.zarr",
                ),
            );
        }
        let prefix = rest.strip_suffix('/').unwrap_or(rest).to_string();
        let sas = parsed
            .query()
            .filter(|q| !q.trim().is_empty())
            .map(|q| SasToken(q.to_string()));
        let base = format!("https://{host}/{container}");
        Ok(Self {
            reference: false,
            version: None,
            url: join_url(&base, &prefix),
            backend: Backend::Azure {
                container: container.to_string(),
                account: Some(account),
                sas,
            },
            prefix,
        })
    }

    fn new(backend: Backend, prefix: String, scheme: &str) -> Self {
        let bucket = match &backend {
            Backend::S3 { bucket } | Backend::Gcs { bucket } => bucket.clone(),
            Backend::Azure { container, .. } => container.clone(),
            Backend::Http { base } => base.clone(),
            Backend::Local { root } => root.display().to_string(),
        };
        let url = join_url(&format!("{scheme}://{bucket}"), &prefix);
        Self {
            reference: false,
            version: None,
            backend,
            prefix,
            url,
        }
    }

    fn local(path: PathBuf) -> Result<Self> {
        Self::local_with(path, false)
    }

    /// A local path; `any_file`: a regular file of any name is accepted
    /// (`reference://` said it is a reference file).
    fn local_with(path: PathBuf, any_file: bool) -> Result<Self> {
        let root = path.canonicalize().map_err(|e| {
            Error::new(format!(
                "local path {} cannot be opened: {e}",
                path.display()
            ))
            .with_hint("check the path, or give a URL such as s3://bucket/store.zarr")
        })?;
        let name = root.file_name().map(|n| n.to_string_lossy().to_string());
        if !root.is_dir() && !any_file && !name.is_some_and(|n| names_a_reference_file(&n)) {
            return Err(
                Error::new(format!("local path {} is not a directory", root.display())).with_hint(
                    "point at the store's root directory (the one holding .zmetadata or zarr.json)",
                ),
            );
        }
        let url = root.display().to_string();
        // The file system is the "bucket": keys are absolute paths without
        // the leading `/`, so a path inside a store can look at its parents.
        let prefix = clean_prefix(&root.to_string_lossy());
        Ok(Self {
            reference: false,
            version: None,
            backend: Backend::Local {
                root: PathBuf::from("/"),
            },
            prefix,
            url,
        })
    }

    /// The URL of a bucket-relative `key` (`s3://bucket/{key}`).
    pub fn url_of(&self, key: &str) -> String {
        let base = match self.url.strip_suffix(self.prefix.as_str()) {
            Some(base) if !self.prefix.is_empty() => base.trim_end_matches('/'),
            _ => self.url.as_str(),
        };
        join_url(base, key)
    }

    /// The full bucket-relative key of `key` inside this store.
    pub fn key(&self, key: &str) -> String {
        crate::keys::join(&self.prefix, key)
    }
}

/// The Azure storage services' hosts: `ACCOUNT.blob.core.windows.net`
/// (Blob API) and `ACCOUNT.dfs.core.windows.net` (the same account's Data
/// Lake name, which abfs URLs use).
const AZURE_HOST_SUFFIXES: [&str; 2] = [".blob.core.windows.net", ".dfs.core.windows.net"];

/// The storage account of an Azure service host, if `host` is one.
fn azure_account(host: &str) -> Option<String> {
    let host = host.to_ascii_lowercase();
    let account = AZURE_HOST_SUFFIXES
        .iter()
        .find_map(|suffix| host.strip_suffix(suffix))?;
    // Account names are 3-24 lower-case letters and digits.
    let valid = !account.is_empty()
        && account.len() <= 24
        && account.chars().all(|c| c.is_ascii_alphanumeric());
    valid.then(|| account.to_string())
}

/// An `https://` URL on an Azure storage host (not a plain HTTP server).
fn is_azure_blob_url(url: &str) -> bool {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(azure_account))
        .flatten()
        .is_some()
}

fn split_bucket(rest: &str, input: &str) -> Result<(String, String)> {
    let (bucket, path) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(Error::new(format!("no bucket name in {input:?}"))
            .with_hint("write it as s3://bucket/path/to/store.zarr"));
    }
    // The rest is the key as typed (`a//b` and `a/b` are different keys);
    // only the one trailing `/` that marks a directory is dropped.
    Ok((
        bucket.to_string(),
        path.strip_suffix('/').unwrap_or(path).to_string(),
    ))
}

/// Drop leading/trailing and doubled slashes: `//a//b/` → `a/b`.
fn clean_prefix(path: &str) -> String {
    path.split('/')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("/")
}

/// A URL and a key below it (`""`: the URL itself). Not
/// [`crate::keys::join`]: an empty base (a local path's root) still takes
/// the `/`.
fn join_url(base: &str, prefix: &str) -> String {
    if prefix.is_empty() {
        base.to_string()
    } else {
        format!("{base}/{prefix}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_icechunk_version_is_split_off_the_end_and_nothing_else() {
        assert_eq!(
            split_version("s3://b/repo.icechunk@branch.dev"),
            ("s3://b/repo.icechunk", Some("branch.dev"))
        );
        assert_eq!(
            split_version("s3://b/r@tag.v1"),
            ("s3://b/r", Some("tag.v1"))
        );
        assert_eq!(
            split_version("/data/r@G2Q9MJ58VZNXQS76XS80"),
            ("/data/r", Some("G2Q9MJ58VZNXQS76XS80"))
        );
        for unchanged in [
            "abfss://container@account.dfs.core.windows.net/x",
            "abfss://container@account.dfs.core.windows.net",
            "s3://b/p%q:r@s!(t)'u",
            "s3://b/name@branch.",
            "s3://b/name@g2q9mj58vznxqs76xs80",
            "s3://b/a@branch.x/inner",
        ] {
            assert_eq!(split_version(unchanged), (unchanged, None), "{unchanged}");
        }
        let parsed = Location::parse_versioned("s3://b/repo.icechunk@tag.v2").unwrap();
        assert_eq!(parsed.version.as_deref(), Some("tag.v2"));
        assert_eq!(parsed.prefix, "repo.icechunk");
        let key = Location::parse("s3://b/repo.icechunk@tag.v2").unwrap();
        assert_eq!(
            (key.prefix.as_str(), key.version),
            ("repo.icechunk@tag.v2", None)
        );
    }

    #[test]
    fn s3_forms_normalise() {
        let l = Location::parse("s3a://noaa-nwm/chrtout.zarr/").unwrap();
        assert_eq!(
            l.backend,
            Backend::S3 {
                bucket: "noaa-nwm".into()
            }
        );
        assert_eq!(l.prefix, "chrtout.zarr");
        assert_eq!(l.url, "s3://noaa-nwm/chrtout.zarr");
        assert_eq!(l.key(".zmetadata"), "chrtout.zarr/.zmetadata");
        assert_eq!(l.url_of("other/key"), "s3://noaa-nwm/other/key");

        let root = Location::parse("s3://bucket").unwrap();
        assert_eq!(root.prefix, "");
        assert_eq!(root.key("zarr.json"), "zarr.json");
    }

    #[test]
    fn cloud_and_http_forms() {
        let g = Location::parse("gs://b/x/y/").unwrap();
        assert_eq!(g.prefix, "x/y");
        assert_eq!(g.url, "gs://b/x/y");
        // Bucket keys are names: a doubled slash is part of the key.
        let doubled = Location::parse("s3://b/x//y/").unwrap();
        assert_eq!(doubled.prefix, "x//y");
        let a = Location::parse("abfss://cont@acct.dfs.core.windows.net/p").unwrap();
        assert_eq!(
            a.backend,
            Backend::Azure {
                container: "cont".into(),
                account: Some("acct".into()),
                sas: None,
            }
        );
        assert_eq!(a.url, "abfss://cont@acct.dfs.core.windows.net/p");
        let az = Location::parse("az://cont/p/").unwrap();
        assert_eq!(
            (az.backend, az.url.as_str()),
            (
                Backend::Azure {
                    container: "cont".into(),
                    account: None,
                    sas: None,
                },
                "az://cont/p"
            )
        );
        let h = Location::parse("https://example.org:8443/data/store.zarr/").unwrap();
        assert_eq!(
            h.backend,
            Backend::Http {
                base: "https://example.org:8443".into()
            }
        );
        assert_eq!(h.prefix, "data/store.zarr");
        let encoded = Location::parse("https://example.org/a%20b/pct%2541.zarr").unwrap();
        assert_eq!(
            encoded.prefix, "a b/pct%41.zarr",
            "the key is the decoded path"
        );
        let raw = Location::parse("s3://b/home~user/pct%41#x").unwrap();
        assert_eq!(
            raw.prefix, "home~user/pct%41#x",
            "an s3 URL's rest is the key as typed"
        );
    }

    #[test]
    fn azure_https_urls_are_azure_and_keep_their_sas_out_of_sight() {
        let l = Location::parse(
            "https://acct.blob.core.windows.net/cont/a%20b/store.zarr/?sv=2022-11-02&sig=SIG%2BMARKER%3D",
        )
        .unwrap();
        let Backend::Azure {
            container,
            account,
            sas,
        } = &l.backend
        else {
            panic!("not Azure: {l:?}");
        };
        assert_eq!(
            (container.as_str(), account.as_deref()),
            ("cont", Some("acct"))
        );
        assert_eq!(
            sas.as_ref().map(SasToken::expose),
            Some("sv=2022-11-02&sig=SIG%2BMARKER%3D")
        );
        assert_eq!(l.prefix, "a b/store.zarr");
        assert_eq!(
            l.url,
            "https://acct.blob.core.windows.net/cont/a b/store.zarr"
        );
        assert!(!format!("{l:?}").contains("MARKER"), "Debug shows the SAS");
        assert!(names_a_directory(
            "https://acct.blob.core.windows.net/cont/dir/?sv=1&sig=x"
        ));
        assert!(!names_a_directory(
            "https://acct.blob.core.windows.net/cont/key?sv=1&sig=x/"
        ));
        assert!(names_a_directory("az://cont/dir/"));
        let e = Location::parse("https://acct.blob.core.windows.net/?sig=SECRET").unwrap_err();
        assert!(e.to_string().contains("no container name"), "{e}");
        assert!(!e.to_string().contains("SECRET"), "{e}");
        // Other hosts stay plain HTTP.
        let h = Location::parse("https://blob.core.windows.net.example.org/c/x").unwrap();
        assert!(matches!(h.backend, Backend::Http { .. }));
        let e = Location::parse("abfss://cont@elsewhere.example.org/p").unwrap_err();
        assert!(e.to_string().contains("storage account"), "{e}");
    }

    #[test]
    fn bad_inputs_explain() {
        let e = Location::parse("ftp://x/y").unwrap_err();
        assert!(
            e.to_string().contains("unsupported URL scheme \"ftp\""),
            "{e}"
        );
        let e = Location::parse("s3:///key").unwrap_err();
        assert!(e.to_string().contains("no bucket name"), "{e}");
        let e = Location::parse("/definitely/not/here.zarr").unwrap_err();
        assert!(e.to_string().contains("cannot be opened"), "{e}");
    }

    #[test]
    fn local_paths() {
        let dir = std::env::temp_dir();
        let l = Location::parse(dir.to_str().unwrap()).unwrap();
        assert!(matches!(l.backend, Backend::Local { .. }));
        let f = Location::parse(&format!("file://{}", dir.display())).unwrap();
        assert_eq!(l.backend, f.backend);
    }
}
