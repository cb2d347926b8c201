//! `floorwatch check` on the folders of valid and invalid configs.
//! Each invalid config lists the problems it must produce as
//! `# expect: LINE:COL: text` comments.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn configs(kind: &str) -> Vec<PathBuf> {
    tomls_in(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/configs")
            .join(kind),
    )
}

/// The `.toml` files of `dir`, sorted; there must be some.
fn tomls_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no configs in {}", dir.display());
    files
}

fn check(path: &Path) -> (i32, String, String) {
    floorwatch(&["check", "--config", &path.display().to_string()])
}

/// Runs the binary with a config dir without user themes and a data dir of
/// its own; returns the exit code, stdout and stderr.
fn floorwatch(args: &[&str]) -> (i32, String, String) {
    let data = tempfile::tempdir().unwrap();
    let out = Command::new(common::floorwatch_bin())
        .args(args)
        .env(
            "FLOORWATCH_CONFIG_DIR",
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/configs"),
        )
        .env("FLOORWATCH_DATA_DIR", data.path())
        .env_remove("FLOORWATCH_CONFIG")
        .env_remove("FLOORWATCH_DB")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn valid_configs_pass_with_a_summary() {
    for path in configs("valid") {
        assert_passes(&path);
    }
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    // meter-b's template has three fields; one is bound by a [[sensor]], two become sensors.
    let (_, stdout, _) = check(&fixtures.join("reference.toml"));
    assert!(
        stdout.contains("4 sensor(s) + 2 from Modbus templates + 3 topic pattern(s)"),
        "{stdout}"
    );
}

/// A config a user finds in `fixtures/` is one they can start from:
/// templates live with the code that fills them in.
#[test]
fn every_config_in_fixtures_passes_check() {
    let fixtures = tomls_in(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures"));
    for path in fixtures {
        assert_passes(&path);
    }
}

fn assert_passes(path: &Path) {
    let (code, stdout, stderr) = check(path);
    assert_eq!(code, 0, "{}: {stderr}", path.display());
    assert!(stdout.contains(": ok"), "{}: {stdout}", path.display());
}

#[test]
fn invalid_configs_name_every_problem_with_file_line_col_and_exit_2() {
    for path in configs("invalid") {
        let text = std::fs::read_to_string(&path).unwrap();
        let expected: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# expect: "))
            .collect();
        assert!(
            !expected.is_empty(),
            "{} has no expectations",
            path.display()
        );
        let (code, _, stderr) = check(&path);
        assert_eq!(code, 2, "{}: {stderr}", path.display());
        let problems: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with(&format!("{}:", path.display())) && !l.ends_with("found"))
            .collect();
        assert_eq!(
            problems.len(),
            expected.len(),
            "{}: expected {expected:?}, got:\n{stderr}",
            path.display()
        );
        for (line, want) in problems.iter().zip(&expected) {
            // `LINE:COL: text`: the position must match exactly, the text be contained.
            let (position, text) = split_position(want);
            let prefix = format!("{}:{position}", path.display());
            assert!(
                line.starts_with(&prefix) && line.contains(text),
                "{}: wanted {prefix:?}…{text:?}, got {line:?}",
                path.display()
            );
        }
    }
}

#[test]
fn a_missing_config_is_bad_usage() {
    let (code, _, stderr) = check(Path::new("/nonexistent/floorwatch.toml"));
    assert_eq!(code, 2);
    assert!(stderr.contains("/nonexistent/floorwatch.toml"), "{stderr}");
}

#[test]
fn bad_usage_exits_2_and_help_shows_examples() {
    let out = Command::new(common::floorwatch_bin())
        .arg("--no-such-flag")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let help = Command::new(common::floorwatch_bin())
        .arg("--help")
        .output()
        .unwrap();
    assert!(help.status.success());
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("floorwatch check --config plant.toml"),
        "{help}"
    );
    assert_eq!(
        help.contains("floorwatch demo"),
        cfg!(feature = "demo"),
        "the demo example only where the subcommand is: {help}"
    );
}

#[cfg(not(feature = "demo"))]
#[test]
fn a_plant_build_has_no_simulator_subcommands() {
    for subcommand in ["demo", "simulate"] {
        let out = Command::new(common::floorwatch_bin())
            .arg(subcommand)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{subcommand}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("unrecognized subcommand"), "{stderr}");
    }
}

