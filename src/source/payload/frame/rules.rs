//! What makes a frame valid: length, constant header and footer bytes, a
//! checksum. A frame that breaks a rule is rejected whole, with the reason.

use crate::config::{ChecksumKind, ChecksumRule, FrameRules};
use std::fmt;
use std::ops::Range;

/// Why a frame was rejected (nothing of it is stored).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum FrameRejection {
    #[error("frame length {got}, layout needs {need}")]
    Length { got: usize, need: usize },
    #[error("frame length {got}, layout needs at least {min}")]
    TooShort { got: usize, min: usize },
    #[error("frame length {got}, layout allows at most {max}")]
    TooLong { got: usize, max: usize },
    #[error("frame header {found}, layout needs {want}")]
    Header { found: Hex, want: Hex },
    #[error("frame footer {found}, layout needs {want}")]
    Footer { found: Hex, want: Hex },
    #[error("frame of {got} bytes is too short for its {kind} checksum")]
    ChecksumOutside { kind: &'static str, got: usize },
    #[error(
        "checksum mismatch: {kind} of bytes {over:?} is {computed}, frame has {found} at byte {at}"
    )]
    Checksum {
        kind: &'static str,
        over: Range<usize>,
        computed: Hex,
        found: Hex,
        at: usize,
    },
    #[error("frame of {got} bytes has no type byte at offset {at}")]
    NoTypeByte { at: usize, got: usize },
    #[error("frame type {found} has no layout (layouts for {known})")]
    UnknownType { found: Hex, known: String },
}

/// Bytes shown as `0x50F7`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hex(pub Vec<u8>);

impl fmt::Display for Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("0x")?;
        self.0.iter().try_for_each(|b| write!(f, "{b:02X}"))
    }
}

/// Checks `bytes` against every rule, in the order an integrator reads
/// them: length, header, footer, checksum.
pub(super) fn check(rules: &FrameRules, bytes: &[u8]) -> Result<(), FrameRejection> {
    check_length(rules, bytes.len())?;
    check_constant(&rules.header, bytes.get(..rules.header.len()), bytes, true)?;
    let footer_at = bytes.len().checked_sub(rules.footer.len());
    let footer = footer_at.and_then(|at| bytes.get(at..));
    check_constant(&rules.footer, footer, bytes, false)?;
    match &rules.checksum {
        Some(checksum) => check_checksum(checksum, bytes),
        None => Ok(()),
    }
}

fn check_length(rules: &FrameRules, got: usize) -> Result<(), FrameRejection> {
    if let Some(need) = rules.length.filter(|n| *n != got) {
        return Err(FrameRejection::Length { got, need });
    }
    if let Some(min) = rules.min_length.filter(|m| got < *m) {
        return Err(FrameRejection::TooShort { got, min });
    }
    if let Some(max) = rules.max_length.filter(|m| got > *m) {
        return Err(FrameRejection::TooLong { got, max });
    }
    Ok(())
}

fn check_constant(
    want: &[u8],
    found: Option<&[u8]>,
    bytes: &[u8],
    header: bool,
) -> Result<(), FrameRejection> {
    if want.is_empty() || found == Some(want) {
        return Ok(());
    }
    let shown = found.unwrap_or(bytes);
    let (found, want) = (Hex(shown.to_vec()), Hex(want.to_vec()));
    Err(if header {
        FrameRejection::Header { found, want }
    } else {
        FrameRejection::Footer { found, want }
    })
}

fn check_checksum(checksum: &ChecksumRule, bytes: &[u8]) -> Result<(), FrameRejection> {
    let kind = checksum.kind.name();
    let Some((over, stored)) = checksum.places(bytes.len()) else {
        let got = bytes.len();
        return Err(FrameRejection::ChecksumOutside { kind, got });
    };
    let computed = compute(checksum.kind, &bytes[over.clone()]);
    let found = &bytes[stored.clone()];
    let expected = stored_bytes(checksum, computed);
    if found == expected.as_slice() {
        return Ok(());
    }
    Err(FrameRejection::Checksum {
        kind,
        over,
        computed: Hex(expected),
        found: Hex(found.to_vec()),
        at: stored.start,
    })
}

/// The checksum as it is stored in the frame.
fn stored_bytes(checksum: &ChecksumRule, value: u16) -> Vec<u8> {
    match checksum.kind.size() {
        1 => vec![value as u8],
        _ if checksum.little_endian => value.to_le_bytes().to_vec(),
        _ => value.to_be_bytes().to_vec(),
    }
}

/// The checksum of `bytes` (1-byte kinds in the low byte).
pub(crate) fn compute(kind: ChecksumKind, bytes: &[u8]) -> u16 {
    match kind {
        ChecksumKind::Xor => u16::from(bytes.iter().fold(0u8, |acc, b| acc ^ b)),
        ChecksumKind::Sum8 => u16::from(bytes.iter().fold(0u8, |acc, b| acc.wrapping_add(*b))),
        ChecksumKind::Crc16Modbus => crc16_modbus(bytes),
    }
}

/// CRC-16/MODBUS: reflected polynomial 0xA001, initial value 0xFFFF.
fn crc16_modbus(bytes: &[u8]) -> u16 {
    let mut crc = 0xFFFFu16;
    for byte in bytes {
        crc ^= u16::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xA001
            } else {
                crc >> 1
            };
        }
    }
    crc
}
