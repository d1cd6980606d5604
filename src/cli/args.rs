//! Every flag of the command line, documented once, here, with long help:
//! the clap structs, their value parsers and the groups commands share
//! (`AccessArgs`, `ReportArgs`, `CrawlArgs`, `SourceArgs`, `JsonArg`, …).
//! Nothing here runs a command.

use std::sync::Arc;
use std::time::Duration;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

use crate::store::StoreOptions;
use crate::store::credentials::S3Flags;

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  findings (reported by commands that compare or lint)
  2  usage, access or input error";

const TOP_EXAMPLE: &str = "\
Example:
  zarrscope tree s3://noaa-nwm-retrospective-2-1-zarr-pds/chrtout.zarr --anon
  zarrscope tree --help    (more examples: CONUS404 on the OSN endpoint, JSON, -v)";

const TREE_EXAMPLES: &str = "\
Examples:
  # NWM v2.1 retrospective streamflow, public on AWS (anonymous):
  zarrscope tree s3://noaa-nwm-retrospective-2-1-zarr-pds/chrtout.zarr --anon

  # CONUS404 on the Open Storage Network pod (custom, path-style endpoint):
  zarrscope tree s3://hytest/conus404/conus404_hourly.zarr --anon \\
      --endpoint-url https://usgs.osn.mghpcc.org

  # One row per array, or JSON for scripts:
  zarrscope tree s3://noaa-nwm-retrospective-2-1-zarr-pds/chrtout.zarr --anon --format table
  zarrscope tree fixtures/nwm-chrtout-v2.zarr --json

  # See every request (method, key, status, bytes, ms) and the totals:
  zarrscope tree s3://noaa-nwm-retrospective-2-1-zarr-pds/chrtout.zarr --anon -v --stats";

