//! Keeping secrets out of cassettes, in two layers.
//!
//! 1. [`Redactor`] masks what looks like a credential in every recorded text: `sk-…` /
//!    `sk-ant-…` keys, `Bearer …` / `Basic …` tokens, Google `AIza…` keys, JWTs, `NAME: value`,
//!    `NAME=value` and `?NAME=value` where the name is on the one list of secret-bearing names
//!    ([`super::names`]), JSON members with such names, plus the user's `--redact` patterns. It
//!    looks at what a reader of the cassette could reassemble, not only at each string as
//!    stored: a stream's deltas joined back ([`super::deltas`]), and every text's decodings —
//!    escapes undone, percent-decoded, base64 and hex runs decoded, line breaks inside them
//!    skipped, recursively ([`super::decode`]). A match in a decoding masks what it came from
//!    (the whole base64 run, the escapes that spell it). A cassette never holds headers at all.
//! 2. [`Credentials`] is the safety net: every credential value the run used (from the request
//!    headers and query strings the proxy saw, and from the environment) is searched for in
//!    the final text in all the same forms ([`Credentials::scan_cassette`]); a hit refuses the
//!    write and says where, never what.

use std::borrow::Cow;
use std::collections::HashSet;
use std::ops::Range;

use regex::Regex;
use serde_json::Value;

use super::decode::{self, MAX_DEPTH};
use super::deltas;
use super::error::RecordError;
use super::names::{self, Scope};
use crate::provider::SseEvent;

/// What a redacted value is replaced with.
pub const MASK: &str = "[REDACTED]";

/// Credentials shorter than this are not searched for (they would match by chance).
pub(crate) const MIN_SECRET_LEN: usize = decode::MIN_PRINTABLE;

/// Built-in patterns of keys and tokens. A first capture group, when present, is kept (the
/// scheme or the name before the value).
const KEY_PATTERNS: &[&str] = &[
    r"\bsk-(?:ant-)?[A-Za-z0-9_\-]{16,}",
    r"(?i)(\b(?:bearer|basic)\s+)[A-Za-z0-9._~+/=\-]{8,}",
    r"\bAIza[0-9A-Za-z_\-]{30,}",
    // A JWT: a JSON header and payload in base64url, and the signature.
    r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*",
];

