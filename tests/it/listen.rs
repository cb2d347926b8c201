//! `[[listen]]` end to end through `floorwatch run --headless`: real UDP and
//! TCP sockets on loopback (ephemeral ports), readings checked in the real
//! SQLite history, the listener's counters read from its status lines.

use crate::common;
use crate::mqtt_support::{Recorder, stored};

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream, UdpSocket};
use std::path::Path;
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_secs(30);

/// A UDP port nobody uses right now (bind port 0, read it, release it).
fn free_udp_port() -> u16 {
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    socket.local_addr().unwrap().port()
}

fn start(dir: &Path, listen: &str) -> Recorder {
    let config =
        format!("[ui]\nstatus_every = \"100ms\"\n\n[[listen]]\nname = \"meters\"\n{listen}");
    let mut recorder = Recorder::start(&common::floorwatch_bin(), dir, &config);
    recorder.wait_line("the listener bound", |l| l.contains("listen meters: bound"));
    recorder
}

/// The `name=value` counters of a `source meters` status line.
fn counts(line: &str) -> Option<HashMap<String, u64>> {
    let (_, rest) = line.split_once("source meters ")?;
    let found: HashMap<String, u64> = (rest.split_whitespace())
        .filter_map(|word| {
            let (name, n) = word.split_once('=')?;
            Some((name.to_owned(), n.parse().ok()?))
        })
        .collect();
    found.contains_key("received").then_some(found)
}

/// What every received message became, summed.
fn accounted(c: &HashMap<String, u64>) -> u64 {
    [
        "stored",
        "errors",
        "dropped_rate",
        "dropped_size",
        "dropped_queue",
        "not_stored",
    ]
    .iter()
    .map(|k| c[*k])
    .sum()
}

/// Waits for a status line of the listener whose counters satisfy `done`.
fn wait_counts(
    recorder: &mut Recorder,
    what: &str,
    done: impl Fn(&HashMap<String, u64>) -> bool,
) -> HashMap<String, u64> {
    let line = recorder.wait_line(what, |l| counts(l).is_some_and(|c| done(&c)));
    counts(&line).expect("the line matched")
}

