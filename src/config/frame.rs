//! Frame validity and type-selected layouts of hex/binary payloads, as the
//! config writes them (on `mqtt = {...}` and `[[mqtt_pattern]]`):
//!
//! ```toml
//! frame = { length = 33, header = "50F7", footer = "73C4",
//!           checksum = { kind = "crc16-modbus", over = [0, 29], at = 29 } }
//! type_at = 5
//! layouts = [
//!   { type = 0x02, frame = { length = 33 }, fields = [ ... ] },
//!   { type = [0x03, 0x04], fields = [ ... ] },
//! ]
//! ```
//!
//! A frame that breaks any rule is rejected whole; the decoder
//! (`source::payload`) checks the values and reads the bytes.

use super::{Endian, FieldSpec};
use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use std::fmt;
use toml::Spanned;

/// What makes a frame valid: its length, constant bytes and a checksum.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FrameSpec {
    /// Exact length in bytes.
    pub length: Option<Spanned<usize>>,
    pub min_length: Option<Spanned<usize>>,
    pub max_length: Option<Spanned<usize>>,
    /// Hex bytes the frame starts with, e.g. `"50F7"`.
    pub header: Option<Spanned<String>>,
    /// Hex bytes the frame ends with.
    pub footer: Option<Spanned<String>>,
    pub checksum: Option<Spanned<ChecksumSpec>>,
}

/// `checksum = { kind = "crc16-modbus", over = [0, -4], at = -4 }`: offsets
/// from the end when negative; `over` is a half-open range like a slice.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ChecksumSpec {
    pub kind: ChecksumKind,
    /// Bytes covered, `[start, end)`; default `[0, at)`.
    pub over: Option<Spanned<[i64; 2]>>,
    /// Where the checksum is stored in the frame.
    pub at: Spanned<i64>,
    /// Byte order of a 2-byte checksum; CRC-16/Modbus is sent low byte first.
    pub endian: Option<Endian>,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
pub enum ChecksumKind {
    /// XOR of the bytes, 1 byte.
    #[serde(rename = "xor")]
    Xor,
    /// Sum of the bytes modulo 256, 1 byte.
    #[serde(rename = "sum8")]
    Sum8,
    /// CRC-16/MODBUS (poly 0x8005 reflected, init 0xFFFF), 2 bytes.
    #[serde(rename = "crc16-modbus")]
    Crc16Modbus,
}

impl ChecksumKind {
    pub fn name(self) -> &'static str {
        match self {
            ChecksumKind::Xor => "xor",
            ChecksumKind::Sum8 => "sum8",
            ChecksumKind::Crc16Modbus => "crc16-modbus",
        }
    }
    /// Bytes the checksum takes in the frame.
    pub fn size(self) -> usize {
        match self {
            ChecksumKind::Xor | ChecksumKind::Sum8 => 1,
            ChecksumKind::Crc16Modbus => 2,
        }
    }
}

/// One of several layouts of a topic, chosen by the frame's type byte.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LayoutSpec {
    /// The type byte value(s) this layout reads: `2` or `[2, 3]`.
    #[serde(rename = "type")]
    pub types: Spanned<TypeValues>,
    /// Validity rules of this type's frames, on top of the binding's `frame`.
    pub frame: Option<Spanned<FrameSpec>>,
    #[serde(default)]
    pub fields: Vec<Spanned<FieldSpec>>,
}

/// `sign_bit = { field = "flags", bit = 3 }`: the value is negative when
/// that bit of that field is set.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SignBit {
    pub field: Spanned<String>,
    pub bit: Spanned<u32>,
}

/// The type byte values of a layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeValues(pub Vec<u8>);

impl<'de> Deserialize<'de> for TypeValues {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TypeVisitor)
    }
}

struct TypeVisitor;

impl TypeVisitor {
    fn byte<E: de::Error>(v: i64) -> Result<u8, E> {
        u8::try_from(v)
            .map_err(|_| E::custom(format!("type {v} is not a byte: use 0-255 (0x00-0xFF)")))
    }
}

impl<'de> Visitor<'de> for TypeVisitor {
    type Value = TypeValues;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a type byte or a list of them, like 2 or [0x02, 0x03]")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<TypeValues, E> {
        Ok(TypeValues(vec![Self::byte(v)?]))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<TypeValues, E> {
        self.visit_i64(i64::try_from(v).unwrap_or(i64::MAX))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<TypeValues, A::Error> {
        let mut values = Vec::new();
        while let Some(v) = seq.next_element::<i64>()? {
            values.push(Self::byte(v)?);
        }
        if values.is_empty() {
            return Err(de::Error::custom(
                "type = [] matches no frame: list the type byte values, like [0x02]",
            ));
        }
        Ok(TypeValues(values))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct One {
        layout: LayoutSpec,
    }

    fn layout(text: &str) -> Result<LayoutSpec, String> {
        toml::from_str::<One>(&format!("layout = {text}"))
            .map(|o| o.layout)
            .map_err(|e| e.message().to_owned())
    }

    #[test]
    fn types_are_one_byte_or_a_list() {
        let one = layout("{ type = 0x02 }").unwrap();
        assert_eq!(one.types.get_ref().0, [2]);
        let many = layout("{ type = [1, 0xFF] }").unwrap();
        assert_eq!(many.types.get_ref().0, [1, 255]);
        assert!(layout("{ type = 256 }").unwrap_err().contains("not a byte"));
        assert!(
            layout("{ type = [] }")
                .unwrap_err()
                .contains("matches no frame")
        );
        assert!(
            layout("{ type = \"2\" }")
                .unwrap_err()
                .contains("like 2 or [0x02")
        );
    }

    #[test]
    fn checksum_kinds_by_name() {
        let frame: FrameSpec =
            toml::from_str("checksum = { kind = \"crc16-modbus\", at = -4, over = [0, -4] }")
                .unwrap();
        let checksum = frame.checksum.unwrap().into_inner();
        assert_eq!(checksum.kind, ChecksumKind::Crc16Modbus);
        assert_eq!(*checksum.at.get_ref(), -4);
        assert!(toml::from_str::<FrameSpec>("checksum = { kind = \"crc32\", at = 0 }").is_err());
    }
}
