//! The console end to end in a real terminal (tmux): start it, press keys,
//! read the screen, quit, and check the terminal is given back as it was.

use crate::common;

use common::tmux::Tmux;
use common::{floorwatch_bin, machine_tool};
use std::process::Command;

#[cfg(feature = "demo")]
fn demo(dir: &std::path::Path, width: u16, height: u16) -> Tmux {
    let command = format!(
        "{} demo --db {}",
        floorwatch_bin().display(),
        dir.join("h.sqlite").display()
    );
    Tmux::start(&command, width, height, dir)
}

/// `floorwatch run` on `toml` written to the temp dir, with `prefix` before
/// the binary (environment) and `flags` after `run`.
fn run_config(
    dir: &std::path::Path,
    toml: &str,
    prefix: &str,
    flags: &str,
    size: (u16, u16),
) -> Tmux {
    let config = dir.join("plant.toml");
    std::fs::write(&config, toml).unwrap();
    let command = format!(
        "{prefix}{} run {flags}--config {} --db {}",
        floorwatch_bin().display(),
        config.display(),
        dir.join("h.sqlite").display()
    );
    Tmux::start(&command, size.0, size.1, dir)
}

/// `q`, and `y` if the console asks because alarms are unacknowledged.
fn quit(term: &Tmux) {
    term.keys(&["q"]);
    let screen = term.wait("exit or the quit question", |s| {
        s.contains("EXITED") || s.contains("Quit anyway?")
    });
    if screen.contains("Quit anyway?") {
        term.keys(&["y"]);
    }
    term.assert_exited_cleanly();
}

#[cfg(feature = "demo")]
#[test]
fn demo_navigation_filter_detail_help_and_quit() {
    if !machine_tool("tmux") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let term = demo(dir.path(), 100, 30);
    term.wait("live values on the dashboard", |s| {
        s.contains("Demo plant") && s.contains("Line 1 temperature") && s.contains("°C")
    });

    term.keys(&["?"]);
    term.wait_for("acknowledge alarm");
    term.keys(&["Escape"]);
    term.wait_gone("acknowledge alarm");

    term.keys(&["/"]);
    term.wait_for("filter: _");
    term.type_text("utilit");
    term.wait_for("filter: utilit_");
    term.keys(&["Enter"]);
    let screen = term.wait("only Utilities tiles", |s| {
        s.contains("Main incomer power") && !s.contains("Line 1 vibration")
    });
    assert!(screen.contains("filter: utilit"), "{screen}");
    term.keys(&["Escape"]);
    term.wait_for("Line 1 vibration");

    // Right moves to the second tile; Enter opens its detail with history.
    term.keys(&["Right"]);
    term.keys(&["Enter"]);
    term.wait_for("Line 1 vibration · 1h live");
    term.wait("history loaded from the file", |s| s.contains("points"));
    term.keys(&["+"]);
    term.wait_for("Line 1 vibration · 15m live");
    term.keys(&["Left"]);
    term.wait_for("15m to ");
    term.keys(&["Escape"]);
    term.wait_for("Alarms");

    term.keys(&["Tab"]);
    term.keys(&["Tab"]);
    term.wait("the status pane", |s| {
        s.contains(" Sources ") && s.contains("errors last msg")
    });
    term.keys(&["Escape"]);
    term.wait_gone("errors last msg");

    quit(&term);
}

#[cfg(feature = "demo")]
#[test]
fn ctrl_c_quits_and_restores_the_terminal() {
    if !machine_tool("tmux") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let term = demo(dir.path(), 80, 24);
    term.wait_for("Line 1 temperature");
    term.keys(&["/"]);
    term.wait_for("filter: _");
    term.keys(&["C-c"]);
    term.assert_exited_cleanly();
}

/// The alarm journal as stored: (event, operator, comment), oldest first.
fn journal(db: &std::path::Path) -> Vec<(String, String, String)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT event, operator, comment FROM alarm_events ORDER BY event_id")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn alarm_keys_comment_shelve_unshelve_ack_and_the_journal_view() {
    if !machine_tool("tmux") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // The oven is always above its H limit, so the alarm is up at once.
    let toml = r#"
