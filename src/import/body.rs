//! Bodies as vcrpy stores them: text, or bytes (`!!binary`, base64), possibly still compressed
//! as the server sent them (`content-encoding: gzip`); and a streamed reply's body split back
//! into its server-sent events.

use std::io::Read as _;

use base64::Engine as _;

use crate::provider::SseEvent;
use crate::record::sse::SseParser;

/// The first bytes of gzip data.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The YAML tag vcrpy puts on bytes that are not UTF-8.
pub const BINARY_TAG: &str = "tag:yaml.org,2002:binary";

/// The bytes of a stored body: the text itself, or, for a `!!binary` scalar, its base64
/// payload decoded (line breaks and spaces inside it ignored).
pub fn stored_bytes(text: &str, tag: Option<&str>) -> Result<Vec<u8>, String> {
    if tag != Some(BINARY_TAG) {
        return Ok(untagged_bytes(text));
    }
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|e| format!("the !!binary body is not valid base64 ({e})"))
}

/// The bytes of a body stored as a plain string. Custom serializers keep bytes that are not
/// text in two other ways: base64 without the `!!binary` tag, and gzip bytes as a string of
/// the characters U+0000–U+00FF (one per byte). Text that already reads as a JSON or SSE body
/// is taken as it is; only a string that cannot be one is decoded.
fn untagged_bytes(text: &str) -> Vec<u8> {
    if looks_like_text(text.as_bytes()) {
        return text.as_bytes().to_vec();
    }
    if text.starts_with("\u{1f}\u{8b}") && text.chars().all(|c| (c as u32) < 0x100) {
        return text.chars().map(|c| c as u8).collect();
    }
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if !compact.is_empty()
        && let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(&compact)
        && (decoded.starts_with(&GZIP_MAGIC) || looks_like_text(&decoded))
    {
        return decoded;
    }
    text.as_bytes().to_vec()
}

/// Undo the transfer compression of a body. vcrpy keeps the bytes as the server sent them
/// unless `decode_compressed_response` was set, so the header alone does not decide: gzip is
/// recognised by its magic bytes, and a body already decoded is returned as is.
pub fn decompress(bytes: Vec<u8>, encoding: Option<&str>) -> Result<Vec<u8>, String> {
    let encoding = encoding.map(|e| e.trim().to_ascii_lowercase());
    if bytes.starts_with(&GZIP_MAGIC) {
        return gunzip(&bytes, super::MAX_INPUT_BYTES).map_err(|e| format!("the gzip body {e}"));
    }
    match encoding.as_deref() {
        Some("deflate") if !looks_like_text(&bytes) => {
            // HTTP's "deflate" is zlib-wrapped, though some servers send raw deflate.
            let mut out = Vec::new();
            if flate2::read::ZlibDecoder::new(bytes.as_slice())
                .read_to_end(&mut out)
                .is_ok()
            {
                return Ok(out);
            }
            out.clear();
            flate2::read::DeflateDecoder::new(bytes.as_slice())
                .read_to_end(&mut out)
                .map_err(|e| format!("the deflate body does not decompress ({e})"))?;
            Ok(out)
        }
        Some(other @ ("br" | "zstd" | "compress")) if !looks_like_text(&bytes) => Err(format!(
            "the body is {other}-compressed, which tooltape import does not read; re-record with \
             vcrpy's decode_compressed_response=True"
        )),
        _ => Ok(bytes),
    }
}

/// Whether bytes already read as text (JSON or SSE), so that a stale `content-encoding`
/// header is ignored.
fn looks_like_text(bytes: &[u8]) -> bool {
    std::str::from_utf8(bytes).is_ok_and(|s| {
        let s = s.trim_start();
        s.starts_with(['{', '[']) || s.starts_with("event:") || s.starts_with("data:")
    })
}

/// Gzip data unpacked, at most `limit` bytes of it. The error completes "the gzip data …".
fn gunzip(bytes: &[u8], limit: u64) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    // Read one byte past the limit to tell data that unpacks too large.
    flate2::read::MultiGzDecoder::new(bytes)
        .take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|e| {
            format!(
                "is corrupt or cut short after {} unpacked bytes ({e})",
                out.len()
            )
        })?;
    if out.len() as u64 > limit {
        return Err(format!(
            "unpacks to more than the {limit} bytes tooltape import reads"
        ));
    }
    Ok(out)
}

