//! The fuzzer's seed corpus, and any input it ever crashed on, replayed
//! through the same entry point (`zarrscope::robustness::exercise`): none may
//! panic, and the seeds (real fixture documents) must parse and render.

use std::path::PathBuf;

fn files(dir: &str) -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    out.retain(|p| p.extension().is_none_or(|e| e != "md"));
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
