//! Register words ⇄ values: every type in every word/byte order, then
//! `value × scale + offset`; a raw value outside `raw_valid` is a fault (bad
//! quality). Pure functions; the wire is big-endian per register, the order
//! letters say how a device lays out longer values.

use crate::config::{ValidRange, ValueType, WordOrder};
use crate::model::Quality;

/// How one field's registers become an engineering value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Codec {
    pub kind: ValueType,
    pub order: WordOrder,
    /// For `bool` in a register table: which bit (0 = least significant).
    pub bit: Option<u8>,
    pub scale: f64,
    pub offset: f64,
    /// Raw values outside are faults.
    pub valid: Option<ValidRange>,
}

impl Codec {
    pub fn plain(kind: ValueType, order: WordOrder) -> Self {
        Codec {
            kind,
            order,
            bit: None,
            scale: 1.0,
            offset: 0.0,
            valid: None,
        }
    }

    /// The engineering value of a register field; `None` if too few words.
    pub fn registers_value(&self, words: &[u16]) -> Option<f64> {
        self.registers_reading(words).map(|(value, _)| value)
    }

    /// The engineering value of a register field and its quality (bad when
    /// the raw value is outside `raw_valid`); `None` if too few words.
    pub fn registers_reading(&self, words: &[u16]) -> Option<(f64, Quality)> {
        let raw = decode_raw(words, self.kind, self.order, self.bit)?;
        Some(self.scaled(raw))
    }

    /// The engineering value of a coil or discrete input, and its quality.
    pub fn bit_reading(&self, bit: bool) -> (f64, Quality) {
        self.scaled(f64::from(u8::from(bit)))
    }

    fn scaled(&self, raw: f64) -> (f64, Quality) {
        let quality = match self.valid {
            Some(range) if !range.contains(raw) => Quality::Bad,
            _ => Quality::Good,
        };
        (raw * self.scale + self.offset, quality)
    }
}

/// The value before scaling.
pub fn decode_raw(
    words: &[u16],
    kind: ValueType,
    order: WordOrder,
    bit: Option<u8>,
) -> Option<f64> {
    let n = usize::from(kind.registers());
    let words = words.get(..n)?;
    let mut be = [0u8; 8];
    for (i, word) in ordered_words(words, order).enumerate() {
        let bytes = if order.bytes_swapped() {
            word.to_le_bytes()
        } else {
            word.to_be_bytes()
        };
        be[2 * i..2 * i + 2].copy_from_slice(&bytes);
    }
    let b2 = [be[0], be[1]];
    let b4 = [be[0], be[1], be[2], be[3]];
    let value = match kind {
        ValueType::U16 => f64::from(u16::from_be_bytes(b2)),
        ValueType::I16 => f64::from(i16::from_be_bytes(b2)),
        ValueType::U32 => f64::from(u32::from_be_bytes(b4)),
        ValueType::I32 => f64::from(i32::from_be_bytes(b4)),
        ValueType::F32 => f64::from(f32::from_be_bytes(b4)),
        // Counters beyond 2^53 lose their last digits in f64; meters never get there.
        ValueType::U64 => u64::from_be_bytes(be) as f64,
        ValueType::I64 => i64::from_be_bytes(be) as f64,
        ValueType::F64 => f64::from_be_bytes(be),
        ValueType::Bool => {
            let word = u16::from_be_bytes(b2);
            f64::from((word >> bit.unwrap_or(0).min(15)) & 1)
        }
    };
    Some(value)
}

/// Registers of a raw value laid out in `order` (what a device would serve).
/// Integers saturate at the type's range; bools set bit 0.
pub fn encode_raw(value: f64, kind: ValueType, order: WordOrder) -> Vec<u16> {
    let be: Vec<u8> = match kind {
        ValueType::U16 => (value as u16).to_be_bytes().to_vec(),
        ValueType::I16 => (value as i16).to_be_bytes().to_vec(),
        ValueType::U32 => (value as u32).to_be_bytes().to_vec(),
        ValueType::I32 => (value as i32).to_be_bytes().to_vec(),
        ValueType::F32 => (value as f32).to_be_bytes().to_vec(),
        ValueType::U64 => (value as u64).to_be_bytes().to_vec(),
        ValueType::I64 => (value as i64).to_be_bytes().to_vec(),
        ValueType::F64 => value.to_be_bytes().to_vec(),
        ValueType::Bool => u16::from(value != 0.0).to_be_bytes().to_vec(),
    };
    let words: Vec<u16> = be
        .chunks_exact(2)
        .map(|pair| {
            let bytes = [pair[0], pair[1]];
            if order.bytes_swapped() {
                u16::from_le_bytes(bytes)
            } else {
                u16::from_be_bytes(bytes)
            }
        })
        .collect();
    ordered_words(&words, order).collect()
}

