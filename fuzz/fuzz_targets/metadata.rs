//! Fuzz the metadata entry points and everything downstream of them; the
//! logic lives in `zarrscope::robustness` so the corpus and past crashes
//! replay as ordinary tests (`tests/fuzz_corpus.rs`). A panic, or a stage
//! that fails on a document that parsed, is a finding.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(outcome) = zarrscope::robustness::exercise(data) {
        assert!(outcome.failures.is_empty(), "{:?}", outcome.failures);
    }
});
