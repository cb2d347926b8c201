//! Helpers for the MQTT end-to-end tests: an own Mosquitto on an ephemeral
//! port (started and stopped only by the test), a QoS 1 publisher that
//! waits for every PUBACK, and waits on the console's watch channels.
#![allow(dead_code)]

use floorwatch::app::Running;
use floorwatch::config::Config;
use floorwatch::engine::LiveState;
use floorwatch::source::LinkState;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::time::Duration;
use tokio::sync::watch;

pub const TIMEOUT: Duration = Duration::from_secs(30);

/// A port nobody listens on right now (bind port 0, read it, release it).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    listener.local_addr().unwrap().port()
}

/// A Mosquitto process of this test's own, with persistence in `dir`.
pub struct OwnMosquitto {
    pub port: u16,
    conf: PathBuf,
    child: Option<Child>,
}

impl OwnMosquitto {
    /// A plain listener on `port`; `extra` is appended to the generated
    /// config (more listeners, `sys_interval`, ...).
    pub fn start(dir: &Path, extra: &str) -> OwnMosquitto {
        let port = free_port();
        let conf = dir.join("mosquitto.conf");
        let text = format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location {}/\n\
             max_queued_messages 0\nlog_dest stderr\nlog_type error\nlog_type warning\n\
             log_type notice\nlog_type information\nuser root\n{extra}\n",
            dir.display()
        );
        std::fs::write(&conf, text).unwrap();
        let mut broker = OwnMosquitto {
            port,
            conf,
            child: None,
        };
        broker.restart();
        broker
    }

    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    /// Starts the process and waits for its "running" log line.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "already running");
        let mut child = Command::new("mosquitto")
            .arg("-c")
            .arg(&self.conf)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting mosquitto");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std_mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut seen = Vec::new();
        loop {
            match rx.recv_timeout(TIMEOUT) {
                Ok(line) if line.contains(" running") => break,
                Ok(line) => seen.push(line),
                Err(_) => panic!("mosquitto did not start: {seen:#?}"),
            }
        }
        // Keep draining so the pipe never fills.
        std::thread::spawn(move || while rx.recv().is_ok() {});
        self.child = Some(child);
    }

    /// SIGTERM (Mosquitto saves its persistence file) and wait for the exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }
}

impl Drop for OwnMosquitto {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A QoS 1 publisher with a persistent session that keeps reconnecting.
pub struct Publisher {
    client: AsyncClient,
    acked: watch::Receiver<u64>,
    stop: tokio_util::sync::CancellationToken,
}

impl Publisher {
    pub fn connect(port: u16, client_id: &str) -> Publisher {
        Publisher::connect_with_limit(port, client_id, 1 << 20)
    }

    /// A publisher whose packets may be up to `max_packet` bytes.
    pub fn connect_with_limit(port: u16, client_id: &str, max_packet: usize) -> Publisher {
        let mut options = MqttOptions::new(client_id, "127.0.0.1", port);
        options
            .set_clean_session(false)
            .set_keep_alive(Duration::from_secs(5))
            .set_max_packet_size(max_packet, max_packet);
        let (client, mut eventloop) = AsyncClient::new(options, 1024);
        let (acks, acked) = watch::channel(0u64);
        let stop = tokio_util::sync::CancellationToken::new();
        let cancel = stop.clone();
        tokio::spawn(async move {
            loop {
                let polled = tokio::select! {
                    _ = cancel.cancelled() => break,
                    polled = eventloop.poll() => polled,
                };
                match polled {
                    Ok(Event::Incoming(Packet::PubAck(_))) => acks.send_modify(|n| *n += 1),
                    Ok(_) => {}
                    // Broker down (restart test): pace the reconnect attempts.
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
        });
        Publisher {
            client,
            acked,
            stop,
        }
    }

    pub async fn publish(&self, topic: &str, payload: impl Into<Vec<u8>>) {
        self.client
            .publish(topic, QoS::AtLeastOnce, false, payload.into())
            .await
            .unwrap();
    }

    pub async fn publish_qos0(&self, topic: &str, payload: impl Into<Vec<u8>>) {
        self.client
            .publish(topic, QoS::AtMostOnce, false, payload.into())
            .await
            .unwrap();
    }

    /// The client, to publish from another task.
    pub fn client(&self) -> AsyncClient {
        self.client.clone()
    }

    /// Waits until the broker has acknowledged `n` QoS 1 publishes in total.
    pub async fn wait_acked(&mut self, n: u64) {
        let acked = tokio::time::timeout(TIMEOUT, self.acked.wait_for(|a| *a >= n))
            .await
            .is_ok_and(|r| r.is_ok());
        assert!(
            acked,
            "the broker acknowledged {} of {n} publishes",
            *self.acked.borrow()
        );
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

pub fn parse_config(text: &str) -> Config {
    Config::parse(Path::new("test.toml"), text).unwrap_or_else(|e| panic!("{e}"))
}

/// Waits until the snapshot satisfies `ready`; panics with `what` after [`TIMEOUT`].
pub async fn wait_state(
    snapshots: &mut watch::Receiver<Arc<LiveState>>,
    what: &str,
    ready: impl Fn(&LiveState) -> bool,
) -> Arc<LiveState> {
    let found = tokio::time::timeout(TIMEOUT, snapshots.wait_for(|s| ready(s)))
        .await
        .ok()
        .and_then(|r| r.ok().map(|state| state.clone()));
    match found {
        Some(state) => state,
        None => {
            let state = snapshots.borrow().clone();
            panic!(
                "timed out waiting for {what}; sources: {:#?}",
                state.sources
            )
        }
    }
}

pub fn broker_state(state: &LiveState, broker: &str) -> Option<LinkState> {
    state
        .sources
        .iter()
        .find(|s| s.name == broker)
        .map(|s| s.state)
}

pub async fn wait_connected(running: &Running, broker: &str) {
    let mut snapshots = running.snapshots.clone();
    wait_state(&mut snapshots, &format!("{broker} to connect"), |s| {
        broker_state(s, broker) == Some(LinkState::Connected)
    })
    .await;
}

/// Waits until the broker has granted every subscription of the console
/// (messages published before that would not be routed to it).
pub async fn wait_subscribed(running: &Running, broker: &str) {
    let mut snapshots = running.snapshots.clone();
    wait_state(&mut snapshots, &format!("{broker}'s subscriptions"), |s| {
        s.sources.iter().any(|src| {
            src.name == broker
                && src.state == LinkState::Connected
                && src.detail.iter().any(|(k, v)| {
                    k == "subscribed" && v.split_once('/').is_some_and(|(a, b)| a == b && a != "0")
                })
        })
    })
    .await;
}

/// Rows in the history file (a separate read connection).
pub fn count_rows(db: &Path) -> u64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("SELECT count(*) FROM readings", [], |r| r.get::<_, i64>(0))
        .unwrap() as u64
}

/// Waits, on the writer's commit notifications, until the file holds `n` rows.
pub async fn wait_rows(running: &Running, db: &Path, n: u64) {
    let mut commits = running.store.watch_stats();
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let rows = count_rows(db);
        if rows >= n {
            return;
        }
        let changed = tokio::time::timeout_at(deadline, commits.changed()).await;
        assert!(
            matches!(changed, Ok(Ok(()))),
            "timed out: {rows} of {n} rows in the history file"
        );
    }
}

/// (sensor tag, ts, value) of every stored reading, ordered.
pub fn stored(db: &Path) -> Vec<(String, i64, f64)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT s.tag, r.ts, r.value FROM readings r JOIN sensors s USING (sensor_id)
             ORDER BY s.tag, r.ts",
        )
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// `floorwatch run --headless` as a child process, its stderr as lines.
pub struct Recorder {
    pub child: Child,
    lines: std_mpsc::Receiver<String>,
    pub seen: Vec<String>,
}

impl Recorder {
    pub fn start(bin: &Path, dir: &Path, config: &str) -> Recorder {
        Recorder::start_with(bin, dir, config, |_| {})
    }

