//! `tooltape lint`'s input reader and checks: byte 0 picks the file name (`.json` or `.jsonl`),
//! byte 1 a forced `--provider` (or none).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use tooltape::provider::Provider;

const NAMES: [&str; 2] = ["fuzz.json", "fuzz.jsonl"];

fuzz_target!(|data: &[u8]| {
    let [name, forced, rest @ ..] = data else {
        return;
    };
    let path = Path::new(NAMES[usize::from(*name) % NAMES.len()]);
    let options = tooltape::lint::Options {
        provider: Provider::ALL.get(usize::from(*forced) % 8).copied(),
    };
    let Ok(text) = tooltape::error::utf8_text(path, rest.to_vec()) else {
        return;
    };
    let _ = tooltape::lint::lint_text(path, &text, &options);
});
