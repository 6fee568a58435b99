//! Ids for calls that have none, and the pairing of results with them.
//!
//! Gemini 3 gives every `functionCall` an `id`, and results carry it back. Gemini 2.x often
//! gives none; then the real clients (google-genai's own loop among them) pair each
//! `functionResponse` with a call by name, then by position among the calls of that name. The
//! neutral model keys results by call id, so such calls get a synthetic id that the same model
//! turn always gets, wherever it is parsed (as a reply, or inside the next request's history):
//!
//! `{name}#{k}@{fp}` — the call's name, its position among the calls of that name in its turn
//! (from 0), and a fingerprint of the turn: FNV-1a (32 bits, hex) over every call of the turn,
//! in order, as `name \x1f canonical-args \x1e` (canonical: JSON with sorted keys, no spaces).
//! The fingerprint keeps the ids of different turns apart (a cassette's ids must be unique);
//! two turns with exactly the same calls and arguments still collide, and such a cassette is
//! refused. `scripts/make_bundled.py` computes the same ids.
//!
//! A `functionResponse` without an id takes the id of the call it pairs with in the nearest
//! model turn with calls before it; one with nothing to pair with gets the id that call would
//! have (`{name}#{k}@{fp}`, or `@none` before any call turn), which no call has, so the rules
//! see a result for an unknown call.

use std::collections::BTreeMap;

use serde_json::Value;

/// The synthetic id of the `k`-th call named `name` in the turn with fingerprint `fp`.
pub(super) fn synthetic(name: &str, k: usize, fp: Option<u32>) -> String {
    match fp {
        Some(fp) => format!("{name}#{k}@{fp:08x}"),
        None => format!("{name}#{k}@none"),
    }
}

/// The name and position of a synthetic id; `None` for an id the model gave.
pub(super) fn parse_synthetic(id: &str) -> Option<(&str, usize)> {
    let (left, fp) = id.rsplit_once('@')?;
    let fp_ok = fp == "none" || (fp.len() == 8 && fp.bytes().all(|b| b.is_ascii_hexdigit()));
    let (name, k) = left.rsplit_once('#')?;
    if !fp_ok || k.is_empty() || !k.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((name, k.parse().ok()?))
}

/// Whether `id` is synthetic (the call had no id on the wire).
pub(in crate::provider) fn is_synthetic(id: &str) -> bool {
    parse_synthetic(id).is_some()
}

/// The fingerprint of a turn whose calls are `(name, args)`, in order.
pub(super) fn fingerprint<'a>(calls: impl IntoIterator<Item = (&'a str, &'a Value)>) -> u32 {
    let mut text = String::new();
    for (name, args) in calls {
        text.push_str(name);
        text.push('\u{1f}');
        canonical(args, &mut text);
        text.push('\u{1e}');
    }
    fnv1a(text.as_bytes())
}

fn fnv1a(bytes: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in bytes {
        h = (h ^ u32::from(*b)).wrapping_mul(0x0100_0193);
    }
    h
}

