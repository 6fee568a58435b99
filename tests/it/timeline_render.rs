//! The timeline picture rendered by a real browser: headless Chromium takes a screenshot of
//! the SVG and of the HTML page, and the PNGs must be real pictures of the window's size.
//! Skipped (with a note) where /usr/bin/chromium is not installed; `.ci/run` installs it.
//! The browser is given a time limit and killed with its process group when it overruns.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tooltape::handler::builtin;
use tooltape::report::{Suite, timeline};

const CHROMIUM: &str = "/usr/bin/chromium";
const TIME_LIMIT: Duration = Duration::from_secs(90);
const WINDOW: (u32, u32) = (1200, 900);

/// Every bundled scenario against a handler that drops failed calls' results: passing and
/// failing scenarios, hung and failed calls.
fn suite() -> Suite {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let files = tooltape::runner::discover(&[dir]).expect("bundled scenarios");
    let (scenarios, errors) = tooltape::runner::load_all(&files);
    assert!(errors.is_empty(), "{errors:?}");
    let handler = builtin::by_name("breaks-missing-result").expect("built-in handler");
    let reports = tooltape::runner::run_suite(&scenarios, &handler, 42, 4, &|_| {});
    Suite::new("builtin:breaks-missing-result".into(), 42, false, reports)
}

/// Screenshot `page` into `png` with a fresh profile in `dir`.
fn screenshot(page: &Path, png: &Path, dir: &Path) -> Result<(), String> {
    let profile = dir.join(format!(
        "profile-{}",
        png.file_stem().and_then(|s| s.to_str()).unwrap_or("x")
    ));
    let log_path = dir.join("chromium.log");
    let log = File::create(&log_path).map_err(|e| e.to_string())?;
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("--window-size={},{}", WINDOW.0, WINDOW.1))
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        // Its own process group, so the browser's helpers go down with it on a timeout.
        .process_group(0)
        .spawn()
        .map_err(|e| format!("starting {CHROMIUM}: {e}"))?;
    let started = Instant::now();
    let status = loop {
        match child.try_wait().map_err(|e| e.to_string())? {
            Some(status) => break status,
            None if started.elapsed() > TIME_LIMIT => {
                let _ = Command::new("kill")
                    .args(["-KILL", "--", &format!("-{}", child.id())])
                    .status();
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "chromium did not finish within {TIME_LIMIT:?}; killed"
                ));
            }
            None => std::thread::sleep(Duration::from_millis(100)),
        }
    };
    if !status.success() {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        return Err(format!("chromium failed ({status}):\n{log}"));
    }
    Ok(())
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    let signature = b"\x89PNG\r\n\x1a\n";
    if bytes.len() < 24 || &bytes[..8] != signature || &bytes[12..16] != b"IHDR" {
        return None;
    }
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    Some((be(&bytes[16..20]), be(&bytes[20..24])))
}

#[test]
fn chromium_renders_the_svg_and_the_html_page() {
    if !Path::new(CHROMIUM).exists() {
        eprintln!("note: {CHROMIUM} is not installed; the rendering test is skipped");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let suite = suite();
    for name in ["timeline.svg", "timeline.html"] {
        let page: PathBuf = dir.path().join(name);
        timeline::write(&page, &suite).expect("the picture is written");
        let png = dir.path().join(format!("{name}.png"));
        screenshot(&page, &png, dir.path()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let bytes = std::fs::read(&png).unwrap_or_else(|e| panic!("{name}: no screenshot: {e}"));
        assert!(
            bytes.len() > 10 * 1024,
            "{name}: screenshot of {} bytes is too small to show anything",
            bytes.len()
        );
        assert_eq!(
            png_size(&bytes),
            Some(WINDOW),
            "{name}: not a PNG of the window's size"
        );
    }
}

#[test]
fn test_writes_the_picture_it_is_asked_for() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cli = || {
        let mut c = assert_cmd::cargo::cargo_bin_cmd!("tooltape");
        c.current_dir(env!("CARGO_MANIFEST_DIR"));
        c
    };
    let svg = dir.path().join("t.svg");
    cli()
        .args([
            "test",
            "scenarios/anthropic-three_parallel.json",
            "--timeline",
        ])
        .arg(&svg)
        .assert()
        .code(0);
    let text = std::fs::read_to_string(&svg).expect("the SVG is written");
    assert!(text.starts_with("<svg ") && text.contains("anthropic-three_parallel"));
    // A file name that says neither SVG nor HTML is refused before anything runs.
    let png = dir.path().join("t.png");
    cli()
        .args([
            "test",
            "scenarios/anthropic-three_parallel.json",
            "--timeline",
        ])
        .arg(&png)
        .assert()
        .code(2)
        .stderr(predicates::str::contains(".svg or .html"));
    assert!(!png.exists());
}
