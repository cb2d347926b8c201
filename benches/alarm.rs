//! Alarm evaluation throughput (criterion) for 1,000 sensors with four limits
//! each, against a baseline measured in the same run: the engine's own
//! per-reading work (`LiveState::apply`) on the same readings. Then the
//! end-to-end latency from a reading entering the engine, and from an MQTT
//! publish to an in-process broker, until the alarm is in the published
//! snapshot: median and p99 over 1,000 alarms.
//!
//!     cargo bench --bench alarm -- --warm-up-time 1 --measurement-time 3

use criterion::{Criterion, Throughput, criterion_group};
use floorwatch::alarm::{AlarmSetup, Condition, Evaluator, SensorRules};
use floorwatch::app::Running;
use floorwatch::config::Config;
use floorwatch::engine::{EngineConfig, LiveState};
use floorwatch::model::{Reading, SensorMeta};
use floorwatch::source::SourceEvent;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

const SENSORS: usize = 1_000;
const ROUNDS: usize = 100;

fn sensor_id(i: usize) -> String {
    format!("line{}.s{i:04}", i % 10)
}

fn setup() -> AlarmSetup {
    let sensors = (0..SENSORS)
        .map(|i| {
            SensorRules::new(&sensor_id(i))
                .limit(Condition::Hh, 90.0, 1.0)
                .limit(Condition::H, 80.0, 1.0)
                .limit(Condition::L, 20.0, 1.0)
                .limit(Condition::Ll, 10.0, 1.0)
        })
        .collect();
    AlarmSetup {
        sensors,
        ..Default::default()
    }
}

/// 100,000 readings: every sensor once per round; values wander between 0
/// and 100, so about a third of the readings are beyond a limit and ~1 % of
/// them cross one (raise or clear).
fn readings() -> Vec<Reading> {
    let mut out = Vec::with_capacity(SENSORS * ROUNDS);
    for round in 0..ROUNDS {
        for i in 0..SENSORS {
            let phase = (i * 7 + round) as f64 * 0.05;
            let value = 50.0 + 50.0 * phase.sin();
            out.push(Reading::good(sensor_id(i), round as i64 * 1_000, value));
        }
    }
    out
}

fn throughput(c: &mut Criterion) {
    let readings = readings();
    let mut group = c.benchmark_group("alarm_evaluation");
    group.throughput(Throughput::Elements(readings.len() as u64));
    group.bench_function("evaluator_1000_sensors_4_limits", |b| {
        let mut evaluator = Evaluator::new(setup(), 0);
        let mut events = Vec::new();
        b.iter(|| {
            for r in &readings {
                evaluator.on_reading(black_box(r), r.ts, &mut events);
            }
            events.clear();
        });
    });
    group.bench_function("baseline_live_state_apply", |b| {
        let metas = (0..SENSORS)
            .map(|i| SensorMeta {
                id: sensor_id(i).into(),
                ..Default::default()
            })
            .collect();
        let mut state = LiveState::new(&EngineConfig::default(), metas);
        b.iter(|| {
            for r in &readings {
                state.apply(black_box(r));
            }
        });
    });
    group.finish();
}

criterion_group!(benches, throughput);

