//! The AWS event-stream framing (`application/vnd.amazon.eventstream`), in which Bedrock's
//! `ConverseStream` sends its events: an incremental, bounded frame decoder.
//!
//! A frame is a 12-byte prelude (total length u32 BE, headers length u32 BE, CRC32 of those
//! 8 bytes), the headers, the payload, and a CRC32 (IEEE) of everything before it. A header
//! is a name (u8 length + UTF-8), a type byte and a value whose size the type fixes (or a
//! u16 BE length for byte arrays and strings).
//!
//! The decoder never trusts a length before the prelude's CRC vouches for it, refuses frames
//! above [`MAX_FRAME_BYTES`] and header blocks above [`MAX_HEADERS_BYTES`] before buffering
//! them, and reports a CRC mismatch or a truncated header as [`ProviderError::Malformed`] in
//! the gateway's words.

use crc::{CRC_32_ISO_HDLC, Crc};

use super::error::ProviderError;

/// Largest frame accepted (the limit AWS's own decoders apply).
pub const MAX_FRAME_BYTES: usize = 16 * 1024 * 1024;
/// Largest header block accepted.
pub const MAX_HEADERS_BYTES: usize = 128 * 1024;
/// Prelude: total length, headers length, prelude CRC.
pub const PRELUDE_BYTES: usize = 12;
/// A frame with no headers and no payload: prelude + message CRC.
pub const MIN_FRAME_BYTES: usize = PRELUDE_BYTES + 4;

/// CRC-32/ISO-HDLC, the "IEEE" CRC of zlib and gzip (a static: its table is built once).
static CRC32: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);

/// The CRC32 (IEEE) of `bytes`, as the framing computes it.
pub fn crc32(bytes: &[u8]) -> u32 {
    CRC32.checksum(bytes)
}

/// A header value; the variant fixes the type byte on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderValue {
    /// Types 0 (true) and 1 (false); no value bytes.
    Bool(bool),
    /// Type 2.
    Byte(i8),
    /// Type 3.
    Short(i16),
    /// Type 4.
    Int(i32),
    /// Type 5.
    Long(i64),
    /// Type 6: u16 length + bytes.
    Bytes(Vec<u8>),
    /// Type 7: u16 length + UTF-8.
    String(String),
    /// Type 8: milliseconds since the epoch.
    Timestamp(i64),
    /// Type 9.
    Uuid([u8; 16]),
}

/// One named header of a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Header name, e.g. `:event-type`.
    pub name: String,
    /// Its value.
    pub value: HeaderValue,
}

/// One decoded frame.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Frame {
    /// Headers in wire order.
    pub headers: Vec<Header>,
    /// The payload bytes (JSON for Bedrock).
    pub payload: Vec<u8>,
}

impl Frame {
    /// The value of the first header called `name`, if it is a string.
    pub fn str_header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.name == name)
            .and_then(|h| match &h.value {
                HeaderValue::String(s) => Some(s.as_str()),
                _ => None,
            })
    }
}

/// Incremental decoder: feed it body chunks, get complete frames back.
///
/// Bytes are kept until a whole frame is present; consumed frames are dropped once per
/// chunk. The buffer never holds more than one frame (at most [`MAX_FRAME_BYTES`]) plus the
/// chunk being read.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    buf: Vec<u8>,
}

impl FrameDecoder {
    /// A decoder with nothing buffered.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed a chunk; returns the frames it completed, or why the stream cannot be trusted.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<Frame>, ProviderError> {
        self.buf.extend_from_slice(chunk);
        let mut frames = Vec::new();
        let mut at = 0;
        while let Some((total, headers_len)) = prelude(&self.buf[at..])? {
            let Some(bytes) = self.buf.get(at..at + total) else {
                break;
            };
            frames.push(parse_frame(bytes, headers_len)?);
            at += total;
        }
        self.buf.drain(..at);
        Ok(frames)
    }

    /// Call at end of input: bytes left over mean the stream stopped inside a frame.
    pub fn finish(&mut self) -> Result<(), ProviderError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            self.buf.clear();
            Err(ProviderError::StreamBroken(
                "the stream ended inside an event-stream frame".into(),
            ))
        }
    }
}

fn malformed(why: &str) -> ProviderError {
    ProviderError::Malformed(format!("event-stream frame {why}"))
}

fn be32(bytes: &[u8]) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[..4]);
    u32::from_be_bytes(word)
}

