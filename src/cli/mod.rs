//! The command line: flags documented once, here, with long help. Each
//! command's work is in its own file; this one holds the definitions and the
//! pieces they share.

mod objects;
pub mod output;
mod show;
mod stores;
mod tree;
mod writes;

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{ArgAction, Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::error::{EXIT_ERROR, EXIT_OK, Error, Result};
use crate::store::credentials::S3Flags;
use crate::store::instrument::RequestLogger;
use crate::store::{StoreHandle, StoreOptions};
pub use output::ColorChoice;
use output::{note, write_out};

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

#[derive(Debug, Args)]
pub struct TreeArgs {
    /// The store: s3://bucket/path/store.zarr, gs://…, az://…, https://…,
    /// file://… or a local path. `s3a://` and trailing slashes are fine.
    pub url: String,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Tree)]
    pub format: Format,

    /// Short for `--format json`.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,

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
    pub crawling: CrawlArgs,

    #[command(flatten)]
    pub access: AccessArgs,

    #[command(flatten)]
    pub report: ReportArgs,
}

/// Where a tree is read from. Shared by the commands that read one (tree,
/// show, diff).
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
}

/// How a crawl runs. Shared by every command that crawls.
#[derive(Debug, Args)]
pub struct CrawlArgs {
    /// Requests in flight at once during a crawl.
    #[arg(long, value_name = "N", default_value_t = crate::source::crawl::DEFAULT_CONCURRENCY, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=4096), help_heading = "Crawl")]
    pub concurrency: usize,

    /// Most requests a crawl may make; past it the crawl stops and the
    /// result is marked incomplete.
    #[arg(long, value_name = "N", default_value_t = crate::source::crawl::DEFAULT_MAX_REQUESTS, help_heading = "Crawl")]
    pub max_requests: u64,
}

impl CrawlArgs {
    fn options(&self, report: &ReportArgs) -> crate::source::CrawlOptions {
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
    /// gs:// and az:// (flag only) the GCS API server or the Azure blob
    /// service root replacing storage.googleapis.com or
    /// ACCOUNT.blob.core.windows.net, e.g. an emulator: http://127.0.0.1:4443
    /// (fake-gcs-server), http://127.0.0.1:10000/devstoreaccount1 (Azurite).
    /// Plain http:// endpoints are allowed when given explicitly.
    #[arg(long, value_name = "URL", value_parser = parse_endpoint, help_heading = "Access")]
    pub endpoint_url: Option<String>,

    /// S3 region (default: AWS_REGION, AWS_DEFAULT_REGION, else us-east-1).
    #[arg(long, help_heading = "Access")]
    pub region: Option<String>,

    /// Most bytes the command may download, e.g. 64MiB, 500KB, 1048576
    /// [default: 64MiB].
    ///
    /// A document whose size is known is refused before it is downloaded;
    /// one that grows past the budget is cut off.
    ///
    /// Default 64MiB; for cp and mv no limit (their dry run shows the total).
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
            },
            timeout: self.timeout,
            connect_timeout: self.connect_timeout,
            retries: self.retries,
            max_bytes: self.max_bytes.unwrap_or(default_max_bytes),
            ..StoreOptions::default()
        }
    }
}

