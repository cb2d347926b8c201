//! Reading one field's bytes: integers of 1-4 bytes (and 3-byte ids),
//! IEEE floats, bit fields and flags, in either byte order.

use super::super::DecodeError;
use crate::config::{Endian, FieldSpec, FieldType};
use std::sync::Arc;

/// A field as read, before sign, scale and offset.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Raw {
    Int(i64),
    Float(f64),
}

impl Raw {
    pub fn value(self) -> f64 {
        match self {
            Raw::Int(v) => v as f64,
            Raw::Float(v) => v,
        }
    }
}

/// An integer field's value in one frame, for `{frame.NAME}` in sensor ids.
#[derive(Clone, Debug, PartialEq)]
pub struct FrameValue {
    pub name: Arc<str>,
    pub raw: i64,
    /// Bits the field holds (hex ids are padded to them).
    pub bits: u32,
}

fn mask(bits: u32) -> u64 {
    1u64.checked_shl(bits).map_or(u64::MAX, |m| m - 1)
}

/// The field's raw value from `bytes`.
pub(crate) fn read_raw(field: &FieldSpec, bytes: &[u8]) -> Result<Raw, DecodeError> {
    let need = field.offset..field.offset.saturating_add(field.size());
    let Some(raw) = bytes.get(need.clone()) else {
        return Err(DecodeError::FrameTooShort {
            field: field.name.clone(),
            need,
            got: bytes.len(),
        });
    };
    let mut be = [0u8; 8];
    let n = raw.len();
    be[8 - n..].copy_from_slice(raw);
    if field.endian == Endian::Little {
        be[8 - n..].reverse();
    }
    // `be` is now the field's bytes as a big-endian u64, zero-extended.
    let unsigned = u64::from_be_bytes(be);
    Ok(match field.kind {
        FieldType::F32 => Raw::Float(f64::from(f32::from_bits(unsigned as u32))),
        FieldType::F64 => Raw::Float(f64::from_bits(unsigned)),
        FieldType::I8 | FieldType::I16 | FieldType::I24 | FieldType::I32 => {
            let shift = 64 - 8 * n as u32;
            Raw::Int(((unsigned << shift) as i64) >> shift)
        }
        FieldType::Bits | FieldType::Bool => {
            let shifted = unsigned.checked_shr(field.bit_at()).unwrap_or(0);
            Raw::Int((shifted & mask(field.bit_width())) as i64)
        }
        FieldType::U8 | FieldType::U16 | FieldType::U24 | FieldType::U32 => {
            Raw::Int(unsigned as i64)
        }
    })
}