    /// As [`Recorder::start`], with `adjust` applied to the command first
    /// (resource limits, environment).
    pub fn start_with(
        bin: &Path,
        dir: &Path,
        config: &str,
        adjust: impl FnOnce(&mut Command),
    ) -> Recorder {
        Recorder::start_on(
            bin,
            dir,
            config,
            dir.join("history.sqlite").as_os_str(),
            adjust,
        )
    }

    /// As [`Recorder::start_with`], recording into `db` (a file or a url).
    pub fn start_on(
        bin: &Path,
        dir: &Path,
        config: &str,
        db: &std::ffi::OsStr,
        adjust: impl FnOnce(&mut Command),
    ) -> Recorder {
        let path = dir.join("plant.toml");
        std::fs::write(&path, config).unwrap();
        let mut command = Command::new(bin);
        command
            .args(["run", "--headless", "--config"])
            .arg(&path)
            .arg("--db")
            .arg(db)
            .env("FLOORWATCH_DATA_DIR", dir)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        adjust(&mut command);
        let mut child = command.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = std_mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Recorder {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The exit status; panics (and kills the process) when it is still
    /// running after [`TIMEOUT`].
    fn wait_exit(&mut self) -> std::process::ExitStatus {
        let deadline = std::time::Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "still running {TIMEOUT:?} after SIGTERM; log:\n{}",
                self.seen.join("\n")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: no chance to flush or acknowledge anything more.
    pub fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Waits (at most [`TIMEOUT`] in all) for a log line that satisfies `matches`.
    pub fn wait_line(&mut self, what: &str, matches: impl Fn(&str) -> bool) -> String {
        self.next_line(matches)
            .unwrap_or_else(|| panic!("no log line with {what}; got:\n{}", self.seen.join("\n")))
    }

    /// The next log line that satisfies `matches`, or `None` after [`TIMEOUT`].
    fn next_line(&mut self, matches: impl Fn(&str) -> bool) -> Option<String> {
        let deadline = std::time::Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let line = self.lines.recv_timeout(left).ok()?;
            self.seen.push(line.clone());
            if matches(&line) {
                return Some(line);
            }
        }
    }

    /// As [`Recorder::wait_count`], but `None` instead of a panic after [`TIMEOUT`].
    pub fn try_wait_count(&mut self, key: &str, at_least: u64) -> Option<u64> {
        let line = self.next_line(|l| field(l, key).is_some_and(|n| n >= at_least))?;
        field(&line, key)
    }

    /// Waits for a status line whose `key=` value reaches `at_least`.
    pub fn wait_count(&mut self, key: &str, at_least: u64) -> u64 {
        let line = self.wait_line(&format!("{key} >= {at_least}"), |l| {
            field(l, key).is_some_and(|n| n >= at_least)
        });
        field(&line, key).expect("the line matched on this key")
    }

    /// SIGTERM, then the exit status.
    pub fn terminate(mut self) -> (std::process::ExitStatus, Vec<String>) {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let status = self.wait_exit();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(line);
        }
        (status, std::mem::take(&mut self.seen))
    }
}

impl Drop for Recorder {
    /// A failed test must not leave the console running.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn field(line: &str, key: &str) -> Option<u64> {
    let rest = line.split(&format!("{key}=")).nth(1)?;
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}