#[test]
fn completions_and_man_page_are_generated() {
    let bash = Command::new(common::floorwatch_bin())
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert!(bash.status.success());
    assert!(String::from_utf8_lossy(&bash.stdout).contains("floorwatch"));
    let man = Command::new(common::floorwatch_bin())
        .arg("man")
        .output()
        .unwrap();
    assert!(man.status.success());
    assert!(String::from_utf8_lossy(&man.stdout).contains(".TH floorwatch"));
}

/// Splits `"13:19: unknown broker"` into `("13:19:", "unknown broker")`.
fn split_position(want: &str) -> (&str, &str) {
    let digits_or_colon = want
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == ':'))
        .map_or(want.len(), |(i, _)| i);
    (&want[..digits_or_colon], want[digits_or_colon..].trim())
}

/// A broker whose TLS and password files are named by the config.
fn tls_config(dir: &Path, ca: &str, cert: &str, key: &str, password: &str) -> PathBuf {
    let path = dir.join("tls.toml");
    let text = format!(
        "[[mqtt]]\nname = \"b\"\nurl = \"mqtts://broker.plant:8883\"\nusername = \"ops\"\n\
         password_file = \"{password}\"\nca_file = \"{ca}\"\nclient_cert = \"{cert}\"\n\
         client_key = \"{key}\"\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn check_reads_the_tls_and_password_files_a_broker_names() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name).display().to_string();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["console.plant".into()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    std::fs::write(d("ca.pem"), cert.pem()).unwrap();
    std::fs::write(d("client.pem"), cert.pem()).unwrap();
    std::fs::write(d("client.key"), key.serialize_pem()).unwrap();
    std::fs::write(d("mqtt.pass"), "secret\n").unwrap();
    std::fs::write(d("garbage.pem"), "not a certificate\n").unwrap();

    let good = tls_config(
        dir.path(),
        &d("ca.pem"),
        &d("client.pem"),
        &d("client.key"),
        &d("mqtt.pass"),
    );
    let (code, stdout, stderr) = check(&good);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains(": ok"), "{stdout}");

    // A missing CA file, a certificate file without a certificate, a key file
    // that is a certificate, a missing password file: each at its key.
    let bad = tls_config(
        dir.path(),
        &d("missing-ca.pem"),
        &d("garbage.pem"),
        &d("client.pem"),
        &d("missing.pass"),
    );
    let (code, _, stderr) = check(&bad);
    assert_eq!(code, 2, "{stderr}");
    let at = |line: u32, text: &str| {
        assert!(
            stderr
                .lines()
                .any(|l| l.starts_with(&format!("{}:{line}:", bad.display())) && l.contains(text)),
            "line {line} {text:?}:\n{stderr}"
        )
    };
    at(5, "password_file");
    at(6, "ca_file");
    at(6, "cannot read it");
    at(7, "client_cert");
    at(7, "no PEM certificate");
    at(8, "client_key");
    assert!(stderr.contains("4 problems found"), "{stderr}");
}

/// Writes `text` as `name` in a new temporary directory.
fn config_file(name: &str, text: impl AsRef<[u8]>) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

#[test]
fn a_binary_config_is_reported_at_its_first_invalid_byte() {
    let (_dir, path) = config_file(
        "plant.toml",
        b"[plant]\nname = \"Line 1\"\nunit = \"\xC2\xB0\xFF\x00\x01\"\n",
    );
    let (code, _, stderr) = check(&path);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "{0}:3:10: not UTF-8 text: byte 0xFF cannot start a character here \
             (a config is a UTF-8 TOML file; is this a binary file?)\n{0}: 1 problem found\n",
            path.display()
        )
    );
}

