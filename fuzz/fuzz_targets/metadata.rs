//! Fuzz the metadata entry points and everything downstream of them; the
//! logic lives in `zarrscope::robustness` so the corpus and past crashes
//! replay as ordinary tests (`tests/fuzz_corpus.rs`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    zarrscope::robustness::exercise(data);
});
