//! Runs a command to completion: its wall time and peak RSS.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Wall time and peak RSS (KiB). The RSS comes from `/usr/bin/time -f %M`: the
/// bench process itself is large, and a child forked from it would report the
/// parent's pages as its own peak.
pub fn run(program: &str, args: &[String]) -> (Duration, u64) {
    let start = Instant::now();
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%M", program])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let wall = start.elapsed();
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        out.status
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let rss_kb = stderr
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0);
    (wall, rss_kb)
}