/// Explore Zarr stores in object storage from their metadata alone.
///
/// zarrscope reads consolidated metadata (Zarr v2 `.zmetadata`, Zarr v3
/// `consolidated_metadata` in the root `zarr.json`) through a guard that
/// refuses every non-metadata key and enforces a byte budget: it never
/// downloads array data.
///
/// Beside the tree it does the everyday object-store chores — ls, glob, info,
/// head, cat, du — and writes (cp, mv, rm, mkdir) that are dry runs until
/// confirmed with --yes.
#[derive(Debug, Parser)]
#[command(name = "zarrscope", version, after_help = format!("{TOP_EXAMPLE}\n\n{EXIT_CODES}"))]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Colour the output: auto (a terminal, unless NO_COLOR is set), always, never.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto, global = true, help_heading = "Output")]
    pub color: ColorChoice,

    /// Write the command's output to FILE instead of stdout (errors and
    /// notices still go to stderr).
    #[arg(
        short = 'o',
        long,
        value_name = "FILE",
        global = true,
        help_heading = "Output"
    )]
    pub output: Option<std::path::PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print a store's group/array tree from its consolidated metadata.
    ///
    /// Both metadata formats are probed at once (one round trip): the v3 root
    /// `zarr.json` and the v2 `.zmetadata`. A store without consolidated
    /// metadata is crawled instead, with a notice of what it cost
    /// (--consolidated-only makes that an error). No chunk is ever read.
    #[command(after_help = EXIT_CODES, after_long_help = format!("{TREE_EXAMPLES}\n\n{EXIT_CODES}"))]
    Tree(TreeArgs),
    /// What xarray's repr and zarr's `.info` show, from metadata alone.
    ///
    /// For a group: dimensions (a name with two sizes is flagged),
    /// coordinates and data variables with dims, dtype (CF-decoded type),
    /// size, chunks, units and names, sub-groups, attributes, and OME-Zarr
    /// multiscale images. For an array: zarr format, data type, shape, chunk
    /// and shard shapes, chunk grid, fill value, each codec, dimension names,
    /// sizes per chunk and shard, attributes. Nothing but metadata is read
    /// unless --coords asks for the first and last coordinate values.
    #[command(after_long_help = SHOW_EXAMPLES)]
    Show(ShowArgs),
    /// Compare consolidated metadata with the per-node metadata, and lint.
    ///
    /// Crawls the store (as `tree --crawl`) while reading its consolidated
    /// metadata, and reports nodes added since consolidation (only on disk),
    /// removed since (only in the consolidated metadata), and nodes whose
    /// metadata differ, field by field. Then lints from metadata alone:
    /// dimension names vs ndim, one dimension with different sizes, chunks
    /// larger than the shape, tiny or huge chunks, no compressor, unknown
    /// codecs. Exit 0 consistent, 1 stale, 2 error (--strict: lint warnings
    /// and errors also exit 1).
    Check(CheckArgs),
    /// Write consolidated metadata from a crawl (dry run unless --yes).
    ///
    /// v2: `.zmetadata` as zarr-python writes it; v3: `consolidated_metadata`
    /// inline in the root zarr.json, every other field kept. The dry run shows
    /// what would change against the current consolidated metadata. The write
    /// is a conditional PUT (If-Match the ETag read, If-None-Match when new):
    /// a concurrent change is reported, never overwritten. Only that one key
    /// can be written.
    #[command(after_long_help = WRITE_NOTES)]
    Consolidate(ConsolidateArgs),
    /// Compare two stores' metadata: nodes added/removed, and per array
    /// shape, chunks, dtype, codecs, fill value, dimension names, attributes.
    ///
    /// Each side is read as `tree` reads it: from consolidated metadata, per
    /// node (a crawl) where there is none, or always per node with --crawl.
    /// Exit 0 same, 1 different, 2 error.
    Diff(DiffArgs),
    /// What a kerchunk reference set holds and points at (`--verify`: are
    /// its target files still there?).
    ///
    /// Reads the reference set alone — a JSON file (spec version 0 or 1,
    /// plain, .zst or .gz) in one streamed pass, or a Parquet reference
    /// directory's .zmetadata and footers — never a byte of the files it
    /// points at: spec version, key counts (metadata, inline chunks and
    /// their bytes, referenced chunks), templates, `gen` entries (counted,
    /// not expanded), the distinct target files by protocol and prefix, the
    /// referenced bytes, and per array its references against the chunk
    /// grid (chunks without a reference read as the fill value).
    ///
    /// With --verify, every distinct target file gets one HEAD request (a
    /// bounded number at once, at most --max-requests): files missing,
    /// unreadable, or shorter than the furthest byte the references read
    /// are reported, and the exit code is 1.
    #[command(after_long_help = REFS_NOTES)]
    Refs(RefsArgs),
    /// The history of an Icechunk repository: each snapshot of a branch
    /// (default main), tag or snapshot back to the first, with its time,
    /// message, and what it changed in the metadata.
    ///
    /// The changes are found by comparing each snapshot's nodes with its
    /// parent's (added and removed groups and arrays, and per node the
    /// fields that differ: shape, chunks, attributes, …). Only refs and
    /// snapshots are read (spec v1: a listing of snapshots/ and every
    /// snapshot at once, bounded), never a manifest or a chunk.
    Log(LogArgs),
    /// Every dataset under a prefix: Zarr stores (v2, v3), Icechunk
    /// repositories and kerchunk reference sets, one line each.
    ///
    /// Walks delimited listings from URL, many at once; a directory is
    /// recognised as a dataset from its own listing and never listed below.
    /// Each dataset's metadata is read as soon as it is found: one GET for
    /// a consolidated store, a crawl for one without consolidated metadata.
    /// No chunk is ever read. Exit 0, or 1 when a dataset is broken, stale
    /// (--check), a directory could not be listed, or the request cap
    /// stopped the walk; 2 when URL cannot be listed.
    #[command(after_help = EXIT_CODES, after_long_help = FIND_NOTES)]
    Find(FindArgs),
    /// The entries of an intake YAML or STAC catalog; with ENTRY, that
    /// entry opened with the access the catalog declares.
    ///
    /// Each entry's fsspec storage_options (intake `args.storage_options`,
    /// STAC `xarray:storage_options`) map onto the access flags: `anon` is
    /// --anon, `profile` --profile, `client_kwargs.endpoint_url` (or
    /// `endpoint_url`) --endpoint-url, `client_kwargs.region_name`
    /// --region, `requester_pays` --requester-pays. For `reference://`
    /// entries `fo` is the reference file (read with `target_options`) and
    /// `remote_options` is the access to its targets. A flag given on the
    /// command line wins over the catalog's value of that field; a given
    /// --profile also drops the catalog's `anon`.
    #[command(after_long_help = CATALOG_EXAMPLES)]
    Catalog(CatalogArgs),
    /// List a prefix's immediate children (or everything below it with -r).
    ///
    /// One delimited LIST; objects are never read. Zarr stores recognisable
    /// from the listed keys are pointed out on stderr.
    #[command(disable_help_flag = true, after_long_help = LS_EXAMPLES)]
    Ls(LsArgs),
    /// Keys matching a pattern: *, ?, [abc], {a,b} within a segment, ** across.
    ///
    /// Only the pattern's fixed prefix is listed, one delimited LIST per
    /// level where the pattern allows it: `s3://bucket/*.zarr` is one LIST of
    /// the bucket's top level, never a walk of the whole bucket.
    #[command(after_long_help = GLOB_EXAMPLES)]
    Glob(GlobArgs),
    /// What a key is: size, ETag, last-modified, content type (one HEAD); for
    /// a prefix, its object count and total size (one listing).
    Info(InfoArgs),
    /// The first lines (or bytes) of an object, with small ranged GETs.
    ///
    /// Reads a 64 KiB window first and a larger one only if the lines are not
    /// complete; never more than --max-bytes, never the whole object unless
    /// it is that small.
    Head(HeadArgs),
    /// Print a whole object, only if it fits the byte budget (--max-bytes).
    Cat(CatArgs),
    /// Objects and bytes under a prefix, with a per-child breakdown (-d 1).
    #[command(disable_help_flag = true)]
    Du(DuArgs),
    /// Copy objects: local ↔ bucket, or bucket → bucket (server-side within a
    /// bucket). Dry run unless --yes.
    #[command(after_long_help = WRITE_NOTES)]
    Cp(TransferArgs),
    /// Move objects: copy, confirm the copy (HEAD, size), then delete the
    /// source. Dry run unless --yes.
    #[command(after_long_help = WRITE_NOTES)]
    Mv(TransferArgs),
    /// Delete an object, or everything under a prefix with -r. Dry run unless --yes.
    #[command(after_long_help = WRITE_NOTES)]
    Rm(RmArgs),
    /// Create an S3 bucket. (Prefixes need nothing: S3 has no directories.)
    /// Dry run unless --yes.
    #[command(after_long_help = WRITE_NOTES)]
    Mkdir(MkdirArgs),
    /// Print a shell completion script.
    ///
    /// Example: zarrscope completions bash > ~/.local/share/bash-completion/completions/zarrscope
    Completions {
        #[arg(value_enum)]
        shell: CompletionShell,
    },
    /// Print the manual page (roff).
    ///
    /// Example: zarrscope man > ~/.local/share/man/man1/zarrscope.1
    Man,
}

