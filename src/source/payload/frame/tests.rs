//! Frame validity, type-selected layouts, bit fields and signs, on the
//! frames of issue 16. The telemetry frames and their expected values were
//! made independently with Python (`struct.pack('>IBIIHHbBI', ...)` for the
//! body, a textbook CRC-16/MODBUS loop for bytes 29-30, little-endian).

use super::super::{Decoding, PayloadSpec};
use super::rules::compute;
use crate::config::{ChecksumKind, MqttBinding, PayloadLayout};
use crate::model::TimestampMs;
use proptest::prelude::*;

const ARRIVAL: TimestampMs = 1_700_000_000_000;

/// The ping frame published on the telemetry topic: header, device
/// 0x0A3F73, type 0x01, "PING", footer.
const PING: &str = "50F70A3F730150494E4773C4";
/// Device 0x0A3F73: 23.550520 S, 46.633308 W (flags 0b1101: south, west,
/// ignition), 52.3 km/h, 12.650 V, -5 °C, 9 satellites with a fix, 123456 m.
const FRAME_A: &str = "50F70A3F73025EFC2A100D01675A3802C7915C020B316AFB890001E2400E1C73C4";
/// Device 0x0B1C2D: 51.507351 N, 0.127758 W (flags 0b0100), 0 km/h,
/// 3.700 V, 21 °C, 6 satellites without a fix, 7 m.
const FRAME_B: &str = "50F70B1C2D025EFC2A3C040311F0970001F30E00000E74150600000007B43D73C4";

/// The `/messenger` devices' frames: constant ends, a type byte, and the
/// telemetry layout with its length and checksum.
pub(crate) const MESSENGER: &str = r#"payload = "hex"
frame = { header = "50F7", footer = "73C4" }
type_at = 5
layouts = [
  { type = 0x02, frame = { length = 33, checksum = { kind = "crc16-modbus", over = [0, 29], at = 29 } }, fields = [
    { name = "device", offset = 2, type = "u24", reading = false },
    { name = "flags", offset = 10, type = "u8", reading = false },
    { name = "lat", offset = 11, type = "u32", scale = 1e-6, sign_bit = { field = "flags", bit = 3 }, decimals = 6 },
    { name = "lon", offset = 15, type = "u32", scale = 1e-6, sign_bit = { field = "flags", bit = 2 }, decimals = 6 },
    { name = "ignition", offset = 10, type = "bool", bit = 0 },
    { name = "speed", offset = 19, type = "u16", scale = 0.1, unit = "km/h" },
    { name = "battery", offset = 21, type = "u16", scale = 0.001, unit = "V" },
    { name = "temp", offset = 23, type = "i8", unit = "°C" },
    { name = "satellites", offset = 24, type = "bits", bit = 0, width = 4 },
    { name = "fix", offset = 24, type = "bool", bit = 7 },
    { name = "odometer", offset = 25, type = "u32", unit = "m" },
  ] },
]"#;

fn binding(keys: &str) -> MqttBinding {
    toml::from_str(&format!("broker = \"b\"\ntopic = \"t\"\n{keys}")).unwrap()
}

fn spec(keys: &str) -> PayloadSpec {
    PayloadSpec::from_keys(&binding(keys).decode_keys()).unwrap()
}

fn spec_error(keys: &str) -> String {
    PayloadSpec::from_keys(&binding(keys).decode_keys())
        .unwrap_err()
        .to_string()
}

fn layout(keys: &str) -> PayloadLayout {
    PayloadLayout::from_keys(&binding(keys).decode_keys()).unwrap()
}

fn values(out: &Decoding) -> Vec<(&str, f64)> {
    (out.readings.iter())
        .map(|r| (r.key.as_deref().unwrap(), r.value))
        .collect()
}

fn assert_values(out: &Decoding, expect: &[(&str, f64)]) {
    assert_eq!(out.error, None);
    let got = values(out);
    assert_eq!(got.len(), expect.len(), "{got:?}");
    for ((name, value), (want_name, want)) in got.iter().zip(expect) {
        assert_eq!(name, want_name);
        assert!((value - want).abs() < 1e-9, "{name}: {value} vs {want}");
    }
}

/// Nothing stored, and the reason.
fn rejected(spec: &mut PayloadSpec, payload: &str) -> String {
    let out = spec.decode(payload.as_bytes(), ARRIVAL);
    assert!(out.readings.is_empty(), "{out:?}");
    assert!(out.frame.is_empty(), "{out:?}");
    out.error.expect("a reason").to_string()
}

