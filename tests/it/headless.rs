//! The headless recorder through the real binary: SIGTERM commits every
//! received reading; SIGKILL mid-write leaves a consistent file holding every
//! committed batch.

use crate::common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const CONFIG: &str = r#"
[plant]
name = "Test plant"
[ui]
status_every = "100ms"
[[sensor]]
id = "t"
sim = { signal = "temperature", period = "5ms", seed = 1 }
[[sensor]]
id = "v"
sim = { signal = "vibration", period = "5ms", seed = 2 }
[[sensor]]
id = "e"
sim = { signal = "energy", period = "5ms", seed = 3 }
"#;

struct Recorder {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Recorder {
    fn start(dir: &Path) -> Recorder {
        let config = dir.join("plant.toml");
        std::fs::write(&config, CONFIG).unwrap();
        let mut child = Command::new(common::floorwatch_bin())
            .args(["run", "--headless", "--config"])
            .arg(&config)
            .arg("--db")
            .arg(dir.join("history.sqlite"))
            .env("FLOORWATCH_DATA_DIR", dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = common::stderr_lines(&mut child);
        Recorder { child, lines }
    }

    /// Waits (bounded) for a status line whose `key=` value reaches `at_least`.
    fn wait_for(&self, key: &str, at_least: u64) -> u64 {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| panic!("no status line with {key} >= {at_least}"));
            if let Some(n) = field(&line, key)
                && n >= at_least
            {
                return n;
            }
        }
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([name, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

fn field(line: &str, key: &str) -> Option<u64> {
    let rest = line.split(&format!("{key}=")).nth(1)?;
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

fn rows(db: &Path) -> u64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    conn.query_row("SELECT count(*) FROM readings", [], |r| r.get::<_, i64>(0))
        .unwrap() as u64
}

#[test]
fn sigterm_commits_every_received_reading() {
    let dir = tempfile::tempdir().unwrap();
    let mut recorder = Recorder::start(dir.path());
    let logged = recorder.wait_for("received", 100);
    recorder.signal("-TERM");
    let status = recorder.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let final_line: Vec<String> = recorder
        .lines
        .iter()
        .filter(|l| l.contains("stopped:"))
        .collect();
    assert_eq!(final_line.len(), 1, "{final_line:?}");
    let received = field(&final_line[0], "received").unwrap();
    let stored = field(&final_line[0], "stored").unwrap();
    assert!(received >= logged);
    assert_eq!(stored, received, "{}", final_line[0]);
    assert_eq!(rows(&dir.path().join("history.sqlite")), received);
}

#[test]
fn sigkill_mid_write_keeps_every_committed_batch() {
    let dir = tempfile::tempdir().unwrap();
    let mut recorder = Recorder::start(dir.path());
    // `stored` counts rows in committed transactions.
    let committed = recorder.wait_for("stored", 200);
    recorder.signal("-KILL");
    recorder.child.wait().unwrap();
    let found = rows(&dir.path().join("history.sqlite"));
    assert!(
        found >= committed,
        "{found} rows in the file, {committed} were committed"
    );
}
