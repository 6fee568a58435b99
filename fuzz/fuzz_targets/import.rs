//! The vcrpy and log importers, through `import::convert` (which tells them apart as
//! `tooltape import` does). Byte 0 picks the file name (`.yaml`, `.json`, `.jsonl`: vcrpy YAML,
//! vcrpy JSON or a JSON log, JSON-lines log), byte 1 a forced `--provider` (or none).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use tooltape::provider::Provider;

const NAMES: [&str; 3] = ["fuzz.yaml", "fuzz.json", "fuzz.jsonl"];

fuzz_target!(|data: &[u8]| {
    let [name, forced, rest @ ..] = data else {
        return;
    };
    let path = Path::new(NAMES[usize::from(*name) % NAMES.len()]);
    let provider = Provider::ALL.get(usize::from(*forced) % 8).copied();
    let Ok(text) = tooltape::error::utf8_text(path, rest.to_vec()) else {
        return;
    };
    let _ = tooltape::import::convert(path, &text, provider);
});
