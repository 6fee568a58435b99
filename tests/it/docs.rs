//! Generated docs stay in step with their source. Run with `TOOLTAPE_UPDATE_DOCS=1` to rewrite
//! them after changing the rule catalogue. (The file formats' JSON Schemas, docs/*.schema.json,
//! are checked by the library's unit tests, which alone derive them:
//! `TOOLTAPE_UPDATE_DOCS=1 cargo test --lib schema`.)

use std::path::Path;

fn check(file: &str, generated: String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    if std::env::var_os("TOOLTAPE_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "{file} is out of date; run `TOOLTAPE_UPDATE_DOCS=1 cargo test --test docs` and commit it"
    );
}

#[test]
fn rules_md_matches_the_catalogue() {
    check("docs/rules.md", tooltape::rules::doc::catalogue());
}

#[test]
fn every_rule_is_documented_with_a_demo_handler() {
    let md = tooltape::rules::doc::catalogue();
    for rule in tooltape::rules::RuleId::ALL {
        assert!(
            md.contains(&format!("## {rule} (")),
            "{rule} has no section"
        );
        let demo = format!("breaks-{rule}");
        assert!(
            tooltape::handler::builtin::by_name(&demo).is_some(),
            "no built-in handler {demo}"
        );
    }
}
