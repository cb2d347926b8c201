//! The Modbus source against the built-in simulator over real Modbus TCP on
//! loopback: decoding, planning, exceptions, and recovery from faults.

use crate::modbus_support;

use floorwatch::config::Table;
use floorwatch::model::Quality;
use floorwatch::sim::modbus::{
    self as sim, ExceptionRule, Faults, METER_HOLE, METER_MAP, METER_UNIT, PLC_MAP, PLC_UNIT,
};
use floorwatch::source::raw::RawSample;
use floorwatch::source::{LinkState, SourceEvent};
use modbus_support::*;
use std::time::Duration;

/// Big-endian bytes from std, laid out per order letters: CDAB reverses the
/// words, BADC swaps the bytes in each word, DCBA does both.
fn image(be: &[u8], order: &str) -> Vec<u16> {
    let mut words: Vec<[u8; 2]> = be.chunks(2).map(|c| [c[0], c[1]]).collect();
    if order == "CDAB" || order == "DCBA" {
        words.reverse();
    }
    if order == "BADC" || order == "DCBA" {
        for w in &mut words {
            w.swap(0, 1);
        }
    }
    words.into_iter().map(u16::from_be_bytes).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_type_and_order_decodes_to_the_value_the_server_holds() {
    let (sim, server) = frozen_simulator().await;
    let values: [(&str, Vec<u8>, f64); 8] = [
        ("u16", 54_321u16.to_be_bytes().to_vec(), 54_321.0),
        ("i16", (-12_345i16).to_be_bytes().to_vec(), -12_345.0),
        (
            "u32",
            4_012_345_678u32.to_be_bytes().to_vec(),
            4_012_345_678.0,
        ),
        (
            "i32",
            (-1_234_567_890i32).to_be_bytes().to_vec(),
            -1_234_567_890.0,
        ),
        (
            "u64",
            12_345_678_901_234u64.to_be_bytes().to_vec(),
            12_345_678_901_234.0,
        ),
        (
            "i64",
            (-98_765_432_109i64).to_be_bytes().to_vec(),
            -98_765_432_109.0,
        ),
        ("f32", 230.125f32.to_be_bytes().to_vec(), 230.125),
        (
            "f64",
            (-0.000_123_456_789f64).to_be_bytes().to_vec(),
            -0.000_123_456_789,
        ),
    ];
    let mut toml = format!(
        "[[modbus]]\nname = \"pattern\"\nurl = \"tcp://{}\"\nunit = 9\npoll = \"100ms\"\n",
        server.addr
    );
    let mut expected = Vec::new();
    let mut address = 0u16;
    for (kind, be, value) in &values {
        for order in ["ABCD", "CDAB", "BADC", "DCBA"] {
            let words = image(be, order);
            sim.set_registers(9, Table::Holding, address, &words);
            let id = format!("{kind}.{order}");
            toml.push_str(&format!(
                "[[sensor]]\nid = \"{id}\"\nmodbus = {{ device = \"pattern\", table = \"holding\", address = {address}, type = \"{kind}\", order = \"{order}\" }}\n"
            ));
            expected.push((id, *value));
            address += words.len() as u16 + 1;
        }
    }
    // Bit 13 of a register, and a scaled, offset value.
    sim.set_registers(9, Table::Holding, 500, &[1 << 13, 0x0271]);
    toml.push_str(
        "[[sensor]]\nid = \"bit13\"\nmodbus = { device = \"pattern\", address = 500, type = \"bool\", bit = 13 }\n\
         [[sensor]]\nid = \"bit12\"\nmodbus = { device = \"pattern\", address = 500, type = \"bool\", bit = 12 }\n\
         [[sensor]]\nid = \"scaled\"\nmodbus = { device = \"pattern\", address = 501, type = \"i16\", scale = 0.1, offset = -40 }\n",
    );
    expected.extend([
        ("bit13".into(), 1.0),
        ("bit12".into(), 0.0),
        ("scaled".into(), 22.5),
    ]);

    let mut polling = Polling::start(&toml).await;
    let ids: Vec<&str> = expected.iter().map(|(id, _)| id.as_str()).collect();
    let batch = polling.good_batch(&ids).await;
    for (id, value) in &expected {
        let got = batch[id];
        if id == "scaled" {
            assert!((got - value).abs() < 1e-9, "{id}: {got} != {value}");
        } else {
            assert_eq!(got, *value, "{id}");
        }
    }
    polling.stop().await;
    assert_only_reads(&sim);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_registers_behind_each_value_are_kept_for_the_detail_view() {
    let (sim, server) = frozen_simulator().await;
    let words = image(&230.125f32.to_be_bytes(), "CDAB");
    sim.set_registers(9, Table::Holding, 40, &words);
    sim.set_registers(9, Table::Coil, 7, &[1]);
    let toml = format!(
        "[[modbus]]\nname = \"panel\"\nurl = \"tcp://{}\"\nunit = 9\npoll = \"100ms\"\n\
         [[sensor]]\nid = \"volts\"\nmodbus = {{ device = \"panel\", address = 40, type = \"f32\", order = \"CDAB\" }}\n\
         [[sensor]]\nid = \"pump\"\nmodbus = {{ device = \"panel\", table = \"coil\", address = 7 }}\n",
        server.addr
    );
    let mut polling = Polling::start(&toml).await;
    polling
        .until("raw registers of both sensors", |p, _| {
            p.raw.contains_key("volts") && p.raw.contains_key("pump")
        })
        .await;
    assert_eq!(
        polling.raw["volts"],
        RawSample::Registers {
            device: "panel".into(),
            table: "holding",
            address: 40,
            words: words.clone(),
        }
    );
    assert_eq!(
        polling.raw["volts"].describe(),
        [format!(
            "panel holding register 40: 0x{:04X} ({}) 0x{:04X} ({})",
            words[0], words[0], words[1], words[1]
        )]
    );
    assert_eq!(polling.raw["pump"].describe(), ["panel coil 7: 1"]);
    assert_eq!(polling.latest["volts"].value, 230.125);
    polling.stop().await;
    assert_only_reads(&sim);
}

fn meter_config(addr: std::net::SocketAddr, extra: &str) -> String {
    format!(
        "{}[[modbus]]\nname = \"meter\"\nurl = \"tcp://{addr}\"\nunit = {METER_UNIT}\npoll = \"50ms\"\ntimeout = \"2s\"\ntemplate = \"meter\"\n{extra}",
        sim::template_toml(
            "meter",
            &METER_MAP,
            &[(Table::Input, METER_HOLE.0, METER_HOLE.1)]
        )
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_60_field_meter_is_read_in_the_minimum_two_requests_with_exact_values() {
    let (sim, server) = frozen_simulator().await;
    let mut polling = Polling::start(&meter_config(server.addr, "")).await;
    let keys: Vec<String> = METER_MAP
        .iter()
        .map(|e| format!("meter.{}", e.key))
        .collect();
    let ids: Vec<&str> = keys.iter().map(String::as_str).collect();
    let before = sim.requests();
    let batch = polling.good_batch(&ids).await;
    for entry in &METER_MAP {
        let expected = sim::served_value(entry, sim.value(entry.quantity));
        let got = batch[&format!("meter.{}", entry.key)];
        assert!(
            (got - expected).abs() <= expected.abs() * 1e-12,
            "{}: got {got}, simulator serves {expected}",
            entry.key
        );
    }
    // The unreadable hole at 66..=69 splits 0..114 into exactly two reads.
    polling
        .until("a status", |p, _| p.statuses.contains_key("meter"))
        .await;
    assert_eq!(detail(&polling.statuses["meter"], "requests/cycle"), "2");
    assert!(sim.requests() - before >= 2);
    polling.stop().await;
    assert_only_reads(&sim);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_illegal_address_fails_only_its_fields() {
    let (sim, server) = frozen_simulator().await;
    // The device rejects the f32 kWh at 36..37 (as if the map were wrong).
    sim.set_faults(Faults {
        exceptions: vec!["input:36-37=2".parse::<ExceptionRule>().unwrap()],
        ..Default::default()
    });
    let mut polling = Polling::start(&meter_config(server.addr, "")).await;
    polling
        .until("the map error in the status", |p, _| {
            p.statuses
                .get("meter")
                .and_then(|s| detail_if_any(s, "map errors"))
                .is_some_and(|errors| errors.contains("input register 36"))
        })
        .await;
    let status = &polling.statuses["meter"];
    assert!(
        detail(status, "map errors")
            .contains("meter: input register 36 (sensor meter.kwh): exception 2"),
        "{status:?}"
    );
    // Every other field keeps being read; the plan now avoids 36..37: three reads.
    let others: Vec<String> = METER_MAP
        .iter()
        .filter(|e| e.key != "kwh")
        .map(|e| format!("meter.{}", e.key))
        .collect();
    let ids: Vec<&str> = others.iter().map(String::as_str).collect();
    let batch = polling.good_batch(&ids).await;
    assert!(!batch.contains_key("meter.kwh"));
    polling
        .until("a healthy status after replanning", |p, e| {
            matches!(e, SourceEvent::Status(_))
                && detail(&p.statuses["meter"], "requests/cycle") == "3"
                && p.statuses["meter"].state.is_up()
        })
        .await;
    polling.stop().await;
    assert_only_reads(&sim);
}

fn plc_config(addr: std::net::SocketAddr, poll: &str, timeout: &str) -> String {
    format!(
        "{}[[modbus]]\nname = \"plc\"\nurl = \"tcp://{addr}\"\nunit = {PLC_UNIT}\npoll = \"{poll}\"\ntimeout = \"{timeout}\"\ntemplate = \"plc\"\n",
        sim::template_toml("plc", &PLC_MAP, &[])
    )
}

const PLC_TEMP: &str = "plc.temp1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unanswered_requests_time_out_and_polling_recovers() {
    let (sim, server) = frozen_simulator().await;
    sim.set_faults(Faults {
        timeout_every: Some(4),
        ..Default::default()
    });
    let mut polling = Polling::start(&plc_config(server.addr, "30ms", "100ms")).await;
    polling
        .until("two timeouts", |p, _| {
            p.statuses
                .get("plc")
                .is_some_and(|s| count(s, "timeouts") >= 2)
        })
        .await;
    assert!(
        polling.statuses["plc"]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("plc: no reply within"))
    );
    // After each timeout the link reconnects by itself and readings resume.
    let batch = polling
        .good_batch(&[PLC_TEMP, "plc.running", "plc.fault"])
        .await;
    assert_eq!(batch["plc.running"], 1.0);
    polling.stop().await;
    assert_only_reads(&sim);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_server_times_out_then_recovers_when_it_speeds_up() {
    let (sim, server) = frozen_simulator().await;
    sim.set_faults(Faults {
        latency: Duration::from_millis(400),
        ..Default::default()
    });
    let mut polling = Polling::start(&plc_config(server.addr, "50ms", "100ms")).await;
    polling
        .until("a timeout", |p, _| {
            p.statuses
                .get("plc")
                .is_some_and(|s| count(s, "timeouts") >= 1)
        })
        .await;
    assert!(!polling.statuses["plc"].state.is_up());
    sim.set_faults(Faults::default());
    polling.good_batch(&[PLC_TEMP]).await;
    polling
        .until("the link up again", |p, _| p.statuses["plc"].state.is_up())
        .await;
    polling.stop().await;
    assert_only_reads(&sim);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_replies_are_retried_and_counted() {
    let (sim, server) = frozen_simulator().await;
    sim.set_faults(Faults {
        busy_every: Some(3),
        ..Default::default()
    });
    let mut polling = Polling::start(&plc_config(server.addr, "30ms", "5s")).await;
    polling
        .until("busy exceptions counted", |p, _| {
            p.statuses
                .get("plc")
                .is_some_and(|s| detail(s, "exceptions").contains("6×"))
        })
        .await;
    // Busy replies are retried on the same connection: the cycle completes.
    let status = &polling.statuses["plc"];
    assert_eq!(count(status, "timeouts"), 0);
    assert!(count(status, "busy retries") >= 1, "{status:?}");
    assert!(status.state.is_up(), "{status:?}");
    polling
        .good_batch(&[PLC_TEMP, "plc.vibration", "plc.fault"])
        .await;
    polling.stop().await;
    assert_only_reads(&sim);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connections_reconnect_by_themselves() {
    let (sim, mut server) = frozen_simulator().await;
    let mut polling = Polling::start(&plc_config(server.addr, "30ms", "300ms")).await;
    polling.good_batch(&[PLC_TEMP]).await;
    server.drop_connections();
    polling
        .until("the dropped link noticed", |p, _| {
            !p.statuses["plc"].state.is_up()
        })
        .await;
    polling.good_batch(&[PLC_TEMP]).await;
    polling
        .until("the link up again", |p, _| p.statuses["plc"].state.is_up())
        .await;
    polling.stop().await;
    assert_only_reads(&sim);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restart_turns_readings_stale_then_they_resume() {
    let (sim, server) = frozen_simulator().await;
    let addr = server.addr;
    let mut polling = Polling::start(&plc_config(addr, "30ms", "200ms")).await;
    let before = polling.good_batch(&[PLC_TEMP]).await[PLC_TEMP];
    server.stop().await;
    // Unreachable: the last value is kept but marked stale, never replaced by zero.
    polling
        .until("stale readings and the link down", |p, _| {
            p.latest
                .get(PLC_TEMP)
                .is_some_and(|r| r.quality == Quality::Stale)
                && !p.statuses["plc"].state.is_up()
        })
        .await;
    assert_eq!(polling.latest[PLC_TEMP].value, before);
    assert_eq!(polling.statuses["plc"].state, LinkState::BackingOff);
    assert!(polling.statuses["plc"].last_error.is_some());
    let server = sim
        .serve(addr)
        .await
        .expect("rebind the simulator on the same port");
    let after = polling.good_batch(&[PLC_TEMP]).await[PLC_TEMP];
    assert_eq!(after, before, "frozen model: same value after the restart");
    polling
        .until("the link up again", |p, _| p.statuses["plc"].state.is_up())
        .await;
    polling.stop().await;
    drop(server);
    assert_only_reads(&sim);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_refuses_writes_and_counts_them() {
    use tokio_modbus::prelude::*;
    let (sim, server) = frozen_simulator().await;
    let mut ctx = tcp::connect_slave(server.addr, Slave(PLC_UNIT))
        .await
        .unwrap();
    let reply = ctx.write_single_register(0, 1).await.unwrap();
    assert_eq!(reply, Err(ExceptionCode::IllegalFunction));
    // The recorder sees writes, so the read-only assertions above can fail.
    assert_eq!(sim.function_codes().get(&6), Some(&1));
}