[plant]
name = "Alarm plant"
[[sensor]]
id = "oven.temp"
name = "Oven temperature"
unit = "C"
range = [0, 300]
sim = { signal = "temperature" }
alarm = { h = -100 }
"#;
    // Wide enough for the journal's comment column beside the KPI panel.
    let term = run_config(dir.path(), toml, "env SUDO_USER=olga ", "", (150, 32));
    let db = dir.path().join("h.sqlite");
    term.wait_for("1 UNACK");
    term.keys(&["Tab"]);
    term.wait_for("›● MED  H");

    term.keys(&["c"]);
    term.wait_for("Comment on oven.temp/h (journal, as olga)");
    term.type_text("door seal checked");
    term.keys(&["Enter"]);
    term.wait_for("comment on oven.temp/h recorded as olga");

    term.keys(&["a"]);
    term.wait("the alarm acknowledged", |s| {
        s.contains(" acked ") && !s.contains("UNACK")
    });
    // The footer confirms what the engine did, not only what was asked.
    term.wait_for("acknowledged oven.temp/h as olga");

    term.keys(&["s"]);
    term.wait_for("Shelve oven.temp/h");
    term.keys(&["1"]);
    term.wait("the alarm shelved", |s| s.contains("shelved"));

    term.keys(&["u"]);
    term.wait_for("unshelved oven.temp/h as olga");
    // The alarm's state, then the confirmation, once it expires.
    term.wait_gone("shelved");

    // The journal view shows every action, newest first, with the operator.
    term.keys(&["J"]);
    let screen = term.wait("the journal with the comment", |s| {
        s.contains("Alarm journal") && s.contains("door seal checked") && s.contains("unshelved")
    });
    assert!(screen.contains("Alarm KPIs"), "{screen}");
    assert!(screen.contains("olga"), "{screen}");
    term.keys(&["Escape"]);
    term.wait_gone("Alarm journal");
    quit(&term);

    let rows = journal(&db);
    let actions: Vec<(&str, &str)> = rows
        .iter()
        .filter(|(event, _, _)| event != "raised")
        .map(|(e, o, _)| (e.as_str(), o.as_str()))
        .collect();
    assert_eq!(
        &actions[..4],
        [
            ("comment", "olga"),
            ("acked", "olga"),
            ("shelved", "olga"),
            ("unshelved", "olga"),
        ],
        "{rows:?}"
    );
    let comment_of = |event: &str| rows.iter().find(|r| r.0 == event).map(|r| r.2.clone());
    assert_eq!(comment_of("comment").as_deref(), Some("door seal checked"));
    assert!(
        comment_of("shelved").is_some_and(|c| c.starts_with("until ")),
        "{rows:?}"
    );
}

#[test]
fn rebound_keys_too_small_and_resize() {
    if !machine_tool("tmux") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let toml = r#"
[plant]
name = "Rebound plant"
[ui]
theme = "high-contrast"
[ui.keys]
quit = "x"
help = "F2"
[[sensor]]
id = "a.temp"
name = "Oven temperature"
unit = "C"
range = [0, 300]
sim = { signal = "temperature" }
"#;
    let term = run_config(dir.path(), toml, "", "--ascii ", (40, 10));
    term.wait_for("Terminal too small");
    term.resize(90, 26);
    let screen = term.wait_for("Oven temperature");
    assert!(screen.is_ascii(), "--ascii draws ASCII only:\n{screen}");
    term.keys(&["F2"]);
    let help = term.wait_for("show this help");
    assert!(
        help.lines()
            .any(|l| l.contains("x        quit (confirms if unacked)")),
        "help shows the rebound quit key:\n{help}"
    );
    term.keys(&["Escape"]);
    term.wait_gone("show this help");
    term.keys(&["x"]);
    term.assert_exited_cleanly();
}

#[test]
fn check_reports_bad_key_bindings_with_their_position() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("plant.toml");
    std::fs::write(&config, "[ui.keys]\nquit = \"Hyper-q\"\nhepl = \"h\"\n").unwrap();
    let out = Command::new(floorwatch_bin())
        .args(["check", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let path = config.display().to_string();
    assert!(
        stderr.contains(&format!("{path}:2:8: unknown key \"Hyper-q\"")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{path}:3:1: unknown action \"hepl\"")),
        "{stderr}"
    );
}

#[cfg(feature = "demo")]
#[test]
fn without_a_terminal_the_console_says_to_use_headless() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(floorwatch_bin())
        .args(["demo", "--db"])
        .arg(dir.path().join("h.sqlite"))
        .env("FLOORWATCH_DATA_DIR", dir.path())
        .env("FLOORWATCH_CONFIG_DIR", dir.path())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("needs a terminal") && stderr.contains("--headless"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "no escape codes into a pipe");
}

/// The screen's rows joined with box borders and runs of spaces removed, so
/// text wrapped over several rows reads as one line.
fn flat(screen: &str) -> String {
    let rows: Vec<&str> = screen
        .lines()
        .map(|l| l.trim_matches(|c: char| c == '│' || c.is_whitespace()))
        .collect();
    rows.join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn a_long_comment_is_read_whole_at_80x24_from_the_journal() {
    if !machine_tool("tmux") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let toml = r#"
[plant]
name = "Alarm plant"
[[sensor]]
id = "oven.temp"
name = "Oven temperature"
unit = "C"
range = [0, 300]
sim = { signal = "temperature" }
alarm = { h = -100 }
"#;
    let comment = "door seal replaced after the third trip, temperature back to nominal within ten minutes, watch the hinge side for a week";
    let term = run_config(dir.path(), toml, "env SUDO_USER=olga ", "", (80, 24));
    term.wait_for("1 UNACK");
    term.keys(&["Tab"]);
    term.wait_for("›● MED");
    term.keys(&["c"]);
    term.wait_for("Comment on oven.temp/h");
    term.type_text(comment);
    term.keys(&["Enter"]);
    term.wait_for("comment on oven.temp/h recorded as olga");
    term.keys(&["J"]);
    // The journal row (not the footer's confirmation) is selected, newest first.
    term.wait("the comment row selected in the journal", |s| {
        s.contains("Alarm journal")
            && s.lines()
                .any(|l| l.contains("›") && l.contains("MED") && l.contains("comment"))
    });
    // The table has no room for it at 80 columns; Enter shows the row whole.
    term.keys(&["Enter"]);
    let screen = term.wait("the row popup with the whole comment", |s| {
        flat(s).contains(comment)
    });
    assert!(screen.contains("Enter sensor detail"), "{screen}");
    term.keys(&["Escape"]);
    term.wait_gone("Enter sensor detail");
    quit(&term);
}