/// Run a parsed command line; returns the process exit code.
pub fn run(cli: Cli) -> u8 {
    if let Err(e) = output::configure(cli.color, cli.output.as_deref()) {
        note!("error: {e}");
        return EXIT_ERROR;
    }
    match cli.command {
        Command::Completions { shell } => {
            let shell = match shell {
                CompletionShell::Bash => clap_complete::Shell::Bash,
                CompletionShell::Zsh => clap_complete::Shell::Zsh,
                CompletionShell::Fish => clap_complete::Shell::Fish,
            };
            // Generated into memory first: clap_complete panics on a failed
            // write, and the output has one place that handles closed pipes.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "zarrscope", &mut script);
            finish(write_out(|out| out.write_all(&script)))
        }
        Command::Man => {
            let mut page = Vec::new();
            let rendered = clap_mangen::Man::new(Cli::command())
                .render(&mut page)
                .map_err(|e| Error::new(format!("cannot render the man page: {e}")));
            finish(rendered.and_then(|()| write_out(|out| out.write_all(&page))))
        }
        Command::Tree(args) => finish(block_on(tree::tree(args))),
        Command::Show(args) => finish(block_on(show::show(args))),
        Command::Check(args) => finish_code(block_on(stores::check(args))),
        Command::Consolidate(args) => finish(block_on(stores::consolidate(args))),
        Command::Diff(args) => finish_code(block_on(stores::diff(args))),
        Command::Ls(args) => finish(block_on(objects::ls(args))),
        Command::Glob(args) => finish(block_on(objects::glob(args))),
        Command::Info(args) => finish(block_on(objects::info(args))),
        Command::Head(args) => finish(block_on(objects::head(args))),
        Command::Cat(args) => finish(block_on(objects::cat(args))),
        Command::Du(args) => finish(block_on(objects::du(args))),
        Command::Cp(args) => finish(block_on(writes::transfer(args, false))),
        Command::Mv(args) => finish(block_on(writes::transfer(args, true))),
        Command::Rm(args) => finish(block_on(writes::rm(args))),
        Command::Mkdir(args) => finish(block_on(writes::mkdir(args))),
    }
}

/// The command line as typed, with the forms coreutils users type that clap
/// cannot express rewritten: `head -5` is `head -n 5`. Nothing else changes.
pub fn normalize_args<I: IntoIterator<Item = std::ffi::OsString>>(
    args: I,
) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = args.into_iter().collect();
    // The subcommand: the first argument after the program that is neither
    // an option nor the value of a global option that takes one.
    let mut i = 1;
    while i < args.len() {
        match args[i].to_str() {
            Some("-o" | "--output" | "--color") => i += 2,
            Some(a) if a.starts_with('-') => i += 1,
            _ => break,
        }
    }
    if args.get(i).and_then(|a| a.to_str()) != Some("head") {
        return args;
    }
    // Options of `head` whose value is the next argument, whatever it
    // looks like (`-c -5` stays an error about -5, `--profile -5` a name).
    let command = Cli::command();
    let takes_value: Vec<String> = command
        .find_subcommand("head")
        .into_iter()
        .flat_map(|head| head.get_arguments())
        .filter(|a| a.get_action().takes_values() && !a.is_positional())
        .flat_map(|a| {
            let short = a.get_short().map(|c| format!("-{c}"));
            let long = a.get_long().map(|l| format!("--{l}"));
            short.into_iter().chain(long)
        })
        .collect();
    let mut j = i + 1;
    while j < args.len() {
        let Some(arg) = args[j].to_str() else {
            j += 1;
            continue;
        };
        if arg == "--" {
            break;
        }
        if takes_value.iter().any(|t| t == arg) {
            j += 2;
            continue;
        }
        if let Some(count) = arg.strip_prefix('-')
            && !count.is_empty()
            && count.bytes().all(|b| b.is_ascii_digit())
        {
            let count = count.to_string();
            args.splice(j..=j, [std::ffi::OsString::from("-n"), count.into()]);
            j += 1;
        }
        j += 1;
    }
    args
}

fn block_on<T, F: std::future::Future<Output = Result<T>>>(f: F) -> Result<T> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::new(format!("cannot start the async runtime: {e}")))?;
    let result = runtime.block_on(f);
    // A file read that timed out may still hold a blocking thread (a hung
    // file system): do not wait for it on the way out.
    runtime.shutdown_background();
    result
}

/// For commands whose success has an exit code of its own (findings = 1).
fn finish_code(result: Result<u8>) -> u8 {
    match result {
        Ok(code) => code,
        Err(e) => {
            note!("error: {e}");
            EXIT_ERROR
        }
    }
}

fn finish(result: Result<()>) -> u8 {
    match result {
        Ok(()) => EXIT_OK,
        Err(e) => {
            note!("error: {e}");
            EXIT_ERROR
        }
    }
}

fn verbose_logger() -> RequestLogger {
    Arc::new(|record| note!("zarrscope: {record}"))
}

