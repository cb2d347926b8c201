//! Alarm ack propagation from console A to console B (issue 15): 1,000
//! sensors in alarm on both consoles; each alarm is acknowledged on A, one
//! after the other, and timed until B's published state shows it
//! acknowledged. Median, p99 and max over the 1,000 acks.
//!
//! Two paths, measured in the same run:
//! - PostgreSQL: both consoles on one PostgreSQL history (a scratch schema on
//!   `FLOORWATCH_TEST_PG`, default the machine's 127.0.0.1:5432/test); the
//!   ack is journaled by A's writer, NOTIFYed on commit, read by B's listener.
//! - baseline, MQTT: each console on its own SQLite history, sharing alarm
//!   state over the retained alarm topic of the machine's Mosquitto
//!   (127.0.0.1:1883, a topic prefix of this run's own, its retained messages
//!   cleared afterwards). The in-process broker (rumqttd) is not used: its
//!   200-packet outgoing limit drops a console subscribed to 2,000 alarm
//!   transitions arriving at once.
//!
//!     cargo bench --bench alarm_ack_pg
//!
//! Without a PostgreSQL server it says so and measures the baseline only.

use floorwatch::alarm::{AlarmCommand, AlarmState};
use floorwatch::app::Running;
use floorwatch::config::Config;
use floorwatch::engine::LiveState;
use floorwatch::model::Reading;
use floorwatch::source::SourceEvent;
use floorwatch::source::mqtt::alarm_topic::AlarmMessage;
use floorwatch::store::Location;
use std::path::Path;
use std::time::{Duration, Instant};

const SENSORS: usize = 1_000;
const DEADLINE: Duration = Duration::from_secs(10);

fn sensor_id(i: usize) -> String {
    format!("line{}.s{i:04}", i % 10)
}

fn key(i: usize) -> String {
    format!("{}/hh", sensor_id(i))
}

/// The baseline's broker and the alarm topic prefix of this run.
struct Shared {
    port: u16,
    prefix: String,
}

/// 1,000 sensors with an `hh` limit, fed directly into the engine; with a
/// broker, alarm state is shared over its alarm topic.
fn config_text(console: &str, broker: Option<&Shared>) -> String {
    let mut text = String::from("[plant]\nname = \"Ack bench\"\n\n");
    if let Some(Shared { port, prefix }) = broker {
        text.push_str(&format!(
            "[alarms]\nbroker = \"b\"\nalarm_topic = \"{prefix}\"\n\n\
             [[mqtt]]\nname = \"b\"\nurl = \"mqtt://127.0.0.1:{port}\"\nclient_id = \"{console}\"\n\n"
        ));
    }
    for i in 0..SENSORS {
        text.push_str(&format!(
            "[[sensor]]\nid = \"{}\"\nalarm = {{ hh = 90 }}\n",
            sensor_id(i)
        ));
    }
    text
}

fn config(console: &str, broker: Option<&Shared>) -> Config {
    let text = config_text(console, broker);
    match Config::parse(Path::new("bench.toml"), &text) {
        Ok(config) => config,
        Err(e) => panic!("bench config: {e:?}"),
    }
}

fn state_of(s: &LiveState, key: &str) -> Option<AlarmState> {
    s.alarms.iter().find(|a| a.key == key).map(|a| a.state)
}

fn unacked(s: &LiveState) -> usize {
    s.alarms
        .iter()
        .filter(|a| a.state == AlarmState::Unacknowledged)
        .count()
}

/// Raises every alarm on both consoles with the same readings.
async fn raise_all(consoles: [&Running; 2]) -> Result<(), String> {
    let stamped = floorwatch::model::now_ms();
    for console in consoles {
        let readings = (0..SENSORS)
            .map(|i| Reading::good(sensor_id(i).as_str(), stamped, 95.0))
            .collect();
        console
            .events
            .send(SourceEvent::readings(readings))
            .await
            .map_err(|_| "engine stopped")?;
    }
    for console in consoles {
        let mut rx = console.snapshots.clone();
        tokio::time::timeout(DEADLINE, rx.wait_for(|s| unacked(s) == SENSORS))
            .await
            .map_err(|_| "alarms not raised within the deadline")?
            .map_err(|_| "engine stopped")?;
    }
    Ok(())
}