/// An input file's text: at most `limit` bytes, unpacked first when it is gzip (a `.yaml.gz`
/// cassette), read as UTF-8. Errors name the file and, for bad UTF-8, the line and column.
pub fn read_input(path: &std::path::Path, limit: u64) -> Result<String, crate::error::Error> {
    use crate::error::{Error, Location};
    let meta = crate::error::regular_file(path)?;
    if meta.len() > limit {
        return Err(Error::invalid(
            Location::file(path),
            format!(
                "{} bytes is larger than the {limit} bytes tooltape import reads; an agent's \
                 recording is far smaller, so this is not one",
                meta.len()
            ),
        ));
    }
    let raw = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let bytes = if raw.starts_with(&GZIP_MAGIC) {
        gunzip(&raw, limit)
            .map_err(|e| Error::invalid(Location::file(path), format!("the gzip data {e}")))?
    } else {
        raw
    };
    crate::error::utf8_text(path, bytes)
}

/// Bytes as UTF-8 text.
pub fn text(bytes: Vec<u8>) -> Result<String, String> {
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "the body is not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })
}

/// Whether a reply body is a server-sent event stream: by its content type, or, without one,
/// by its first line.
pub fn is_stream(content_type: Option<&str>, text: &str) -> bool {
    match content_type {
        Some(ct) => ct
            .split(';')
            .next()
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("text/event-stream")),
        None => {
            let first = text.trim_start();
            first.starts_with("event:") || first.starts_with("data:")
        }
    }
}