/// Polls the history file until it holds `n` rows (the writer commits in
/// its own time); panics after [`DEADLINE`].
fn wait_rows(db: &Path, n: usize) -> Vec<(String, i64, f64)> {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if db.exists() {
            let rows = stored(db);
            if rows.len() >= n {
                return rows;
            }
            assert!(
                Instant::now() < deadline,
                "{} of {n} rows: {rows:#?}",
                rows.len()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The smart-meter system's reading, as it sends it over UDP.
fn meter_reading(meter: &str, kwh: f64, minute: u32) -> String {
    format!(
        r#"{{"matricula": "{meter}", "consumo": {kwh}, "datahora": "2025-10-01T00:{minute:02}:00Z"}}"#
    )
}

const METER_KEYS: &str = r#"id = "meter.{id}"
id_path = "/matricula"
value = "/consumo"
time = "/datahora"
unit = "kWh"
"#;

#[test]
fn udp_meter_datagrams_become_readings_in_the_history() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_udp_port();
    let mut recorder = start(
        dir.path(),
        &format!("url = \"udp://127.0.0.1:{port}\"\n{METER_KEYS}"),
    );
    let sender = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let mut expected = Vec::new();
    for minute in 0..10u32 {
        for meter in ["M-001", "M-002"] {
            let kwh = 1000.0 + f64::from(minute) * 1.25 + if meter == "M-002" { 0.5 } else { 0.0 };
            let datagram = meter_reading(meter, kwh, minute);
            sender
                .send_to(datagram.as_bytes(), ("127.0.0.1", port))
                .unwrap();
            let ts = 1_759_276_800_000 + i64::from(minute) * 60_000;
            expected.push((format!("meter.{meter}"), ts, kwh));
        }
    }
    sender
        .send_to(b"{\"matricula\": \"M-003\"}", ("127.0.0.1", port))
        .unwrap();
    let c = wait_counts(&mut recorder, "21 datagrams accounted for", |c| {
        c["received"] == 21 && accounted(c) == 21
    });
    assert_eq!(
        (c["stored"], c["readings"], c["errors"]),
        (20, 20, 1),
        "{c:?}"
    );
    let error = recorder
        .seen
        .iter()
        .rev()
        .find(|l| l.contains("last error"))
        .cloned()
        .unwrap_or_default();
    let from = format!("from {}", sender.local_addr().unwrap());
    assert!(
        error.contains(&from) && error.contains("/consumo"),
        "{error}"
    );

    let mut rows = wait_rows(&dir.path().join("history.sqlite"), 20);
    rows.sort_by(|a, b| a.partial_cmp(b).unwrap());
    expected.sort_by(|a, b| a.partial_cmp(b).unwrap());
    assert_eq!(rows, expected);
    let (status, _) = recorder.terminate();
    assert!(status.success(), "{status:?}");
}

/// GPS frames (see `mqtt_frames.rs`): device 0x0A3F73 at 23.550520 S doing
/// 52.3 km/h, device 0x0B1C2D at 51.507351 N standing, and a ping frame.
const FRAME_A: &str = "50F70A3F73025EFC2A100D01675A3802C7915C020B316AFB890001E2400E1C73C4";
const FRAME_B: &str = "50F70B1C2D025EFC2A3C040311F0970001F30E00000E74150600000007B43D73C4";
const PING: &str = "50F70A3F730150494E4773C4";

const FRAME_KEYS: &str = r#"max_line = 80
id = "{frame.device:X}.{field}"
payload = "hex"
frame = { header = "50F7", footer = "73C4" }
type_at = 5

[[listen.layouts]]
type = 0x02
frame = { length = 33 }
fields = [
  { name = "device", offset = 2, type = "u24", reading = false },
  { name = "flags", offset = 10, type = "u8", reading = false },
  { name = "lat", offset = 11, type = "u32", scale = 1e-6, sign_bit = { field = "flags", bit = 3 } },
  { name = "speed", offset = 19, type = "u16", scale = 0.1 },
]
"#;

#[test]
fn tcp_hex_lines_become_readings_and_an_oversize_line_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let port = crate::mqtt_support::free_port();
    let mut recorder = start(
        dir.path(),
        &format!("url = \"tcp://127.0.0.1:{port}\"\n{FRAME_KEYS}"),
    );
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let oversize = "AB".repeat(100);
    // The long line comes in pieces; the frame after it is still read.
    let text = format!("{FRAME_A}\r\n{PING}\n{}", &oversize[..120]);
    stream.write_all(text.as_bytes()).unwrap();
    stream
        .write_all(format!("{}\n\n{FRAME_B}", &oversize[120..]).as_bytes())
        .unwrap();
    drop(stream);
    let c = wait_counts(&mut recorder, "4 lines accounted for", |c| {
        c["received"] == 4 && accounted(c) == 4
    });
    assert_eq!(
        (
            c["stored"],
            c["errors"],
            c["dropped_size"],
            c["readings"],
            c["connections"]
        ),
        (2, 1, 1, 4, 1),
        "{c:?}"
    );
    let rows = wait_rows(&dir.path().join("history.sqlite"), 4);
    let values: Vec<(String, f64)> = (rows.iter())
        .map(|(tag, _, v)| (tag.clone(), (v * 1e6).round() / 1e6))
        .collect();
    assert_eq!(
        values,
        [
            ("0A3F73.lat".into(), -23.55052),
            ("0A3F73.speed".into(), 52.3),
            ("0B1C2D.lat".into(), 51.507351),
            ("0B1C2D.speed".into(), 0.0),
        ]
    );
    let (status, _) = recorder.terminate();
    assert!(status.success(), "{status:?}");
}

#[test]
fn connections_over_the_limit_are_refused_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let port = crate::mqtt_support::free_port();
    let mut recorder = start(
        dir.path(),
        &format!("url = \"tcp://127.0.0.1:{port}\"\nmax_connections = 2\nid = \"line\"\n"),
    );
    let open: Vec<TcpStream> = (0..2)
        .map(|i| {
            let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
            s.write_all(format!("{i}.5\n").as_bytes()).unwrap();
            s
        })
        .collect();
    wait_counts(&mut recorder, "two connections open", |c| c["open"] == 2);
    let mut third = TcpStream::connect(("127.0.0.1", port)).unwrap();
    third.set_read_timeout(Some(DEADLINE)).unwrap();
    // Closed by the listener at once: the read ends (EOF or reset), no wait.
    let mut buf = [0u8; 1];
    assert!(matches!(third.read(&mut buf), Ok(0) | Err(_)));
    let c = wait_counts(&mut recorder, "one connection refused", |c| {
        c["refused"] == 1
    });
    assert_eq!((c["connections"], c["open"]), (2, 2), "{c:?}");
    drop(open);
    wait_counts(&mut recorder, "both connections closed", |c| c["open"] == 0);
    let mut again = TcpStream::connect(("127.0.0.1", port)).unwrap();
    again.write_all(b"7\n").unwrap();
    let c = wait_counts(&mut recorder, "three lines stored", |c| c["stored"] == 3);
    assert_eq!((c["connections"], c["refused"]), (3, 1), "{c:?}");
    let (status, _) = recorder.terminate();
    assert!(status.success(), "{status:?}");
}