const SHOW_EXAMPLES: &str = "\
Examples:
  zarrscope show s3://noaa-nwm-retrospective-2-1-zarr-pds/chrtout.zarr --anon
  zarrscope show s3://noaa-nwm-retrospective-2-1-zarr-pds/chrtout.zarr streamflow --anon
  zarrscope show s3://hytest/conus404/conus404_hourly.zarr --anon \\
      --endpoint-url https://usgs.osn.mghpcc.org --coords";

const CATALOG_EXAMPLES: &str = "\
Examples:
  zarrscope catalog https://raw.githubusercontent.com/hytest-org/hytest/main/dataset_catalog/hytest_intake_catalog.yml
  zarrscope catalog hytest_intake_catalog.yml conus404-catalog/conus404-hourly-osn
  zarrscope catalog hytest_intake_catalog.yml conus404-catalog --check

Exit codes with --check:
  0  every entry checked is healthy
  1  an entry is broken (moved, access denied, stale, rotten references,
     a local path not on this machine)
  2  the catalog itself could not be read";

const LS_EXAMPLES: &str = "\
Examples:
  zarrscope ls s3://noaa-nwm-retrospective-2-1-zarr-pds/ --anon
  zarrscope ls -l -h s3://hytest/conus404/ --anon --endpoint-url https://usgs.osn.mghpcc.org
  zarrscope ls -r --json s3://bucket/store.zarr/";

const GLOB_EXAMPLES: &str = "\
Examples:
  zarrscope glob 's3://noaa-nwm-retrospective-2-1-zarr-pds/*.zarr' --anon
  zarrscope glob 's3://bucket/data/**/zarr.json'
Quote the pattern so the shell does not expand it.";

const WRITE_NOTES: &str = "\
Safety:
  Without --yes nothing is written: the command prints exactly what would
  change (objects, bytes, what would be overwritten) and exits 0.
  Writes are refused with --anon and without credentials.
  A failure half-way stops the run and reports what was done, what failed and
  what was not attempted (exit 2). mv deletes a source only after a HEAD of
  its copy confirmed the size.";

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ColorChoice {
    /// Colour when the output is a terminal and NO_COLOR is unset.
    #[default]
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Box-drawing tree, arrays with shape, dtype, chunks and codecs.
    Tree,
    /// One row per array.
    Table,
    /// One JSON document (schema in the README).
    Json,
}

/// `tree`'s output: a format, or `--json` for short.
#[derive(Debug, Args)]
pub struct TreeOutputArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Tree)]
    pub format: Format,

    /// Short for `--format json`.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
}

impl TreeOutputArgs {
    /// The format asked for, `--json` included.
    pub fn format(&self) -> Format {
        if self.json { Format::Json } else { self.format }
    }
}

/// `--json` of the commands whose only output choice it is.
#[derive(Debug, Args)]
pub struct JsonArg {
    /// One JSON document.
    #[arg(long)]
    pub json: bool,
}