/// The layout that read the ping's ASCII bytes as three readings, before
/// and after it says what a frame is.
#[test]
fn the_ping_frame_is_rejected_whole_once_the_length_is_declared() {
    let fields = r#"fields = [
  { name = "time", offset = 6, type = "u16" },
  { name = "flags", offset = 8, type = "u8" },
  { name = "lat", offset = 9, type = "u16" },
  { name = "speed", offset = 19, type = "u16" },
]"#;
    let legacy = spec(fields).decode(PING.as_bytes(), ARRIVAL);
    // "PI" = 0x5049, "N" = 0x4E, "G" 0x47 and the footer's 0x73: the defect.
    assert_eq!(
        values(&legacy),
        [("time", 20553.0), ("flags", 78.0), ("lat", 18291.0)]
    );
    assert!(legacy.error.is_some());

    let mut strict = spec(&format!(
        "frame = {{ length = 33, header = \"50F7\", footer = \"73C4\" }}\n{fields}"
    ));
    assert_eq!(
        rejected(&mut strict, PING),
        "frame length 12, layout needs 33"
    );
}

#[test]
fn the_ping_frame_has_no_layout_for_its_type() {
    let mut s = spec(MESSENGER);
    assert_eq!(
        rejected(&mut s, PING),
        "frame type 0x01 has no layout (layouts for 0x02)"
    );
}

#[test]
fn telemetry_frames_read_signs_from_flags_and_bit_fields() {
    let mut s = spec(MESSENGER);
    let a = s.decode(FRAME_A.as_bytes(), ARRIVAL);
    assert_values(
        &a,
        &[
            ("lat", -23.550520),
            ("lon", -46.633308),
            ("ignition", 1.0),
            ("speed", 52.3),
            ("battery", 12.65),
            ("temp", -5.0),
            ("satellites", 9.0),
            ("fix", 1.0),
            ("odometer", 123_456.0),
        ],
    );
    let device = a.frame.iter().find(|v| &*v.name == "device").unwrap();
    assert_eq!((device.raw, device.bits), (0x0A3F73, 24));
    let b = s.decode(FRAME_B.as_bytes(), ARRIVAL);
    assert_values(
        &b,
        &[
            ("lat", 51.507351),
            ("lon", -0.127758),
            ("ignition", 0.0),
            ("speed", 0.0),
            ("battery", 3.7),
            ("temp", 21.0),
            ("satellites", 6.0),
            ("fix", 0.0),
            ("odometer", 7.0),
        ],
    );
    let device = b.frame.iter().find(|v| &*v.name == "device").unwrap();
    assert_eq!(device.raw, 0x0B1C2D);
    assert_eq!(
        s.field_names(),
        [
            "lat",
            "lon",
            "ignition",
            "speed",
            "battery",
            "temp",
            "satellites",
            "fix",
            "odometer"
        ]
    );
}

#[test]
fn broken_rules_reject_the_frame_with_the_reason() {
    let mut s = spec(MESSENGER);
    let with = |at: usize, byte: &str| {
        let mut frame = FRAME_A.to_owned();
        frame.replace_range(at * 2..at * 2 + 2, byte);
        frame
    };
    assert_eq!(
        rejected(&mut s, &with(0, "51")),
        "frame header 0x51F7, layout needs 0x50F7"
    );
    assert_eq!(
        rejected(&mut s, &with(32, "C5")),
        "frame footer 0x73C5, layout needs 0x73C4"
    );
    // Latitude's last byte 0x38 → 0x39: the stored CRC no longer matches.
    assert_eq!(
        rejected(&mut s, &with(14, "39")),
        "checksum mismatch: crc16-modbus of bytes 0..29 is 0xCF1C, frame has 0x0E1C at byte 29"
    );
    let short = format!("{}73C4", &FRAME_A[..60]);
    assert_eq!(rejected(&mut s, &short), "frame length 32, layout needs 33");
    assert_eq!(
        rejected(&mut s, "50F70A73C4"),
        "frame of 5 bytes has no type byte at offset 5"
    );
    assert!(rejected(&mut s, "50F7XX").starts_with("invalid hex frame"));
}

