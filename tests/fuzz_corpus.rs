//! The fuzzers' seed corpora, and any input they ever crashed on, replayed
//! through the same entry points (`zarrscope::robustness::exercise` for
//! metadata, `exercise_cli` for the command line): none may panic, and the
//! metadata seeds (real fixture documents) and past crash inputs must parse,
//! render, have a detail view per array, lint and compare equal to themselves.

use std::path::{Path, PathBuf};

use zarrscope::robustness::Outcome;

fn files(dir: &str) -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(dir);
    // A missing corpus must fail the replay, not pass it with nothing to replay.
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .collect();
    out.retain(|p| p.is_file() && p.extension().is_none_or(|e| e != "md"));
    out.sort();
    out
}

/// Read one metadata input through every stage; panics if no reader takes it.
fn outcome(path: &Path) -> Outcome {
    let data = std::fs::read(path).unwrap();
    zarrscope::robustness::exercise(&data)
        .unwrap_or_else(|| panic!("{}: no reader accepts it", path.display()))
}

/// Check `dir`'s inputs against `expected` (file, nodes, unreadable arrays):
/// every stage works (each renderer writes, each readable array has a detail
/// view, the hierarchy equals itself), and lint's only errors are the
/// unreadable arrays. Files not in the table need only not panic.
fn replay(dir: &str, expected: &[(&str, usize, usize)]) {
    let inputs = files(dir);
    assert!(!inputs.is_empty(), "nothing in {dir}");
    for &(name, _, _) in expected {
        assert!(
            inputs.iter().any(|p| p.ends_with(name)),
            "{dir}/{name} is missing"
        );
    }
    for path in inputs {
        let outcome = outcome(&path);
        let shown = path.display();
        assert_eq!(outcome.failures, Vec::<String>::new(), "{shown}");
        let Some(&(_, nodes, invalid)) = expected.iter().find(|(n, ..)| path.ends_with(n)) else {
            continue;
        };
        assert_eq!(
            (outcome.nodes, outcome.invalid_arrays),
            (nodes, invalid),
            "{shown}"
        );
        assert_eq!(outcome.lint_errors.len(), invalid, "{shown}: {outcome:?}");
        assert!(
            outcome
                .lint_errors
                .iter()
                .all(|e| e.contains("the array's metadata cannot be read")),
            "{shown}: {outcome:?}"
        );
    }
}

#[test]
fn the_metadata_seeds_go_through_every_stage_without_a_failure() {
    // Real documents; v2-quirks holds one array with a zero chunk on purpose.
    replay(
        "fuzz/corpus/metadata",
        &[
            ("v2-nwm", 11, 0),
            ("v2-quirks", 12, 1),
            ("v2-zarray", 1, 0),
            ("v3-nested", 11, 0),
            ("v3-ome", 7, 0),
        ],
    );
}

/// Hostile documents behind past fixes (tests/hostile.rs has each in
/// detail): each still reads, and every stage still works.
#[test]
fn past_metadata_crashes_replay_through_every_stage() {
    replay(
        "fuzz/regressions/metadata",
        &[
            // Skipped: deeper than 256 levels.
            ("v2-path-10000-levels-deep", 1, 0),
            // Only "/" and "/fine" are valid paths.
            ("v2-path-tricks-and-nul", 2, 0),
            // Shapes past u64 are unreadable, with a reason.
            ("v2-shape-beyond-64-bits", 2, 1),
            // 2^63 × 2^63 reads; zero, negative chunks and a "|" separator do not.
            ("v2-shapes-2-pow-63-and-bad-chunks", 6, 3),
            ("v2-zarray-zero-chunk", 1, 1),
            // Attributes nested 10,000 deep read as text.
            ("v3-attribute-nested-10000-deep", 2, 0),
        ],
    );
}

#[test]
fn the_cli_corpus_and_past_crashes_replay_without_panic() {
    let seeds = files("fuzz/corpus/cli");
    assert!(seeds.len() >= 10, "{seeds:?}");
    let mut accepted = 0;
    for seed in seeds {
        let data = std::fs::read(&seed).unwrap();
        if zarrscope::robustness::exercise_cli(&data) {
            accepted += 1;
        }
    }
    // Most seeds are valid command lines (the rest carry bad values).
    assert!(accepted >= 8, "{accepted}");
    let cases = files("fuzz/regressions/cli");
    assert!(cases.len() >= 3, "{cases:?}");
    for case in cases {
        let data = std::fs::read(&case).unwrap();
        zarrscope::robustness::exercise_cli(&data);
    }
}

/// Without cargo-fuzz (it needs a nightly toolchain or `-s none`), a bounded
/// run of random command lines built from the seeds: arguments swapped,
/// bytes flipped, pieces of URLs spliced. Deterministic (fixed seed).
#[test]
fn random_command_lines_never_panic() {
    let seeds: Vec<Vec<u8>> = files("fuzz/corpus/cli")
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    let pieces: &[&[u8]] = &[
        b"s3://",
        b"http://",
        b"https://",
        b"://",
        b"[::1]",
        b":",
        b"@",
        b"%",
        b"%zz",
        b"?",
        b"#",
        b" ",
        b"\t",
        b"..",
        b"/",
        b"\xff",
        b"\0",
        b"--endpoint-url",
        b"--region",
        b"--profile",
        b"--anon",
        b"-h",
        b"--",
        b"99999",
        b"\xc3\xa4",
        b"{",
        b"}",
    ];
    let mut state: u64 = 0x5eed_1234_abcd_0001;
    let mut next = move || {
        // xorshift64*
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    for _ in 0..3000 {
        let mut input = seeds[(next() % seeds.len() as u64) as usize].clone();
        for _ in 0..(1 + next() % 4) {
            let at = (next() as usize) % (input.len() + 1);
            match next() % 3 {
                0 => {
                    let piece = pieces[(next() % pieces.len() as u64) as usize];
                    input.splice(at..at, piece.iter().copied());
                }
                1 if !input.is_empty() => {
                    let i = at.min(input.len() - 1);
                    input[i] ^= 1 << (next() % 8);
                }
                _ => {
                    let end = (at + (next() as usize % 8)).min(input.len());
                    input.drain(at..end);
                }
            }
        }
        zarrscope::robustness::exercise_cli(&input);
    }
}
