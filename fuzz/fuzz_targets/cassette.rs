//! The cassette loader: bytes as `tooltape test`/`lint` read a cassette file (UTF-8 check,
//! then the versioned JSON with every exchange parsed by its provider).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.json");
    let Ok(text) = tooltape::error::utf8_text(path, data.to_vec()) else {
        return;
    };
    let _ = tooltape::cassette::parse(path, &text);
});