#[test]
fn length_ranges_and_one_byte_checksums_at_the_end() {
    // XOR of AA 01 02 03 = 0xAA; sum8 of AA 01 02 03 = 0xB0 (by hand).
    let mut xor = spec(
        r#"payload = "hex"
frame = { min_length = 5, max_length = 6, checksum = { kind = "xor", over = [0, -1], at = -1 } }
fields = [{ name = "a", offset = 1, type = "u8" }]"#,
    );
    assert_values(&xor.decode(b"AA010203AA", ARRIVAL), &[("a", 1.0)]);
    assert_values(&xor.decode(b"AA01020304AE", ARRIVAL), &[("a", 1.0)]);
    assert_eq!(
        rejected(&mut xor, "AA0102AB"),
        "frame length 4, layout needs at least 5"
    );
    assert_eq!(
        rejected(&mut xor, "AA0102030405AE"),
        "frame length 7, layout allows at most 6"
    );
    assert_eq!(
        rejected(&mut xor, "AA010203AB"),
        "checksum mismatch: xor of bytes 0..4 is 0xAA, frame has 0xAB at byte 4"
    );
    let mut sum = spec(
        r#"payload = "binary"
frame = { checksum = { kind = "sum8", at = 4 } }
fields = [{ name = "a", offset = 1, type = "u8" }]"#,
    );
    assert_values(&sum.decode(&[0xAA, 1, 2, 3, 0xB0], ARRIVAL), &[("a", 1.0)]);
    assert_eq!(
        rejected_bytes(&mut sum, &[0xAA]),
        "frame of 1 bytes is too short for its sum8 checksum"
    );
}

fn rejected_bytes(spec: &mut PayloadSpec, payload: &[u8]) -> String {
    let out = spec.decode(payload, ARRIVAL);
    assert!(out.readings.is_empty(), "{out:?}");
    out.error.expect("a reason").to_string()
}

/// The catalogue check values of "123456789": CRC-16/MODBUS 0x4B37; XOR
/// 0x31 and SUM-8 0xDD by Python (`functools.reduce(operator.xor, b)`, `sum(b) % 256`).
#[test]
fn checksums_match_their_reference_values() {
    assert_eq!(compute(ChecksumKind::Crc16Modbus, b"123456789"), 0x4B37);
    assert_eq!(compute(ChecksumKind::Xor, b"123456789"), 0x31);
    assert_eq!(compute(ChecksumKind::Sum8, b"123456789"), 0xDD);
    let mut big_endian = spec(
        r#"payload = "binary"
frame = { checksum = { kind = "crc16-modbus", over = [0, 9], at = 9, endian = "big" } }
fields = [{ name = "a", offset = 0, type = "u8" }]"#,
    );
    let mut frame = b"123456789".to_vec();
    frame.extend([0x4B, 0x37]);
    assert_values(&big_endian.decode(&frame, ARRIVAL), &[("a", 49.0)]);
}

#[test]
fn a_declared_frame_with_an_unreadable_field_gives_nothing() {
    let mut s = spec(
        r#"frame = { min_length = 2 }
fields = [{ name = "a", offset = 0, type = "u16" }, { name = "b", offset = 2, type = "u16" }]"#,
    );
    assert_eq!(
        rejected(&mut s, "0102"),
        "frame of 2 bytes is too short for field \"b\" (needs bytes 2..4)"
    );
    assert_values(
        &s.decode(b"01020304", ARRIVAL),
        &[("a", 258.0), ("b", 772.0)],
    );
    let mut nan = spec(
        r#"frame = { length = 4 }
fields = [{ name = "a", offset = 0, type = "u8" }, { name = "f", offset = 0, type = "f32" }]"#,
    );
    assert_eq!(
        rejected(&mut nan, "7FC00000"),
        "field \"f\" is not a finite number"
    );
}

/// 0xFFFFFE as i24 is -2; little-endian u24 of 01 02 03 is 0x030201 = 197121;
/// bits 4-9 of the big-endian u16 0x0AF0 are 0b101111 = 47.
#[test]
fn three_byte_integers_and_bits_across_bytes() {
    let mut s = spec(
        r#"fields = [
  { name = "i", offset = 0, type = "i24" },
  { name = "u", offset = 3, type = "u24", endian = "little" },
  { name = "b", offset = 6, type = "bits", bit = 4, width = 6 },
  { name = "s", offset = 3, type = "u8", sign_bit = { field = "i", bit = 23 } },
]"#,
    );
    assert_values(
        &s.decode(b"FFFFFE0102030AF0", ARRIVAL),
        &[("i", -2.0), ("u", 197_121.0), ("b", 47.0), ("s", -1.0)],
    );
}

