//! What a reader of a cassette can turn a text into: escapes undone (`\u0073`, `\n`, ...),
//! percent-decoding, and every base64 or hex run decoded, line breaks inside it skipped. The
//! redaction and the final scan both look at a text and, recursively, at these.
//!
//! Cost: linear in the text per level; a base64 run is decoded at its four alignments, and a
//! decoding is looked into further only when it holds a printable run as long as the shortest
//! credential searched for (random bytes seldom do), so binary blobs stop at the first level.

use std::ops::Range;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// How deep decodings are followed (JSON escapes inside base64 inside base64, say).
pub const MAX_DEPTH: usize = 4;

/// The shortest run of base64 characters decoded (12 characters: 9 bytes).
const MIN_BASE64: usize = 12;
/// The shortest run of hex digits decoded (16 digits: 8 bytes).
const MIN_HEX: usize = 16;
/// A decoding is looked into only when it holds this many printable characters in a row.
pub const MIN_PRINTABLE: usize = 8;

/// A way a text was decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `\uXXXX`, `\xHH`, `\n`, `\"`, ... undone.
    Escapes,
    /// `%HH` undone.
    Percent,
    /// A base64 run (standard or URL-safe alphabet, with or without padding and line breaks).
    Base64,
    /// A run of hex digits.
    Hex,
}

impl Form {
    /// How the form reads in a message.
    pub fn name(self) -> &'static str {
        match self {
            Form::Escapes => "escapes",
            Form::Percent => "percent-encoding",
            Form::Base64 => "base64",
            Form::Hex => "hex",
        }
    }
}

/// Where a decoding came from in the text it decodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The whole text, decoded in place: byte `i` of the decoding starts at byte `map[i]` of
    /// the text (`map` has one more entry, the text's length).
    Mapped(Vec<usize>),
    /// A run of the text, decoded as a whole: nothing finer maps back.
    Run(Range<usize>),
}

impl Origin {
    /// The range of the text that `r` of the decoding came from.
    pub fn source(&self, r: &Range<usize>) -> Range<usize> {
        match self {
            Origin::Mapped(map) => map[r.start]..map[r.end],
            Origin::Run(run) => run.clone(),
        }
    }
}

/// One decoding of a text.
#[derive(Debug, Clone)]
pub struct Decoding {
    /// How.
    pub form: Form,
    /// The decoded text (lossy UTF-8 for bytes).
    pub text: String,
    /// Where it came from.
    pub origin: Origin,
}

/// Every decoding of `text` worth looking into: escapes and percent-encoding undone over the
/// whole text (when it has any), and each base64 and hex run decoded.
pub fn decodings(text: &str) -> Vec<Decoding> {
    let mut out = Vec::new();
    if let Some((t, map)) = unescape(text) {
        out.push(Decoding {
            form: Form::Escapes,
            text: t,
            origin: Origin::Mapped(map),
        });
    }
    if let Some((t, map)) = percent_decode(text) {
        out.push(Decoding {
            form: Form::Percent,
            text: t,
            origin: Origin::Mapped(map),
        });
    }
    for run in runs(text.as_bytes(), is_base64, MIN_BASE64) {
        for bytes in base64_alignments(&text[run.clone()]) {
            push_bytes(&mut out, Form::Base64, bytes, &run);
        }
    }
    for run in runs(text.as_bytes(), |b| b.is_ascii_hexdigit(), MIN_HEX) {
        let digits: Vec<u8> = text[run.clone()]
            .bytes()
            .filter(u8::is_ascii_hexdigit)
            .collect();
        for skip in 0..2 {
            let bytes: Vec<u8> = digits[skip..]
                .chunks_exact(2)
                .map(|p| (hex_value(p[0]) << 4) | hex_value(p[1]))
                .collect();
            push_bytes(&mut out, Form::Hex, bytes, &run);
        }
    }
    out
}

fn push_bytes(out: &mut Vec<Decoding>, form: Form, bytes: Vec<u8>, run: &Range<usize>) {
    let text = String::from_utf8_lossy(&bytes);
    if !has_printable_run(&text) {
        return;
    }
    let origin = Origin::Run(run.clone());
    if out.iter().any(|d| d.text == text && d.origin == origin) {
        return;
    }
    out.push(Decoding {
        form,
        text: text.into_owned(),
        origin,
    });
}

/// Whether `text` holds [`MIN_PRINTABLE`] printable characters in a row (bytes that were not
/// UTF-8 became U+FFFD, which does not count).
fn has_printable_run(text: &str) -> bool {
    let mut n = 0;
    for c in text.chars() {
        if c.is_control() || c == '\u{fffd}' {
            n = 0;
        } else {
            n += 1;
            if n >= MIN_PRINTABLE {
                return true;
            }
        }
    }
    false
}

