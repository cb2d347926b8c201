//! Drives the real binary in a real terminal: a private tmux server per test
//! (its own socket), keys sent with `send-keys`, the screen read with
//! `capture-pane`. Waiting is polling the screen for expected text with a
//! deadline, never a fixed sleep.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

static NEXT: AtomicUsize = AtomicUsize::new(0);
pub const DEADLINE: Duration = Duration::from_secs(30);

pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// Starts `command` (a shell command line) in a `width`x`height` window.
    /// After it exits the pane prints `EXITED <code>` and the terminal's
    /// `icanon` setting (`-icanon` would mean raw mode was left on).
    pub fn start(command: &str, width: u16, height: u16, dir: &Path) -> Tmux {
        let socket = format!(
            "floorwatch-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        let tmux = Tmux { socket };
        let script = format!(
            "{command}; echo EXITED $?; stty -a | tr ' ;' '\\n\\n' | grep -x -- '-\\?icanon'; echo TERMINAL-CHECKED; exec sleep 600"
        );
        let dir = dir.display().to_string();
        let out = tmux.run(&[
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
            "-e",
            "LANG=C.UTF-8",
            "-e",
            "NO_COLOR=",
            "-e",
            &format!("FLOORWATCH_DATA_DIR={dir}"),
            "-e",
            &format!("FLOORWATCH_CONFIG_DIR={dir}"),
            "sh",
            "-c",
            &script,
        ]);
        assert!(
            out.status.success(),
            "tmux: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        tmux
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("running tmux")
    }

    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p"]).stdout).into_owned()
    }

    /// Sends tmux key names (`Enter`, `Escape`, `C-c`, `q`).
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys"];
        args.extend(keys);
        self.run(&args);
    }

    /// Types text literally.
    pub fn type_text(&self, text: &str) {
        self.run(&["send-keys", "-l", text]);
    }

    pub fn resize(&self, width: u16, height: u16) {
        self.run(&[
            "resize-window",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
        ]);
    }

    pub fn alternate_screen_on(&self) -> bool {
        let out = self.run(&["display-message", "-p", "#{alternate_on}"]);
        String::from_utf8_lossy(&out.stdout).trim() == "1"
    }

    /// Waits until `ready` holds for the screen; returns that screen.
    pub fn wait(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "timed out waiting for {what}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn wait_for(&self, text: &str) -> String {
        self.wait(&format!("{text:?}"), |s| s.contains(text))
    }

    pub fn wait_gone(&self, text: &str) -> String {
        self.wait(&format!("{text:?} to go away"), |s| !s.contains(text))
    }

    /// Waits for the program to end; asserts exit 0 and a restored terminal.
    pub fn assert_exited_cleanly(&self) {
        // The terminal modes are printed after EXITED; wait for the line after them.
        let screen = self.wait_for("TERMINAL-CHECKED");
        assert!(screen.contains("EXITED 0"), "{screen}");
        let icanon = screen.lines().any(|l| l.trim() == "icanon");
        assert!(icanon, "raw mode was not switched off:\n{screen}");
        assert!(!self.alternate_screen_on(), "still on the alternate screen");
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}
