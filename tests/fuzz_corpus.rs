//! The fuzzers' seed corpora, and any input they ever crashed on, replayed
//! through the same entry points (`zarrscope::robustness::exercise` for
//! metadata, `exercise_cli` for the command line): none may panic, and the
//! metadata seeds (real fixture documents) must parse and render.

use std::path::PathBuf;

fn files(dir: &str) -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    out.retain(|p| p.is_file() && p.extension().is_none_or(|e| e != "md"));
    out.sort();
    out
}

#[test]
fn the_corpus_and_past_crashes_replay_without_panic() {
    let seeds = files("fuzz/corpus/metadata");
    assert!(seeds.len() >= 5, "{seeds:?}");
    for seed in seeds {
        let data = std::fs::read(&seed).unwrap();
        assert!(zarrscope::robustness::exercise(&data), "{}", seed.display());
    }
    // Crash inputs need only not panic (they are often not valid documents).
    for case in files("fuzz/regressions") {
        let data = std::fs::read(&case).unwrap();
        zarrscope::robustness::exercise(&data);
    }
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
    for case in files("fuzz/regressions/cli") {
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
