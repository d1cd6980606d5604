//! The command line. The flags are in [`args`]; each command's work is in a
//! file of its own, its setup and teardown (stores, notices, `--stats`) in
//! [`session`]; this one dispatches and holds the runtime pieces commands
//! share.

pub mod args;
mod catalog;
mod find;
mod log;
mod objects;
pub mod output;
mod refs;
mod session;
mod show;
mod stores;
mod tree;
mod writes;

use clap::CommandFactory;

use crate::error::{EXIT_ERROR, EXIT_OK, Error, Result};
use crate::store::StoreHandle;
pub use args::*;
use output::{json_out, note, write_out};

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
        Command::Refs(args) => finish_code(block_on(refs::refs(args))),
        Command::Log(args) => finish(block_on(log::log(args))),
        Command::Find(args) => finish_code(block_on(find::find(args))),
        Command::Catalog(args) => finish_code(block_on(catalog::catalog(args))),
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

/// The tree at the store's location: from consolidated metadata where
/// there is some, else (unless --consolidated-only) from every node's own
/// documents, starting from those the probes already read, with a notice;
/// with --crawl from every node's own documents.
async fn read_tree(
    ms: &StoreHandle,
    source: &SourceArgs,
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
    let read = crate::source::read_tree(ms, choice, &source.crawling.options(report)).await?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

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