/// `v` as compact JSON with every object's keys sorted (Python's `json.dumps(v,
/// sort_keys=True, separators=(",", ":"), ensure_ascii=False)` for the same value).
pub(super) fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(o) => {
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical(&o[k], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Ids for the calls of one turn: the id each call carries, or its synthetic one.
pub(in crate::provider) fn call_ids(calls: &[(&str, &Value, Option<&str>)]) -> Vec<String> {
    let needs = calls.iter().any(|(_, _, id)| id.is_none());
    let fp = needs.then(|| fingerprint(calls.iter().map(|(n, a, _)| (*n, *a))));
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    calls
        .iter()
        .map(|(name, _, id)| {
            let k = seen.entry(name).or_default();
            let nth = *k;
            *k += 1;
            match id {
                Some(id) => id.to_string(),
                None => synthetic(name, nth, fp),
            }
        })
        .collect()
}

/// The pairing state while reading a conversation in order: the calls of the latest model turn
/// with calls, and how many id-less results of each name have been paired with them.
#[derive(Debug, Default)]
pub(in crate::provider) struct Pairing {
    /// Per name, the ids of that turn's calls of that name, in order.
    calls: BTreeMap<String, Vec<String>>,
    fp: Option<u32>,
    taken: BTreeMap<String, usize>,
    /// Every call's id in order, and how many results without a name were paired by
    /// position (OpenAI-compatible servers' tool messages carry neither id nor name).
    in_order: Vec<String>,
    taken_in_order: usize,
}

impl Pairing {
    /// A model turn with these calls (`(name, args, neutral id)`) opens: later results pair
    /// with it.
    pub(in crate::provider) fn open(&mut self, calls: &[(&str, &Value, String)]) {
        self.fp = Some(fingerprint(calls.iter().map(|(n, a, _)| (*n, *a))));
        self.calls.clear();
        self.taken.clear();
        self.in_order = calls.iter().map(|(_, _, id)| id.clone()).collect();
        self.taken_in_order = 0;
        for (name, _, id) in calls {
            self.calls
                .entry(name.to_string())
                .or_default()
                .push(id.clone());
        }
    }

    /// The id of an id-less result for a call named `name`: the next call of that name in the
    /// open turn, or an id no call has.
    pub(in crate::provider) fn pair(&mut self, name: &str) -> String {
        let k = self.taken.entry(name.to_string()).or_default();
        let nth = *k;
        *k += 1;
        match self.calls.get(name).and_then(|ids| ids.get(nth)) {
            Some(id) => id.clone(),
            None => synthetic(name, nth, self.fp),
        }
    }
}

impl Pairing {
    /// The id of an id-less result that names no call: the next call of the open turn by
    /// position, or an id no call has.
    pub(in crate::provider) fn pair_by_position(&mut self) -> String {
        let nth = self.taken_in_order;
        self.taken_in_order += 1;
        match self.in_order.get(nth) {
            Some(id) => id.clone(),
            None => synthetic("result", nth, self.fp),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn synthetic_ids_round_trip_and_real_ids_are_not_synthetic() {
        let id = synthetic("get_weather", 2, Some(0xdead_beef));
        assert_eq!(id, "get_weather#2@deadbeef");
        assert_eq!(parse_synthetic(&id), Some(("get_weather", 2)));
        assert_eq!(
            parse_synthetic("my.tool-v2#0@none"),
            Some(("my.tool-v2", 0))
        );
        for real in [
            "call_4162774",
            "a1b2c3d4",
            "x#1@abc",
            "x#@deadbeef",
            "x#1@deadbeeg",
            "",
        ] {
            assert!(!is_synthetic(real), "{real}");
        }
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let mut s = String::new();
        canonical(
            &json!({"b": [1, {"z": "é\n", "a": null}], "a": 1.5, "c": true}),
            &mut s,
        );
        assert_eq!(s, r#"{"a":1.5,"b":[1,{"a":null,"z":"é\n"}],"c":true}"#);
    }

    /// Pinned: `scripts/make_bundled.py` computes the same value for the same calls.
    #[test]
    fn the_fingerprint_is_pinned() {
        let a = json!({"location": "Paris", "unit": "celsius"});
        let b = json!({"unit": "celsius", "location": "Tokyo"});
        let fp = fingerprint([("get_weather", &a), ("get_weather", &b)]);
        assert_eq!(format!("{fp:08x}"), "ba701b2c");
    }

    #[test]
    fn calls_without_ids_get_name_and_position_with_the_turn_fingerprint() {
        let (a, b, c) = (json!({"q": 1}), json!({"q": 2}), json!({}));
        let ids = call_ids(&[
            ("search", &a, None),
            ("clock", &c, None),
            ("search", &b, None),
        ]);
        let fp = format!(
            "{:08x}",
            fingerprint([("search", &a), ("clock", &c), ("search", &b)])
        );
        assert_eq!(
            ids,
            [
                format!("search#0@{fp}"),
                format!("clock#0@{fp}"),
                format!("search#1@{fp}")
            ]
        );
        // Ids the model gave are kept; another turn's arguments give other ids.
        assert_eq!(
            call_ids(&[("search", &a, Some("c1")), ("search", &b, Some("c2"))]),
            ["c1", "c2"]
        );
        assert_ne!(call_ids(&[("search", &b, None)])[0], ids[0]);
    }

    #[test]
    fn results_pair_by_name_then_position_and_extras_get_unknown_ids() {
        let (a, b) = (json!({"q": 1}), json!({"q": 2}));
        let mut p = Pairing::default();
        assert_eq!(p.pair("search"), "search#0@none");
        let calls = [
            ("search", &a, "s0".to_string()),
            ("search", &b, "s1".to_string()),
        ];
        p.open(&calls);
        assert_eq!(p.pair("search"), "s0");
        assert_eq!(p.pair("clock"), synthetic("clock", 0, p.fp));
        assert_eq!(p.pair("search"), "s1");
        let extra = p.pair("search");
        assert_eq!(parse_synthetic(&extra), Some(("search", 2)));
        // A new turn starts the count again.
        p.open(&calls[..1]);
        assert_eq!(p.pair("search"), "s0");
    }
}