fn is_base64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_')
}

/// Maximal runs of bytes for which `member` holds, line breaks allowed between them (a wrapped
/// encoding) and up to two `=` at the end; at least `min` members long.
fn runs(bytes: &[u8], member: impl Fn(u8) -> bool, min: usize) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !member(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        let mut end = i;
        let mut count = 0;
        while i < bytes.len() {
            if member(bytes[i]) {
                count += 1;
                i += 1;
                end = i;
            } else if matches!(bytes[i], b'\r' | b'\n') {
                i += 1;
            } else {
                break;
            }
        }
        let mut pad = 0;
        while pad < 2 && bytes.get(end) == Some(&b'=') {
            end += 1;
            pad += 1;
        }
        if count >= min {
            out.push(start..end);
        }
        i = i.max(end);
    }
    out
}

/// The bytes of a base64 run at each of the four alignments its characters may have (the run
/// may start inside someone else's base64, or with a few letters glued on).
fn base64_alignments(run: &str) -> Vec<Vec<u8>> {
    const ENGINE: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    let chars: Vec<u8> = run
        .bytes()
        .filter(|&b| is_base64(b))
        .map(|b| match b {
            b'-' => b'+',
            b'_' => b'/',
            b => b,
        })
        .collect();
    (0..4)
        .filter_map(|skip| {
            let tail = chars.get(skip..)?;
            let usable = if tail.len() % 4 == 1 {
                &tail[..tail.len() - 1]
            } else {
                tail
            };
            ENGINE.decode(usable).ok()
        })
        .collect()
}

fn hex_value(d: u8) -> u8 {
    match d {
        b'0'..=b'9' => d - b'0',
        b'a'..=b'f' => d - b'a' + 10,
        _ => d - b'A' + 10,
    }
}

/// `text` with JSON, JavaScript and Python string escapes undone, and where each byte came
/// from; `None` when it has none.
fn unescape(text: &str) -> Option<(String, Vec<usize>)> {
    if !text.contains('\\') {
        return None;
    }
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut map = Vec::with_capacity(text.len() + 1);
    let mut changed = false;
    let mut i = 0;
    let push = |out: &mut String, map: &mut Vec<usize>, c: char, from: usize| {
        let before = out.len();
        out.push(c);
        map.extend(std::iter::repeat_n(from, out.len() - before));
    };
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            let simple = match b[i + 1] {
                b'n' => Some('\n'),
                b'r' => Some('\r'),
                b't' => Some('\t'),
                b'b' => Some('\u{8}'),
                b'f' => Some('\u{c}'),
                b'/' => Some('/'),
                b'\\' => Some('\\'),
                b'"' => Some('"'),
                b'\'' => Some('\''),
                _ => None,
            };
            if let Some(c) = simple {
                push(&mut out, &mut map, c, i);
                changed = true;
                i += 2;
                continue;
            }
            if let Some((c, len)) = code_escape(&b[i..]) {
                push(&mut out, &mut map, c, i);
                changed = true;
                i += len;
                continue;
            }
        }
        let c = text[i..].chars().next().unwrap_or('\u{fffd}');
        let before = out.len();
        out.push(c);
        map.extend(i..i + (out.len() - before));
        i += c.len_utf8();
    }
    map.push(text.len());
    changed.then_some((out, map))
}

/// A `\uXXXX` (with its low surrogate, when it is a high one), `\u{X...}` or `\xHH` escape at
/// the start of `b`: the character and the escape's length.
fn code_escape(b: &[u8]) -> Option<(char, usize)> {
    let hex = |s: &[u8]| -> Option<u32> {
        if s.is_empty() || !s.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        u32::from_str_radix(std::str::from_utf8(s).ok()?, 16).ok()
    };
    match b.get(1)? {
        b'u' if b.get(2) == Some(&b'{') => {
            let close = b.iter().take(12).position(|&c| c == b'}')?;
            Some((char::from_u32(hex(&b[3..close])?)?, close + 1))
        }
        b'u' => {
            let hi = hex(b.get(2..6)?)?;
            if (0xD800..0xDC00).contains(&hi)
                && b.get(6..8) == Some(b"\\u")
                && let Some(lo) = b.get(8..12).and_then(hex)
                && (0xDC00..0xE000).contains(&lo)
            {
                let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                return Some((char::from_u32(c)?, 12));
            }
            Some((char::from_u32(hi).unwrap_or('\u{fffd}'), 6))
        }
        b'x' => {
            let v = hex(b.get(2..4)?)?;
            (v < 0x80).then_some((v as u8 as char, 4))
        }
        _ => None,
    }
}