fn config_text(mqtt_port: Option<u16>) -> String {
    let mut text = String::from("[plant]\nname = \"bench\"\n");
    if let Some(port) = mqtt_port {
        text.push_str(&format!(
            "[[mqtt]]\nname = \"b\"\nurl = \"mqtt://127.0.0.1:{port}\"\nclient_id = \"alarm-bench\"\n"
        ));
    }
    for i in 0..SENSORS {
        text.push_str(&format!("[[sensor]]\nid = \"{}\"\n", sensor_id(i)));
        if mqtt_port.is_some() {
            text.push_str(&format!(
                "mqtt = {{ broker = \"b\", topic = \"bench/{}\" }}\n",
                sensor_id(i)
            ));
        }
        text.push_str("alarm = { hh = 90, h = 80, l = 20, ll = 10, deadband = 1 }\n");
    }
    text
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn report(what: &str, mut samples: Vec<Duration>, baseline: Option<&[Duration]>) {
    samples.sort();
    let line = format!(
        "{what}: n={} median={:.3} ms p99={:.3} ms max={:.3} ms",
        samples.len(),
        percentile(&samples, 0.5).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
        samples[samples.len() - 1].as_secs_f64() * 1e3,
    );
    match baseline {
        Some(b) => {
            let mut b = b.to_vec();
            b.sort();
            println!(
                "{line} (baseline, same run: reading visible in the snapshot, no alarm: median={:.3} ms p99={:.3} ms)",
                percentile(&b, 0.5).as_secs_f64() * 1e3,
                percentile(&b, 0.99).as_secs_f64() * 1e3
            );
        }
        None => println!("{line}"),
    }
}

/// Reading into the engine's channel → alarm in the published snapshot, with
/// the history writer on a real SQLite file journaling every transition.
async fn engine_latency(dir: &Path) -> (Vec<Duration>, Vec<Duration>) {
    let config = Config::parse(Path::new("bench.toml"), &config_text(None)).expect("bench config");
    let running = Running::start(&config, &dir.join("engine.sqlite"))
        .await
        .expect("console starts");
    let mut rx = running.snapshots.clone();
    let mut alarms = Vec::with_capacity(SENSORS);
    let mut plain = Vec::with_capacity(SENSORS);
    for i in 0..SENSORS {
        let id = sensor_id(i);
        // Baseline: a normal value, visible as the sensor's last value.
        let start = Instant::now();
        let reading = Reading::good(id.as_str(), 1_000, 50.0);
        let _ = running
            .events
            .send(SourceEvent::readings(vec![reading]))
            .await;
        let _ = rx
            .wait_for(|s| s.sensor(&id).and_then(|x| x.last).is_some())
            .await;
        plain.push(start.elapsed());
        // The alarm: over hh.
        let key = format!("{id}/hh");
        let start = Instant::now();
        let reading = Reading::good(id.as_str(), 2_000, 95.0);
        let _ = running
            .events
            .send(SourceEvent::readings(vec![reading]))
            .await;
        let _ = rx.wait_for(|s| s.alarms.iter().any(|a| a.key == key)).await;
        alarms.push(start.elapsed());
    }
    let _ = running.shutdown().await;
    (alarms, plain)
}

/// MQTT publish (QoS 1, to an in-process broker) → alarm in the snapshot.
async fn mqtt_latency(dir: &Path) -> Option<Vec<Duration>> {
    use rumqttc::{AsyncClient, MqttOptions, QoS};
    let broker = floorwatch::sim::mqtt::InProcessBroker::start().await.ok()?;
    let config = Config::parse(Path::new("bench.toml"), &config_text(Some(broker.port))).ok()?;
    let running = Running::start(&config, &dir.join("mqtt.sqlite"))
        .await
        .ok()?;
    let mut rx = running.snapshots.clone();
    // The source is connected and subscribed when its status says so.
    let _ = tokio::time::timeout(
        Duration::from_secs(10),
        rx.wait_for(|s| s.sources.iter().any(|x| x.state.is_up())),
    )
    .await;
    let mut options = MqttOptions::new("alarm-bench-publisher", "127.0.0.1", broker.port);
    options.set_keep_alive(Duration::from_secs(30));
    let (client, mut eventloop) = AsyncClient::new(options, 64);
    tokio::spawn(async move { while eventloop.poll().await.is_ok() {} });
    let mut samples = Vec::with_capacity(SENSORS);
    for i in 0..SENSORS {
        let id = sensor_id(i);
        let key = format!("{id}/hh");
        let start = Instant::now();
        client
            .publish(format!("bench/{id}"), QoS::AtLeastOnce, false, "95")
            .await
            .ok()?;
        let seen = tokio::time::timeout(
            Duration::from_secs(5),
            rx.wait_for(|s| s.alarms.iter().any(|a| a.key == key)),
        )
        .await;
        if seen.is_err() {
            eprintln!("mqtt latency: alarm {key} not seen within 5 s; stopping");
            return None;
        }
        samples.push(start.elapsed());
    }
    let _ = running.shutdown().await;
    Some(samples)
}

fn latency() {
    let Ok(runtime) = tokio::runtime::Runtime::new() else {
        eprintln!("no tokio runtime; latency not measured");
        return;
    };
    let Ok(dir) = tempfile::tempdir() else {
        eprintln!("no temporary directory; latency not measured");
        return;
    };
    runtime.block_on(async {
        let (alarms, plain) = engine_latency(dir.path()).await;
        report(
            "engine: reading in → alarm in snapshot",
            alarms,
            Some(&plain),
        );
        match mqtt_latency(dir.path()).await {
            Some(samples) => report("mqtt: publish → alarm in snapshot", samples, None),
            None => eprintln!("mqtt latency not measured (broker or source did not come up)"),
        }
    });
}

fn main() {
    benches();
    if std::env::args().all(|a| a != "--list") {
        latency();
    }
    Criterion::default().configure_from_args().final_summary();
}
