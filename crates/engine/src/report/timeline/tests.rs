//! The picture is well-formed XML with one bar per tool run shown, escapes every text, and
//! shows the runs it promises (the first, plus every failing one).

use std::path::Path;
use std::sync::Arc;

use super::{Format, html, svg};
use crate::handler::builtin;
use crate::handler::run_scenario;
use crate::replay::ScenarioReport;
use crate::report::Suite;

fn run(scenario: &str, handler: &str) -> ScenarioReport {
    let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .join("scenarios")
        .join(scenario);
    let s = Arc::new(crate::scenario::load(&path).expect("bundled scenario"));
    let h = builtin::by_name(handler).expect("built-in handler");
    run_scenario(s, &h, 42)
}

fn suite(handler: &str, reports: Vec<ScenarioReport>) -> Suite {
    Suite::new(format!("builtin:{handler}"), 42, false, reports)
}

/// Every `<rect class="bar …">` of a document, as (class, tooltip).
fn bars(doc: &roxmltree::Document) -> Vec<(String, String)> {
    doc.descendants()
        .filter(|n| n.has_tag_name("rect"))
        .filter_map(|n| {
            let class = n.attribute("class")?;
            class.starts_with("bar ").then(|| {
                let tip = n
                    .children()
                    .find(|c| c.has_tag_name("title"))
                    .and_then(|t| t.text())
                    .unwrap_or("");
                (class.to_string(), tip.to_string())
            })
        })
        .collect()
}

#[test]
fn a_passing_scenario_shows_its_first_run_with_a_bar_per_call() {
    let report = run("anthropic-three_parallel.json", "reference");
    assert!(report.runs.len() > 1 && report.passed(false));
    let text = svg(&suite("reference", vec![report.clone()]));
    let doc = roxmltree::Document::parse(&text).expect("the SVG is well-formed XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    assert_eq!(
        doc.root_element().tag_name().namespace(),
        Some("http://www.w3.org/2000/svg")
    );
    let found = bars(&doc);
    // Three parallel calls in turn 1; the closing turn runs no tool.
    assert_eq!(found.len(), 3, "{found:?}");
    let expected: usize = report.runs[0].turns.iter().map(|t| t.bars.len()).sum();
    assert_eq!(found.len(), expected);
    assert!(
        found.iter().all(|(class, _)| class == "bar state-ok"),
        "{found:?}"
    );
    assert!(text.contains(">PASS<") && text.contains("Turn 1"));
    let t = &report.runs[0].turns[0];
    let figures = format!("concurrency {:.2} · peak 3 in flight", t.concurrency);
    assert!(
        text.contains(&figures),
        "the turn's figures are in its header: {figures}"
    );
}

#[test]
fn failing_runs_are_all_shown_with_their_states_and_blame() {
    let report = run("anthropic-hung_tool.json", "breaks-missing-result");
    let failing = report.runs.iter().filter(|r| !r.passed(false)).count();
    assert!(failing >= 2);
    let text = svg(&suite("breaks-missing-result", vec![report.clone()]));
    let doc = roxmltree::Document::parse(&text).expect("well-formed");
    let found = bars(&doc);
    let expected: usize = report
        .runs
        .iter()
        .flat_map(|r| &r.turns)
        .map(|t| t.bars.len())
        .sum();
    assert_eq!(found.len(), expected);
    assert!(
        found
            .iter()
            .any(|(class, tip)| class == "bar state-hung" && tip.contains("fetch_url")),
        "{found:?}"
    );
    assert!(text.contains(">FAIL<") && text.contains("missing-result"));
    // The unanswered call's rows are marked.
    let blamed = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("blamed"))
        .count();
    assert_eq!(blamed, failing);
}

#[test]
fn every_text_is_escaped() {
    let mut report = run("anthropic-three_parallel.json", "reference");
    report.name = "<script>alert('x')</script> & co".into();
    let bar = &mut report.runs[0].turns[0].bars[0];
    bar.tool = "<&>".into();
    bar.call_id = "toolu_\"quoted\"\u{1}".into();
    report.runs[0].order = "a<b".into();
    let s = suite("<handler & co>", vec![report]);
    let text = svg(&s);
    let doc = roxmltree::Document::parse(&text).expect("escaped text keeps the XML well-formed");
    let texts: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| {
            n.descendants()
                .filter(|d| d.is_text())
                .filter_map(|d| d.text())
                .collect()
        })
        .collect();
    assert!(texts.iter().any(|t| t == "<&>"), "{texts:?}");
    assert!(
        texts.iter().any(|t| t.starts_with("<script>alert('x')")),
        "{texts:?}"
    );
    assert!(
        texts.iter().any(|t| t == "toolu_\"quoted\""),
        "control characters are dropped: {texts:?}"
    );
    assert!(!text.contains("<script>") && !text.contains("<&>"));
    // The page: every inline picture parses too, and nothing is fetched from elsewhere.
    let page = html(&s);
    assert!(page.starts_with("<!DOCTYPE html>"));
    let pictures: Vec<&str> = page
        .split("<svg ")
        .skip(1)
        .map(|p| &p[..p.find("</svg>").unwrap_or(p.len())])
        .collect();
    assert_eq!(pictures.len(), 2);
    for p in pictures {
        roxmltree::Document::parse(&format!("<svg {p}</svg>")).expect("inline SVG is well-formed");
    }
    for external in ["src=", "href=", "@import", "url(http"] {
        assert!(!page.contains(external), "{external}");
    }
    assert!(page.contains("&lt;handler &amp; co&gt;"));
}

#[test]
fn the_format_comes_from_the_file_name() {
    assert_eq!(Format::for_path(Path::new("out.svg")).unwrap(), Format::Svg);
    assert_eq!(
        Format::for_path(Path::new("out/timeline.HTML")).unwrap(),
        Format::Html
    );
    assert_eq!(Format::for_path(Path::new("t.htm")).unwrap(), Format::Html);
    let err = Format::for_path(Path::new("t.png"))
        .unwrap_err()
        .to_string();
    assert!(err.contains(".svg or .html"), "{err}");
}
