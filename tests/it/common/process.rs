//! A floorwatch child process whose stderr lines are read as they come;
//! killed when dropped.

use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

/// A running `floorwatch` with its stderr lines.
pub struct Process {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Process {
    pub fn start(args: &[&str]) -> Process {
        let mut child = Command::new(super::floorwatch_bin())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = super::stderr_lines(&mut child);
        Process { child, lines }
    }

    /// The first stderr line containing `needle` (bounded wait).
    pub fn line_with(&self, needle: &str) -> String {
        loop {
            let line = self
                .lines
                .recv_timeout(WAIT)
                .unwrap_or_else(|_| panic!("no stderr line containing {needle:?}"));
            if line.contains(needle) {
                return line;
            }
        }
    }

    /// Sends SIGTERM (a graceful stop).
    pub fn signal_term(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Stops it with SIGTERM and waits for it to exit.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        self.signal_term();
        self.child.wait().unwrap()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
