//! The fuzzer's seed corpus and every crash it found, replayed through the
//! same entry point (`zarrscope::robustness::exercise`): none may panic, and
//! the seeds (real fixtures) must parse.

use std::path::PathBuf;

fn files(dir: &str) -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    out.sort();
    out
}

#[test]
fn the_seed_corpus_parses_and_renders() {
    let seeds = files("fuzz/corpus/metadata");
    assert!(seeds.len() >= 5);
    for seed in seeds {
        let data = std::fs::read(&seed).unwrap();
        assert!(zarrscope::robustness::exercise(&data), "{}", seed.display());
    }
}

#[test]
fn past_crashes_no_longer_panic() {
    for case in files("fuzz/regressions")
        .into_iter()
        .filter(|p| p.extension().is_none_or(|e| e != "md"))
    {
        let data = std::fs::read(&case).unwrap();
        zarrscope::robustness::exercise(&data);
    }
}