const FIND_NOTES: &str = "\
What each dataset costs:
  A directory: one LIST (a dataset root: its first page only). A consolidated
  Zarr store (v2 .zmetadata, v3 zarr.json): one GET; a lone v2 array: .zarray
  and .zattrs; a store without consolidated metadata: a crawl (as tree does),
  within --max-requests; an Icechunk repository: its repo file or main ref,
  then the snapshot; a Parquet reference directory: its .zmetadata. Each
  *.json, *.json.zst, *.json.gz file: one ranged GET of its first 4 KiB
  (decompressed to at most 64 KiB) to see whether it is a kerchunk reference
  set; only those that are are read, whole. Others are skipped and counted
  on stderr. --max-bytes bounds every byte read together (default 512MiB).

Output:
  One line per dataset, sorted by URL: URL, kind (zarr, icechunk,
  kerchunk-json, kerchunk-parquet), Zarr format, metadata (consolidated,
  unconsolidated, stale with --check, listed for Icechunk and references),
  arrays, groups, logical size, last modified, dimensions (name=size). With
  --json, JSON Lines: one object per dataset as it is read, keys url, kind,
  zarr_format, metadata, arrays, groups, dimensions [{name, size}], nbytes,
  last_modified, error.

Examples:
  zarrscope find s3://bucket/prefix/ --anon
  zarrscope find s3://bucket/ --json > inventory.jsonl
  duckdb -c \"select kind, count(*) from read_json_auto('inventory.jsonl') group by kind\"";

const REFS_NOTES: &str = "\
Access to the target files:
  The access flags (--anon, --profile, --endpoint-url, --region, …) apply to
  the reference file and to its targets alike. fsspec's remote_protocol is
  the scheme of each target URL (s3://, gs://, https://, a path); its
  remote_options map onto the same flags: anon=True is --anon,
  client_kwargs.endpoint_url is --endpoint-url, profile is --profile.

Examples:
  zarrscope refs s3://bucket/refs/daymet.json
  zarrscope refs https://usgs.osn.mghpcc.org/hytest/daymet.json \\
      --endpoint-url https://usgs.osn.mghpcc.org --anon --verify
  zarrscope refs reference://s3://bucket/refs/set.json.zst --json";

#[derive(Debug, Args)]
pub struct FindArgs {
    /// The prefix to search: s3://bucket/prefix, gs://…, az://…, a local
    /// directory.
    pub url: String,

    /// Most requests in flight at once for the whole command (listings and
    /// metadata reads together).
    ///
    /// The ceiling of an adaptive bound: it starts at 128 (or N if lower),
    /// grows while the store keeps up, and is cut by about half, with
    /// jitter, when the store throttles (503 SlowDown, 429), as S3 asks.
    #[arg(long, value_name = "N", default_value_t = crate::find::DEFAULT_CONCURRENCY, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=4096))]
    pub concurrency: usize,

    /// Most requests the command may make; past it no request is started,
    /// what was found is printed with a warning, and the exit code is 1.
    #[arg(long, value_name = "N", default_value_t = crate::find::DEFAULT_MAX_REQUESTS, value_parser = clap::builder::RangedU64ValueParser::<u64>::new().range(1..))]
    pub max_requests: u64,

    /// How many prefix levels below URL to list (0: URL's own listing
    /// only). Default: no limit (--max-requests still bounds the walk).
    #[arg(long, value_name = "N")]
    pub depth: Option<usize>,

    /// Also crawl each consolidated Zarr store and compare it with its
    /// consolidated metadata: `stale` when they differ (exit 1).
    #[arg(long)]
    pub check: bool,

    /// JSON Lines: one object per dataset, written as each is read.
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub access: AccessArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Args)]
pub struct CatalogArgs {
    /// The catalog: an intake YAML file or a STAC collection, item or
    /// catalog (JSON); a local path, s3://…, https://….
    pub url: String,
    /// An entry's name: print its tree, opened with the access the catalog
    /// declares. A sub-catalog entry (intake YAMLFileCatalog, a STAC item
    /// or child link) lists that catalog; NAME/ENTRY walks into it.
    pub entry: Option<String>,
    /// One JSON document: the entries (with --check, each one's health);
    /// with ENTRY, the entry's tree as `tree --json` writes it.
    #[arg(long)]
    pub json: bool,
    /// With ENTRY: print what `show` prints instead of the tree.
    #[arg(long, requires = "entry")]
    pub show: bool,
    /// Open every entry's metadata (each with its own access) and report
    /// which are reachable and which are broken: moved, access denied,
    /// stale consolidated metadata, rotten references, a local path not on
    /// this machine. Exit 1 when one is broken.
    #[arg(long, conflicts_with = "show", help_heading = "Check")]
    pub check: bool,
    /// Entries checked at once with --check.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=256), help_heading = "Check")]
    pub parallel: usize,
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub access: AccessArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Args)]
pub struct LogArgs {
    /// The repository, optionally with a version: URL@branch.NAME,
    /// URL@tag.NAME or URL@SNAPSHOT_ID.
    pub url: String,
    #[command(flatten)]
    pub output: JsonArg,
    /// Most snapshots read; a longer history is an error naming it.
    #[arg(long, value_name = "N", default_value_t = crate::source::crawl::DEFAULT_MAX_REQUESTS)]
    pub max_requests: u64,
    #[command(flatten)]
    pub access: AccessArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Args)]
