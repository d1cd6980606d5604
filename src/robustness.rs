//! Entry points for the fuzzer (`fuzz/`) and for replaying its corpora and
//! past crashes as regression tests (`tests/fuzz_corpus.rs`).
//!
//! [`exercise_cli`]: the command line — arbitrary argv through clap, every
//! URL it holds through [`Location::parse`], every endpoint through the same
//! check the client relies on, and the request URIs object_store would build
//! from them. Nothing is run and nothing touches the network.
//!
//! [`exercise`]: one entry point over every metadata reader and everything
//! downstream of it. The first byte picks the
//! document kind: v2 `.zmetadata`, a lone v2 `.zarray` (its `attributes`
//! member as `.zattrs`), or a v3 `zarr.json` (consolidated or not). Whatever
//! parses is built into a hierarchy and rendered every way, viewed, linted
//! and compared. Any panic is a bug.

use clap::Parser;

use crate::cli::{AccessArgs, Cli, Command};
use crate::compare::compare;
use crate::dataset::{array_detail, dataset};
use crate::hierarchy::Hierarchy;
use crate::lint::{Severity, lint};
use crate::location::{Backend, Location};
use crate::metadata::{self, Attributes, NodeDoc, NodeKind};
use crate::render::{JsonRenderer, Renderer, Stats, TableRenderer, TreeRenderer};
use crate::source::consolidated::read_root;
use crate::store::credentials::check_endpoint;

/// What [`exercise`] made of one input it could read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// Nodes in the hierarchy built from the input.
    pub nodes: usize,
    /// Arrays whose metadata could not be read: their detail view is an
    /// error by design, so they are counted, not listed as failures.
    pub invalid_arrays: usize,
    /// Lint findings of severity error, as "path: message" (about the
    /// document, not a failure of lint).
    pub lint_errors: Vec<String>,
    /// Every stage that went wrong, as "stage: reason": a renderer that
    /// failed or wrote nothing, a readable array whose detail view failed,
    /// a hierarchy that differs from itself.
    pub failures: Vec<String>,
}

fn exercise_hierarchy(h: &Hierarchy) -> Outcome {
    let mut outcome = Outcome {
        nodes: h.nodes.len(),
        ..Outcome::default()
    };
    let renderers: [(&str, &dyn Renderer); 4] = [
        (
            "tree with attributes and sizes",
            &TreeRenderer {
                attrs: true,
                depth: None,
                color: false,
                sizes: true,
            },
        ),
        (
            "coloured tree at depth 1",
            &TreeRenderer {
                attrs: false,
                depth: Some(1),
                color: true,
                sizes: false,
            },
        ),
        ("table", &TableRenderer { width: Some(60) }),
        ("json", &JsonRenderer),
    ];
    for (name, r) in renderers {
        let mut sink = Vec::new();
        match r.render(h, Stats::default(), &mut sink) {
            Err(e) => outcome.failures.push(format!("render {name}: {e}")),
            Ok(()) if sink.is_empty() => outcome
                .failures
                .push(format!("render {name}: wrote nothing")),
            Ok(()) => {}
        }
    }
    for i in 0..h.nodes.len().min(64) {
        match &h.nodes[i].kind {
            NodeKind::Group => {
                dataset(h, i);
            }
            NodeKind::InvalidArray { .. } => {
                outcome.invalid_arrays += 1;
                // Must say why, not panic.
                if array_detail(h, i).is_ok() {
                    outcome.failures.push(format!(
                        "array_detail {}: an unreadable array has a detail view",
                        h.nodes[i].path
                    ));
                }
            }
            NodeKind::Array(_) => {
                if let Err(e) = array_detail(h, i) {
                    outcome.failures.push(format!("array_detail: {e}"));
                }
            }
        }
    }
    outcome.invalid_arrays += h.nodes[h.nodes.len().min(64)..]
        .iter()
        .filter(|n| matches!(n.kind, NodeKind::InvalidArray { .. }))
        .count();
    outcome.lint_errors = lint(h)
        .into_iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| format!("{}: {}", f.path, f.message))
        .collect();
    let comparison = compare(h, h);
    if !comparison.is_empty() {
        outcome
            .failures
            .push(format!("compare: differs from itself: {comparison:?}"));
    }
    outcome
}

/// Read `data` as the fuzzer does: `None` when no reader accepts it, else
/// what every stage downstream made of the hierarchy built from it.
pub fn exercise(data: &[u8]) -> Option<Outcome> {
    let (&which, rest) = data.split_first()?;
    let url = "s3://bucket/fuzz.zarr";
    let h = match which % 3 {
        0 => read_root(url, ".zmetadata", rest).ok()?.hierarchy(),
        1 => {
            let doc = metadata::json::parse(rest).ok()?;
            let attrs = doc
                .get("attributes")
                .and_then(|a| a.as_object())
                .cloned()
                .map(Attributes::from_map)
                .unwrap_or_default();
            let node = NodeDoc {
                path: String::new(),
                kind: metadata::v2::array_kind(rest, &attrs),
                attributes: attrs,
            };
            Hierarchy::new(url, 2, false, vec![node], vec![])
        }
        _ => read_root(url, "zarr.json", rest).ok()?.hierarchy(),
    };
    Some(exercise_hierarchy(&h))
}

