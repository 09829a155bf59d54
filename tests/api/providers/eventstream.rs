//! Property tests of the event-stream frame decoder against the test kit's encoder.

use astra::providers::ProviderError;
use astra::providers::eventstream::{Frame, FrameDecoder, Header, HeaderValue, crc32};
use proptest::collection::vec;
use proptest::prelude::*;

use crate::helpers::eventstream::{encode, encode_raw};

fn text(max: usize) -> impl Strategy<Value = String> {
    vec(any::<char>(), 0..max).prop_map(String::from_iter)
}

fn header_value() -> impl Strategy<Value = HeaderValue> {
    prop_oneof![
        any::<bool>().prop_map(HeaderValue::Bool),
        any::<i8>().prop_map(HeaderValue::Byte),
        any::<i16>().prop_map(HeaderValue::Short),
        any::<i32>().prop_map(HeaderValue::Int),
        any::<i64>().prop_map(HeaderValue::Long),
        vec(any::<u8>(), 0..64).prop_map(HeaderValue::Bytes),
        text(24).prop_map(HeaderValue::String),
        any::<i64>().prop_map(HeaderValue::Timestamp),
        any::<[u8; 16]>().prop_map(HeaderValue::Uuid),
    ]
}

fn frame() -> impl Strategy<Value = Frame> {
    let header = (text(12), header_value()).prop_map(|(name, value)| Header { name, value });
    (vec(header, 0..6), vec(any::<u8>(), 0..200))
        .prop_map(|(headers, payload)| Frame { headers, payload })
}

/// Feeds `bytes` cut at `cuts` (positions, any order, out of range ignored).
fn decode_in_pieces(bytes: &[u8], cuts: &[usize]) -> Result<Vec<Frame>, ProviderError> {
    let mut at: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    at.push(0);
    at.push(bytes.len());
    at.sort_unstable();
    let mut d = FrameDecoder::new();
    let mut frames = Vec::new();
    for pair in at.windows(2) {
        frames.extend(d.push(&bytes[pair[0]..pair[1]])?);
    }
    d.finish()?;
    Ok(frames)
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..512), cuts in vec(any::<usize>(), 0..8)) {
        let _ = decode_in_pieces(&bytes, &cuts);
    }

    #[test]
    fn arbitrary_header_blocks_behind_valid_crcs_never_panic(
        headers in vec(any::<u8>(), 0..128),
        payload in vec(any::<u8>(), 0..32),
    ) {
        let _ = decode_in_pieces(&encode_raw(&headers, &payload), &[]);
    }

    #[test]
    fn any_prelude_with_a_valid_crc_is_bounded(total in any::<u32>(), headers in any::<u32>(), rest in vec(any::<u8>(), 0..64)) {
        let mut bytes = total.to_be_bytes().to_vec();
        bytes.extend_from_slice(&headers.to_be_bytes());
        let crc = crc32(&bytes);
        bytes.extend_from_slice(&crc.to_be_bytes());
        bytes.extend_from_slice(&rest);
        let mut d = FrameDecoder::new();
        // Either an error, or (a frame that fits, or) a wait for at most the 16 MiB cap.
        if let Ok(frames) = d.push(&bytes) {
            prop_assert!(frames.len() <= 1);
            prop_assert!(total as usize <= astra::providers::eventstream::MAX_FRAME_BYTES);
        }
    }

    #[test]
    fn encoded_frames_round_trip(frames in vec(frame(), 1..5)) {
        let bytes: Vec<u8> = frames.iter().flat_map(encode).collect();
        prop_assert_eq!(decode_in_pieces(&bytes, &[]).unwrap(), frames);
    }

    #[test]
    fn chunk_boundaries_do_not_matter(frames in vec(frame(), 1..5), cuts in vec(any::<usize>(), 0..24)) {
        let bytes: Vec<u8> = frames.iter().flat_map(encode).collect();
        prop_assert_eq!(decode_in_pieces(&bytes, &cuts).unwrap(), frames);
    }

    #[test]
    fn a_flipped_bit_is_a_crc_error(frame in frame(), at in any::<usize>(), bit in 0u8..8) {
        let mut bytes = encode(&frame);
        let at = at % bytes.len();
        bytes[at] ^= 1 << bit;
        match decode_in_pieces(&bytes, &[]) {
            Err(ProviderError::Malformed(why)) => prop_assert!(why.contains("CRC"), "{why}"),
            other => prop_assert!(false, "flipping bit {bit} of byte {at}: {other:?}"),
        }
    }
}