/// Most significant word first, or reversed for word-swapped orders. The
/// permutation is its own inverse, so it serves both directions.
fn ordered_words(words: &[u16], order: WordOrder) -> impl Iterator<Item = u16> + '_ {
    let swapped = order.words_swapped();
    (0..words.len()).map(move |i| {
        if swapped {
            words[words.len() - 1 - i]
        } else {
            words[i]
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ValueType::*;
    use WordOrder::*;

    /// Register images written out by hand from the IEEE-754 / two's complement
    /// big-endian forms, not computed by the code under test.
    #[test]
    fn decodes_hand_written_register_images() {
        let cases: &[(ValueType, WordOrder, &[u16], f64)] = &[
            // 123.456_f32 = 0x42F6E979
            (F32, ABCD, &[0x42F6, 0xE979], 123.456_f32 as f64),
            (F32, CDAB, &[0xE979, 0x42F6], 123.456_f32 as f64),
            (F32, BADC, &[0xF642, 0x79E9], 123.456_f32 as f64),
            (F32, DCBA, &[0x79E9, 0xF642], 123.456_f32 as f64),
            // 305419896 = 0x12345678
            (U32, ABCD, &[0x1234, 0x5678], 305_419_896.0),
            (U32, CDAB, &[0x5678, 0x1234], 305_419_896.0),
            (U32, BADC, &[0x3412, 0x7856], 305_419_896.0),
            (U32, DCBA, &[0x7856, 0x3412], 305_419_896.0),
            // -2 = 0xFFFFFFFE
            (I32, ABCD, &[0xFFFF, 0xFFFE], -2.0),
            (I32, CDAB, &[0xFFFE, 0xFFFF], -2.0),
            (I32, DCBA, &[0xFEFF, 0xFFFF], -2.0),
            // -12345 = 0xCFC7
            (I16, ABCD, &[0xCFC7], -12345.0),
            (I16, CDAB, &[0xCFC7], -12345.0),
            (I16, BADC, &[0xC7CF], -12345.0),
            (U16, DCBA, &[0x3412], 0x1234 as f64),
            // 0x0102030405060708
            (
                U64,
                ABCD,
                &[0x0102, 0x0304, 0x0506, 0x0708],
                72_623_859_790_382_856.0,
            ),
            (
                U64,
                CDAB,
                &[0x0708, 0x0506, 0x0304, 0x0102],
                72_623_859_790_382_856.0,
            ),
            (
                U64,
                BADC,
                &[0x0201, 0x0403, 0x0605, 0x0807],
                72_623_859_790_382_856.0,
            ),
            (
                U64,
                DCBA,
                &[0x0807, 0x0605, 0x0403, 0x0201],
                72_623_859_790_382_856.0,
            ),
            // -1 as i64
            (I64, ABCD, &[0xFFFF; 4], -1.0),
            // 1.5_f64 = 0x3FF8000000000000
            (F64, ABCD, &[0x3FF8, 0, 0, 0], 1.5),
            (F64, CDAB, &[0, 0, 0, 0x3FF8], 1.5),
            (F64, BADC, &[0xF83F, 0, 0, 0], 1.5),
            (F64, DCBA, &[0, 0, 0, 0xF83F], 1.5),
        ];
        for (kind, order, words, expected) in cases {
            let got = decode_raw(words, *kind, *order, None).unwrap();
            assert_eq!(got, *expected, "{kind:?} {order:?} {words:04X?}");
        }
    }

    #[test]
    fn bool_reads_the_named_bit() {
        assert_eq!(decode_raw(&[0b1000_0100], Bool, ABCD, Some(2)), Some(1.0));
        assert_eq!(decode_raw(&[0b1000_0100], Bool, ABCD, Some(3)), Some(0.0));
        assert_eq!(decode_raw(&[0x8000], Bool, ABCD, Some(15)), Some(1.0));
    }

    #[test]
    fn too_few_words_is_none_not_zero() {
        assert_eq!(decode_raw(&[0x4248], F32, ABCD, None), None);
    }

    /// A 4–20 mA input read as µA in a u16 register, scaled to bar:
    /// value = µA × 0.000625 − 2.5 (4000 µA → 0 bar, 20000 µA → 10 bar).
    /// 0 µA (−2.5 bar) and 21500 µA (10.9375 bar) are outside NE 43.
    #[test]
    fn raw_values_outside_raw_valid_are_bad() {
        let codec = Codec {
            scale: 0.000_625,
            offset: -2.5,
            valid: ValidRange::new(3800.0, 20500.0),
            ..Codec::plain(ValueType::U16, WordOrder::ABCD)
        };
        assert_eq!(codec.registers_reading(&[0]), Some((-2.5, Quality::Bad)));
        let (v, q) = codec.registers_reading(&[21_500]).unwrap();
        assert!((v - 10.9375).abs() < 1e-9 && q == Quality::Bad, "{v}");
        let (v, q) = codec.registers_reading(&[12_000]).unwrap();
        assert!((v - 5.0).abs() < 1e-9 && q == Quality::Good, "{v}");
        assert_eq!(codec.registers_reading(&[3_800]).unwrap().1, Quality::Good);
        assert_eq!(codec.bit_reading(true).1, Quality::Bad);
    }

    #[test]
    fn scale_and_offset_apply_after_decoding() {
        let codec = Codec {
            scale: 0.1,
            offset: -40.0,
            valid: None,
            ..Codec::plain(I16, ABCD)
        };
        // 0x0271 = 625 → 62.5 - 40
        let v = codec.registers_value(&[0x0271]).unwrap();
        assert!((v - 22.5).abs() < 1e-9, "{v}");
    }

    #[test]
    fn encode_then_decode_round_trips_every_type_and_order() {
        let values = [
            (U16, 54321.0),
            (I16, -1234.0),
            (U32, 4_000_000_000.0),
            (I32, -2_000_000_000.0),
            (U64, 9_000_000_000_000.0),
            (I64, -9_000_000_000_000.0),
            (F32, 230.5),
            (F64, -0.000_123_456_789),
            (Bool, 1.0),
        ];
        for (kind, value) in values {
            for order in WordOrder::ALL {
                let words = encode_raw(value, kind, order);
                assert_eq!(words.len(), usize::from(kind.registers()));
                assert_eq!(
                    decode_raw(&words, kind, order, None),
                    Some(value),
                    "{kind:?} {order:?}"
                );
            }
        }
    }
}