/// argv from fuzz bytes: arguments separated by NUL (as in
/// `/proc/PID/cmdline`), each read as UTF-8 with replacement.
pub fn argv(data: &[u8]) -> Vec<String> {
    std::iter::once("zarrscope".to_string())
        .chain(
            data.split(|&b| b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned()),
        )
        .collect()
}

/// The URL arguments and access flags of a parsed command line.
fn urls_and_access(command: &Command) -> (Vec<&str>, Option<&AccessArgs>) {
    match command {
        Command::Tree(a) => (vec![&a.url], Some(&a.access)),
        Command::Show(a) => (vec![&a.url], Some(&a.access)),
        Command::Check(a) => (vec![&a.url], Some(&a.access)),
        Command::Consolidate(a) => (vec![&a.url], Some(&a.access)),
        Command::Diff(a) => (vec![&a.url_a, &a.url_b], Some(&a.access)),
        Command::Ls(a) => (vec![&a.url], Some(&a.access)),
        Command::Glob(a) => (vec![&a.pattern], Some(&a.access)),
        Command::Info(a) => (vec![&a.url], Some(&a.access)),
        Command::Head(a) => (vec![&a.url], Some(&a.access)),
        Command::Cat(a) => (vec![&a.url], Some(&a.access)),
        Command::Du(a) => (vec![&a.url], Some(&a.access)),
        Command::Cp(a) | Command::Mv(a) => (vec![&a.src, &a.dst], Some(&a.access)),
        Command::Rm(a) => (vec![&a.url], Some(&a.access)),
        Command::Mkdir(a) => (vec![&a.url], Some(&a.access)),
        #[allow(unreachable_patterns)] // commands added later need no URL
        _ => (Vec::new(), None),
    }
}

/// The request URI object_store builds for a key under `endpoint` must be
/// valid: an invalid one panics inside object_store ("request must be
/// valid"). Returns whether it is.
fn request_uri_is_valid(endpoint: &str, bucket: &str) -> bool {
    let uri = format!("{endpoint}/{bucket}/store.zarr/zarr.json");
    let mut request =
        object_store::client::HttpRequest::new(object_store::client::HttpRequestBody::empty());
    match uri.parse() {
        Ok(parsed) => {
            *request.uri_mut() = parsed;
            true
        }
        Err(_) => false,
    }
}

/// Parse `data` as a command line the way `zarrscope` does, then every URL
/// and endpoint in it. Returns whether clap accepted the arguments. Panics
/// when an endpoint the check accepted would make an invalid request, as
/// object_store would.
pub fn exercise_cli(data: &[u8]) -> bool {
    let args = argv(data);
    // Each argument also as a bare endpoint and location.
    for arg in &args[1..] {
        if let Ok(endpoint) = check_endpoint(arg) {
            assert!(
                request_uri_is_valid(&endpoint, "bucket"),
                "endpoint {arg:?} passed the check but makes an invalid request URI"
            );
            assert_eq!(check_endpoint(&endpoint).as_deref(), Ok(endpoint.as_str()));
        }
        if arg.contains("://") {
            let _ = Location::parse(arg);
        }
    }
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.render().to_string();
            return false;
        }
    };
    let (urls, access) = urls_and_access(&cli.command);
    let endpoint = access.and_then(|a| a.endpoint_url.clone());
    if let Some(endpoint) = &endpoint {
        // The value parser already checked it: the check must agree.
        assert!(check_endpoint(endpoint).is_ok(), "{endpoint:?}");
    }
    for url in urls.into_iter().filter(|u| u.contains("://")) {
        let Ok(location) = Location::parse(url) else {
            continue;
        };
        let _ = location.url_of("a/b");
        let _ = location.key("zarr.json");
        match (&location.backend, &endpoint) {
            // A bucket name the store accepts must make a valid request too,
            // or object_store panics on it.
            (Backend::S3 { bucket }, Some(endpoint))
                if crate::store::backend::check_bucket_name(bucket).is_ok() =>
            {
                assert!(request_uri_is_valid(endpoint, bucket), "{bucket:?}");
            }
            (Backend::Http { base }, _) => {
                let _ = object_store::http::HttpBuilder::new()
                    .with_url(base)
                    .build();
            }
            _ => {}
        }
    }
    if let Some(access) = access {
        let flags = access.store_options(0).s3;
        let _ = flags.to_args();
        // Flags → settings as the client gets them, with no environment
        // and no profile files.
        let env = std::collections::HashMap::<String, String>::new();
        let settings = runtime().block_on(async {
            let profiles = crate::store::profile::Profiles::load(&env).await.ok()?;
            crate::store::credentials::S3Settings::resolve(&flags, &env, &profiles).ok()
        });
        if let Some(settings) = settings {
            let endpoint = settings
                .endpoint
                .unwrap_or_else(|| format!("https://bucket.s3.{}.amazonaws.com", settings.region));
            assert!(request_uri_is_valid(&endpoint, "bucket"), "{endpoint:?}");
        }
    }
    true
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("cannot start a runtime for the fuzzer: {e}"))
    })
}