/// The patterns of secret-bearing names followed by a value, and whether the value must look
/// like a secret ([`looks_secret`]) to be masked:
///
/// - a header line, the name spelled as HTTP spells it (`X-Amz-Security-Token: …`,
///   `Cookie: …`): the rest of the line;
/// - an assignment or a member in any spelling (`OPENAI_API_KEY=…`, `"client_secret": "…"`,
///   `api_key: …`): one token, when it looks like a secret, so that code (`SESSION_COOKIE =
///   'acme_sid'`, `api_key=os.environ[…]`) is left alone;
/// - a query parameter in a URL (`?private_token=…`, `&key=…`, with the names that count only
///   there): up to the next parameter.
fn name_patterns() -> [(String, bool); 3] {
    let header = names::alternation(Scope::Text, "-");
    let any = names::alternation(Scope::Text, "[-_]?");
    let query = names::alternation(Scope::Query, "[-_]?");
    [
        (
            format!(r#"(?i)(\b(?:{header})["']?\s*:\s*["']?)[^\r\n"']+"#),
            false,
        ),
        (
            format!(r#"(?i)(\b(?:{any})["']?\s*[:=]\s*["']?)[A-Za-z0-9._~+/=%\-]+"#),
            true,
        ),
        (format!(r#"(?i)([?&](?:{query})=)[^&#\s"']+"#), false),
    ]
}

/// Whether a value after a secret-bearing name looks like a secret rather than code or a
/// word: eight characters or more, with a digit, or long and mixed-case without dots.
fn looks_secret(v: &str) -> bool {
    let has = |f: fn(&char) -> bool| v.chars().any(|c| f(&c));
    v.len() >= MIN_SECRET_LEN
        && (has(char::is_ascii_digit)
            || (v.len() >= 24
                && has(char::is_ascii_uppercase)
                && has(char::is_ascii_lowercase)
                && !v.contains('.')))
}

/// One pattern, and whether its value must look like a secret.
#[derive(Debug, Clone)]
struct Rule {
    re: Regex,
    checked: bool,
}

/// Masks auth-looking values in recorded text and JSON.
#[derive(Debug, Clone)]
pub struct Redactor {
    rules: Vec<Rule>,
    /// All of them at once: most texts match none, and one pass says so (`None` when they are
    /// too big together, then each is tried).
    any: Option<regex::RegexSet>,
}

impl Redactor {
    /// The built-in patterns plus `extra` (`--redact` regexes, whose whole match is masked).
    pub fn new(extra: &[String]) -> Result<Self, RecordError> {
        let mut rules: Vec<Rule> = KEY_PATTERNS
            .iter()
            .map(|p| ((*p).to_string(), false))
            .chain(name_patterns())
            .map(|(p, checked)| Rule {
                re: Regex::new(&p).expect("built-in patterns compile"),
                checked,
            })
            .collect();
        for p in extra {
            let re = Regex::new(p).map_err(|e| RecordError::BadPattern {
                pattern: p.clone(),
                message: e.to_string(),
            })?;
            if re.is_match("") {
                return Err(RecordError::BadPattern {
                    pattern: p.clone(),
                    message: "it matches the empty string, so it would mask nothing useful".into(),
                });
            }
            rules.push(Rule { re, checked: false });
        }
        let any = regex::RegexSet::new(rules.iter().map(|r| r.re.as_str())).ok();
        Ok(Redactor { rules, any })
    }

    /// The ranges of `s` to mask: pattern matches in `s` itself, and the sources of matches in
    /// its decodings; sorted, not overlapping.
    pub fn spans(&self, s: &str) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        self.spans_at(s, 0, &mut out);
        out.sort_by_key(|r| (r.start, r.end));
        let mut merged: Vec<Range<usize>> = Vec::with_capacity(out.len());
        for r in out {
            match merged.last_mut() {
                Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
                _ => merged.push(r),
            }
        }
        merged
    }

    fn spans_at(&self, s: &str, depth: usize, out: &mut Vec<Range<usize>>) {
        let matched: Vec<usize> = match &self.any {
            Some(any) if any.is_match(s) => any.matches(s).into_iter().collect(),
            Some(_) => Vec::new(),
            None => (0..self.rules.len()).collect(),
        };
        for rule in matched.into_iter().map(|i| &self.rules[i]) {
            if rule.re.captures_len() > 1 {
                for caps in rule.re.captures_iter(s) {
                    let (Some(all), Some(kept)) = (caps.get(0), caps.get(1)) else {
                        continue;
                    };
                    if !rule.checked || looks_secret(&s[kept.end()..all.end()]) {
                        out.push(kept.end()..all.end());
                    }
                }
            } else {
                out.extend(rule.re.find_iter(s).map(|m| m.range()));
            }
        }
        if depth >= MAX_DEPTH {
            return;
        }
        for d in decode::decodings(s) {
            let mut inner = Vec::new();
            self.spans_at(&d.text, depth + 1, &mut inner);
            out.extend(inner.iter().map(|r| d.origin.source(r)));
        }
        // A mask never ends between a backslash and the character it escapes.
        for r in out.iter_mut() {
            let slashes = s[..r.end].bytes().rev().take_while(|&b| b == b'\\').count();
            if slashes % 2 == 1
                && let Some(c) = s[r.end..].chars().next()
            {
                r.end += c.len_utf8();
            }
        }
        out.retain(|r| !r.is_empty());
    }

    /// `s` with every span masked.
    pub fn text<'a>(&self, s: &'a str) -> Cow<'a, str> {
        let spans = self.spans(s);
        if spans.is_empty() {
            return Cow::Borrowed(s);
        }
        let mut out = String::with_capacity(s.len());
        let mut at = 0;
        for r in spans {
            out.push_str(&s[at..r.start]);
            out.push_str(MASK);
            at = r.end;
        }
        out.push_str(&s[at..]);
        Cow::Owned(out)
    }

    /// Mask every string inside `v` (and the values of members named like credentials);
    /// whether anything changed.
    pub fn value(&self, v: &mut Value) -> bool {
        self.value_with(v, &mut HashSet::new())
    }

    /// [`Redactor::value`], skipping the strings in `clean` (known to need no mask) and adding
    /// those it finds so: a stream repeats its ids and names in every event.
    fn value_with(&self, v: &mut Value, clean: &mut HashSet<String>) -> bool {
        match v {
            Value::String(s) => {
                if clean.contains(s.as_str()) {
                    return false;
                }
                match self.text(s) {
                    Cow::Owned(o) => {
                        *s = o;
                        true
                    }
                    Cow::Borrowed(_) => {
                        clean.insert(s.clone());
                        false
                    }
                }
            }
            Value::Array(items) => items
                .iter_mut()
                .fold(false, |c, i| self.value_with(i, clean) | c),
            Value::Object(map) => {
                let mut changed = false;
                for (k, item) in map.iter_mut() {
                    let secret = match item {
                        Value::String(s) => !s.is_empty() && s != MASK,
                        Value::Number(_) => true,
                        _ => false,
                    };
                    if secret && names::is_secret(k, Scope::Member) {
                        *item = Value::String(MASK.into());
                        changed = true;
                    } else {
                        changed |= self.value_with(item, clean);
                    }
                }
                changed
            }
            _ => false,
        }
    }

    /// An SSE `data:` text on its own: JSON is scrubbed value by value (the text is kept byte
    /// for byte when nothing needs masking); anything else as text. A stream's events should
    /// go through [`Redactor::stream`], which also sees what they spell together.
    pub fn sse_data(&self, data: &str) -> String {
        if let Ok(mut v) = serde_json::from_str::<Value>(data) {
            if self.value(&mut v) {
                return v.to_string();
            }
            return data.to_string();
        }
        self.text(data).into_owned()
    }

    /// A stream's events: every text a reader reassembles from several of them
    /// ([`deltas::groups`]) is masked as one, the mask going to the pieces it came from; then
    /// each event like [`Redactor::sse_data`]. An event's data is kept byte for byte unless something in
    /// it was masked. Whether anything changed.
    pub fn stream(&self, events: &mut [SseEvent]) -> bool {
        let mut parsed: Vec<Option<Value>> = events
            .iter()
            .map(|e| {
                serde_json::from_str::<Value>(&e.data)
                    .ok()
                    .filter(|v| v.is_object() || v.is_array())
            })
            .collect();
        let mut changed = vec![false; events.len()];
        let mut any = false;
        // The joined texts first: masking a piece on its own could hide the key it starts.
        for g in deltas::groups(&parsed) {
            let texts: Vec<String> = g
                .pieces
                .iter()
                .map(|p| {
                    parsed[p.event]
                        .as_ref()
                        .and_then(|v| deltas::leaf(v, &p.path))
                        .unwrap_or_default()
                        .to_string()
                })
                .collect();
            let spans = self.spans(&texts.concat());
            if spans.is_empty() {
                continue;
            }
            let pieces: Vec<&str> = texts.iter().map(String::as_str).collect();
            let masked = deltas::mask_pieces(&pieces, &spans, MASK);
            for ((p, old), new) in g.pieces.iter().zip(&texts).zip(masked) {
                if *old != new
                    && let Some(s) = parsed[p.event]
                        .as_mut()
                        .and_then(|v| deltas::leaf_mut(v, &p.path))
                {
                    *s = new;
                    changed[p.event] = true;
                }
            }
        }
        let mut clean = HashSet::new();
        for (i, e) in events.iter_mut().enumerate() {
            match &mut parsed[i] {
                Some(v) => changed[i] |= self.value_with(v, &mut clean),
                None => {
                    if let Cow::Owned(o) = self.text(&e.data) {
                        e.data = o;
                        any = true;
                    }
                }
            }
            if let Some(name) = &e.event
                && let Cow::Owned(o) = self.text(name)
            {
                e.event = Some(o);
                any = true;
            }
        }
        for (i, e) in events.iter_mut().enumerate() {
            if changed[i]
                && let Some(v) = &parsed[i]
            {
                e.data = v.to_string();
                any = true;
            }
        }
        any
    }

    /// A query string (without `?`): parameters with secret-bearing names masked, then the
    /// patterns.
    pub fn query(&self, q: &str) -> String {
        let pairs: Vec<String> = q
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if names::is_secret(&decode::percent_decoded(k), Scope::Query) => {
                    format!("{k}={MASK}")
                }
                _ => pair.to_string(),
            })
            .collect();
        self.text(&pairs.join("&")).into_owned()
    }
}