/// `text` with `%HH` escapes of ASCII bytes undone (a query parameter's name or value).
pub fn percent_decoded(text: &str) -> std::borrow::Cow<'_, str> {
    match percent_decode(text) {
        Some((t, _)) => t.into(),
        None => text.into(),
    }
}

/// `text` with `%HH` escapes of ASCII bytes undone, and where each byte came from; `None` when
/// it has none.
fn percent_decode(text: &str) -> Option<(String, Vec<usize>)> {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut map = Vec::with_capacity(text.len() + 1);
    let mut changed = false;
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(pair) = b.get(i + 1..i + 3)
            && pair.iter().all(u8::is_ascii_hexdigit)
        {
            let v = (hex_value(pair[0]) << 4) | hex_value(pair[1]);
            if v < 0x80 {
                out.push(v as char);
                map.push(i);
                changed = true;
                i += 3;
                continue;
            }
        }
        let c = text[i..].chars().next().unwrap_or('\u{fffd}');
        let before = out.len();
        out.push(c);
        map.extend(i..i + (out.len() - before));
        i += c.len_utf8();
    }
    map.push(text.len());
    changed.then_some((out, map))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

    fn decoded(text: &str) -> Vec<String> {
        decodings(text).into_iter().map(|d| d.text).collect()
    }

    fn holds(text: &str, needle: &str) -> bool {
        decoded(text).iter().any(|t| t.contains(needle))
    }

    #[test]
    fn escapes_are_undone_and_mapped_back() {
        let text = r#"key: \u0073\u006b-\x41B\n\"q\" \ud83d\ude00 \u{1F600}"#;
        let d = &decodings(text)[0];
        assert_eq!(d.form, Form::Escapes);
        assert_eq!(d.text, "key: sk-AB\n\"q\" \u{1F600} \u{1F600}");
        let at = d.text.find("sk-AB").unwrap();
        let src = d.origin.source(&(at..at + 5));
        assert_eq!(&text[src], r"\u0073\u006b-\x41B");
        assert!(
            decodings("no escapes here")
                .iter()
                .all(|d| d.form != Form::Escapes)
        );
    }

    #[test]
    fn percent_encoding_is_undone_and_mapped_back() {
        let text = "q=%73%6B-ant%2Dx&y=%E2%82%AC";
        let d = decodings(text)
            .into_iter()
            .find(|d| d.form == Form::Percent)
            .unwrap();
        assert_eq!(
            d.text, "q=sk-ant-x&y=%E2%82%AC",
            "non-ASCII escapes are left"
        );
        assert_eq!(&text[d.origin.source(&(2..10))], "%73%6B-ant%2Dx");
    }

    #[test]
    fn base64_runs_decode_at_any_alignment_in_either_alphabet_across_line_breaks() {
        let secret = "tt-secret-0123456789";
        for prefix in ["", "x", "xy", "xyz"] {
            let blob = STANDARD.encode(format!("{prefix}{secret}!"));
            for glued in ["", "A", "Ab", "Abc"] {
                let text = format!("see {glued}{blob} end");
                assert!(holds(&text, secret), "{text}");
            }
        }
        let url = URL_SAFE_NO_PAD.encode(format!("\u{ff}\u{fe}{secret}"));
        assert!(holds(&url, secret), "{url}");
        let blob = STANDARD.encode(secret);
        for wrapped in [
            format!("{}\n{}", &blob[..10], &blob[10..]),
            format!("{}\r\n{}\r\n{}", &blob[..5], &blob[5..15], &blob[15..]),
        ] {
            assert!(holds(&wrapped, secret), "{wrapped:?}");
            let d = decodings(&wrapped);
            assert_eq!(d[0].origin, Origin::Run(0..wrapped.len()), "the whole run");
        }
    }

    #[test]
    fn hex_runs_decode_in_either_case_at_either_alignment() {
        let secret = "tt-secret-0123456789";
        let hex: String = secret.bytes().map(|b| format!("{b:02x}")).collect();
        assert!(holds(&format!("0x{hex}"), secret));
        assert!(holds(&hex.to_uppercase(), secret));
        assert!(holds(&format!("a{hex}"), secret));
    }

    #[test]
    fn random_bytes_and_short_runs_are_not_looked_into() {
        // A git hash, a UUID, words: their decodings are not printable text.
        for text in [
            "commit 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b",
            "id 123e4567-e89b-12d3-a456-426614174000",
            "The quick brown fox jumps over the lazy dog",
            "short QUJD",
        ] {
            assert!(decodings(text).is_empty(), "{text}: {:?}", decoded(text));
        }
    }
}
