//! A test-only encoder of the AWS event-stream framing (the inverse of
//! `astra::providers::eventstream::FrameDecoder`), and the Bedrock `ConverseStream` frames the
//! fake upstream sends.

use astra::providers::eventstream::{Frame, Header, HeaderValue, crc32};
use serde_json::{Value, json};

fn value_bytes(value: &HeaderValue, out: &mut Vec<u8>) {
    let sized = |out: &mut Vec<u8>, ty: u8, bytes: &[u8]| {
        out.push(ty);
        out.extend_from_slice(&u16::try_from(bytes.len()).unwrap().to_be_bytes());
        out.extend_from_slice(bytes);
    };
    match value {
        HeaderValue::Bool(true) => out.push(0),
        HeaderValue::Bool(false) => out.push(1),
        HeaderValue::Byte(b) => {
            out.push(2);
            out.extend_from_slice(&b.to_be_bytes());
        }
        HeaderValue::Short(v) => {
            out.push(3);
            out.extend_from_slice(&v.to_be_bytes());
        }
        HeaderValue::Int(v) => {
            out.push(4);
            out.extend_from_slice(&v.to_be_bytes());
        }
        HeaderValue::Long(v) => {
            out.push(5);
            out.extend_from_slice(&v.to_be_bytes());
        }
        HeaderValue::Bytes(b) => sized(out, 6, b),
        HeaderValue::String(s) => sized(out, 7, s.as_bytes()),
        HeaderValue::Timestamp(v) => {
            out.push(8);
            out.extend_from_slice(&v.to_be_bytes());
        }
        HeaderValue::Uuid(u) => {
            out.push(9);
            out.extend_from_slice(u);
        }
    }
}

/// The wire bytes of `frame`, with valid prelude and message CRCs.
pub fn encode(frame: &Frame) -> Vec<u8> {
    let mut headers = Vec::new();
    for h in &frame.headers {
        headers.push(u8::try_from(h.name.len()).unwrap());
        headers.extend_from_slice(h.name.as_bytes());
        value_bytes(&h.value, &mut headers);
    }
    encode_raw(&headers, &frame.payload)
}

/// A prelude announcing `total` bytes with `headers` of headers, with a valid CRC.
pub fn prelude(total: u32, headers: u32) -> Vec<u8> {
    let mut out = total.to_be_bytes().to_vec();
    out.extend_from_slice(&headers.to_be_bytes());
    let crc = crc32(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

/// A frame around an arbitrary header block, with valid CRCs (for fuzzing header parsing).
pub fn encode_raw(headers: &[u8], payload: &[u8]) -> Vec<u8> {
    let total = 12 + headers.len() + payload.len() + 4;
    let (total32, headers32) = (u32::try_from(total), u32::try_from(headers.len()));
    let mut out = prelude(total32.unwrap(), headers32.unwrap());
    out.extend_from_slice(headers);
    out.extend_from_slice(payload);
    let crc = crc32(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

fn string(name: &str, value: &str) -> Header {
    Header {
        name: name.into(),
        value: HeaderValue::String(value.into()),
    }
}

/// A `ConverseStream` event frame as Bedrock sends it.
pub fn event(kind: &str, payload: Value) -> Vec<u8> {
    encode(&Frame {
        headers: vec![
            string(":event-type", kind),
            string(":content-type", "application/json"),
            string(":message-type", "event"),
        ],
        payload: payload.to_string().into_bytes(),
    })
}

/// An exception frame (`throttlingException`, `modelStreamErrorException`, …).
pub fn exception(kind: &str, message: &str) -> Vec<u8> {
    encode(&Frame {
        headers: vec![
            string(":exception-type", kind),
            string(":content-type", "application/json"),
            string(":message-type", "exception"),
        ],
        payload: json!({ "message": message }).to_string().into_bytes(),
    })
}

/// A text delta of content block `block`.
pub fn text_delta(block: u64, text: &str) -> Vec<u8> {
    event(
        "contentBlockDelta",
        json!({"contentBlockIndex": block, "delta": {"text": text}, "p": "abcd"}),
    )
}

/// `messageStop` with `reason`, then `metadata` with usage: the end of every Bedrock stream.
pub fn closing(reason: &str, input: u64, output: u64) -> Vec<Vec<u8>> {
    vec![
        event("messageStop", json!({"stopReason": reason})),
        event(
            "metadata",
            json!({"usage": {"inputTokens": input, "outputTokens": output,
                             "totalTokens": input + output},
                   "metrics": {"latencyMs": 120}}),
        ),
    ]
}
