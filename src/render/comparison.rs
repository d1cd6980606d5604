//! Human text for comparisons (`check`, `diff`, `consolidate`'s dry run)
//! and lint findings. JSON for these is their serde form.

use std::io;

use serde_json::Value;

use super::text::truncate;
use crate::compare::{Comparison, FieldChange};
use crate::lint::Finding;
use crate::metadata::codec::{Codec, codec_from_v3_value, summarize};

/// How to name the two sides, e.g. ("only in the consolidated metadata
/// (removed since)", "only on disk (added since)").
pub struct Sides<'a> {
    pub only_a: &'a str,
    pub only_b: &'a str,
}

/// Longest value text shown per side of a change.
const VALUE_WIDTH: usize = 60;

pub fn write_comparison(out: &mut dyn io::Write, c: &Comparison, sides: &Sides) -> io::Result<()> {
    for (title, lone) in [(sides.only_a, &c.only_in_a), (sides.only_b, &c.only_in_b)] {
        if lone.is_empty() {
            continue;
        }
        writeln!(out, "{title}:")?;
        for node in lone {
            writeln!(out, "  {}  {}", node.path, node.kind)?;
        }
    }
    if !c.changed.is_empty() {
        writeln!(out, "changed:")?;
        for node in &c.changed {
            writeln!(out, "  {}", node.path)?;
            for f in &node.changes {
                let (a, b) = change_text(f);
                writeln!(out, "    {}: {a} -> {b}", f.field)?;
            }
        }
    }
    Ok(())
}

/// Codecs as `tree` shows them (`blosc(lz4,5,shuffle)`), when that tells
/// the two sides apart; other fields (and codecs differing only in settings
/// the summary leaves out) as compact JSON.
fn change_text(f: &FieldChange) -> (String, String) {
    let summary = |v: &Option<Value>| -> Option<String> {
        let codecs: Option<Vec<Codec>> = v
            .as_ref()?
            .as_array()?
            .iter()
            .map(codec_from_v3_value)
            .collect();
        codecs.map(|c| summarize(&c))
    };
    if f.field == "codecs"
        && let (Some(a), Some(b)) = (summary(&f.a), summary(&f.b))
        && a != b
    {
        return (a, b);
    }
    (short(&f.a), short(&f.b))
}

/// One side's value as compact one-line JSON, cut to [`VALUE_WIDTH`].
fn short(value: &Option<Value>) -> String {
    match value {
        None => "(absent)".to_string(),
        Some(v) => truncate(&v.to_string(), VALUE_WIDTH),
    }
}

/// Paths named on a folded lint line before `…`.
const FOLDED_PATHS: usize = 3;

/// Findings as lines; the same finding on several arrays is one line
/// (`28 arrays: /a, /b, /c, …`). JSON keeps every finding.
pub fn write_findings(out: &mut dyn io::Write, findings: &[Finding]) -> io::Result<()> {
    if findings.is_empty() {
        return writeln!(out, "lint: no findings");
    }
    writeln!(out, "lint:")?;
    // (finding, paths sharing its severity, code and message), in order.
    let mut folded: Vec<(&Finding, Vec<&str>)> = Vec::new();
    for f in findings {
        match folded
            .iter_mut()
            .find(|(g, _)| (g.severity, g.code, &g.message) == (f.severity, f.code, &f.message))
        {
            Some((_, paths)) => paths.push(&f.path),
            None => folded.push((f, vec![&f.path])),
        }
    }
    let labels: Vec<String> = folded
        .iter()
        .map(|(_, paths)| match paths.as_slice() {
            [one] => one.to_string(),
            many => {
                let shown = many[..FOLDED_PATHS.min(many.len())].join(", ");
                let more = if many.len() > FOLDED_PATHS {
                    ", …"
                } else {
                    ""
                };
                format!("{} arrays: {shown}{more}", many.len())
            }
        })
        .collect();
    let width = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    for ((f, _), label) in folded.iter().zip(&labels) {
        writeln!(
            out,
            "  {:<7}  {:<width$}  {}: {}",
            f.severity.label(),
            label,
            f.code,
            f.message
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::Severity;

    #[test]
    fn identical_findings_fold_into_one_line() {
        let finding = |path: &str, message: &str| Finding {
            severity: Severity::Info,
            path: path.into(),
            code: "small-chunks",
            message: message.into(),
        };
        let findings: Vec<Finding> = (0..28)
            .map(|i| finding(&format!("/v{i:02}"), "same"))
            .chain([finding("/odd", "other")])
            .collect();
        let mut out = Vec::new();
        write_findings(&mut out, &findings).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(text.contains("28 arrays: /v00, /v01, /v02, …"), "{text}");
        assert!(text.contains("/odd"), "{text}");
    }
}
