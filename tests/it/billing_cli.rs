//! `floorwatch invoice` end to end: the binary on a real history file.

use crate::billing_support;

use billing_support::*;
use std::process::{Command, Output};

const TARIFF: &str = r#"currency = "BRL"
energy = [ { price = 0.89 } ]
monthly_fee = 25.00
taxes = [ { name = "ICMS", percent = 18 } ]"#;

fn october_plant() -> Plant {
    let config = one_meter_config("America/Sao_Paulo", "", TARIFF).replace(
        "name = \"Customer One\"",
        "name = \"Customer One\"\naddress = \"Rua das Flores 12, São Paulo\"\nregistration = \"12.345.678/0001-90\"",
    );
    Plant::new(
        &config,
        steady(
            "m1",
            "2026-09-30T00:00:00Z",
            "2026-11-02T00:00:00Z",
            15 * MINUTE,
            0.5,
        ),
    )
}

fn invoice(plant: &Plant, args: &[&str]) -> Output {
    Command::new(floorwatch_bin())
        .arg("invoice")
        .args(["--config".as_ref(), plant.config_path.as_os_str()])
        .args(["--db".as_ref(), plant.db.as_os_str()])
        .args(args)
        .output()
        .unwrap()
}

fn floorwatch_bin() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_BIN_EXE_floorwatch"))
}