/// Acks each alarm on `a` and times it until `b` shows it.
async fn ack_latencies(
    a: &Running,
    b: &Running,
    topic: Option<&Shared>,
) -> Result<Vec<Duration>, String> {
    let watcher = match topic {
        Some(shared) => Some(watch_last_alarm(shared).await?),
        None => None,
    };
    raise_all([a, b]).await?;
    if let Some(watcher) = watcher {
        both_shared_the_last_raise(watcher).await?;
    }
    let mut rx = b.snapshots.clone();
    let mut samples = Vec::with_capacity(SENSORS);
    for i in 0..SENSORS {
        let key = key(i);
        let start = Instant::now();
        a.commands
            .send(AlarmCommand::Ack {
                key: key.clone(),
                operator: "bench".into(),
            })
            .await
            .map_err(|_| "engine stopped")?;
        tokio::time::timeout(
            DEADLINE,
            rx.wait_for(|s| state_of(s, &key) == Some(AlarmState::Acknowledged)),
        )
        .await
        .map_err(|_| {
            let on = |r: &Running| {
                let s = r.snapshots.borrow();
                (state_of(&s, &key), unacked(&s))
            };
            format!(
                "ack of {key} not on B within {DEADLINE:?} (A: {:?}, B: {:?})",
                on(a),
                on(b)
            )
        })?
        .map_err(|_| "engine stopped")?;
        samples.push(start.elapsed());
    }
    Ok(samples)
}

async fn two_consoles(
    a: (Config, Location),
    b: (Config, Location),
    topic: Option<&Shared>,
) -> Result<Vec<Duration>, String> {
    let a = Running::start(&a.0, a.1)
        .await
        .map_err(|e| format!("{e:#}"))?;
    let b = Running::start(&b.0, b.1)
        .await
        .map_err(|e| format!("{e:#}"))?;
    let samples = ack_latencies(&a, &b, topic).await;
    let _ = a.shutdown().await;
    let _ = b.shutdown().await;
    samples
}

async fn postgres_path() -> Result<Vec<Duration>, String> {
    let scratch = floorwatch::store::postgres::scratch::Scratch::create()
        .map_err(|e| format!("PostgreSQL not available: {e}"))?;
    let db = scratch.location();
    two_consoles(
        (config("bench-a", None), db.clone()),
        (config("bench-b", None), db),
        None,
    )
    .await
}

async fn mqtt_path(dir: &Path) -> Result<Vec<Duration>, String> {
    const MOSQUITTO: &str = "127.0.0.1:1883";
    tokio::net::TcpStream::connect(MOSQUITTO)
        .await
        .map_err(|e| format!("Mosquitto on {MOSQUITTO}: {e}"))?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let shared = Shared {
        port: 1883,
        prefix: format!("floorwatch-bench/{}-{nanos}/alarms", std::process::id()),
    };
    let samples = two_consoles(
        (
            config(&format!("bench-a-{nanos}"), Some(&shared)),
            dir.join("a.sqlite").into(),
        ),
        (
            config(&format!("bench-b-{nanos}"), Some(&shared)),
            dir.join("b.sqlite").into(),
        ),
        Some(&shared),
    )
    .await;
    clear_retained(&shared).await;
    samples
}

/// The alarm messages of the last sensor's `hh`, from a client subscribed
/// before the alarms are raised.
async fn watch_last_alarm(
    shared: &Shared,
) -> Result<tokio::sync::mpsc::UnboundedReceiver<AlarmMessage>, String> {
    use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
    let mut options = MqttOptions::new("floorwatch-bench-watcher", "127.0.0.1", shared.port);
    options.set_keep_alive(Duration::from_secs(30));
    let (client, mut eventloop) = AsyncClient::new(options, 16);
    let topic = format!("{}/{}/hh", shared.prefix, sensor_id(SENSORS - 1));
    client
        .subscribe(topic, QoS::AtLeastOnce)
        .await
        .map_err(|e| format!("watcher: {e}"))?;
    let subscribed = tokio::time::timeout(DEADLINE, async {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::SubAck(_))) => return Ok(()),
                Ok(_) => {}
                Err(e) => return Err(format!("watcher: {e}")),
            }
        }
    })
    .await
    .map_err(|_| "watcher not subscribed within the deadline")?;
    subscribed?;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let _client = client;
        while let Ok(event) = eventloop.poll().await {
            if let Event::Incoming(Packet::Publish(p)) = event
                && let Ok(m) = serde_json::from_slice::<AlarmMessage>(&p.payload)
                && tx.send(m).is_err()
            {
                break;
            }
        }
    });
    Ok(rx)
}