/// One credential the run used, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// Like `environment variable ANTHROPIC_API_KEY` or `request header x-api-key`.
    pub source: String,
    pub(crate) value: String,
}

impl Credential {
    /// How long the value is (the value itself is never printed).
    pub fn len(&self) -> usize {
        self.value.len()
    }

    /// Whether the value is empty (never: such values are not collected).
    pub fn is_empty(&self) -> bool {
        self.value.is_empty()
    }
}

/// Where a credential was found in the text about to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// Which credential.
    pub source: String,
    /// In what form: `verbatim`, or the encodings around it, like `encoded (base64 inside
    /// escapes)`.
    pub form: String,
    /// Where: like `exchange 2, reply events 4–6 joined, field delta.text`, or a line of the
    /// file.
    pub place: String,
}

/// Every credential value the run used.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    pub(crate) found: Vec<Credential>,
}

/// Environment variables that always count as credentials, whatever their name says.
const SECRET_VARS: &[&str] = &[
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "OPENAI_API_KEY",
    "OPENAI_ADMIN_KEY",
    "AZURE_OPENAI_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
];

impl Credentials {
    /// The credentials among environment variables: `ANTHROPIC_API_KEY`, `OPENAI_API_KEY`,
    /// `ANTHROPIC_AUTH_TOKEN` and a few more by name, any variable whose name is on the list
    /// of secret-bearing names or ends with one (`*_API_KEY`, `*_SECRET`, `*_PASSWORD`, ...),
    /// and any `*_TOKEN`.
    pub fn from_env(vars: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut c = Credentials::default();
        for (name, value) in vars {
            let upper = name.to_ascii_uppercase();
            if SECRET_VARS.contains(&upper.as_str()) || names::is_secret(&name, Scope::Env) {
                c.add(format!("environment variable {name}"), &value);
            }
        }
        c
    }