#[test]
fn layout_mistakes_name_the_key_and_what_works() {
    let cases = [
        (
            "type_at = 5\nfields = [{ name = \"a\", offset = 0, type = \"u8\" }]",
            "type_at chooses one of several layouts",
        ),
        (
            "layouts = [{ type = 1, fields = [{ name = \"a\", offset = 0, type = \"u8\" }] }]",
            "set type_at",
        ),
        (
            "type_at = 0\nlayouts = [{ type = 1, fields = [] }]",
            "the layout for type 0x01 has no fields",
        ),
        (
            "type_at = 0\nlayouts = [{ type = [1, 2], fields = [{ name = \"a\", offset = 0, type = \"u8\" }] }, { type = 2, fields = [{ name = \"a\", offset = 0, type = \"u8\" }] }]",
            "type 0x02 is in two layouts",
        ),
        (
            "type_at = 0\nfields = [{ name = \"a\", offset = 0, type = \"u8\" }]\nlayouts = [{ type = 1, fields = [{ name = \"a\", offset = 0, type = \"u8\" }] }]",
            "not both",
        ),
        (
            "fields = [{ name = \"a\", offset = 0, type = \"bits\", width = 3 }]",
            "needs bit = ",
        ),
        (
            "fields = [{ name = \"a\", offset = 0, type = \"bits\", bit = 30, width = 3 }]",
            "must fit in 32 bits",
        ),
        (
            "fields = [{ name = \"a\", offset = 0, type = \"bool\", bit = 1, width = 2 }]",
            "a bool is one bit",
        ),
        (
            "fields = [{ name = \"a\", offset = 0, type = \"u8\", bit = 1 }]",
            "bit and width are for type = \"bits\"",
        ),
        (
            "fields = [{ name = \"a\", offset = 0, type = \"u8\", sign_bit = { field = \"flags\", bit = 1 } }]",
            "sign_bit field \"flags\" is not in the layout (fields: a)",
        ),
        (
            "fields = [{ name = \"a\", offset = 0, type = \"u8\", sign_bit = { field = \"a\", bit = 1 } }]",
            "must name another field",
        ),
        (
            "fields = [{ name = \"f\", offset = 0, type = \"f32\" }, { name = \"a\", offset = 0, type = \"u8\", sign_bit = { field = \"f\", bit = 1 } }]",
            "is f32, not an integer",
        ),
        (
            "fields = [{ name = \"f\", offset = 0, type = \"u8\" }, { name = \"a\", offset = 0, type = \"u8\", sign_bit = { field = \"f\", bit = 8 } }]",
            "bit 8 is outside \"f\" (8 bits, 0-7)",
        ),
        (
            "fields = [{ name = \"a\", offset = 0, type = \"u8\", reading = false }]",
            "gives no readings",
        ),
        (
            "frame = { header = \"5G\" }\nfields = [{ name = \"a\", offset = 0, type = \"u8\" }]",
            "header = \"5G\" is not hex bytes",
        ),
        (
            "frame = { length = 4, min_length = 2 }\nfields = [{ name = \"a\", offset = 0, type = \"u8\" }]",
            "not both",
        ),
        (
            "frame = { min_length = 8, max_length = 4 }\nfields = [{ name = \"a\", offset = 0, type = \"u8\" }]",
            "min_length 8 is above max_length 4",
        ),
        (
            "frame = { length = 4 }\nfields = [{ name = \"a\", offset = 2, type = \"u32\" }]",
            "field \"a\" (bytes 2..6) does not fit a frame of length 4",
        ),
        (
            "frame = { length = 3, header = \"50F7\", footer = \"73C4\" }\nfields = [{ name = \"a\", offset = 0, type = \"u8\" }]",
            "the header and footer (bytes 0..4) does not fit a frame of length 3",
        ),
        (
            "frame = { length = 4, checksum = { kind = \"crc16-modbus\", at = 3 } }\nfields = [{ name = \"a\", offset = 0, type = \"u8\" }]",
            "the crc16-modbus checksum (over = [0, 3], at = 3) does not fit a frame of length 4",
        ),
        (
            "frame = { checksum = { kind = \"xor\", over = [4, 2], at = 0 } }\nfields = [{ name = \"a\", offset = 0, type = \"u8\" }]",
            "covers no bytes",
        ),
        (
            "frame = { checksum = { kind = \"xor\", at = 4, endian = \"big\" } }\nfields = [{ name = \"a\", offset = 0, type = \"u8\" }]",
            "endian is for 2-byte checksums",
        ),
        (
            "type_at = 40\nlayouts = [{ type = 1, frame = { length = 33 }, fields = [{ name = \"a\", offset = 0, type = \"u8\" }] }]",
            "the type byte (bytes 40..41) does not fit a frame of length 33",
        ),
        (
            "payload = \"json\"\nframe = { length = 4 }",
            "need payload = \"hex\" or \"binary\"",
        ),
        (
            "payload = \"number\"\ntype_at = 4",
            "need payload = \"hex\" or \"binary\"",
        ),
    ];
    for (keys, want) in cases {
        let got = spec_error(keys);
        assert!(
            got.contains(want),
            "{keys}\n  gave {got}\n  expected {want}"
        );
    }
}

