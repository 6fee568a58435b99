//! Keeping secrets out of cassettes, in two layers.
//!
//! 1. [`Redactor`] scrubs every string of the recorded bodies (and the query strings and the
//!    command noted in `meta`) of auth-looking values: `sk-…` / `sk-ant-…` keys, `Bearer …`
//!    tokens, Google `AIza…` keys, `x-api-key: …`-style header lines and cookies, JSON members
//!    named like credentials (`api_key`, `authorization`, ...), plus the user's `--redact`
//!    patterns. A cassette never holds headers at all.
//! 2. [`Credentials`] is the safety net: every credential value the run used (from the request
//!    headers the proxy saw and from the environment) is searched for in the final bytes,
//!    verbatim and in its base64 forms; a hit refuses the write.

use std::borrow::Cow;

use regex::Regex;
use serde_json::Value;

use super::error::RecordError;

/// What a redacted value is replaced with.
pub const MASK: &str = "[REDACTED]";

/// Credentials shorter than this are not searched for (they would match by chance).
const MIN_SECRET_LEN: usize = 8;

/// Built-in patterns. A first capture group, when present, is kept (the header name).
const DEFAULT_PATTERNS: &[&str] = &[
    r"\bsk-(?:ant-)?[A-Za-z0-9_\-]{16,}",
    r"(?i)(\b(?:bearer|basic)\s+)[A-Za-z0-9._~+/=\-]{8,}",
    r"\bAIza[0-9A-Za-z_\-]{30,}",
    r#"(?i)(\b(?:x-api-key|x-goog-api-key|api-key|authorization|proxy-authorization|cookie|set-cookie)["']?\s*[:=]\s*["']?)[^\r\n"']+"#,
];

/// JSON member names whose string values are always masked (compared lowercased, `-` as `_`).
const SECRET_KEYS: &[&str] = &[
    "api_key",
    "apikey",
    "x_api_key",
    "x_goog_api_key",
    "authorization",
    "proxy_authorization",
    "cookie",
    "set_cookie",
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "password",
    "secret",
];

/// Query parameters whose values are always masked.
const SECRET_PARAMS: &[&str] = &[
    "key",
    "api_key",
    "apikey",
    "api-key",
    "x-api-key",
    "access_token",
    "token",
    "auth",
    "sig",
    "signature",
    "code",
];

/// Scrubs recorded text and JSON of auth-looking values.
#[derive(Debug, Clone)]
pub struct Redactor {
    rules: Vec<Regex>,
}

impl Redactor {
    /// The built-in patterns plus `extra` (`--redact` regexes, whose whole match is masked).
    pub fn new(extra: &[String]) -> Result<Self, RecordError> {
        let mut rules: Vec<Regex> = DEFAULT_PATTERNS
            .iter()
            .map(|p| Regex::new(p).expect("built-in patterns compile"))
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
            rules.push(re);
        }
        Ok(Redactor { rules })
    }

    /// `s` with every match masked.
    pub fn text<'a>(&self, s: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(s);
        for re in &self.rules {
            let replacement = if re.captures_len() > 1 {
                "${1}[REDACTED]"
            } else {
                MASK
            };
            if let Cow::Owned(o) = re.replace_all(&out, replacement) {
                out = Cow::Owned(o);
            }
        }
        out
    }

    /// Mask every string inside `v` (and credential-named members); whether anything changed.
    pub fn value(&self, v: &mut Value) -> bool {
        match v {
            Value::String(s) => match self.text(s) {
                Cow::Owned(o) => {
                    *s = o;
                    true
                }
                Cow::Borrowed(_) => false,
            },
            Value::Array(items) => items.iter_mut().fold(false, |c, i| self.value(i) | c),
            Value::Object(map) => {
                let mut changed = false;
                for (k, item) in map.iter_mut() {
                    let key = k.to_ascii_lowercase().replace('-', "_");
                    if SECRET_KEYS.contains(&key.as_str())
                        && item.as_str().is_some_and(|s| s != MASK)
                    {
                        *item = Value::String(MASK.into());
                        changed = true;
                    } else {
                        changed |= self.value(item);
                    }
                }
                changed
            }
            _ => false,
        }
    }

    /// An SSE `data:` text: JSON is scrubbed value by value (the text is kept byte for byte
    /// when nothing needs masking); anything else as text.
    pub fn sse_data(&self, data: &str) -> String {
        if let Ok(mut v) = serde_json::from_str::<Value>(data) {
            if self.value(&mut v) {
                return v.to_string();
            }
            return data.to_string();
        }
        self.text(data).into_owned()
    }

    /// A query string (without `?`): credential-named parameters masked, then the patterns.
    pub fn query(&self, q: &str) -> String {
        let pairs: Vec<String> = q
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if SECRET_PARAMS.contains(&k.to_ascii_lowercase().as_str()) => {
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
    value: String,
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

/// Where a credential was found in the bytes about to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// Which credential.
    pub source: String,
    /// In what form: `verbatim`, `base64`, `JSON-escaped`, `percent-encoded`.
    pub form: &'static str,
    /// 1-based line of the text.
    pub line: usize,
}

/// Every credential value the run used.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    found: Vec<Credential>,
}

