//! Decoders against real samples; expected values computed independently
//! (by hand or with Python's `struct` / `datetime`, noted next to each).

use super::*;
use crate::config::MqttBinding;
use proptest::prelude::*;

const ARRIVAL: TimestampMs = 1_700_000_000_000;

/// A decoder from binding keys written as in a config file.
fn spec(keys: &str) -> PayloadSpec {
    let toml = format!("broker = \"b\"\ntopic = \"t\"\n{keys}");
    let binding: MqttBinding = toml::from_str(&toml).unwrap();
    PayloadSpec::from_keys(&binding.decode_keys()).unwrap()
}

/// A decoder from `[[mqtt_pattern]]` keys (`group_path` is a pattern's).
fn pattern_spec(keys: &str) -> PayloadSpec {
    let toml = format!("broker = \"b\"\ntopic = \"t\"\nid = \"{{id}}\"\n{keys}");
    let pattern: crate::config::MqttPattern = toml::from_str(&toml).unwrap();
    PayloadSpec::from_keys(&pattern.decode_keys()).unwrap()
}

fn one(spec: &mut PayloadSpec, payload: &str) -> Decoded {
    let out = spec.decode(payload.as_bytes(), ARRIVAL);
    assert_eq!(out.error, None, "{payload}");
    assert_eq!(out.readings.len(), 1, "{payload}");
    out.readings.into_iter().next().unwrap()
}

fn error(spec: &mut PayloadSpec, payload: &[u8]) -> String {
    let out = spec.decode(payload, ARRIVAL);
    assert!(out.readings.is_empty(), "{out:?}");
    out.error.expect("an error").to_string()
}

/// The factory monitor's message, byte for byte as PRODUCT.md shows it.
const FACTORY: &str = r#"{"timestamp":"2025-10-02T12:00:00Z","sensor_id":"temp-001","sensor_type":"temperature","location":{"zone":"zone-a"},"value":36.2,"unit":"°C","alert_level":"warning","quality":1.0}"#;

#[test]
fn reads_the_factory_monitor_message_unchanged() {
    let mut s = spec(
        r#"payload = "json"
value = "/value"
time = "/timestamp"
id_path = "/sensor_id"
unit_path = "/unit"
name_path = "/location/zone"
quality = "/quality""#,
    );
    let r = one(&mut s, FACTORY);
    assert_eq!(r.value, 36.2);
    // datetime(2025,10,2,12,0,0,tzinfo=utc).timestamp()*1000
    assert_eq!(r.ts, 1_759_406_400_000);
    assert_eq!(r.key.as_deref(), Some("temp-001"));
    assert_eq!(r.unit.as_deref(), Some("°C"));
    assert_eq!(r.name.as_deref(), Some("zone-a"));
    assert_eq!(r.quality, Quality::Good);
}