fn stdout(o: &Output) -> String {
    assert!(
        o.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

// 372 kWh × 0.89 = 331.08 + 25.00 = 356.08 ; ICMS 18% = 64.0944 → 64.09 ; total 420.17
#[test]
fn text_invoice_for_a_customer_is_printable_and_complete() {
    let plant = october_plant();
    let out = stdout(&invoice(
        &plant,
        &["--customer", "c1", "--period", "2026-10"],
    ));
    for expected in [
        "Customer      Customer One (c1)",
        "Address       Rua das Flores 12, São Paulo",
        "Registration  12.345.678/0001-90",
        "Period        2026-10-01 00:00 to 2026-11-01 00:00 (America/Sao_Paulo",
        "Opening       1013.5 at 2026-10-01 00:00:00 -03 (reading at the boundary)",
        "Closing       1385.5 at 2026-11-01 00:00:00 -03 (reading at the boundary)",
        "Consumption   372.000 kWh",
        "Last reading  1385.375 at 2026-10-31 23:45:00 -03",
        "331.08",
        "ICMS 18% of 356.08",
        "64.09",
        "TOTAL DUE",
        "BRL 420.17",
        "consumption alert: not enough history",
        "Rounding: ",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in\n{out}");
    }
    assert!(out.lines().all(|l| l.chars().count() <= 78), "{out}");
}

#[test]
fn csv_json_and_markdown_carry_the_same_total() {
    let plant = october_plant();
    let csv = stdout(&invoice(
        &plant,
        &["--meter", "m1", "--period", "2026-10", "--format", "csv"],
    ));
    let mut rows = csv::Reader::from_reader(csv.as_bytes());
    let records: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
    let amounts: Vec<(&str, &str)> = records.iter().map(|r| (&r[3], &r[8])).collect();
    assert_eq!(
        amounts,
        vec![
            ("energy", "331.08"),
            ("fee", "25.00"),
            ("tax", "64.09"),
            ("total", "420.17")
        ]
    );
    let json = stdout(&invoice(
        &plant,
        &[
            "--customer",
            "c1",
            "--period",
            "2026-10",
            "--format",
            "json",
        ],
    ));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["total"], "420.17");
    assert_eq!(v["meters"][0]["consumption_kwh"], "372.000");
    assert_eq!(v["meters"][0]["charges"]["taxes"][0]["amount"], "64.09");
    let md = stdout(&invoice(
        &plant,
        &["--customer", "c1", "--period", "2026-10", "--format", "md"],
    ));
    assert!(md.contains("**Total due: BRL 420.17**"), "{md}");
    assert!(
        md.contains("| Energy | 372.000 kWh | 0.89 | 331.08 |"),
        "{md}"
    );
}

#[test]
fn from_to_bills_an_arbitrary_span_and_o_writes_a_file() {
    let plant = october_plant();
    let file = plant.dir.path().join("half.json");
    let o = invoice(
        &plant,
        &[
            "--customer",
            "c1",
            "--from",
            "2026-10-01",
            "--to",
            "2026-10-16T12:00",
            "--format",
            "json",
            "-o",
        ],
    );
    assert!(!o.status.success(), "-o needs a value");
    let o = Command::new(floorwatch_bin())
        .args([
            "invoice",
            "--customer",
            "c1",
            "--from",
            "2026-10-01",
            "--to",
            "2026-10-16T12:00",
        ])
        .args(["--format", "json", "--config"])
        .arg(&plant.config_path)
        .arg("--db")
        .arg(&plant.db)
        .arg("-o")
        .arg(&file)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    // 15.5 days × 12 kWh = 186 kWh
    assert_eq!(v["meters"][0]["consumption_kwh"], "186.000");
    assert_eq!(v["period"]["label"], "2026-10-01 00:00..2026-10-16 12:00");
}

#[test]
fn a_period_with_no_readings_exits_2_with_a_clear_message() {
    let plant = october_plant();
    let o = invoice(&plant, &["--customer", "c1", "--period", "2025-01"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("meter \"m1\" has no readings in 2025-01"),
        "{err}"
    );
}

#[test]
fn unknown_customer_meter_or_period_exits_2() {
    let plant = october_plant();
    for (args, expected) in [
        (
            vec!["--customer", "nobody", "--period", "2026-10"],
            "unknown customer \"nobody\" (defined: c1)",
        ),
        (
            vec!["--meter", "x", "--period", "2026-10"],
            "\"x\" is not a meter",
        ),
        (
            vec!["--customer", "c1", "--period", "2026-13"],
            "period \"2026-13\" must be a month like 2026-10",
        ),
    ] {
        let o = invoice(&plant, &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(expected), "{args:?}: {err}");
    }
}

#[test]
fn check_points_at_bad_billing_config() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        r#"[[sensor]]
id = "m1"
meter = { customer = "ghost", tariff = "t", multiplier = 0 }

[tariff.t]
currency = "reais"
energy = [ { price = 0.5, hours = [18, 21] } ]
tiers = [ { up_to = 100, price = 1 } ]
taxes = [ { name = "X", percent = 120 } ]

[[tariff.t.change]]
from = "2026-02-30"

[[customer]]
id = "c1"
name = "Declared"
"#,
    )
    .unwrap();
    let o = Command::new(floorwatch_bin())
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    for expected in [
        "bad.toml:3:22: unknown customer \"ghost\" (defined: c1)",
        "bad.toml:3:58: multiplier = 0 must be greater than 0",
        "bad.toml:6:12: currency \"reais\" must be a three-letter ISO 4217 code",
        "bad.toml:7:22: the last energy entry must be a catch-all",
        "bad.toml:8:9: a tariff has either energy",
        "bad.toml:8:21: the last tier must have no up_to",
        "bad.toml:9:35: tax \"X\" percent = 120 must be between 0 and 100",
        "bad.toml:12:8: change date \"2026-02-30\" must be a date like \"2026-12-25\"",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in\n{err}");
    }
}

#[test]
fn the_product_brief_example_tariff_is_valid() {
    let o = Command::new(floorwatch_bin())
        .args([
            "check",
            "--config",
            concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/plant.toml"),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn without_customer_sections_meters_imply_their_customers() {
    // The product brief's sketch names customers only in `meter = {...}`.
    let config = one_meter_config("UTC", "", TARIFF);
    let config = &config[..config.find("[[customer]]").unwrap()];
    let plant = Plant::new(
        config,
        steady(
            "m1",
            "2026-09-30T00:00:00Z",
            "2026-11-02T00:00:00Z",
            HOUR,
            0.5,
        ),
    );
    let out = stdout(&invoice(
        &plant,
        &["--customer", "c1", "--period", "2026-10"],
    ));
    assert!(out.contains("Customer      c1 (c1)"), "{out}");
    assert!(out.contains("BRL 420.17"), "{out}");
}
