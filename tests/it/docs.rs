//! The rule catalogue's text against the built-in handlers. (The generated docs, docs/rules.md
//! and docs/*.schema.json, are checked by the library's unit tests named `the_published_*`;
//! `TOOLTAPE_UPDATE_DOCS=1 cargo test --lib published` rewrites them.)

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