/// The (total, headers) lengths of the frame starting `rest`, once its prelude is complete
/// and its CRC and bounds hold; `None` while fewer than 12 bytes are there.
fn prelude(rest: &[u8]) -> Result<Option<(usize, usize)>, ProviderError> {
    if rest.len() < PRELUDE_BYTES {
        return Ok(None);
    }
    // Lengths are read only after the CRC vouches for them.
    if crc32(&rest[..8]) != be32(&rest[8..12]) {
        return Err(malformed("failed its prelude CRC check"));
    }
    let total = be32(&rest[0..4]) as usize;
    let headers = be32(&rest[4..8]) as usize;
    if total > MAX_FRAME_BYTES {
        return Err(ProviderError::TooLarge {
            what: "event-stream frame",
            limit: MAX_FRAME_BYTES,
        });
    }
    if headers > MAX_HEADERS_BYTES {
        return Err(ProviderError::TooLarge {
            what: "event-stream headers",
            limit: MAX_HEADERS_BYTES,
        });
    }
    if total < MIN_FRAME_BYTES || headers > total - MIN_FRAME_BYTES {
        return Err(malformed("has impossible lengths"));
    }
    Ok(Some((total, headers)))
}

/// Checks the message CRC of one whole frame and splits it into headers and payload.
fn parse_frame(bytes: &[u8], headers_len: usize) -> Result<Frame, ProviderError> {
    let crc_at = bytes.len() - 4;
    if crc32(&bytes[..crc_at]) != be32(&bytes[crc_at..]) {
        return Err(malformed("failed its CRC check"));
    }
    let headers_end = PRELUDE_BYTES + headers_len;
    Ok(Frame {
        headers: parse_headers(&bytes[PRELUDE_BYTES..headers_end])?,
        payload: bytes[headers_end..crc_at].to_vec(),
    })
}

/// A cursor over the header block that refuses to read past its end.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ProviderError> {
        if self.0.len() < n {
            return Err(malformed("has a truncated header"));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], ProviderError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn sized(&mut self) -> Result<&'a [u8], ProviderError> {
        let len = u16::from_be_bytes(self.array()?);
        self.take(usize::from(len))
    }
}

fn utf8(bytes: &[u8]) -> Result<String, ProviderError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| malformed("has a header that is not UTF-8"))
}

fn parse_headers(block: &[u8]) -> Result<Vec<Header>, ProviderError> {
    let mut r = Reader(block);
    let mut headers = Vec::new();
    while !r.0.is_empty() {
        let name_len = usize::from(r.array::<1>()?[0]);
        let name = utf8(r.take(name_len)?)?;
        let value = match r.array::<1>()?[0] {
            0 => HeaderValue::Bool(true),
            1 => HeaderValue::Bool(false),
            2 => HeaderValue::Byte(i8::from_be_bytes(r.array()?)),
            3 => HeaderValue::Short(i16::from_be_bytes(r.array()?)),
            4 => HeaderValue::Int(i32::from_be_bytes(r.array()?)),
            5 => HeaderValue::Long(i64::from_be_bytes(r.array()?)),
            6 => HeaderValue::Bytes(r.sized()?.to_vec()),
            7 => HeaderValue::String(utf8(r.sized()?)?),
            8 => HeaderValue::Timestamp(i64::from_be_bytes(r.array()?)),
            9 => HeaderValue::Uuid(r.array()?),
            _ => return Err(malformed("has a header of unknown type")),
        };
        headers.push(Header { name, value });
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's published vectors (aws-c-event-stream): an empty frame, and one with a
    /// `content-type` string header and a 13-byte payload.
    const EMPTY: &str = "000000100000000005c248eb7d98c8ff";
    const ONE_HEADER: &str = "0000003d0000002007fd83960c636f6e74656e742d747970650700106170706c69636174696f6e2f6a736f6e7b27666f6f273a27626172277d8d9c08b1";

    #[test]
    fn decodes_the_published_vectors() {
        let mut d = FrameDecoder::new();
        let mut bytes = hex::decode(EMPTY).unwrap_or_default();
        bytes.extend(hex::decode(ONE_HEADER).unwrap_or_default());
        let frames = d.push(&bytes).unwrap();
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0], Frame::default());
        assert_eq!(
            frames[1].str_header("content-type"),
            Some("application/json")
        );
        assert_eq!(frames[1].payload, b"{'foo':'bar'}");
        assert!(d.finish().is_ok());
    }

    #[test]
    fn oversized_and_corrupt_preludes_are_refused_before_buffering() {
        let mut prelude = Vec::new();
        prelude.extend_from_slice(&(64 * 1024 * 1024u32).to_be_bytes());
        prelude.extend_from_slice(&0u32.to_be_bytes());
        let crc = crc32(&prelude);
        prelude.extend_from_slice(&crc.to_be_bytes());
        let err = FrameDecoder::new().push(&prelude).unwrap_err();
        assert!(matches!(err, ProviderError::TooLarge { .. }), "{err:?}");
        prelude[11] ^= 1;
        let err = FrameDecoder::new().push(&prelude).unwrap_err();
        assert!(matches!(err, ProviderError::Malformed(_)), "{err:?}");
    }

    #[test]
    fn a_truncated_stream_is_broken() {
        let bytes = hex::decode(ONE_HEADER).unwrap_or_default();
        let mut d = FrameDecoder::new();
        assert!(d.push(&bytes[..30]).unwrap().is_empty());
        assert!(matches!(d.finish(), Err(ProviderError::StreamBroken(_))));
    }
}
