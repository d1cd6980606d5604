//! The command line: flags documented once, here, with long help.

use std::io::{self, IsTerminal, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::error::{EXIT_ERROR, EXIT_OK, Error, Result};
use crate::location::Location;
use crate::open::read_consolidated;
use crate::render::{JsonRenderer, Renderer, Stats, TableRenderer, TreeRenderer};
use crate::store::credentials::{ProcessEnv, S3Flags};
use crate::store::instrument::RequestLogger;
use crate::store::{MetadataStore, StoreOptions};

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
#[derive(Debug, Parser)]
#[command(name = "zarrscope", version, after_help = format!("{TOP_EXAMPLE}\n\n{EXIT_CODES}"))]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print a store's group/array tree from its consolidated metadata.
    ///
    /// Both metadata formats are probed at once (one round trip): the v3 root
    /// `zarr.json` and the v2 `.zmetadata`. No chunk is ever read.
    #[command(after_help = EXIT_CODES, after_long_help = format!("{TREE_EXAMPLES}\n\n{EXIT_CODES}"))]
    Tree(TreeArgs),
    /// Print a shell completion script.
    ///
    /// Example: zarrscope completions bash > ~/.local/share/bash-completion/completions/zarrscope
    Completions {
        #[arg(value_enum)]
        shell: CompletionShell,
    },
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

    #[command(flatten)]
    pub access: AccessArgs,

    #[command(flatten)]
    pub report: ReportArgs,
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
    /// Also read from AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL. Plain http://
    /// endpoints are allowed when given explicitly.
    #[arg(long, value_name = "URL", help_heading = "Access")]
    pub endpoint_url: Option<String>,

    /// S3 region (default: AWS_REGION, AWS_DEFAULT_REGION, else us-east-1).
    #[arg(long, help_heading = "Access")]
    pub region: Option<String>,

    /// Most bytes the command may download, e.g. 64MiB, 500KB, 1048576.
    ///
    /// A document whose size is known is refused before it is downloaded;
    /// one that grows past the budget is cut off.
    #[arg(long, value_name = "SIZE", default_value = "64MiB", value_parser = parse_size, help_heading = "Access")]
    pub max_bytes: u64,

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

fn parse_duration(s: &str) -> std::result::Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e} (try e.g. 30s or 500ms)"))
}

impl AccessArgs {
    pub fn store_options(&self) -> StoreOptions {
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
            max_bytes: self.max_bytes,
        }
    }
}

/// Run a parsed command line; returns the process exit code.
pub fn run(cli: Cli) -> u8 {
    match cli.command {
        Command::Completions { shell } => {
            let shell = match shell {
                CompletionShell::Bash => clap_complete::Shell::Bash,
                CompletionShell::Zsh => clap_complete::Shell::Zsh,
                CompletionShell::Fish => clap_complete::Shell::Fish,
            };
            clap_complete::generate(shell, &mut Cli::command(), "zarrscope", &mut io::stdout());
            EXIT_OK
        }
        Command::Tree(args) => finish(block_on(tree(args))),
    }
}

fn block_on<F: std::future::Future<Output = Result<()>>>(f: F) -> Result<()> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::new(format!("cannot start the async runtime: {e}")))?
        .block_on(f)
}

fn finish(result: Result<()>) -> u8 {
    match result {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_ERROR
        }
    }
}

fn verbose_logger() -> RequestLogger {
    Arc::new(|record| eprintln!("zarrscope: {record}"))
}

async fn tree(args: TreeArgs) -> Result<()> {
    let started = Instant::now();
    let location = Location::parse(&args.url)?;
    let logger = args.report.verbose.then(verbose_logger);
    let ms =
        MetadataStore::open(location, &args.access.store_options(), &ProcessEnv, logger).await?;
    if !args.report.quiet {
        for notice in &ms.notices {
            eprintln!("{notice}");
        }
    }
    let result = read_consolidated(&ms).await;
    let stats = Stats {
        requests: ms.stats.requests(),
        bytes: ms.stats.bytes(),
    };
    // Totals are worth seeing even when the read failed.
    if args.report.stats {
        eprintln!(
            "requests: {}  bytes: {}  elapsed: {:.3}s",
            stats.requests,
            stats.bytes,
            started.elapsed().as_secs_f64()
        );
    }
    let hierarchy = result?;
    if !args.report.quiet {
        for warning in &hierarchy.warnings {
            eprintln!("warning: {}", ms.redact(warning));
        }
    }
    let stdout = io::stdout();
    let is_tty = stdout.is_terminal();
    let format = if args.json { Format::Json } else { args.format };
    let renderer: Box<dyn Renderer> = match format {
        Format::Tree => Box::new(TreeRenderer {
            attrs: args.attrs,
            depth: args.depth,
            color: is_tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }),
        Format::Table => Box::new(TableRenderer {
            width: is_tty
                .then(|| terminal_size::terminal_size().map(|(w, _)| w.0))
                .flatten(),
        }),
        Format::Json => Box::new(JsonRenderer),
    };
    let mut out = io::BufWriter::new(stdout.lock());
    let written = renderer
        .render(&hierarchy, stats, &mut out)
        .and_then(|()| out.flush());
    match written {
        // `zarrscope tree … | head` closes the pipe early: not an error.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::new(format!("cannot write output: {e}"))),
        Ok(()) => Ok(()),
    }
}