/// Environment variables that always count as credentials.
const SECRET_VARS: &[&str] = &[
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "OPENAI_API_KEY",
    "OPENAI_ADMIN_KEY",
    "AZURE_OPENAI_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
];

/// Name endings that make any environment variable count as a credential.
const SECRET_VAR_SUFFIXES: &[&str] = &[
    "_API_KEY",
    "_AUTH_TOKEN",
    "_ACCESS_TOKEN",
    "_SESSION_TOKEN",
    "_SECRET",
    "_SECRET_KEY",
    "_SECRET_ACCESS_KEY",
    "_PASSWORD",
];

impl Credentials {
    /// The credentials among environment variables: `ANTHROPIC_API_KEY`, `OPENAI_API_KEY`,
    /// `ANTHROPIC_AUTH_TOKEN` and a few more by name, and any `*_API_KEY`, `*_AUTH_TOKEN`,
    /// `*_SECRET`, ... by suffix.
    pub fn from_env(vars: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut c = Credentials::default();
        for (name, value) in vars {
            let upper = name.to_ascii_uppercase();
            if SECRET_VARS.contains(&upper.as_str())
                || SECRET_VAR_SUFFIXES.iter().any(|s| upper.ends_with(s))
            {
                c.add(format!("environment variable {name}"), &value);
            }
        }
        c
    }

    /// Collect the credentials in one request header, if it carries any.
    pub fn add_header(&mut self, name: &str, value: &str) {
        let name = name.to_ascii_lowercase();
        let source = format!("request header {name}");
        match name.as_str() {
            "authorization" | "proxy-authorization" => {
                let token = value.split_once(' ').map_or(value, |(_, t)| t).trim();
                self.add(source.clone(), token);
                if value
                    .get(..6)
                    .is_some_and(|s| s.eq_ignore_ascii_case("basic "))
                    && let Some(decoded) = base64_decode(token)
                    && let Some((_, password)) = decoded.split_once(':')
                {
                    self.add(format!("{source} (basic password)"), password);
                }
            }
            "x-api-key" | "api-key" | "x-goog-api-key" => self.add(source, value.trim()),
            "cookie" => {
                for pair in value.split(';') {
                    if let Some((_, v)) = pair.split_once('=') {
                        self.add(source.clone(), v.trim());
                    }
                }
            }
            _ => {}
        }
    }

    /// Collect the values of credential-named query parameters (`?key=…`).
    pub fn add_query(&mut self, query: &str) {
        for pair in query.split('&') {
            if let Some((k, v)) = pair.split_once('=')
                && SECRET_PARAMS.contains(&k.to_ascii_lowercase().as_str())
            {
                self.add(format!("query parameter {k}"), v);
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

    /// The first credential found in `text`, in any of the forms it could take there.
    pub fn scan(&self, text: &str) -> Option<Hit> {
        for c in &self.found {
            for (form, needle) in needles(&c.value) {
                if let Some(at) = text.find(&needle) {
                    let line = text[..at].matches('\n').count() + 1;
                    return Some(Hit {
                        source: c.source.clone(),
                        form,
                        line,
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

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Base64 of `bytes` (padded), in the standard or the URL-safe alphabet.
pub fn base64_encode(bytes: &[u8], url_safe: bool) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                let c = B64[((n >> (18 - 6 * i)) & 63) as usize];
                out.push(match (url_safe, c) {
                    (true, b'+') => '-',
                    (true, b'/') => '_',
                    _ => c as char,
                });
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base64_decode(s: &str) -> Option<String> {
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes().filter(|&c| c != b'=') {
        let v = match c {
            b'-' => 62,
            b'_' => 63,
            _ => B64.iter().position(|&b| b == c)? as u32,
        };
        bits = (bits << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    String::from_utf8(out).ok()
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
        assert_eq!(r().query("beta=true"), "beta=true");
    }

    #[test]
    fn base64_matches_known_vectors() {
        assert_eq!(base64_encode(b"", false), "");
        assert_eq!(base64_encode(b"f", false), "Zg==");
        assert_eq!(base64_encode(b"fo", false), "Zm8=");
        assert_eq!(base64_encode(b"foobar", false), "Zm9vYmFy");
        assert_eq!(base64_encode(&[0xfb, 0xff], true), "-_8=");
        assert_eq!(
            base64_decode("dXNlcjpwYXNzd29yZA==").as_deref(),
            Some("user:password")
        );
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
        assert_eq!((hit.form, hit.line), ("verbatim", 2));
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
        let found: Vec<&str> = c.iter().map(|c| c.value.as_str()).collect();
        assert!(found.contains(&"sk-abcdefghijklmnop"));
        assert!(found.contains(&"sk-ant-1234567890"));
        assert!(found.contains(&"0123456789abcdef"));
        assert!(found.contains(&"hunter2hunter2"));
        assert!(found.contains(&"AIzaQueryKey123"));
        assert_eq!(found.len(), 6, "{found:?}");
    }
}
