//! Output tags: every fake tool output carries a tag unique to its call, so a result filed
//! under the wrong call is always detectable, whatever the text.

/// The unique tag appended to a call's output: stable for a call id.
pub fn tag(call_id: &str) -> String {
    let mut h: u32 = 0x811c_9dc5;
    for b in call_id.bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    format!("tt-{h:08x}")
}

/// `text` carrying `tag`. A JSON object gets the tag as a `tooltape_tag` member, so an agent
/// that parses its tools' JSON output still can (and passes the tag along); anything else gets
/// it appended as ` [tag]`.
pub fn tagged_text(text: &str, tag: &str) -> String {
    if let Ok(serde_json::Value::Object(mut o)) = serde_json::from_str(text) {
        o.insert("tooltape_tag".into(), serde_json::Value::String(tag.into()));
        return serde_json::Value::Object(o).to_string();
    }
    format!("{text} [{tag}]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_stable_and_distinct() {
        assert_eq!(tag("toolu_01A"), tag("toolu_01A"));
        assert_ne!(tag("toolu_01A"), tag("toolu_01B"));
        assert_eq!(tag("x").len(), 11);
    }

    #[test]
    fn json_objects_keep_being_json_when_tagged() {
        let t = tagged_text(r#"{"temp": 21, "city": "Lisbon"}"#, "tt-1");
        let v: serde_json::Value = serde_json::from_str(&t).unwrap();
        assert_eq!(v["tooltape_tag"], "tt-1");
        assert_eq!(v["temp"], 21);
        assert_eq!(tagged_text("plain", "tt-2"), "plain [tt-2]");
        assert_eq!(tagged_text("[1, 2]", "tt-3"), "[1, 2] [tt-3]");
    }
}
