//! Packed frames (a hex string or raw bytes) read by a declared field layout.

use super::{DecodeError, Decoded, Decoding, single};
use crate::config::{Endian, FieldSpec, FieldType};
use crate::model::{Quality, TimestampMs};

pub(super) fn decode_frame(
    hex: bool,
    fields: &[FieldSpec],
    payload: &[u8],
    arrival_ms: TimestampMs,
) -> Decoding {
    let bytes = if hex {
        match hex_bytes(payload) {
            Ok(bytes) => bytes,
            Err(e) => return single(Err(e)),
        }
    } else {
        payload.to_vec()
    };
    let mut out = Decoding::default();
    for field in fields {
        match read_field(field, &bytes) {
            Ok(raw) => {
                let value = raw * field.scale + field.offset_value;
                if value.is_finite() {
                    out.readings.push(Decoded {
                        key: Some(field.name.clone()),
                        value,
                        ts: arrival_ms,
                        arrival_stamped: true,
                        unit: field.unit.clone(),
                        name: None,
                        quality: Quality::Good,
                    });
                } else {
                    out.error
                        .get_or_insert(DecodeError::NotFinite(format!("field {:?}", field.name)));
                }
            }
            Err(e) => {
                out.error.get_or_insert(e);
            }
        }
    }
    out
}

/// `50F70A3F73025EFC`, `0x50f7 0a3f`, with or without spaces.
fn hex_bytes(payload: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let text = std::str::from_utf8(payload).map_err(|_| DecodeError::NotText)?;
    let text = text.trim().trim_matches('"');
    let text = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    hex::decode(&compact).map_err(|e| DecodeError::Hex(e.to_string()))
}

fn read_field(field: &FieldSpec, bytes: &[u8]) -> Result<f64, DecodeError> {
    let need = field.offset..field.offset.saturating_add(field.kind.size());
    let Some(raw) = bytes.get(need.clone()) else {
        return Err(DecodeError::FrameTooShort {
            field: field.name.clone(),
            need,
            got: bytes.len(),
        });
    };
    let mut buf = [0u8; 8];
    let n = raw.len();
    buf[..n].copy_from_slice(raw);
    if field.endian == Endian::Little {
        buf[..n].reverse();
    }
    // `buf[..n]` is now big-endian.
    let be = &buf[..n];
    Ok(match field.kind {
        FieldType::U8 => f64::from(be[0]),
        FieldType::I8 => f64::from(be[0] as i8),
        FieldType::U16 => f64::from(u16::from_be_bytes([be[0], be[1]])),
        FieldType::I16 => f64::from(i16::from_be_bytes([be[0], be[1]])),
        FieldType::U32 => f64::from(u32::from_be_bytes([be[0], be[1], be[2], be[3]])),
        FieldType::I32 => f64::from(i32::from_be_bytes([be[0], be[1], be[2], be[3]])),
        FieldType::F32 => f64::from(f32::from_be_bytes([be[0], be[1], be[2], be[3]])),
        FieldType::F64 => f64::from_be_bytes(buf),
    })
}