pub struct RefsArgs {
    /// The reference set: a .json file (or .json.zst/.json.gz), a Parquet
    /// reference directory, or reference://URL; or an Icechunk repository
    /// (its branches and tags).
    pub url: String,
    #[command(flatten)]
    pub output: JsonArg,
    /// HEAD every distinct target file and report those missing,
    /// unreadable or too short; exit 1 when one is.
    #[arg(long, help_heading = "Verify")]
    pub verify: bool,
    /// HEAD requests in flight at once with --verify.
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1024), help_heading = "Verify")]
    pub concurrency: usize,
    /// Most HEAD requests --verify makes; targets past it are reported as
    /// not checked.
    #[arg(long, value_name = "N", default_value_t = crate::source::crawl::DEFAULT_MAX_REQUESTS, help_heading = "Verify")]
    pub max_requests: u64,
    #[command(flatten)]
    pub access: AccessArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Args)]
pub struct TreeArgs {
    /// The store: s3://bucket/path/store.zarr, gs://…, az://…, https://…,
    /// file://… or a local path. `s3a://` and trailing slashes are fine.
    pub url: String,

    #[command(flatten)]
    pub output: TreeOutputArgs,

    /// Show each node's attributes under it (tree format).
    #[arg(long)]
    pub attrs: bool,

    /// Show at most N levels below the root (tree format).
    #[arg(long, value_name = "N")]
    pub depth: Option<usize>,

    /// Logical size of every array, and per group the arrays and bytes below it.
    #[arg(long)]
    pub sizes: bool,

    #[command(flatten)]
    pub source: SourceArgs,

    #[command(flatten)]
    pub access: AccessArgs,

    #[command(flatten)]
    pub report: ReportArgs,
}

/// Where a tree is read from, and how a crawl runs. Shared by the commands
/// that read one (tree, show, diff).
#[derive(Debug, Args)]
pub struct SourceArgs {
    /// Read every node's own metadata (a crawl) even where consolidated
    /// metadata exists.
    ///
    /// To see past stale consolidated metadata: one delimited listing per
    /// group, node documents fetched in parallel (--concurrency), metadata
    /// keys only. A store without consolidated metadata is crawled without
    /// this flag (a notice on stderr says so and what it cost).
    #[arg(long, help_heading = "Crawl")]
    pub crawl: bool,

    /// Read consolidated metadata only: a store without it is an error
    /// (exit 2), never a crawl. For scripts that must keep to a few requests.
    #[arg(long, conflicts_with = "crawl", help_heading = "Crawl")]
    pub consolidated_only: bool,

    #[command(flatten)]
    pub crawling: CrawlArgs,

    /// The tip of this branch of an Icechunk repository (as URL@branch.NAME).
    #[arg(
        long,
        value_name = "NAME",
        group = "version",
        help_heading = "Icechunk"
    )]
    pub branch: Option<String>,

    /// This tag of an Icechunk repository (as URL@tag.NAME).
    #[arg(
        long,
        value_name = "NAME",
        group = "version",
        help_heading = "Icechunk"
    )]
    pub tag: Option<String>,

    /// This snapshot of an Icechunk repository (as URL@SNAPSHOT_ID; `zarrscope
    /// log URL` lists them).
    #[arg(long, value_name = "ID", group = "version", help_heading = "Icechunk")]
    pub snapshot: Option<String>,
}

impl SourceArgs {
    /// The location `url` names, with the Icechunk version the flags name
    /// (a version written after `@` in the URL, or one flag, not both).
    pub fn location(&self, url: &str) -> crate::error::Result<crate::location::Location> {
        let mut location = crate::location::Location::parse_versioned(url)?;
        let flag = match (&self.branch, &self.tag, &self.snapshot) {
            (Some(b), _, _) => Some(format!("branch.{b}")),
            (_, Some(t), _) => Some(format!("tag.{t}")),
            (_, _, Some(id)) => Some(id.clone()),
            _ => None,
        };
        if let Some(flag) = flag {
            if let Some(written) = &location.version {
                return Err(crate::error::Error::new(format!(
                    "two versions asked for: @{written} in the URL and {flag} by flag"
                ))
                .with_hint("give the version once: URL@VERSION, or --branch/--tag/--snapshot"));
            }
            location.version = Some(flag);
        }
        Ok(location)
    }
}

