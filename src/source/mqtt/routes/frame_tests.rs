//! Sensor ids taken from inside frames: several devices on one topic.

use super::*;
use std::path::Path;

const FRAME_A: &[u8] = b"50F70A3F73025EFC2A100D01675A3802C7915C020B316AFB890001E2400E1C73C4";
const FRAME_B: &[u8] = b"50F70B1C2D025EFC2A3C040311F0970001F30E00000E74150600000007B43D73C4";
const PING: &[u8] = b"50F70A3F730150494E4773C4";

fn messenger(id: &str) -> String {
    format!(
        r#"[[mqtt]]
name = "b"
url = "mqtt://127.0.0.1:1883"

[[mqtt_pattern]]
broker = "b"
topic = "/messenger"
id = "{id}"
payload = "hex"
frame = {{ header = "50F7", footer = "73C4" }}
type_at = 5

[[mqtt_pattern.layouts]]
type = 0x02
frame = {{ length = 33 }}
fields = [
  {{ name = "device", offset = 2, type = "u24", reading = false }},
  {{ name = "flags", offset = 10, type = "u8", reading = false }},
  {{ name = "lat", offset = 11, type = "u32", scale = 1e-6, sign_bit = {{ field = "flags", bit = 3 }}, unit = "°" }},
  {{ name = "speed", offset = 19, type = "u16", scale = 0.1 }},
]
"#
    )
}

fn summary(routed: &Routed) -> Vec<(String, f64)> {
    (routed.readings.iter())
        .map(|r| (r.sensor.to_string(), (r.value * 1e6).round() / 1e6))
        .collect()
}

#[test]
fn frames_of_two_devices_on_one_topic_get_their_own_ids() {
    let config =
        Config::parse(Path::new("t.toml"), &messenger("{frame.device:X}.{field}")).unwrap();
    let mut router = Router::for_broker(&config, "b");
    assert_eq!(router.subscriptions(), ["/messenger"]);
    let a = router.route("/messenger", FRAME_A, 1);
    assert_eq!(a.error, None);
    assert_eq!(
        summary(&a),
        [
            ("0A3F73.lat".into(), -23.55052),
            ("0A3F73.speed".into(), 52.3)
        ]
    );
    assert_eq!(a.discovered.len(), 2);
    assert_eq!(a.discovered[0].meta.unit, "°");
    let b = router.route("/messenger", FRAME_B, 2);
    assert_eq!(
        summary(&b),
        [
            ("0B1C2D.lat".into(), 51.507351),
            ("0B1C2D.speed".into(), 0.0)
        ]
    );
    let ping = router.route("/messenger", PING, 3);
    assert!(ping.readings.is_empty() && ping.discovered.is_empty());
    assert_eq!(
        ping.error.unwrap().to_string(),
        "frame type 0x01 has no layout (layouts for 0x02)"
    );
    let again = router.route("/messenger", FRAME_A, 4);
    assert!(again.discovered.is_empty());
}

#[test]
fn decimal_frame_ids() {
    let config = Config::parse(
        Path::new("t.toml"),
        &messenger("gps/{frame.device}/{field}"),
    )
    .unwrap();
    let mut router = Router::for_broker(&config, "b");
    let ids: Vec<String> = (router.route("/messenger", FRAME_B, 1).readings.iter())
        .map(|r| r.sensor.to_string())
        .collect();
    // 0x0B1C2D = 728109.
    assert_eq!(ids, ["gps/728109/lat", "gps/728109/speed"]);
}

#[test]
fn frame_placeholders_are_checked_against_the_layout() {
    let problems = |id: &str| {
        Config::parse(Path::new("t.toml"), &messenger(id))
            .unwrap_err()
            .lines()
    };
    let unknown = problems("{frame.devce}.{field}");
    assert_eq!(unknown.len(), 1, "{unknown:?}");
    assert!(
        unknown[0].starts_with("t.toml:8:6: id \"{frame.devce}.{field}\": {frame.devce}: no field \"devce\" in the layout"),
        "{unknown:?}"
    );
    let speed = problems("{frame.speed}");
    assert!(
        speed[0].contains("the layout has 2 fields: put {field} in the id"),
        "{speed:?}"
    );
}
