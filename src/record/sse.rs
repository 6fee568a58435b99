//! A sans-IO parser of server-sent events (the WHATWG `text/event-stream` rules), fed the bytes
//! of a stream chunk by chunk as they arrive. The recorder needs to know *when* each frame was
//! complete, which no SSE crate exposes; this parser yields every frame at the chunk that ends
//! it, so the caller stamps it with that chunk's arrival time.
//!
//! Kept: the `event:` name and the `data:` text (lines joined with `\n`). Dropped, as a client
//! would: comments (`: keep-alive`), `id:` and `retry:` fields, unknown fields, and events with
//! no data.

/// One complete event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The `event:` name, when the stream gave one.
    pub event: Option<String>,
    /// The data lines, joined with `\n`.
    pub data: String,
}

/// The parser's state between chunks.
#[derive(Debug, Default)]
pub struct SseParser {
    /// Bytes of a line not yet ended.
    line: Vec<u8>,
    /// The event being built.
    event: Option<String>,
    data: String,
    has_data: bool,
    /// The last byte seen was a CR: a LF right after it ends the same line.
    after_cr: bool,
    /// Past the optional byte-order mark at the start of the stream.
    started: bool,
    /// Bytes seen in total.
    seen: u64,
}

impl SseParser {
    /// A parser at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed the next bytes; get the events they complete, in order.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Frame> {
        let mut out = Vec::new();
        let mut bytes = bytes;
        self.seen += bytes.len() as u64;
        if !self.started {
            // The BOM may itself arrive split; wait until three bytes decide it.
            self.line.extend_from_slice(bytes);
            if self.line.len() < 3 && b"\xEF\xBB\xBF".starts_with(&self.line) {
                return out;
            }
            self.started = true;
            let pending = std::mem::take(&mut self.line);
            let rest = pending.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&pending);
            self.feed(rest, &mut out);
            return out;
        }
        if self.after_cr && bytes.first() == Some(&b'\n') {
            bytes = &bytes[1..];
        }
        self.after_cr = false;
        self.feed(bytes, &mut out);
        out
    }

    fn feed(&mut self, bytes: &[u8], out: &mut Vec<Frame>) {
        let mut rest = bytes;
        while let Some(i) = rest.iter().position(|&b| b == b'\n' || b == b'\r') {
            self.line.extend_from_slice(&rest[..i]);
            let line = std::mem::take(&mut self.line);
            self.line_done(&line, out);
            let cr = rest[i] == b'\r';
            rest = &rest[i + 1..];
            if cr {
                match rest.first() {
                    Some(b'\n') => rest = &rest[1..],
                    None => self.after_cr = true,
                    Some(_) => {}
                }
            }
        }
        self.line.extend_from_slice(rest);
    }

    fn line_done(&mut self, line: &[u8], out: &mut Vec<Frame>) {
        if line.is_empty() {
            let event = self.event.take();
            let data = std::mem::take(&mut self.data);
            if std::mem::take(&mut self.has_data) {
                out.push(Frame { event, data });
            }
            return;
        }
        if line[0] == b':' {
            return;
        }
        let text = String::from_utf8_lossy(line);
        let (field, value) = match text.find(':') {
            Some(i) => {
                let v = &text[i + 1..];
                (&text[..i], v.strip_prefix(' ').unwrap_or(v))
            }
            None => (&text[..], ""),
        };
        match field {
            "event" => self.event = Some(value.to_string()),
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            _ => {}
        }
    }

    /// Whether bytes of an event not yet ended are pending (a stream that stops here was cut
    /// in the middle of an event).
    pub fn mid_event(&self) -> bool {
        !self.line.is_empty() || self.has_data || self.event.is_some()
    }

    /// How many bytes were fed in total.
    pub fn bytes_seen(&self) -> u64 {
        self.seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(event: Option<&str>, data: &str) -> Frame {
        Frame {
            event: event.map(str::to_string),
            data: data.to_string(),
        }
    }

    fn all_at_once(s: &str) -> Vec<Frame> {
        SseParser::new().push(s.as_bytes())
    }

    /// Feed `s` in pieces cut at `cuts` (byte offsets).
    fn in_pieces(s: &[u8], cuts: &[usize]) -> Vec<Frame> {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        let mut at = 0;
        for &c in cuts.iter().chain(std::iter::once(&s.len())) {
            let c = c.clamp(at, s.len());
            out.extend(p.push(&s[at..c]));
            at = c;
        }
        out
    }

    #[test]
    fn named_events_and_multi_line_data() {
        let s = "event: message_start\ndata: {\"a\":1}\n\ndata: one\ndata: two\n\n";
        assert_eq!(
            all_at_once(s),
            vec![
                frame(Some("message_start"), "{\"a\":1}"),
                frame(None, "one\ntwo")
            ]
        );
    }

    #[test]
    fn comments_ids_retries_and_dataless_events_are_dropped() {
        let s = ": keep-alive\n\nid: 7\nretry: 100\ndata: x\n\nevent: ping\n\n";
        assert_eq!(all_at_once(s), vec![frame(None, "x")]);
    }

    #[test]
    fn crlf_and_cr_line_endings_even_when_split() {
        let s = b"event: a\r\ndata: 1\r\n\r\nevent: b\rdata: 2\r\r";
        let want = vec![frame(Some("a"), "1"), frame(Some("b"), "2")];
        for cut in 0..s.len() {
            assert_eq!(in_pieces(s, &[cut]), want, "cut at {cut}");
        }
    }

    #[test]
    fn a_frame_is_yielded_by_the_chunk_that_ends_it() {
        let mut p = SseParser::new();
        assert!(p.push(b"data: {\"x\"").is_empty());
        assert!(p.mid_event());
        assert!(p.push(b":1}\n").is_empty());
        assert_eq!(p.push(b"\n"), vec![frame(None, "{\"x\":1}")]);
        assert!(!p.mid_event());
        assert_eq!(p.bytes_seen(), 15);
    }

    #[test]
    fn space_after_colon_is_optional_and_only_one_is_stripped() {
        assert_eq!(
            all_at_once("data:x\n\ndata:  y\n\n"),
            vec![frame(None, "x"), frame(None, " y")]
        );
        assert_eq!(all_at_once("data\n\n"), vec![frame(None, "")]);
    }

    #[test]
    fn byte_order_mark_is_skipped_even_when_split() {
        let s = b"\xEF\xBB\xBFdata: a\n\n";
        for cut in 0..4 {
            assert_eq!(in_pieces(s, &[cut]), vec![frame(None, "a")], "cut at {cut}");
        }
    }

    #[test]
    fn utf8_split_across_chunks_survives() {
        let s = "data: héllo wörld\n\n".as_bytes();
        for cut in 0..s.len() {
            assert_eq!(
                in_pieces(s, &[cut]),
                vec![frame(None, "héllo wörld")],
                "cut at {cut}"
            );
        }
    }

    /// The wire form tooltape writes parses back to the same events.
    #[test]
    fn round_trips_to_wire() {
        let events = [
            crate::provider::SseEvent::named(
                "message_start",
                &serde_json::json!({"type": "message_start"}),
            ),
            crate::provider::SseEvent::data("[DONE]"),
            crate::provider::SseEvent::data("two\nlines"),
        ];
        let wire: String = events.iter().map(|e| e.to_wire()).collect();
        let got = all_at_once(&wire);
        let want: Vec<Frame> = events
            .iter()
            .map(|e| Frame {
                event: e.event.clone(),
                data: e.data.clone(),
            })
            .collect();
        assert_eq!(got, want);
    }

    /// Differential test against eventsource-stream, the parser async-openai uses, over many
    /// seeded random chunkings of realistic streams.
    #[tokio::test]
    async fn agrees_with_eventsource_stream_on_random_chunkings() {
        use eventsource_stream::Eventsource;
        use futures_util::StreamExt;

        let streams: [&[u8]; 4] = [
            include_bytes!("../../tests/fixtures/record/anthropic_stream.sse"),
            b"data: {\"id\":\"chatcmpl-1\"}\r\n\r\n: comment\r\ndata: [DONE]\r\n\r\n",
            b"event: response.created\ndata: {\"a\":1}\n\nevent: response.completed\ndata: {\"b\":\n data: 2}\n\n",
            // (No byte-order mark here: eventsource-stream 0.2.3 panics on one.)
            "data: é\n\nid: 1\ndata: x\ndata: y\n\n".as_bytes(),
        ];
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for s in streams {
            let oracle: Vec<(String, String)> = {
                let chunks = vec![Ok::<_, std::convert::Infallible>(
                    bytes::Bytes::copy_from_slice(s),
                )];
                futures_util::stream::iter(chunks)
                    .eventsource()
                    .map(|e| e.expect("oracle parses"))
                    .map(|e| (e.event, e.data))
                    .collect()
                    .await
            };
            for _ in 0..200 {
                let n = (next() % 6) as usize;
                let mut cuts: Vec<usize> = (0..n)
                    .map(|_| (next() % (s.len() as u64 + 1)) as usize)
                    .collect();
                cuts.sort_unstable();
                let ours: Vec<(String, String)> = in_pieces(s, &cuts)
                    .into_iter()
                    .map(|f| (f.event.unwrap_or_else(|| "message".into()), f.data))
                    .collect();
                assert_eq!(
                    ours,
                    oracle,
                    "cuts {cuts:?} of {:?}",
                    String::from_utf8_lossy(s)
                );
            }
        }
    }
}
