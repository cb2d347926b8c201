//! The console through a real pseudo-terminal, end to end:
//!
//! 1. Bytes written to the terminal per second in steady state: 50 simulated
//!    sensors updating at 1 Hz at 120x40, against the same screen repainted in
//!    full every frame, measured in the same run (that baseline lives only in a
//!    build with `--features bench-full-redraw`, never in the shipped binary).
//! 2. CPU of the idle console (sensors configured, no data arriving), against
//!    the headless recorder on the same config, measured in the same run.
//! 3. Key press to changed screen on the demo plant at 80x24 and 120x40:
//!    `?` (help on, help off) and `S` (status on, off) in turn, the time from
//!    writing the key to the pty until the screen read back from the pty
//!    (parsed by `vt100`) shows the change; against keys waiting for the next
//!    frame slot (the console before 2026-12-01, compiled in only with
//!    `--features bench-keys-wait-frame`), measured in the same run.
//!
//! ```sh
//! cargo bench --features bench-full-redraw,bench-keys-wait-frame --bench tui_terminal   # 60 s per measurement
//! FLOORWATCH_BENCH_SECS=20 cargo bench --features bench-full-redraw --bench tui_terminal -- bytes
//! FLOORWATCH_KEY_PRESSES=200 cargo bench --features bench-keys-wait-frame --bench tui_terminal -- keys
//! ```

use portable_pty::{CommandBuilder, PtySize, native_pty_system};
use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const WARM_UP: Duration = Duration::from_secs(5);