    /// Collect the credentials in one request header, if its name is a secret-bearing one:
    /// the value, and for `Authorization` the token after the scheme (and a Basic password),
    /// for cookies each cookie's value.
    pub fn add_header(&mut self, name: &str, value: &str) {
        use base64::Engine as _;
        if !names::is_secret(name, Scope::Header) {
            return;
        }
        let folded = names::fold(name);
        let source = format!("request header {}", name.to_ascii_lowercase());
        if folded.ends_with("authorization") {
            let token = value.split_once(' ').map_or(value, |(_, t)| t).trim();
            self.add(source.clone(), token);
            if value
                .get(..6)
                .is_some_and(|s| s.eq_ignore_ascii_case("basic "))
                && let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(token)
                && let Ok(decoded) = String::from_utf8(decoded)
                && let Some((_, password)) = decoded.split_once(':')
            {
                self.add(format!("{source} (basic password)"), password);
            }
        } else if folded.ends_with("cookie") {
            for pair in value.split(';') {
                if let Some((_, v)) = pair.split_once('=') {
                    self.add(source.clone(), v.trim());
                }
            }
        } else {
            let value = value.trim();
            self.add(source.clone(), value);
            if let Some((_, token)) = value.rsplit_once(' ') {
                self.add(source, token);
            }
        }
    }

    /// Collect the values of query parameters with secret-bearing names (`?key=…`), as sent
    /// and percent-decoded.
    pub fn add_query(&mut self, query: &str) {
        for pair in query.split('&') {
            if let Some((k, v)) = pair.split_once('=')
                && names::is_secret(&decode::percent_decoded(k), Scope::Query)
            {
                let source = format!("query parameter {k}");
                self.add(source.clone(), v);
                self.add(source, &decode::percent_decoded(v));
            }
        }
    }

    fn add(&mut self, source: String, value: &str) {
        if value.len() < MIN_SECRET_LEN
            || value == MASK
            || self.found.iter().any(|c| c.value == value)
        {
            return;
        }
        self.found.push(Credential {
            source,
            value: value.to_string(),
        });
    }

    /// The credentials collected.
    pub fn iter(&self) -> impl Iterator<Item = &Credential> {
        self.found.iter()
    }

    /// Every credential known in `other` is known here too.
    pub fn merge(&mut self, other: &Credentials) {
        for c in &other.found {
            self.add(c.source.clone(), &c.value);
        }
    }

    /// The first credential found in `text` as written, byte for byte: verbatim, JSON-escaped,
    /// percent-encoded or in base64 at any alignment (see [`Credentials::scan_cassette`] for
    /// everything a reader can reassemble).
    pub fn scan(&self, text: &str) -> Option<Hit> {
        for c in &self.found {
            for (form, needle) in needles(&c.value) {
                if let Some(at) = text.find(&needle) {
                    let line = text[..at].matches('\n').count() + 1;
                    return Some(Hit {
                        source: c.source.clone(),
                        form: form.into(),
                        place: format!("line {line} of the file"),
                    });
                }
            }
        }
        None
    }
}