/// Both consoles published their last raise: each has its alarm topic
/// connection up and has sent every transition before it.
async fn both_shared_the_last_raise(
    mut watcher: tokio::sync::mpsc::UnboundedReceiver<AlarmMessage>,
) -> Result<(), String> {
    let mut consoles = std::collections::HashSet::new();
    tokio::time::timeout(DEADLINE, async {
        while consoles.len() < 2 {
            match watcher.recv().await {
                Some(m) if m.event == "raised" => {
                    consoles.insert(m.console);
                }
                Some(_) => {}
                None => return,
            }
        }
    })
    .await
    .map_err(|_| "the consoles' raises did not reach the alarm topic within the deadline")?;
    Ok(())
}

/// Leaves nothing of this run on the broker: an empty retained message
/// clears each alarm's topic.
async fn clear_retained(shared: &Shared) {
    use rumqttc::{AsyncClient, Event, MqttOptions, Outgoing, QoS};
    let mut options = MqttOptions::new("floorwatch-bench-cleanup", "127.0.0.1", shared.port);
    options.set_keep_alive(Duration::from_secs(30));
    let (client, mut eventloop) = AsyncClient::new(options, SENSORS + 1);
    for i in 0..SENSORS {
        let topic = format!("{}/{}/hh", shared.prefix, sensor_id(i));
        let _ = client.publish(topic, QoS::AtLeastOnce, true, "").await;
    }
    let _ = client.disconnect().await;
    let drained = tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(event) = eventloop.poll().await {
            if matches!(event, Event::Outgoing(Outgoing::Disconnect)) {
                return;
            }
        }
    })
    .await;
    if drained.is_err() {
        eprintln!(
            "retained alarm messages under {} not all cleared",
            shared.prefix
        );
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// (median, p99) after printing the line.
fn report(what: &str, mut samples: Vec<Duration>) -> (Duration, Duration) {
    let slowest = (0..samples.len()).max_by_key(|&i| samples[i]).unwrap_or(0);
    samples.sort();
    let (median, p99) = (percentile(&samples, 0.5), percentile(&samples, 0.99));
    println!(
        "{what}: n={} median={:.3} ms p99={:.3} ms max={:.3} ms (ack #{})",
        samples.len(),
        ms(median),
        ms(p99),
        ms(samples[samples.len() - 1]),
        slowest + 1,
    );
    (median, p99)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => return eprintln!("no tokio runtime: {e}"),
    };
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(e) => return eprintln!("no temporary directory: {e}"),
    };
    println!("load average at start: {}", load_average());
    runtime.block_on(async {
        let pg = postgres_path().await;
        let mqtt = mqtt_path(dir.path()).await;
        let pg = match pg {
            Ok(samples) => Some(report("postgresql: ack on A → acked on B", samples)),
            Err(e) => {
                eprintln!("postgresql path not measured: {e}");
                None
            }
        };
        let mqtt = match mqtt {
            Ok(samples) => Some(report(
                "baseline, mqtt alarm topic (Mosquitto): ack on A → acked on B",
                samples,
            )),
            Err(e) => {
                eprintln!("mqtt path not measured: {e}");
                None
            }
        };
        if let (Some((pg_median, pg_p99)), Some((mqtt_median, mqtt_p99))) = (pg, mqtt) {
            println!(
                "postgresql ÷ mqtt: median {:.2}×, p99 {:.2}×; target p99 ≤ 250 ms: {}",
                pg_median.as_secs_f64() / mqtt_median.as_secs_f64(),
                pg_p99.as_secs_f64() / mqtt_p99.as_secs_f64(),
                if pg_p99 <= Duration::from_millis(250) {
                    "met"
                } else {
                    "NOT met"
                }
            );
        }
    });
    println!("load average at end: {}", load_average());
}