fn seconds() -> u64 {
    std::env::var("FLOORWATCH_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60)
}

fn config(dir: &Path, sensors: usize, simulated: bool) -> std::path::PathBuf {
    let mut text = String::from("[plant]\nname = \"Bench plant\"\n");
    for i in 0..sensors {
        text.push_str(&format!(
            "\n[[sensor]]\nid = \"s{i:02}\"\nname = \"Sensor {i}\"\nunit = \"°C\"\ngroup = \"Area {}\"\nrange = [0, 100]\n",
            i / 10
        ));
        if simulated {
            text.push_str(&format!(
                "sim = {{ signal = \"temperature\", period = \"1s\", seed = {i} }}\n"
            ));
        }
    }
    let path = dir.join(format!("bench-{sensors}-{simulated}.toml"));
    std::fs::write(&path, text).expect("writing the bench config");
    path
}

struct Run {
    bytes: u64,
    cpu_seconds: f64,
    wall: Duration,
}

/// Runs floorwatch in a 120x40 pty, draining its output; measures the bytes
/// and CPU time (from /proc) of the `seconds()` after a warm-up.
fn run(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Run {
    let pty = native_pty_system()
        .openpty(PtySize {
            rows: 40,
            cols: 120,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("opening a pty");
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_floorwatch"));
    cmd.args(args);
    cmd.env("TERM", "xterm-256color");
    cmd.env("COLORTERM", "truecolor");
    cmd.env("LANG", "C.UTF-8");
    cmd.env("FLOORWATCH_DATA_DIR", dir);
    cmd.env("FLOORWATCH_CONFIG_DIR", dir);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = pty.slave.spawn_command(cmd).expect("starting floorwatch");
    drop(pty.slave);
    let pid = child.process_id().expect("pid");
    let mut reader = pty.master.try_clone_reader().expect("pty reader");
    let mut writer = pty.master.take_writer().expect("pty writer");
    let total = Arc::new(AtomicU64::new(0));
    let counter = total.clone();
    let drain = std::thread::spawn(move || {
        let mut buf = [0u8; 65536];
        let mut tail = Vec::new();
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            counter.fetch_add(n as u64, Ordering::Relaxed);
            tail.extend_from_slice(&buf[..n]);
            let keep = tail.len().saturating_sub(2048);
            tail.drain(..keep);
        }
        tail
    });
    std::thread::sleep(WARM_UP);
    let (bytes0, cpu0, t0) = (
        total.load(Ordering::Relaxed),
        cpu_ticks(pid),
        Instant::now(),
    );
    std::thread::sleep(Duration::from_secs(seconds()));
    let (bytes1, cpu1, wall) = (total.load(Ordering::Relaxed), cpu_ticks(pid), t0.elapsed());
    // Ctrl-C: the console quits; the headless recorder gets SIGINT from the tty.
    let _ = writer.write_all(b"\x03");
    let _ = writer.flush();
    let status = child.wait().expect("waiting for floorwatch");
    drop(writer);
    drop(pty.master);
    let tail = drain.join().unwrap_or_default();
    assert!(
        status.success(),
        "floorwatch exited with {status:?}; last output:\n{}",
        String::from_utf8_lossy(&tail)
    );
    Run {
        bytes: bytes1 - bytes0,
        cpu_seconds: (cpu1 - cpu0) as f64 / clock_ticks_per_second(),
        wall,
    }
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("reading /proc");
    // Fields after the command name (which is in parentheses and may contain spaces).
    let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap_or(0) + fields[12].parse::<u64>().unwrap_or(0)
}

fn clock_ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// Whether the binary under test has the full-redraw baseline compiled in.
const FULL_REDRAW_BUILT: bool = cfg!(feature = "bench-full-redraw");
/// Whether the binary under test has the keys-wait-for-a-frame baseline compiled in.
const KEYS_WAIT_BUILT: bool = cfg!(feature = "bench-keys-wait-frame");

fn key_presses() -> usize {
    std::env::var("FLOORWATCH_KEY_PRESSES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200)
}

/// A key and what the screen shows once it has been handled.
struct Step {
    key: &'static [u8],
    what: &'static str,
    shown: fn(&str) -> bool,
}

const HELP_TITLE: &str = " Keys ";
const STATUS_HEADER: &str = "last msg";

const STEPS: [Step; 4] = [
    Step {
        key: b"?",
        what: "help on",
        shown: |screen| screen.contains(HELP_TITLE),
    },
    Step {
        key: b"?",
        what: "help off",
        shown: |screen| !screen.contains(HELP_TITLE),
    },
    Step {
        key: b"S",
        what: "status on",
        shown: |screen| screen.contains(STATUS_HEADER),
    },
    Step {
        key: b"S",
        what: "status off",
        shown: |screen| !screen.contains(STATUS_HEADER),
    },
];

/// The pty's output as it arrives, each chunk stamped when it was read.
struct PtyScreen {
    chunks: mpsc::Receiver<(Instant, Vec<u8>)>,
    parser: vt100::Parser,
}

impl PtyScreen {
    /// Reads until the screen satisfies `shown`; returns when the chunk that
    /// made it so arrived, or `None` after `deadline`.
    fn until(&mut self, shown: impl Fn(&str) -> bool, deadline: Instant) -> Option<Instant> {
        loop {
            let wait = deadline.checked_duration_since(Instant::now())?;
            let (at, bytes) = self.chunks.recv_timeout(wait).ok()?;
            self.parser.process(&bytes);
            if shown(&self.parser.screen().contents()) {
                return Some(at);
            }
        }
    }

    /// Keeps the screen current for `time` (the operator's pause between keys).
    fn follow_for(&mut self, time: Duration) {
        let end = Instant::now() + time;
        while let Some(wait) = end.checked_duration_since(Instant::now()) {
            match self.chunks.recv_timeout(wait) {
                Ok((_, bytes)) => self.parser.process(&bytes),
                Err(mpsc::RecvTimeoutError::Timeout) => break,
                Err(mpsc::RecvTimeoutError::Disconnected) => panic!("floorwatch exited"),
            }
        }
    }
}

/// Key-to-screen latencies of `presses` keys (the [`STEPS`] in turn) to
/// `floorwatch demo` in a `cols`x`rows` pty.
fn key_latencies(
    dir: &Path,
    (cols, rows): (u16, u16),
    presses: usize,
    envs: &[(&str, &str)],
) -> Vec<Duration> {
    let pty = native_pty_system()
        .openpty(PtySize {
            rows,
            cols,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("opening a pty");
    let db = dir.join(format!("keys-{cols}x{rows}-{}.sqlite", envs.len()));
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_floorwatch"));
    cmd.args(["demo", "--db"]);
    cmd.arg(&db);
    cmd.env("TERM", "xterm-256color");
    cmd.env("COLORTERM", "truecolor");
    cmd.env("LANG", "C.UTF-8");
    cmd.env("FLOORWATCH_DATA_DIR", dir);
    cmd.env("FLOORWATCH_CONFIG_DIR", dir);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = pty
        .slave
        .spawn_command(cmd)
        .expect("starting floorwatch demo");
    drop(pty.slave);
    let mut reader = pty.master.try_clone_reader().expect("pty reader");
    let mut writer = pty.master.take_writer().expect("pty writer");
    let (tx, chunks) = mpsc::channel();
    let drain = std::thread::spawn(move || {
        let mut buf = [0u8; 65536];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 || tx.send((Instant::now(), buf[..n].to_vec())).is_err() {
                break;
            }
        }
    });
    let mut screen = PtyScreen {
        chunks,
        parser: vt100::Parser::new(rows, cols, 0),
    };
    let started = screen.until(
        |s| s.contains("Demo") || s.contains("Alarms"),
        Instant::now() + Duration::from_secs(30),
    );
    assert!(started.is_some(), "the demo console did not start");
    screen.follow_for(WARM_UP);
    // Pauses between keys vary (30–130 ms) so that presses do not lock to
    // the console's frame slots; a fixed seed keeps runs comparable.
    let mut seed: u32 = 0x9e37_79b9;
    let mut latencies = Vec::with_capacity(presses);
    for i in 0..presses {
        let step = &STEPS[i % STEPS.len()];
        writer.write_all(step.key).expect("writing a key");
        writer.flush().expect("writing a key");
        let sent = Instant::now();
        let shown = screen.until(step.shown, sent + Duration::from_secs(5));
        let shown = shown.unwrap_or_else(|| {
            panic!(
                "press {i} ({}) not on screen after 5 s; screen:\n{}",
                step.what,
                screen.parser.screen().contents()
            )
        });
        latencies.push(shown.saturating_duration_since(sent));
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        screen.follow_for(Duration::from_millis(30 + u64::from(seed >> 16) % 100));
    }
    let _ = writer.write_all(b"\x03");
    let _ = writer.flush();
    let status = child.wait().expect("waiting for floorwatch");
    drop(writer);
    drop(pty.master);
    drop(screen);
    let _ = drain.join();
    assert!(status.success(), "floorwatch demo exited with {status:?}");
    latencies
}

/// The value below which `q` of the sorted `values` lie (nearest rank).
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument selects one part.
    let filter = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    let wanted = |name: &str| filter.as_deref().is_none_or(|f| name.contains(f));
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path();
    let secs = seconds();
    println!(
        "tui_terminal: bytes and idle in a 120x40 pty, {secs} s per measurement after {WARM_UP:?} warm-up"
    );

    if wanted("bytes") {
        let busy = config(dir, 50, true);
        let busy = busy.to_str().expect("utf-8 path");
        let db = dir.join("bytes.sqlite");
        let db = db.to_str().expect("utf-8 path");
        let args = ["run", "--config", busy, "--db", db];
        let steady = run(dir, &args, &[]);
        if !FULL_REDRAW_BUILT {
            eprintln!("the full-redraw baseline needs `cargo bench --features bench-full-redraw`");
            std::process::exit(2);
        }
        let full = run(dir, &args, &[("FLOORWATCH_FULL_REDRAW", "1")]);
        let rate = |r: &Run| r.bytes as f64 / r.wall.as_secs_f64();
        println!(
            "bytes/s, 50 sensors at 1 Hz: steady {:.0} B/s ({} B in {:.1} s); full redraw {:.0} B/s; ratio {:.1}x",
            rate(&steady),
            steady.bytes,
            steady.wall.as_secs_f64(),
            rate(&full),
            rate(&full) / rate(&steady).max(1.0)
        );
    }

    if wanted("idle") {
        let quiet = config(dir, 50, false);
        let quiet = quiet.to_str().expect("utf-8 path");
        let db = dir.join("idle.sqlite");
        let db = db.to_str().expect("utf-8 path");
        let console = run(dir, &["run", "--config", quiet, "--db", db], &[]);
        let headless = run(
            dir,
            &["run", "--headless", "--config", quiet, "--db", db],
            &[],
        );
        let pct = |r: &Run| 100.0 * r.cpu_seconds / r.wall.as_secs_f64();
        println!(
            "idle CPU, 50 sensors, no data: console {:.3}% of a core ({:.2} s CPU in {:.1} s, {} B written); headless recorder {:.3}%",
            pct(&console),
            console.cpu_seconds,
            console.wall.as_secs_f64(),
            console.bytes,
            pct(&headless)
        );
    }

    if wanted("keys") {
        if !KEYS_WAIT_BUILT {
            eprintln!(
                "the keys-wait baseline needs `cargo bench --features bench-keys-wait-frame`"
            );
            std::process::exit(2);
        }
        let presses = key_presses();
        for size in [(80, 24), (120, 40)] {
            let mut now = key_latencies(dir, size, presses, &[]);
            let mut before =
                key_latencies(dir, size, presses, &[("FLOORWATCH_KEYS_WAIT_FRAME", "1")]);
            now.sort();
            before.sort();
            let (median, p99) = (quantile(&now, 0.5), quantile(&now, 0.99));
            let (before_median, before_p99) = (quantile(&before, 0.5), quantile(&before, 0.99));
            println!(
                "key to screen, demo plant {}x{}, {presses} presses: median {:.1} ms, p99 {:.1} ms, max {:.1} ms; keys waiting for a frame slot: median {:.1} ms, p99 {:.1} ms, max {:.1} ms; ratio {:.1}x (median), {:.1}x (p99)",
                size.0,
                size.1,
                ms(median),
                ms(p99),
                ms(now[now.len() - 1]),
                ms(before_median),
                ms(before_p99),
                ms(before[before.len() - 1]),
                ms(before_median) / ms(median).max(0.001),
                ms(before_p99) / ms(p99).max(0.001),
            );
        }
    }
}