/// The texts a secret may appear as: verbatim, JSON-escaped, percent-encoded, and base64
/// (standard and URL-safe alphabets) at each of the three alignments it can have inside a
/// longer base64 text.
fn needles(secret: &str) -> Vec<(&'static str, String)> {
    let mut out = vec![("verbatim", secret.to_string())];
    let escaped = serde_json::to_string(secret).unwrap_or_default();
    let escaped = escaped.trim_matches('"');
    if escaped != secret {
        out.push(("JSON-escaped", escaped.to_string()));
    }
    let pct = percent_encode(secret);
    if pct != secret {
        out.push(("percent-encoded", pct));
    }
    let bytes = secret.as_bytes();
    for skip in 0..3 {
        let tail = &bytes[skip.min(bytes.len())..];
        let whole = tail.len() / 3 * 3;
        for url_safe in [false, true] {
            let enc = base64_encode(&tail[..whole], url_safe);
            if enc.len() >= MIN_SECRET_LEN && !out.iter().any(|(_, n)| *n == enc) {
                out.push(("base64", enc));
            }
        }
    }
    out
}

/// Base64 of `bytes` (padded), in the standard or the URL-safe alphabet.
pub fn base64_encode(bytes: &[u8], url_safe: bool) -> String {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE};
    if url_safe {
        URL_SAFE.encode(bytes)
    } else {
        STANDARD.encode(bytes)
    }
}

fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn r() -> Redactor {
        Redactor::new(&[]).unwrap()
    }

    #[test]
    fn masks_keys_tokens_and_header_lines_in_text() {
        let cases = [
            (
                "key sk-ant-api03-abcdefghijklmnopqrstuv end",
                "key [REDACTED] end",
            ),
            ("sk-proj-ABCDEFGHIJKLMNOPqrst", "[REDACTED]"),
            (
                "Authorization: Bearer abc.def.ghijkl",
                "Authorization: [REDACTED]",
            ),
            (
                "use bearer eyJhbGciOiJIUzI1NiJ9 here",
                "use bearer [REDACTED] here",
            ),
            ("x-api-key: anything-at-all", "x-api-key: [REDACTED]"),
            ("Cookie: session=abc; theme=dark", "Cookie: [REDACTED]"),
            (
                "key=AIzaSyA1234567890abcdefghijklmnopqrstu",
                "key=[REDACTED]",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(r().text(input), want, "{input}");
        }
    }

    #[test]
    fn leaves_ordinary_text_alone() {
        for s in [
            "task-1234567890abcdefghij",
            "sk-learn is a library",
            "max_tokens",
            "the bearer of news",
        ] {
            assert!(matches!(r().text(s), Cow::Borrowed(_)), "{s}");
        }
    }

    #[test]
    fn masks_secret_named_values_in_text_whatever_the_spelling() {
        let cases = [
            (
                "X-Amz-Security-Token: IQoJb3JpZ2luX2Vj\nnext",
                "X-Amz-Security-Token: [REDACTED]\nnext",
            ),
            ("private-token: glpat-abcdef", "private-token: [REDACTED]"),
            (
                "export OPENAI_API_KEY=opaque123 && run",
                "export OPENAI_API_KEY=[REDACTED] && run",
            ),
            (
                r#"{"client_secret": "cs-123456"}"#,
                r#"{"client_secret": "[REDACTED]"}"#,
            ),
            (
                "see https://host/p?a=1&private_token=glpat-xyz&b=2 ok",
                "see https://host/p?a=1&private_token=[REDACTED]&b=2 ok",
            ),
            (
                "https://maps.example/api?key=opaque-key-1&q=x",
                "https://maps.example/api?key=[REDACTED]&q=x",
            ),
            (
                "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U!",
                "jwt [REDACTED]!",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(r().text(input), want, "{input}");
        }
        for s in [
            "the password: is asked for twice",
            "access_token_expires_in: 3600",
            "authorization_url: https://example.com/oauth",
            "?key_id=abc",
        ] {
            assert!(matches!(r().text(s), Cow::Borrowed(_)), "{s}");
        }
    }

    #[test]
    fn masks_what_decodes_to_a_key() {
        use base64::Engine as _;
        use base64::engine::general_purpose::STANDARD;
        let key = "sk-ant-api03-abcdefghijklmnopqrstuv";
        let once = STANDARD.encode(format!("key: {key}"));
        let hex: String = key.bytes().map(|b| format!("{b:02X}")).collect();
        let escaped: String = key
            .chars()
            .map(|c| format!("\\u{:04x}", c as u32))
            .collect();
        let pct: String = key.bytes().map(|b| format!("%{b:02x}")).collect();
        for (form, encoded) in [
            ("base64", once.clone()),
            ("wrapped", format!("{}\n{}", &once[..30], &once[30..])),
            ("twice", STANDARD.encode(&once)),
            ("hex", hex),
            ("escapes", escaped.clone()),
            ("percent", pct),
            (
                "escaped base64",
                format!("{}\\n{}", &once[..30], &once[30..]),
            ),
        ] {
            let input = format!("before {encoded} after");
            assert_eq!(
                r().text(&input),
                "before [REDACTED] after",
                "{form}: {input}"
            );
        }
        // Only the escapes that spell the key go.
        let input = format!(r"a\tb {escaped} c\n");
        assert_eq!(r().text(&input), r"a\tb [REDACTED] c\n");
    }

    fn delta(t: &str) -> SseEvent {
        SseEvent::named(
            "content_block_delta",
            &json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": t}}),
        )
    }

    #[test]
    fn a_key_cut_across_deltas_is_masked_once_across_its_pieces() {
        let key = "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789";
        let cuts = [0, 3, 9, 14, 30, key.len()];
        let mut events: Vec<SseEvent> = vec![delta("Your key: ")];
        events.extend(cuts.windows(2).map(|w| delta(&key[w[0]..w[1]])));
        events.push(delta(" (keep it safe)"));
        let untouched = events.clone();
        assert!(r().stream(&mut events));
        let texts: Vec<String> = events
            .iter()
            .map(|e| {
                let v: Value = serde_json::from_str(&e.data).unwrap();
                v["delta"]["text"].as_str().unwrap().to_string()
            })
            .collect();
        assert_eq!(texts.concat(), "Your key: [REDACTED] (keep it safe)");
        assert_eq!(texts[1], MASK, "the mask goes where the key starts");
        assert_eq!(
            events[0], untouched[0],
            "events without a piece keep their bytes"
        );
        assert_eq!(events.last(), untouched.last());

        let mut plain = vec![delta("just "), delta("text")];
        let before = plain.clone();
        assert!(!r().stream(&mut plain));
        assert_eq!(plain, before);
    }

    #[test]
    fn the_text_of_a_cut_tool_input_stays_json() {
        let input = r#"{"cmd": "curl -H 'x-api-key: abc\"def' https://x"}"#;
        let mut events: Vec<SseEvent> = input
            .as_bytes()
            .chunks(7)
            .map(|c| {
                SseEvent::named(
                    "content_block_delta",
                    &json!({"index": 1, "delta": {"type": "input_json_delta", "partial_json": String::from_utf8_lossy(c)}}),
                )
            })
            .collect();
        r().stream(&mut events);
        let joined: String = events
            .iter()
            .map(|e| {
                let v: Value = serde_json::from_str(&e.data).unwrap();
                v["delta"]["partial_json"].as_str().unwrap().to_string()
            })
            .collect();
        let v: Value = serde_json::from_str(&joined).expect(&joined);
        // The mask took the escaped quote with the backslash before it.
        assert_eq!(v["cmd"], "curl -H 'x-api-key: [REDACTED]def' https://x");
    }

    #[test]
    fn masks_strings_and_credential_members_in_json() {
        let mut v = json!({
            "messages": [{"role": "user", "content": "my key is sk-ant-api03-abcdefghijklmnopqrstuv"}],
            "metadata": {"api_key": "plain", "X-Api-Key": "plain2", "token": "kept"},
            "max_tokens": 10
        });
        assert!(r().value(&mut v));
        assert_eq!(v["messages"][0]["content"], "my key is [REDACTED]");
        assert_eq!(v["metadata"]["api_key"], MASK);
        assert_eq!(v["metadata"]["X-Api-Key"], MASK);
        assert_eq!(v["metadata"]["token"], "kept");
        assert!(!r().value(&mut json!({"a": ["b", 1, null]})));
    }

    #[test]
    fn sse_data_is_kept_byte_for_byte_unless_masked() {
        let data = r#"{"type":"ping",  "x":1}"#;
        assert_eq!(r().sse_data(data), data);
        assert_eq!(r().sse_data("[DONE]"), "[DONE]");
        let masked = r().sse_data(r#"{"t":"sk-ant-api03-abcdefghijklmnopqrstuv"}"#);
        assert_eq!(masked, r#"{"t":"[REDACTED]"}"#);
    }

    #[test]
    fn user_patterns_are_added_and_checked() {
        let red = Redactor::new(&["corp-[0-9]+".into()]).unwrap();
        assert_eq!(red.text("id corp-1234 ok"), "id [REDACTED] ok");
        assert!(Redactor::new(&["(".into()]).is_err());
        assert!(Redactor::new(&["x*".into()]).is_err());
    }

    #[test]
    fn query_parameters_named_like_credentials_are_masked() {
        assert_eq!(
            r().query("api-version=2024-10-21&key=abc"),
            "api-version=2024-10-21&key=[REDACTED]"
        );
        assert_eq!(
            r().query("client_secret=a&access-token=b&X-Amz-Security-Token=c&private_token=d&client%5Fsecret=e"),
            "client_secret=[REDACTED]&access-token=[REDACTED]&X-Amz-Security-Token=[REDACTED]&private_token=[REDACTED]&client%5Fsecret=[REDACTED]"
        );
        assert_eq!(r().query("beta=true"), "beta=true");
    }

    #[test]
    fn base64_matches_known_vectors() {
        assert_eq!(base64_encode(b"", false), "");
        assert_eq!(base64_encode(b"f", false), "Zg==");
        assert_eq!(base64_encode(b"fo", false), "Zm8=");
        assert_eq!(base64_encode(b"foobar", false), "Zm9vYmFy");
        assert_eq!(base64_encode(&[0xfb, 0xff], true), "-_8=");
    }

    #[test]
    fn finds_credentials_verbatim_and_inside_base64_at_every_alignment() {
        let secret = "tt-secret-0123456789";
        let creds = Credentials::from_env([
            ("ANTHROPIC_API_KEY".to_string(), secret.to_string()),
            ("HOME".to_string(), "/home/someone-long".to_string()),
            ("SHORT_API_KEY".to_string(), "abc".to_string()),
        ]);
        assert_eq!(creds.iter().count(), 1);
        assert_eq!(creds.scan("nothing here"), None);
        let hit = creds.scan(&format!("a\nb {secret} c")).unwrap();
        assert_eq!(
            (hit.form.as_str(), hit.place.as_str()),
            ("verbatim", "line 2 of the file")
        );
        assert!(hit.source.contains("ANTHROPIC_API_KEY"));
        for prefix in ["", "x", "xy", "xyz"] {
            let blob = base64_encode(format!("{prefix}{secret}!").as_bytes(), false);
            let hit = creds
                .scan(&blob)
                .unwrap_or_else(|| panic!("not found with prefix {prefix:?}"));
            assert_eq!(hit.form, "base64");
        }
    }

    #[test]
    fn collects_credentials_from_auth_headers() {
        let mut c = Credentials::default();
        c.add_header("Authorization", "Bearer sk-abcdefghijklmnop");
        c.add_header("x-api-key", "sk-ant-1234567890");
        c.add_header("cookie", "a=short; session=0123456789abcdef");
        c.add_header(
            "proxy-authorization",
            &format!("Basic {}", base64_encode(b"me:hunter2hunter2", false)),
        );
        c.add_header("content-type", "application/json-long-enough");
        c.add_query("api-version=2024-10-21&key=AIzaQueryKey123");
        c.add_header("X-Amz-Security-Token", "IQoJb3JpZ2luX2Vj");
        c.add_header("PRIVATE-TOKEN", "glpat-abcdefgh");
        c.add_query("client_secret=cs%2B0123456789");
        let found: Vec<&str> = c.iter().map(|c| c.value.as_str()).collect();
        assert!(found.contains(&"sk-abcdefghijklmnop"));
        assert!(found.contains(&"sk-ant-1234567890"));
        assert!(found.contains(&"0123456789abcdef"));
        assert!(found.contains(&"hunter2hunter2"));
        assert!(found.contains(&"AIzaQueryKey123"));
        assert!(found.contains(&"IQoJb3JpZ2luX2Vj"));
        assert!(found.contains(&"glpat-abcdefgh"));
        assert!(found.contains(&"cs%2B0123456789") && found.contains(&"cs+0123456789"));
        assert_eq!(found.len(), 10, "{found:?}");
    }
}
