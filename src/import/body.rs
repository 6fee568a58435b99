//! Bodies as vcrpy stores them: text, or bytes (`!!binary`, base64), possibly still compressed
//! as the server sent them (`content-encoding: gzip`); and a streamed reply's body split back
//! into its server-sent events.

use std::io::Read as _;

use base64::Engine as _;

use crate::provider::SseEvent;
use crate::record::sse::SseParser;

/// The YAML tag vcrpy puts on bytes that are not UTF-8.
pub const BINARY_TAG: &str = "tag:yaml.org,2002:binary";

/// The bytes of a stored body: the text itself, or, for a `!!binary` scalar, its base64
/// payload decoded (line breaks and spaces inside it ignored).
pub fn stored_bytes(text: &str, tag: Option<&str>) -> Result<Vec<u8>, String> {
    if tag != Some(BINARY_TAG) {
        return Ok(text.as_bytes().to_vec());
    }
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|e| format!("the !!binary body is not valid base64 ({e})"))
}

/// Undo the transfer compression of a body. vcrpy keeps the bytes as the server sent them
/// unless `decode_compressed_response` was set, so the header alone does not decide: gzip is
/// recognised by its magic bytes, and a body already decoded is returned as is.
pub fn decompress(bytes: Vec<u8>, encoding: Option<&str>) -> Result<Vec<u8>, String> {
    const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
    let encoding = encoding.map(|e| e.trim().to_ascii_lowercase());
    if bytes.starts_with(&GZIP_MAGIC) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(bytes.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| format!("the gzip body does not decompress ({e})"))?;
        return Ok(out);
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
        assert_eq!(stored_bytes(b64, None).unwrap(), b64.as_bytes());
        let err = stored_bytes("not base64!", Some(BINARY_TAG)).unwrap_err();
        assert!(err.contains("base64"), "{err}");
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