/// The events of a stream body, in order, with no gaps (vcrpy does not keep timing). A final
/// event not followed by a blank line still counts: the body is complete, only its last
/// separator may have been trimmed.
pub fn events(text: &str) -> Vec<SseEvent> {
    let mut parser = SseParser::new();
    let mut frames = parser.push(text.as_bytes());
    if parser.mid_event() {
        frames.extend(parser.push(b"\n\n"));
    }
    frames
        .into_iter()
        .map(|f| SseEvent {
            event: f.event,
            data: f.data,
            gap_ms: 0,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn binary_bodies_are_base64_across_lines() {
        let b64 = "eyJhIjox\n  fQ==\n";
        assert_eq!(stored_bytes(b64, Some(BINARY_TAG)).unwrap(), b"{\"a\":1}");
        let err = stored_bytes("not base64!", Some(BINARY_TAG)).unwrap_err();
        assert!(err.contains("base64"), "{err}");
    }

    #[test]
    fn untagged_strings_are_text_unless_they_can_only_be_encoded_bytes() {
        // Text that reads as a body is taken as it is, even when it is valid base64 too.
        for text in ["{\"a\":1}", "data: {}\n\n", "[1]"] {
            assert_eq!(stored_bytes(text, None).unwrap(), text.as_bytes());
        }
        // Base64 without the tag, across lines: decoded when it holds a body or gzip.
        assert_eq!(
            stored_bytes("eyJhIjox\n  fQ==\n", None).unwrap(),
            b"{\"a\":1}"
        );
        let zipped = gzip(b"{\"a\":1}");
        let b64 = base64::engine::general_purpose::STANDARD.encode(&zipped);
        assert_eq!(stored_bytes(&b64, None).unwrap(), zipped);
        // Gzip bytes as one character per byte (U+0000-U+00FF).
        let latin1: String = zipped.iter().map(|&b| char::from(b)).collect();
        assert_eq!(stored_bytes(&latin1, None).unwrap(), zipped);
        // Anything else stays as written (and fails later as "expected a JSON body").
        assert_eq!(stored_bytes("abcd", None).unwrap(), b"abcd");
        assert_eq!(stored_bytes("not json", None).unwrap(), b"not json");
    }

    fn input_file(bytes: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.yaml.gz");
        std::fs::write(&path, bytes).unwrap();
        (dir, path)
    }

    #[test]
    fn inputs_are_unpacked_within_a_limit_and_bad_ones_say_where() {
        let text = "interactions: []\n";
        let (_d, path) = input_file(&gzip(text.as_bytes()));
        assert_eq!(read_input(&path, 1000).unwrap(), text);
        let (_d, plain) = input_file(text.as_bytes());
        assert_eq!(read_input(&plain, 1000).unwrap(), text);
        // Too large as stored, and too large once unpacked (a small gzip of many zeros).
        let err = read_input(&plain, 4).unwrap_err().to_string();
        assert!(
            err.contains("in.yaml.gz") && err.contains("larger than the 4 bytes"),
            "{err}"
        );
        let (_d, bomb) = input_file(&gzip(&[b' '; 100_000]));
        let err = read_input(&bomb, 10_000).unwrap_err().to_string();
        assert!(
            err.contains("unpacks to more than the 10000 bytes"),
            "{err}"
        );
        // Cut short, and corrupt.
        let mut cut = gzip(text.as_bytes());
        cut.truncate(cut.len() - 6);
        let (_d, cut) = input_file(&cut);
        let err = read_input(&cut, 1000).unwrap_err().to_string();
        assert!(err.contains("corrupt or cut short"), "{err}");
        let mut bad = gzip(text.as_bytes());
        let mid = bad.len() / 2;
        bad[mid] ^= 0xff;
        let (_d, bad) = input_file(&bad);
        let err = read_input(&bad, 1000).unwrap_err().to_string();
        assert!(err.contains("corrupt or cut short"), "{err}");
        // Not UTF-8: line and column of the first bad byte.
        let (_d, latin) = input_file(b"a: 1\nb: caf\xe9\n");
        let err = read_input(&latin, 1000).unwrap_err().to_string();
        assert!(
            err.contains("in.yaml.gz:2:7") && err.contains("not UTF-8"),
            "{err}"
        );
        // A folder is not a recording.
        let dir = tempfile::tempdir().unwrap();
        let err = read_input(dir.path(), 1000).unwrap_err().to_string();
        assert!(err.contains("not a file"), "{err}");
    }

    #[test]
    fn gzip_is_recognised_by_its_bytes_whatever_the_header_says() {
        let body = br#"{"id":"x"}"#;
        assert_eq!(decompress(gzip(body), Some("gzip")).unwrap(), body);
        assert_eq!(decompress(gzip(body), None).unwrap(), body);
        // decode_compressed_response=True stores the decoded body (the header may remain).
        assert_eq!(decompress(body.to_vec(), Some("gzip")).unwrap(), body);
        let mut cut = gzip(body);
        cut.truncate(12);
        assert!(decompress(cut, Some("gzip")).is_err());
    }

    #[test]
    fn deflate_both_forms_and_unsupported_encodings() {
        let body = br#"{"id":"x"}"#;
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(body).unwrap();
        assert_eq!(
            decompress(z.finish().unwrap(), Some("deflate")).unwrap(),
            body
        );
        let mut d = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        d.write_all(body).unwrap();
        assert_eq!(
            decompress(d.finish().unwrap(), Some("Deflate")).unwrap(),
            body
        );
        let err = decompress(vec![0x8b, 0x00, 0xff], Some("br")).unwrap_err();
        assert!(err.contains("decode_compressed_response"), "{err}");
        assert_eq!(decompress(body.to_vec(), Some("br")).unwrap(), body);
    }

    #[test]
    fn non_utf8_text_says_where() {
        let err = text(vec![b'a', 0xff]).unwrap_err();
        assert!(err.contains("offset 1"), "{err}");
    }

    #[test]
    fn streams_by_content_type_or_first_line() {
        assert!(is_stream(Some("text/event-stream; charset=utf-8"), "{}"));
        assert!(!is_stream(Some("application/json"), "data: x"));
        assert!(is_stream(None, "\nevent: a\ndata: {}\n\n"));
        assert!(!is_stream(None, "{\"a\":1}"));
    }

    #[test]
    fn stream_bodies_split_into_events() {
        let text = "event: message_start\ndata: {\"a\":1}\n\n: keep-alive\n\ndata: [DONE]";
        assert_eq!(
            events(text),
            vec![
                SseEvent::named("message_start", &serde_json::json!({"a": 1})),
                SseEvent::data("[DONE]"),
            ]
        );
    }
}
