//! The scenario loader: a scenario file placed in the repository's `scenarios/` folder, so its
//! `cassette` reference can name the bundled cassettes; a scenario that loads then has its
//! first run plans and latencies built, as `tooltape test` does next.
#![no_main]

use std::path::PathBuf;
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;

static PATH: LazyLock<PathBuf> =
    LazyLock::new(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios/fuzz.json"));

fuzz_target!(|data: &[u8]| {
    let Ok(text) = tooltape::error::utf8_text(&PATH, data.to_vec()) else {
        return;
    };
    let Ok(scenario) = tooltape::scenario::parse(&PATH, &text) else {
        return;
    };
    for plan in tooltape::replay::order::plans(&scenario, 42).take(4) {
        let _ = tooltape::replay::order::latencies(&scenario, plan.seed);
    }
});