#[test]
fn json_defaults_to_the_value_key_and_arrival_time() {
    let mut s = spec(r#"payload = "json""#);
    let r = one(&mut s, r#"{"value": -3.5}"#);
    assert_eq!((r.value, r.ts, r.key), (-3.5, ARRIVAL, None));
}

#[test]
fn reads_an_array_of_readings_in_one_message() {
    let mut s = spec(
        r#"value = "/v"
id_path = "/id"
time = "/t""#,
    );
    let out = s.decode(
        br#"[{"id":"a","v":1.5,"t":1759406400},{"id":"b","v":"2.5 bar","t":1759406400123}]"#,
        ARRIVAL,
    );
    assert_eq!(out.error, None);
    let got: Vec<_> = out
        .readings
        .iter()
        .map(|r| (r.key.clone().unwrap(), r.value, r.ts, r.unit.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("a".into(), 1.5, 1_759_406_400_000, None),
            ("b".into(), 2.5, 1_759_406_400_123, Some("bar".into())),
        ]
    );
}

#[test]
fn reads_an_array_inside_the_message_and_keeps_the_good_items() {
    let mut s = spec(
        r#"items = "/readings"
id_path = "/id""#,
    );
    let out = s.decode(
        br#"{"device":"x","readings":[{"id":"a","value":1},{"id":"b","value":"n/a"},{"id":"c","value":3}]}"#,
        ARRIVAL,
    );
    let ids: Vec<_> = out
        .readings
        .iter()
        .map(|r| r.key.clone().unwrap())
        .collect();
    assert_eq!(ids, ["a", "c"]);
    let err = out.error.unwrap().to_string();
    assert!(
        err.starts_with("reading 1:") && err.contains("n/a"),
        "{err}"
    );
}

#[test]
fn plain_numbers_with_and_without_units() {
    let mut s = PayloadSpec::number();
    let cases = [
        ("21.5", 21.5, None),
        ("21.5 °C", 21.5, Some("°C")),
        ("21.5°C", 21.5, Some("°C")),
        ("  -4e2 mbar\n", -400.0, Some("mbar")),
        ("\"7\"", 7.0, None),
        ("3 m3/h", 3.0, Some("m3/h")),
        ("1e", 1.0, Some("e")),
        ("12.5 Ebar", 12.5, Some("Ebar")),
    ];
    for (payload, value, unit) in cases {
        let r = one(&mut s, payload);
        assert_eq!((r.value, r.unit.as_deref()), (value, unit), "{payload}");
        assert_eq!(r.ts, ARRIVAL);
    }
}

#[test]
fn plain_number_errors_quote_the_payload() {
    let mut s = PayloadSpec::number();
    assert!(error(&mut s, b"on").contains("\"on\""));
    assert!(error(&mut s, b"").contains("expected a number"));
    assert!(error(&mut s, b"NaN").contains("expected a number"));
    assert!(error(&mut s, b"1e999").contains("not a finite number"));
    assert_eq!(error(&mut s, &[0xff, 0xfe]), "payload is not UTF-8 text");
}

/// `50F70A3F73025EFC` by a declared layout. Python:
/// `struct.unpack('>H', b[0:2])` = 20727, `'<H', b[2:4]` = 16138,
/// `'>h', b[6:8]` = 24316, `'b', b[7:8]` = -4, `'>i', b[2:6]` = 171930370.
#[test]
fn hex_frame_by_layout() {
    let mut s = spec(
        r#"payload = "hex"
fields = [
  { name = "temp", offset = 0, type = "u16", endian = "big", scale = 0.01, unit = "°C" },
  { name = "level", offset = 2, type = "u16", endian = "little", scale = 0.1 },
  { name = "pressure", offset = 6, type = "i16", scale = 0.001, offset_value = -10 },
  { name = "status", offset = 7, type = "i8" },
  { name = "counter", offset = 2, type = "i32" },
]"#,
    );
    let out = s.decode(b"50F70A3F73025EFC", ARRIVAL);
    assert_eq!(out.error, None);
    let got: Vec<_> = out
        .readings
        .iter()
        .map(|r| (r.key.clone().unwrap(), r.value))
        .collect();
    let expect = [
        ("temp", 20727.0 * 0.01),
        ("level", 16138.0 * 0.1),
        ("pressure", 24316.0 * 0.001 - 10.0),
        ("status", -4.0),
        ("counter", 171_930_370.0),
    ];
    assert_eq!(got.len(), expect.len());
    for ((name, value), (want_name, want)) in got.iter().zip(expect) {
        assert_eq!(name, want_name);
        assert!((value - want).abs() < 1e-9, "{name}: {value} vs {want}");
    }
    assert_eq!(out.readings[0].unit.as_deref(), Some("°C"));
    // The same frame as lower-case hex with a prefix and spaces.
    let again = s.decode(b"0x50f7 0a3f 7302 5efc", ARRIVAL);
    assert_eq!(again.readings, out.readings);
}

/// Floats: `struct.unpack('>f', b[0:4])` = 33157150720.0, `'<I', b[4:8]` = 4234019443.
#[test]
fn binary_frame_floats_and_little_endian() {
    let mut s = spec(
        r#"payload = "binary"
fields = [
  { name = "f", offset = 0, type = "f32" },
  { name = "u", offset = 4, type = "u32", endian = "little" },
]"#,
    );
    let frame = hex::decode("50F70A3F73025EFC").unwrap();
    let out = s.decode(&frame, ARRIVAL);
    let values: Vec<f64> = out.readings.iter().map(|r| r.value).collect();
    assert_eq!(values, [33_157_150_720.0, 4_234_019_443.0]);
}

#[test]
fn a_short_frame_keeps_the_fields_that_fit_and_names_the_one_that_does_not() {
    let mut s = spec(
        r#"fields = [
  { name = "a", offset = 0, type = "u16" },
  { name = "b", offset = 2, type = "f64" },
]"#,
    );
    let out = s.decode(b"0102030405", ARRIVAL);
    assert_eq!(out.readings.len(), 1);
    assert_eq!(out.readings[0].value, 258.0);
    let err = out.error.unwrap().to_string();
    assert_eq!(
        err,
        "frame of 5 bytes is too short for field \"b\" (needs bytes 2..10)"
    );
    assert!(error(&mut s, b"5G").starts_with("invalid hex frame"));
}

/// 4–20 mA → 0–10 bar: 12 mA is mid-scale, 5 bar; an ADC count scale too.
#[test]
fn linear_scaling_of_raw_counts() {
    let mut s = spec("raw = [4, 20]\neng = [0, 10]");
    assert_eq!(one(&mut s, "12").value, 5.0);
    assert_eq!(one(&mut s, "4").value, 0.0);
    assert_eq!(one(&mut s, "20").value, 10.0);
    let mut adc = spec("value = \"/adc\"\nraw = [0, 4095]\neng = [-40, 125]");
    let v = one(&mut adc, r#"{"adc": 2048}"#).value;
    // -40 + 2048 * 165 / 4095
    assert!((v - 42.520_146_520_146_52).abs() < 1e-9, "{v}");
}

/// Issue 16, NAMUR NE 43: 0 µA (a broken wire) would scale to −2.5 bar and
/// 21.5 mA to 10.9375 bar (0 + 17.5 × 10 / 16); both are faults, stored bad.
/// 3.8 and 20.5 mA are the edges of the healthy range.
#[test]
fn four_to_twenty_ma_outside_namur_ne43_is_bad() {
    let mut s = spec("raw = [4, 20]\neng = [0, 10]");
    let broken = one(&mut s, "0.0");
    assert_eq!((broken.value, broken.quality), (-2.5, Quality::Bad));
    let high = one(&mut s, "21.5");
    assert_eq!((high.value, high.quality), (10.9375, Quality::Bad));
    for (ma, bar) in [(3.8, -0.125), (20.5, 10.3125), (12.0, 5.0)] {
        let r = one(&mut s, &ma.to_string());
        assert!((r.value - bar).abs() < 1e-12, "{ma} mA: {}", r.value);
        assert_eq!(r.quality, Quality::Good, "{ma} mA");
    }
    let r = one(&mut s, "3.79");
    assert_eq!(r.quality, Quality::Bad);
    let mut own = spec("raw = [4, 20]\neng = [0, 10]\nraw_valid = [3.6, 21]");
    assert_eq!(one(&mut own, "3.7").quality, Quality::Good);
    assert_eq!(one(&mut own, "21.5").quality, Quality::Bad);
    let mut off = spec("raw = [4, 20]\neng = [0, 10]\nraw_valid = false");
    assert_eq!(one(&mut off, "0").quality, Quality::Good);
    // A quality the payload states stays bad inside the range too.
    let mut json = spec("value = \"/ma\"\nquality = \"/q\"\nraw = [4, 20]\neng = [0, 10]");
    assert_eq!(
        one(&mut json, r#"{"ma": 0, "q": "good"}"#).quality,
        Quality::Bad
    );
    assert_eq!(
        one(&mut json, r#"{"ma": 12, "q": "bad"}"#).quality,
        Quality::Bad
    );
}

/// Frames scale per field and then by `raw`/`eng`: the raw range is checked
/// on the field value (here µA / 1000 = mA).
#[test]
fn a_frame_field_outside_the_raw_range_is_bad() {
    let mut s = spec(
        "payload = \"hex\"\nraw = [4, 20]\neng = [0, 10]\nfields = [{ name = \"loop\", offset = 0, type = \"u16\", scale = 0.001 }]",
    );
    // 0x0000 = 0 µA, 0x53FC = 21500 µA, 0x2EE0 = 12000 µA.
    let values = |s: &mut PayloadSpec, hex: &str| {
        let r = one(s, hex);
        (r.value, r.quality)
    };
    assert_eq!(values(&mut s, "0000"), (-2.5, Quality::Bad));
    let (v, q) = values(&mut s, "53FC");
    assert!((v - 10.9375).abs() < 1e-9 && q == Quality::Bad, "{v} {q:?}");
    let (v, q) = values(&mut s, "2EE0");
    assert!((v - 5.0).abs() < 1e-9 && q == Quality::Good, "{v} {q:?}");
}

/// Times without an offset are local to the binding's zone: midnight of
/// 2025-10-01 in Madrid (CEST, UTC+2) is 2025-09-30T22:00:00Z = 1759269600 s
/// (`datetime(2025,9,30,22,tzinfo=utc).timestamp()`).
#[test]
fn times_without_an_offset_are_plant_local() {
    let layout = |keys: &str| {
        let toml = format!("broker = \"b\"\ntopic = \"t\"\n{keys}");
        let binding: MqttBinding = toml::from_str(&toml).unwrap();
        PayloadLayout::from_keys(&binding.decode_keys()).unwrap()
    };
    let madrid = chrono_tz::Europe::Madrid;
    let mut s = PayloadSpec::in_plant(layout("time = \"/t\""), madrid);
    let msg = r#"{"value":1,"t":"2025-10-01 00:00:00"}"#;
    assert_eq!(one(&mut s, msg).ts, 1_759_269_600_000);
    let with_offset = r#"{"value":1,"t":"2025-10-01T00:00:00Z"}"#;
    assert_eq!(one(&mut s, with_offset).ts, 1_759_276_800_000);
    let mut utc = PayloadSpec::in_plant(layout("time = \"/t\"\ntz = \"UTC\""), madrid);
    assert_eq!(one(&mut utc, msg).ts, 1_759_276_800_000);
    let pattern = "time = \"/t\"\ntime_format = \"%d/%m/%Y %H:%M:%S\"";
    let mut dmy = PayloadSpec::in_plant(layout(pattern), madrid);
    let written = r#"{"value":1,"t":"01/10/2025 00:00:00"}"#;
    assert_eq!(one(&mut dmy, written).ts, 1_759_269_600_000);
    let err = error(&mut dmy, br#"{"value":1,"t":"2025-10-01 00:00:00"}"#);
    assert!(err.contains("as time_format says"), "{err}");
}

/// DST as import handles it: 02:30 on 2025-03-30 does not exist in Madrid;
/// 02:30 on 2025-10-26 happens twice (00:30Z, then 01:30Z) and a later
/// reading of the repeated hour keeps time moving forward.
#[test]
fn dst_gaps_are_refused_and_repeated_hours_move_forward() {
    let layout = PayloadLayout::from_keys(
        &toml::from_str::<MqttBinding>("broker = \"b\"\ntopic = \"t\"\ntime = \"/t\"")
            .unwrap()
            .decode_keys(),
    )
    .unwrap();
    let mut s = PayloadSpec::in_plant(layout, chrono_tz::Europe::Madrid);
    let err = error(&mut s, br#"{"value":1,"t":"2025-03-30 02:30:00"}"#);
    assert_eq!(
        err,
        "time at \"/t\": \"2025-03-30 02:30:00\" does not exist in Europe/Madrid (a daylight-saving gap): the sender's clock is not in Europe/Madrid; set tz on the binding"
    );
    let at = |s: &mut PayloadSpec, t: &str| one(s, &format!(r#"{{"value":1,"t":"{t}"}}"#)).ts;
    // 2025-10-26T00:30:00Z = 1761438600 s.
    assert_eq!(at(&mut s, "2025-10-26 02:30:00"), 1_761_438_600_000);
    assert_eq!(at(&mut s, "2025-10-26 02:15:00"), 1_761_441_300_000);
}

/// `group_path` and `name_path` read the factory monitor's location.
#[test]
fn group_and_name_from_the_payload() {
    let mut s =
        pattern_spec("name_path = \"/location/machine_id\"\ngroup_path = \"/location/zone\"");
    let r = one(
        &mut s,
        r#"{"value": 3.1, "location": {"zone": "zone-a", "machine_id": "press-7"}}"#,
    );
    assert_eq!(r.group.as_deref(), Some("zone-a"));
    assert_eq!(r.name.as_deref(), Some("press-7"));
}

#[test]
fn timestamps_rfc3339_epoch_seconds_ms_and_arrival() {
    let mut s = spec("time = \"/t\"");
    let mut ts = |payload: &str| one(&mut s, payload).ts;
    assert_eq!(
        ts(r#"{"value":1,"t":"2025-10-02T12:00:00Z"}"#),
        1_759_406_400_000
    );
    // Offsets and fractions: 12:00:00.5+03:00 is 09:00:00.5Z.
    assert_eq!(
        ts(r#"{"value":1,"t":"2025-10-02T12:00:00.5+03:00"}"#),
        1_759_395_600_500
    );
    assert_eq!(
        ts(r#"{"value":1,"t":"2025-10-02 12:00:00"}"#),
        1_759_406_400_000
    );
    assert_eq!(ts(r#"{"value":1,"t":1759406400}"#), 1_759_406_400_000);
    assert_eq!(ts(r#"{"value":1,"t":1759406400.25}"#), 1_759_406_400_250);
    assert_eq!(ts(r#"{"value":1,"t":1759406400123}"#), 1_759_406_400_123);
    assert_eq!(ts(r#"{"value":1,"t":"1759406400"}"#), 1_759_406_400_000);
    assert_eq!(ts(r#"{"value":1}"#), ARRIVAL);
    assert_eq!(ts(r#"{"value":1,"t":null}"#), ARRIVAL);
    let mut ms = spec("time = \"/t\"\ntime_format = \"ms\"");
    assert_eq!(one(&mut ms, r#"{"value":1,"t":5000}"#).ts, 5000);
    let mut secs = spec("time = \"/t\"\ntime_format = \"s\"");
    assert_eq!(one(&mut secs, r#"{"value":1,"t":"5"}"#).ts, 5000);
}

#[test]
fn bad_timestamps_name_the_pointer() {
    let mut s = spec("time = \"/t\"");
    let err = error(&mut s, br#"{"value":1,"t":"yesterday"}"#);
    assert!(err.contains("\"/t\"") && err.contains("yesterday"), "{err}");
    let mut strict = spec("time = \"/t\"\ntime_format = \"rfc3339\"");
    assert!(error(&mut strict, br#"{"value":1,"t":1759406400}"#).contains("RFC 3339"));
    assert!(error(&mut s, br#"{"value":1,"t":1e300}"#).contains("plausible"));
}

#[test]
fn json_value_errors_say_what_was_found() {
    let mut s = spec("value = \"/v\"");
    assert_eq!(
        error(&mut s, br#"{"x":1}"#),
        "no value at JSON pointer \"/v\""
    );
    assert_eq!(
        error(&mut s, br#"{"v":{"a":1}}"#),
        "value at \"/v\" is {\"a\":1}, expected a number"
    );
    assert!(error(&mut s, b"{\"v\":").starts_with("invalid JSON"));
    assert_eq!(one(&mut s, r#"{"v":true}"#).value, 1.0);
}

#[test]
fn quality_from_numbers_flags_and_words() {
    let mut s = spec("quality = \"/q\"");
    let mut q = |payload: &str| one(&mut s, payload).quality;
    assert_eq!(q(r#"{"value":1,"q":1.0}"#), Quality::Good);
    assert_eq!(q(r#"{"value":1,"q":0.2}"#), Quality::Bad);
    assert_eq!(q(r#"{"value":1,"q":false}"#), Quality::Bad);
    assert_eq!(q(r#"{"value":1,"q":"GOOD"}"#), Quality::Good);
    assert_eq!(q(r#"{"value":1,"q":"stale"}"#), Quality::Stale);
    assert_eq!(q(r#"{"value":1,"q":"sensor fault"}"#), Quality::Bad);
    assert_eq!(q(r#"{"value":1}"#), Quality::Good);
}

fn any_spec() -> impl Strategy<Value = PayloadSpec> {
    prop_oneof![
        Just(PayloadSpec::number()),
        Just(spec(
            "value = \"/v\"\ntime = \"/t\"\nid_path = \"/id\"\nquality = \"/q\"\nunit_path = \"/u\""
        )),
        Just(spec("items = \"/r\"\ntime = \"/t\"\ntime_format = \"ms\"")),
        Just(spec(
            "time = \"/t\"\ntime_format = \"%d/%m/%Y %H:%M:%S\"\ntz = \"Europe/Madrid\"\nraw = [4, 20]\neng = [0, 10]"
        )),
        Just(pattern_spec(
            "time = \"/t\"\ntz = \"America/Sao_Paulo\"\ngroup_path = \"/g\"\nname_path = \"/n\""
        )),
        Just(spec(
            "payload = \"hex\"\nraw = [0, 10]\neng = [5, 6]\nfields = [{ name = \"a\", offset = 3, type = \"f64\", endian = \"little\" }, { name = \"b\", offset = 0, type = \"i32\" }]"
        )),
        Just(spec(
            "payload = \"binary\"\nfields = [{ name = \"a\", offset = 1, type = \"f32\" }, { name = \"b\", offset = 0, type = \"u8\" }]"
        )),
        Just(spec(
            "payload = \"hex\"\nframe = { min_length = 3, header = \"50\", checksum = { kind = \"sum8\", over = [1, -1], at = -1 } }\ntype_at = 1\nlayouts = [{ type = [0x30, 0x31], fields = [{ name = \"f\", offset = 2, type = \"u8\", reading = false }, { name = \"a\", offset = 2, type = \"u24\", sign_bit = { field = \"f\", bit = 0 } }] }, { type = 0x32, fields = [{ name = \"b\", offset = 2, type = \"bits\", bit = 2, width = 11 }, { name = \"c\", offset = 3, type = \"bool\", bit = 5 }] }]"
        )),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Any bytes through any decoder: a result, never a panic, never a non-finite value.
    #[test]
    fn arbitrary_bytes_never_panic(mut spec in any_spec(), payload in proptest::collection::vec(any::<u8>(), 0..64)) {
        let out = spec.decode(&payload, ARRIVAL);
        prop_assert!(out.readings.iter().all(|r| r.value.is_finite()));
    }

    /// Text that looks almost right exercises the deeper paths.
    #[test]
    fn near_miss_text_never_panics(mut spec in any_spec(), payload in r#"[\[\]{}"0-9a-fA-F:.,eE+\- /tvqidru°]{0,48}"#) {
        let out = spec.decode(payload.as_bytes(), ARRIVAL);
        prop_assert!(out.readings.iter().all(|r| r.value.is_finite()));
    }
}
