//! Fuzz the command line: arbitrary argv (NUL-separated) through clap, every
//! URL through `Location::parse`, every endpoint and region through the
//! checks the client relies on. Nothing runs and nothing touches the network;
//! the logic lives in `zarrscope::robustness::exercise_cli` so the corpus and
//! past crashes replay as ordinary tests (`tests/fuzz_corpus.rs`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    zarrscope::robustness::exercise_cli(data);
});