/// Open `location` rooted at its bucket behind a guard with `policy`, and
/// show the notices that opening produced. Plain HTTP servers are read-only.
async fn open_store(
    location: crate::location::Location,
    access: &AccessArgs,
    report: &ReportArgs,
    policy: crate::store::guard::Policy,
    default_max_bytes: u64,
) -> Result<StoreHandle> {
    open_store_with(
        location,
        report,
        policy,
        access.store_options(default_max_bytes),
    )
    .await
}

/// [`open_store`] drawing on `budget`, the one budget of a command that
/// opens several stores (made with [`AccessArgs::command_budget`]).
async fn open_store_sharing(
    location: crate::location::Location,
    access: &AccessArgs,
    report: &ReportArgs,
    policy: crate::store::guard::Policy,
    budget: &Arc<crate::store::guard::ByteBudget>,
) -> Result<StoreHandle> {
    let options = StoreOptions {
        budget: Some(Arc::clone(budget)),
        ..access.store_options(budget.max())
    };
    open_store_with(location, report, policy, options).await
}

async fn open_store_with(
    location: crate::location::Location,
    report: &ReportArgs,
    policy: crate::store::guard::Policy,
    options: StoreOptions,
) -> Result<StoreHandle> {
    if policy.writes() && matches!(location.backend, crate::location::Backend::Http { .. }) {
        return Err(Error::new(format!(
            "{} is a plain HTTP server: zarrscope only reads from those",
            location.url
        ))
        .with_hint("write to s3://, gs:// or az:// instead"));
    }
    let handle = StoreHandle::open_with(
        location,
        &options,
        &crate::store::credentials::ProcessEnv,
        report.verbose.then(verbose_logger),
        policy,
    )
    .await?;
    print_notices(&handle, report);
    Ok(handle)
}

/// The tree at the store's location: from consolidated metadata where
/// there is some, else (unless --consolidated-only) from every node's own
/// documents, starting from those the probes already read, with a notice;
/// with --crawl from every node's own documents.
async fn read_tree(
    ms: &StoreHandle,
    source: &SourceArgs,
    crawling: &CrawlArgs,
    report: &ReportArgs,
) -> Result<crate::hierarchy::Hierarchy> {
    use crate::source::Choice;
    let choice = if source.crawl {
        Choice::Crawl
    } else if source.consolidated_only {
        Choice::ConsolidatedOnly
    } else {
        Choice::Auto
    };
    let read = crate::source::read_tree(ms, choice, &crawling.options(report)).await?;
    if let Some(notice) = read.notice
        && !report.quiet
    {
        note!("{}", ms.redact(&notice));
    }
    Ok(read.hierarchy)
}

/// Problems that did not stop the read, unless --quiet.
fn print_warnings(ms: &StoreHandle, h: &crate::hierarchy::Hierarchy, report: &ReportArgs) {
    if !report.quiet {
        for w in &h.warnings {
            note!("warning: {}", ms.redact(w));
        }
    }
}

/// Writes never go out unsigned: `--anon` refuses them before any request.
fn refuse_anon(command: &str, access: &AccessArgs) -> Result<()> {
    if access.anon {
        return Err(Error::new(format!("{command} writes, and --anon never writes"))
            .with_hint("drop --anon and use credentials: for s3:// --profile NAME, AWS_PROFILE or AWS_ACCESS_KEY_ID; for gs:// GOOGLE_APPLICATION_CREDENTIALS; for az:// AZURE_STORAGE_ACCOUNT_KEY"));
    }
    Ok(())
}

/// ... nor when no credentials were found.
fn require_credentials(command: &str, handle: &StoreHandle) -> Result<()> {
    if handle.anonymous {
        return Err(Error::new(format!(
            "{command} writes to {}, but no credentials were found",
            handle.location.url
        ))
        .with_hint(match handle.location.backend {
            crate::location::Backend::S3 { .. } => "configure credentials: --profile NAME, AWS_PROFILE, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY".to_string(),
            _ => format!("configure credentials: {}", handle.credentials_advice()),
        }));
    }
    Ok(())
}