/// Resident memory of a process, in KiB (Linux).
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn a_junk_flood_is_counted_and_memory_stays_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_udp_port();
    let listen =
        format!("url = \"udp://127.0.0.1:{port}\"\nmax_rate = 2000\nmax_line = 1024\n{METER_KEYS}");
    let mut recorder = start(dir.path(), &listen);
    let Some(before) = rss_kib(recorder.child.id()) else {
        eprintln!("skipped the memory check: no /proc/PID/status here");
        return;
    };
    let sender = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let junk = vec![b'#'; 1000];
    let oversize = vec![b'{'; 4000];
    let mut sent = 0u64;
    for i in 0..100_000u32 {
        let datagram: &[u8] = if i % 100 == 0 { &oversize } else { &junk };
        if sender.send_to(datagram, ("127.0.0.1", port)).is_ok() {
            sent += 1;
        }
    }
    // A good reading after the flood: once it is stored, the flood is through.
    let db = dir.path().join("history.sqlite");
    let deadline = Instant::now() + DEADLINE;
    let mut minute = 0;
    while !db.exists() || stored(&db).is_empty() {
        assert!(
            Instant::now() < deadline,
            "the reading after the flood was never stored"
        );
        sender
            .send_to(
                meter_reading("M-001", 5.0, minute % 60).as_bytes(),
                ("127.0.0.1", port),
            )
            .unwrap();
        minute += 1;
        std::thread::sleep(Duration::from_millis(50));
    }
    let c = wait_counts(&mut recorder, "every datagram accounted for", |c| {
        c["stored"] >= 1 && accounted(c) == c["received"]
    });
    assert!(c["received"] <= sent + u64::from(minute), "{c:?}");
    assert!(c["errors"] > 0 && c["dropped_rate"] > 0, "{c:?}");
    assert!(c["dropped_size"] > 0 || c["dropped_rate"] > 0, "{c:?}");
    let after = rss_kib(recorder.child.id()).unwrap();
    assert!(
        after < before + 32 * 1024,
        "resident memory grew from {before} KiB to {after} KiB over the flood"
    );
    let (status, _) = recorder.terminate();
    assert!(status.success(), "{status:?}");
}