/// How a crawl runs. Shared by every command that crawls.
#[derive(Debug, Args)]
pub struct CrawlArgs {
    /// Most requests in flight at once during a crawl. The crawl starts at
    /// 64 (or N if lower), goes up while the store keeps up and down by
    /// about half when it throttles (503 SlowDown, 429), never past N.
    #[arg(long, value_name = "N", default_value_t = crate::source::crawl::DEFAULT_CONCURRENCY, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=4096), help_heading = "Crawl")]
    pub concurrency: usize,

    /// Most requests a crawl may make; past it the crawl stops and the
    /// result is marked incomplete.
    #[arg(long, value_name = "N", default_value_t = crate::source::crawl::DEFAULT_MAX_REQUESTS, help_heading = "Crawl")]
    pub max_requests: u64,
}

impl CrawlArgs {
    pub(super) fn options(&self, report: &ReportArgs) -> crate::source::CrawlOptions {
        crate::source::CrawlOptions {
            concurrency: self.concurrency,
            max_requests: self.max_requests,
            progress: crate::progress::Progress::spinner(!report.quiet),
        }
    }
}

/// How to reach the store. Shared by every command that reads one.
#[derive(Debug, Args)]
pub struct AccessArgs {
    /// Send unsigned (anonymous) requests, as for public buckets.
    ///
    /// Without credentials zarrscope is anonymous anyway and says so once;
    /// `--anon` also ignores any credentials that are configured.
    #[arg(long, visible_alias = "no-sign-request", help_heading = "Access")]
    pub anon: bool,

    /// AWS profile from ~/.aws/config and ~/.aws/credentials (also AWS_PROFILE).
    ///
    /// Static keys, assume-role, SSO, credential_process and web identity
    /// profiles all work; the profile's `region` and `endpoint_url` (global or
    /// in its `services` section) apply unless a flag or variable overrides
    /// them. Precedence as in aws-cli: flag > environment > profile.
    #[arg(long, value_name = "NAME", help_heading = "Access")]
    pub profile: Option<String>,

    /// S3-compatible endpoint, e.g. https://usgs.osn.mghpcc.org (path-style).
    ///
    /// For s3:// also read from AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL. For
    /// gs:// (also STORAGE_EMULATOR_HOST) the GCS API server replacing
    /// storage.googleapis.com. For az://
    /// (also AZURE_STORAGE_ENDPOINT, or BlobEndpoint in
    /// AZURE_STORAGE_CONNECTION_STRING) the blob service root replacing
    /// https://ACCOUNT.blob.core.windows.net, e.g. Azurite's
    /// http://127.0.0.1:10000/devstoreaccount1 (AZURE_STORAGE_USE_EMULATOR=true
    /// sets that, with Azurite's well-known account and key). For an emulator
    /// such as fake-gcs-server: http://127.0.0.1:4443.
    /// Plain http:// endpoints are allowed when given explicitly.
    #[arg(long, value_name = "URL", value_parser = parse_endpoint, help_heading = "Access")]
    pub endpoint_url: Option<String>,

    /// SAS token for az:// and Azure https:// URLs (also AZURE_STORAGE_SAS_TOKEN).
    ///
    /// The query string of a shared access signature, e.g.
    /// `sv=2022-11-02&ss=b&sp=rl&se=…&sig=…` (a leading `?` is fine), as the
    /// Azure portal or `az storage container generate-sas` gives it. It is a
    /// secret: zarrscope never prints or logs it. A token in the URL's query
    /// (https://ACCOUNT.blob.core.windows.net/CONTAINER/path?sv=…&sig=…) wins
    /// over this flag, which wins over the environment (account key,
    /// connection string).
    #[arg(long, value_name = "TOKEN", value_parser = parse_sas_token, help_heading = "Access")]
    pub sas_token: Option<crate::location::SasToken>,

    /// S3 region (default: AWS_REGION, AWS_DEFAULT_REGION, else us-east-1).
    #[arg(long, help_heading = "Access")]
    pub region: Option<String>,

    /// Read from a Requester Pays bucket: you, not the bucket's owner, are
    /// billed for the requests and the bytes.
    ///
    /// Sends `x-amz-request-payer: requester` with every S3 request (S3
    /// refuses such buckets' objects with 403 without it). Needs
    /// credentials: AWS bills the signed caller, so anonymous requests
    /// cannot pay. A catalog entry with `requester_pays: true` sets this.
    #[arg(long, help_heading = "Access")]
    pub requester_pays: bool,