/// Notices not shown yet (credentials, a discovered region), unless --quiet.
fn print_notices(handle: &StoreHandle, report: &ReportArgs) {
    for notice in handle.take_notices() {
        if !report.quiet {
            note!("{}", handle.redact(&notice));
        }
    }
}

/// `requests: N  bytes: M  elapsed: T` on stderr, with --stats.
fn print_stats(handles: &[&StoreHandle], report: &ReportArgs, started: Instant) {
    if report.stats {
        let requests: u64 = handles.iter().map(|h| h.stats.requests()).sum();
        let bytes: u64 = handles.iter().map(|h| h.stats.bytes()).sum();
        note!(
            "requests: {requests}  bytes: {bytes}  elapsed: {:.3}s",
            started.elapsed().as_secs_f64()
        );
    }
}

fn json_out<T: serde::Serialize>(value: &T) -> Result<()> {
    write_out(|out| {
        serde_json::to_writer_pretty(&mut *out, value).map_err(io::Error::other)?;
        writeln!(out)
    })
}

/// Sizes for people, the same in every command: binary units (`1.5 KiB`).
use crate::render::size_text as human;

/// A remote URL argument: `s3://`, `gs://`, `az://`, `http(s)://`.
fn is_url(arg: &str) -> bool {
    arg.contains("://") && !arg.starts_with("file://")
}

/// Only URLs name object storage in the chores (a local path is for cp/mv).
fn remote_location(arg: &str) -> Result<crate::location::Location> {
    if !is_url(arg) {
        return Err(Error::new(format!("{arg:?} is not a storage URL"))
            .with_hint("give s3://bucket/prefix (or gs://, az://, https://)"));
    }
    crate::location::Location::parse(arg)
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The store, or a group or array inside it.
    pub url: String,
    /// A group or array below URL, e.g. `streamflow` or `forcing/temp`.
    pub path: Option<String>,
    /// One JSON document.
    #[arg(long)]
    pub json: bool,
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
    pub crawling: CrawlArgs,
    #[command(flatten)]
    pub access: AccessArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The store (or a group inside it).
    pub url: String,
    /// One JSON document.
    #[arg(long)]
    pub json: bool,
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
    /// One JSON document.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub crawling: CrawlArgs,
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
    /// One JSON document.
    #[arg(long)]
    pub json: bool,
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
    /// One JSON document.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub access: AccessArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// An object's URL, or a prefix's (a trailing / skips the HEAD).
    pub url: String,
    /// One JSON document.
    #[arg(long)]
    pub json: bool,
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
    /// One JSON document.
    #[arg(long)]
    pub json: bool,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn normalized(args: &[&str]) -> Vec<String> {
        normalize_args(args.iter().map(std::ffi::OsString::from))
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn head_minus_count_is_minus_n_count_and_nothing_else_changes() {
        assert_eq!(
            normalized(&["zs", "head", "-5", "s3://b/k"]),
            ["zs", "head", "-n", "5", "s3://b/k"]
        );
        assert_eq!(
            normalized(&["zs", "-o", "head", "head", "s3://b/k", "-12"]),
            ["zs", "-o", "head", "head", "s3://b/k", "-n", "12"]
        );
        // Values of options and anything after `--` stay as typed.
        assert_eq!(
            normalized(&["zs", "head", "-c", "-5", "--", "-7"]),
            ["zs", "head", "-c", "-5", "--", "-7"]
        );
        assert_eq!(
            normalized(&["zs", "head", "--profile", "-5", "-2"]),
            ["zs", "head", "--profile", "-5", "-n", "2"]
        );
        assert_eq!(normalized(&["zs", "du", "-5"]), ["zs", "du", "-5"]);
        assert_eq!(normalized(&["zs", "tree", "head"]), ["zs", "tree", "head"]);
        // The parsed result.
        let cli = Cli::try_parse_from(normalize_args(
            ["zs", "head", "-3", "s3://b/k"].map(std::ffi::OsString::from),
        ))
        .unwrap();
        assert!(matches!(
            cli.command,
            Command::Head(HeadArgs { lines: 3, .. })
        ));
    }
}
