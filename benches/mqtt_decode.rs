//! MQTT payload decoding: messages/s through floorwatch's decoders, each
//! against the bare parse of the same bytes as a baseline in the same run
//! (serde_json to a `Value`, `hex::decode`, `str::parse::<f64>`).
//!
//!     cargo bench --bench mqtt_decode -- --warm-up-time 1 --measurement-time 3

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use floorwatch::config::MqttBinding;
use floorwatch::source::payload::PayloadSpec;
use std::hint::black_box;

const FACTORY: &[u8] = br#"{"timestamp":"2025-10-02T12:00:00Z","sensor_id":"temp-001","sensor_type":"temperature","location":{"zone":"zone-a"},"value":36.2,"unit":"\u00b0C","alert_level":"warning","quality":1.0}"#;
const FRAME: &[u8] = b"50F70A3F73025EFC";
const NUMBER: &[u8] = "21.5 °C".as_bytes();

fn spec(keys: &str) -> PayloadSpec {
    let binding: MqttBinding =
        toml::from_str(&format!("broker = \"b\"\ntopic = \"t\"\n{keys}")).expect("bench binding");
    PayloadSpec::from_keys(&binding.decode_keys()).expect("bench spec")
}

fn decode(c: &mut Criterion) {
    let mut json = spec(
        "value = \"/value\"\ntime = \"/timestamp\"\nid_path = \"/sensor_id\"\nunit_path = \"/unit\"\nname_path = \"/location/zone\"\nquality = \"/quality\"",
    );
    let mut hex = spec(
        "payload = \"hex\"\nfields = [{ name = \"a\", offset = 0, type = \"u16\", scale = 0.01 }, { name = \"b\", offset = 2, type = \"u16\", endian = \"little\" }, { name = \"c\", offset = 4, type = \"i32\" }, { name = \"d\", offset = 6, type = \"i16\" }, { name = \"e\", offset = 0, type = \"f64\" }]",
    );
    let mut number = PayloadSpec::number();

    let mut group = c.benchmark_group("mqtt_decode");
    group.throughput(Throughput::Elements(1));
    group.bench_function("factory JSON: floorwatch decoder", |b| {
        b.iter(|| json.decode(black_box(FACTORY), 0))
    });
    group.bench_function(
        "factory JSON: serde_json::Value parse only (baseline)",
        |b| b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(FACTORY))),
    );
    group.bench_function("hex frame, 5 fields: floorwatch decoder", |b| {
        b.iter(|| hex.decode(black_box(FRAME), 0))
    });
    group.bench_function("hex frame: hex::decode only (baseline)", |b| {
        b.iter(|| hex::decode(black_box(FRAME)))
    });
    group.bench_function("\"21.5 °C\": floorwatch decoder", |b| {
        b.iter(|| number.decode(black_box(NUMBER), 0))
    });
    group.bench_function("\"21.5\": str::parse::<f64> only (baseline)", |b| {
        b.iter(|| black_box("21.5").parse::<f64>())
    });
    group.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