    /// Most bytes the command may download, e.g. 64MiB, 500KB, 1048576
    /// [default: 64MiB].
    ///
    /// A document whose size is known is refused before it is downloaded;
    /// one that grows past the budget is cut off.
    ///
    /// Default 64MiB; for find 512MiB (every dataset's metadata together);
    /// for cp and mv no limit (their dry run shows the total).
    #[arg(long, value_name = "SIZE", value_parser = parse_size, help_heading = "Access")]
    pub max_bytes: Option<u64>,

    /// Give up on a request after this long, e.g. 30s, 500ms, 2m.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration, help_heading = "Access")]
    pub timeout: Duration,

    /// Give up on connecting after this long.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration, help_heading = "Access")]
    pub connect_timeout: Duration,

    /// Retries of a failed request (server errors, resets, timeouts).
    #[arg(long, value_name = "N", default_value_t = 2, help_heading = "Access")]
    pub retries: usize,
}

/// What to report besides the output itself.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Print `requests: N  bytes: M  elapsed: T` to stderr at the end.
    #[arg(long, help_heading = "Reporting")]
    pub stats: bool,

    /// Log every request to stderr: method, key, status, bytes, milliseconds.
    #[arg(short, long, help_heading = "Reporting")]
    pub verbose: bool,

    /// Silence notices and warnings (errors are still shown).
    #[arg(short, long, conflicts_with = "verbose", help_heading = "Reporting")]
    pub quiet: bool,
}

fn parse_size(s: &str) -> std::result::Result<u64, String> {
    s.parse::<bytesize::ByteSize>()
        .map(|b| b.as_u64())
        .map_err(|e| format!("{e} (try e.g. 64MiB or 1000000)"))
}

fn parse_endpoint(s: &str) -> std::result::Result<String, String> {
    crate::store::credentials::check_endpoint(s).map_err(|reason| {
        if reason.contains("://") {
            reason
        } else {
            format!("{reason} (e.g. http://localhost:9000)")
        }
    })
}

/// Never echoes the token: clap quotes a rejected value in its message.
fn parse_sas_token(s: &str) -> std::result::Result<crate::location::SasToken, String> {
    let token = crate::location::SasToken::new(s);
    if token.expose().is_empty() {
        return Err("the SAS token is empty (give its query string: sv=…&sig=…)".into());
    }
    Ok(token)
}

fn parse_duration(s: &str) -> std::result::Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e} (try e.g. 30s or 500ms)"))
}

impl AccessArgs {
    /// The byte budget of a whole command: --max-bytes, else
    /// `default_max_bytes`. Every store the command opens draws from it.
    pub fn command_budget(&self, default_max_bytes: u64) -> Arc<crate::store::guard::ByteBudget> {
        crate::store::guard::ByteBudget::new(self.max_bytes.unwrap_or(default_max_bytes))
    }

    /// Options for opening a store; `default_max_bytes` applies unless
    /// --max-bytes was given.
    pub fn store_options(&self, default_max_bytes: u64) -> StoreOptions {
        StoreOptions {
            s3: S3Flags {
                anon: self.anon,
                profile: self.profile.clone(),
                endpoint_url: self.endpoint_url.clone(),
                region: self.region.clone(),
                requester_pays: self.requester_pays,
            },
            timeout: self.timeout,
            connect_timeout: self.connect_timeout,
            retries: self.retries,
            max_bytes: self.max_bytes.unwrap_or(default_max_bytes),
            sas_token: self.sas_token.clone(),
            ..StoreOptions::default()
        }
    }
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The store, or a group or array inside it.
    pub url: String,
    /// A group or array below URL, e.g. `streamflow` or `forcing/temp`.
    pub path: Option<String>,
    #[command(flatten)]
    pub output: JsonArg,
    /// Read the first and last values of 1-D coordinates (CF times as dates).
    ///
    /// The only data zarrscope reads: the first and last chunk of each such
    /// coordinate, through a guard that allows exactly those arrays' keys,
    /// within --max-bytes (default 16MiB in this mode). A coordinate that
    /// would not fit is skipped with a note giving its size.
    #[arg(long)]
    pub coords: bool,
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub access: AccessArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The store (or a group inside it).
    pub url: String,
    #[command(flatten)]
    pub output: JsonArg,
    /// Lint warnings and errors also make the exit code 1.
    #[arg(long)]
    pub strict: bool,
    #[command(flatten)]
    pub crawling: CrawlArgs,
    #[command(flatten)]
    pub access: AccessArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Args)]