#[test]
fn a_password_in_a_broker_url_is_refused_and_never_shown() {
    let text = "[[mqtt]]\nname = \"b\"\nurl = \"mqtt://ops:S3cret@broker.plant:1883\"\n\
                fallback_urls = [\"mqtt://ops:S3cret@backup.plant\"]\n\n\
                [[sensor]]\nid = \"t\"\nmqtt = { broker = \"b\", topic = \"t\" }\n";
    let (_dir, path) = config_file("plant.toml", text);
    let config = path.display().to_string();
    let (code, stdout, stderr) = floorwatch(&["check", "--config", &config]);
    assert_eq!(code, 2, "{stderr}");
    let hint = "credentials do not belong in the url: set username = \"ops\" \
                and the password with password_env or password_file";
    assert_eq!(
        stderr,
        format!(
            "{config}:3:7: MQTT url \"mqtt://ops:***@broker.plant:1883\": {hint}\n\
             {config}:4:18: MQTT url \"mqtt://ops:***@backup.plant\": {hint}\n\
             {config}: 2 problems found\n"
        )
    );
    let (code, run_stdout, run_stderr) = floorwatch(&["run", "--headless", "--config", &config]);
    assert_eq!((code, &run_stderr), (2, &stderr));
    for output in [stdout, run_stdout] {
        assert!(!output.contains("S3cret"), "{output}");
    }
}

#[test]
fn run_and_check_refuse_a_missing_password_file_alike() {
    let text = "[[mqtt]]\nname = \"b\"\nurl = \"mqtt://127.0.0.1:1\"\nusername = \"ops\"\n\
                password_file = \"/nonexistent/mqtt.pass\"\n\n\
                [[sensor]]\nid = \"t\"\nmqtt = { broker = \"b\", topic = \"t\" }\n";
    let (_dir, path) = config_file("plant.toml", text);
    let config = path.display().to_string();
    let (check_code, _, check_stderr) = floorwatch(&["check", "--config", &config]);
    let (run_code, _, run_stderr) = floorwatch(&["run", "--headless", "--config", &config]);
    assert_eq!(
        (check_code, run_code),
        (2, 2),
        "{check_stderr}\n{run_stderr}"
    );
    assert!(
        check_stderr.starts_with(&format!(
            "{config}:5:17: password_file /nonexistent/mqtt.pass: cannot read it: "
        )),
        "{check_stderr}"
    );
    assert_eq!(run_stderr, check_stderr);
}

#[test]
fn an_empty_config_says_what_to_add_in_check_and_run() {
    let (_dir, path) = config_file("plant.toml", "");
    let config = path.display().to_string();
    // A plant build has no demo to point to.
    let demo_hint = if cfg!(feature = "demo") {
        " (or try `floorwatch demo`)"
    } else {
        ""
    };
    let expected = format!(
        "{config}:1:1: no sources, no sensors: add an [[mqtt]] broker or a [[modbus]] device \
         and [[sensor]] entries that read from it{demo_hint}\n\
         {config}: 1 problem found\n"
    );
    for args in [
        &["check", "--config", &config][..],
        &["run", "--headless", "--config", &config],
        &["--headless", "--config", &config],
    ] {
        let (code, _, stderr) = floorwatch(args);
        assert_eq!((code, &stderr), (2, &expected), "{args:?}");
    }
    // A config for `floorwatch import` alone passes `check`; the console still needs sources.
    let (_dir, path) = config_file(
        "import.toml",
        "[[import]]\nname = \"uci\"\ndelimiter = \";\"\n",
    );
    let config = path.display().to_string();
    let (code, stdout, stderr) = floorwatch(&["check", "--config", &config]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains(": ok"), "{stdout}");
    let (code, _, stderr) = floorwatch(&["run", "--headless", "--config", &config]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.starts_with(&format!("{config}:1:1: no sources, no sensors")),
        "{stderr}"
    );
}

#[test]
fn verbose_flags_go_before_or_after_the_subcommand() {
    let minimal = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/configs/valid/minimal.toml");
    let minimal = minimal.display().to_string();
    for args in [
        &["-vv", "check", "--config", &minimal][..],
        &["check", "-vv", "--config", &minimal],
        &["-v", "check", "--config", &minimal, "-v"],
    ] {
        let (code, stdout, stderr) = floorwatch(args);
        assert_eq!(code, 0, "{args:?}: {stderr}");
        assert!(stdout.contains(": ok"), "{args:?}: {stdout}");
    }
    // Parsed, then refused for its config (not for the flag): the console did not start.
    let (_dir, empty) = config_file("empty.toml", "");
    let empty = empty.display().to_string();
    for args in [
        &["-vv", "run", "--headless", "--config", &empty][..],
        &["-vv", "--headless", "--config", &empty],
    ] {
        let (code, _, stderr) = floorwatch(args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(
            stderr.contains("no sources, no sensors"),
            "{args:?}: {stderr}"
        );
    }
}