#[test]
fn frame_ids_need_an_integer_field_of_every_layout() {
    let s = layout(MESSENGER);
    assert_eq!(s.check_frame_id("device"), Ok(()));
    let unknown = s.check_frame_id("devce").unwrap_err().to_string();
    assert!(
        unknown.starts_with(
            "{frame.devce}: no field \"devce\" in the layout (integer fields: device, flags, lat,"
        ),
        "{unknown}"
    );
    let float = layout(
        "fields = [{ name = \"d\", offset = 0, type = \"u8\" }, { name = \"f\", offset = 0, type = \"f32\" }]",
    );
    assert_eq!(
        float.check_frame_id("f").unwrap_err().to_string(),
        "{frame.f}: field \"f\" is f32; an id needs an integer field"
    );
    assert_eq!(
        float.check_frame_id("x").unwrap_err().to_string(),
        "{frame.x}: no field \"x\" in the layout (integer fields: d)"
    );
    assert!(PayloadLayout::number().check_frame_id("d").is_err());
}

/// A valid telemetry frame with `edits` applied (byte index, new value).
fn edited(edits: &[(usize, u8)], cut: usize) -> Vec<u8> {
    let mut frame = hex::decode(FRAME_A).unwrap();
    for (at, byte) in edits {
        let at = at % frame.len();
        frame[at] = *byte;
    }
    frame.truncate(frame.len().saturating_sub(cut));
    frame
}

fn any_frame_spec() -> impl Strategy<Value = PayloadSpec> {
    let binary = MESSENGER.replace("payload = \"hex\"", "payload = \"binary\"");
    prop_oneof![
        Just(spec(&binary)),
        Just(spec(
            "payload = \"binary\"\nframe = { min_length = 1, checksum = { kind = \"xor\", over = [1, -1], at = -1 } }\nfields = [{ name = \"a\", offset = 0, type = \"bits\", bit = 3, width = 29, endian = \"little\" }, { name = \"b\", offset = 1, type = \"i24\", sign_bit = { field = \"a\", bit = 28 } }]"
        )),
        Just(spec(
            "payload = \"binary\"\nfields = [{ name = \"f\", offset = 0, type = \"u8\", reading = false }, { name = \"d\", offset = 1, type = \"f64\", sign_bit = { field = \"f\", bit = 7 } }, { name = \"x\", offset = 2, type = \"bool\", bit = 7 }]"
        )),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Frames close to valid ones (so the rules pass often and the fields
    /// are read): never a panic, never a non-finite value, and a declared
    /// frame is read whole or not at all.
    #[test]
    fn near_valid_frames_never_panic(
        mut spec in any_frame_spec(),
        edits in proptest::collection::vec((0usize..40, any::<u8>()), 0..3),
        cut in 0usize..34,
    ) {
        let out = spec.decode(&edited(&edits, cut), ARRIVAL);
        prop_assert!(out.readings.iter().all(|r| r.value.is_finite()));
        let fields = spec.field_names().len();
        prop_assert!(out.readings.len() <= fields);
    }

    #[test]
    fn declared_frames_are_all_or_nothing(
        edits in proptest::collection::vec((0usize..40, any::<u8>()), 0..3),
        cut in 0usize..34,
    ) {
        let binary = MESSENGER.replace("payload = \"hex\"", "payload = \"binary\"");
        let mut spec = spec(&binary);
        let out = spec.decode(&edited(&edits, cut), ARRIVAL);
        match out.error {
            Some(_) => prop_assert!(out.readings.is_empty() && out.frame.is_empty()),
            None => prop_assert_eq!(out.readings.len(), 9),
        }
    }

    /// Any bytes through the frame decoders.
    #[test]
    fn arbitrary_bytes_through_frame_layouts_never_panic(
        mut spec in any_frame_spec(),
        payload in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let out = spec.decode(&payload, ARRIVAL);
        prop_assert!(out.readings.iter().all(|r| r.value.is_finite()));
    }
}