pub struct ConsolidateArgs {
    /// The store's root group.
    pub url: String,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
    #[command(flatten)]
    pub crawling: CrawlArgs,
    #[command(flatten)]
    pub access: AccessArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The first store (A).
    pub url_a: String,
    /// The second store (B).
    pub url_b: String,
    #[command(flatten)]
    pub output: JsonArg,
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub access: AccessArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Bucket or prefix, e.g. s3://bucket/ or s3://bucket/path/.
    pub url: String,
    /// Long form: last-modified, size, ETag.
    #[arg(short, long)]
    pub long: bool,
    /// Everything below the prefix (one paginated listing), not just children.
    #[arg(short, long)]
    pub recursive: bool,
    /// Sizes in KiB/MiB/GiB instead of exact bytes (with -l).
    #[arg(short = 'h', long)]
    pub human_readable: bool,
    /// One name per line: what ls prints anyway (accepted for `ls -1` habits).
    #[arg(short = '1', hide = true)]
    pub one_per_line: bool,
    #[command(flatten)]
    pub output: JsonArg,
    /// Print help.
    #[arg(long, action = ArgAction::Help)]
    pub help: Option<bool>,
    #[command(flatten)]
    pub access: AccessArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Args)]
pub struct GlobArgs {
    /// URL with a pattern, e.g. 's3://bucket/*.zarr' (quote it).
    pub pattern: String,
    /// Long form: last-modified, size, ETag.
    #[arg(short, long)]
    pub long: bool,
    #[command(flatten)]
    pub output: JsonArg,
    #[command(flatten)]
    pub access: AccessArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// An object's URL, or a prefix's (a trailing / skips the HEAD).
    pub url: String,
    #[command(flatten)]
    pub output: JsonArg,
    #[command(flatten)]
    pub access: AccessArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Args)]
pub struct HeadArgs {
    /// The object's URL.
    pub url: String,
    /// Number of lines (`-N` is short for `-n N`, as in head(1)).
    #[arg(
        short = 'n',
        long,
        value_name = "LINES",
        default_value_t = 10,
        conflicts_with = "bytes"
    )]
    pub lines: u64,
    /// Number of bytes instead of lines, e.g. 100, 4KiB.
    #[arg(short = 'c', long, value_name = "BYTES", value_parser = parse_size)]
    pub bytes: Option<u64>,
    #[command(flatten)]
    pub access: AccessArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Args)]
pub struct CatArgs {
    /// The object's URL.
    pub url: String,
    #[command(flatten)]
    pub access: AccessArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Args)]
pub struct DuArgs {
    /// Bucket or prefix.
    pub url: String,
    /// Break the total down by path, N levels below the prefix (-d 1: per child).
    #[arg(short = 'd', long, value_name = "N", default_value_t = 0)]
    pub max_depth: usize,
    /// Only the total (depth 0, the default), as `du -s`.
    #[arg(short = 's', long, conflicts_with = "max_depth")]
    pub summarize: bool,
    /// Sizes in KiB/MiB/GiB instead of exact bytes.
    #[arg(short = 'h', long)]
    pub human_readable: bool,
    /// Exact byte counts (the default).
    #[arg(short = 'b', long, conflicts_with = "human_readable")]
    pub bytes: bool,
    #[command(flatten)]
    pub output: JsonArg,
    /// Print help.
    #[arg(long, action = ArgAction::Help)]
    pub help: Option<bool>,
    #[command(flatten)]
    pub access: AccessArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

/// Flags every write command shares.
#[derive(Debug, Args)]
pub struct ConfirmArgs {
    /// Do it. Without --yes the command only prints what it would change.
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Only print what would change: the default without --yes (aws-cli's
    /// `--dryrun`, accepted for scripts that say it).
    #[arg(long, visible_alias = "dryrun", conflicts_with = "yes")]
    pub dry_run: bool,
    /// The plan (and with --yes the result) as one JSON document.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct TransferArgs {
    /// Source: s3://bucket/key, s3://bucket/prefix/ (with -r) or a local path.
    pub src: String,
    /// Destination: s3://bucket/key, a prefix ending in /, or a local path.
    pub dst: String,
    /// Copy everything below the source prefix (or directory).
    #[arg(short, long)]
    pub recursive: bool,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
    #[command(flatten)]
    pub access: AccessArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// The object, or with -r the prefix, to delete.
    pub url: String,
    /// Delete everything below the prefix.
    #[arg(short, long)]
    pub recursive: bool,
    /// No error when nothing exists at the URL (as `rm -f`); not --yes.
    ///
    /// It does not confirm anything: without --yes, `rm -f` is still a dry
    /// run that deletes nothing.
    #[arg(short, long)]
    pub force: bool,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
    #[command(flatten)]
    pub access: AccessArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Args)]
pub struct MkdirArgs {
    /// s3://new-bucket (a longer path only gets an explanation).
    pub url: String,
    /// No error when the bucket already exists (as `mkdir -p`); one extra
    /// listing checks for it.
    #[arg(short, long)]
    pub parents: bool,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
    #[command(flatten)]
    pub access: AccessArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}
