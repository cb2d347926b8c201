//! Modbus RTU over a pseudo-terminal pair made by `socat`: the simulator
//! serves one end as an RTU slave, the poller reads the other through
//! tokio-serial, two unit ids serialised on the one bus.

use crate::common;
use crate::modbus_support;

use floorwatch::sim::modbus::{PLC_UNIT, SimOptions, Simulator};
use modbus_support::*;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// `socat` linking two ptys; killed on drop.
struct PtyPair {
    child: Child,
}

impl Drop for PtyPair {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts socat and waits for its "starting data transfer loop" line, printed
/// once both pty links exist.
fn pty_pair(a: &std::path::Path, b: &std::path::Path) -> PtyPair {
    let mut child = Command::new("socat")
        .args(["-d", "-d"])
        .arg(format!("pty,raw,echo=0,link={}", a.display()))
        .arg(format!("pty,raw,echo=0,link={}", b.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start socat");
    let stderr = child.stderr.take().expect("socat stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("starting data transfer loop") {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(WAIT)
        .expect("socat did not report both ptys ready");
    PtyPair { child }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polls_a_meter_and_a_plc_over_rtu_on_one_serial_bus() {
    if !common::machine_tool("socat") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (device_end, client_end) = (dir.path().join("device"), dir.path().join("client"));
    let _pair = pty_pair(&device_end, &client_end);
    let sim = Simulator::new(SimOptions {
        period: None,
        ..Default::default()
    });
    let serving = sim
        .serve_rtu(device_end.to_str().unwrap(), 115_200)
        .expect("open the device end");
    let url = format!(
        "rtu://{}?baud=115200&parity=N&data=8&stop=1",
        client_end.display()
    );
    let toml = format!(
        "[[modbus]]\nname = \"meter\"\nurl = \"{url}\"\nunit = 1\npoll = \"100ms\"\ntimeout = \"500ms\"\ninter_request_delay = \"5ms\"\n\
         [[modbus]]\nname = \"plc\"\nurl = \"{url}\"\nunit = {PLC_UNIT}\npoll = \"100ms\"\ntimeout = \"500ms\"\n\
         [[sensor]]\nid = \"kwh\"\nmodbus = {{ device = \"meter\", table = \"input\", address = 46, type = \"u32\", scale = 0.1 }}\n\
         [[sensor]]\nid = \"volts\"\nmodbus = {{ device = \"meter\", table = \"input\", address = 0, type = \"f32\" }}\n\
         [[sensor]]\nid = \"oven\"\nmodbus = {{ device = \"plc\", table = \"holding\", address = 0, type = \"i16\", scale = 0.1 }}\n\
         [[sensor]]\nid = \"running\"\nmodbus = {{ device = \"plc\", table = \"coil\", address = 0 }}\n"
    );
    let mut polling = Polling::start(&toml).await;
    let mut seen = std::collections::HashMap::new();
    polling
        .until("readings of both units", |p, _| {
            for id in ["kwh", "volts", "oven", "running"] {
                if let Some(r) = p.latest.get(id) {
                    seen.insert(id, r.value);
                }
            }
            seen.len() == 4
        })
        .await;
    use floorwatch::sim::modbus::{METER_MAP, PLC_MAP, served_value};
    let expect = |map: &[floorwatch::sim::modbus::MapEntry], key: &str| {
        let entry = map.iter().find(|e| e.key == key).unwrap();
        served_value(entry, sim.value(entry.quantity))
    };
    assert!((seen["kwh"] - expect(&METER_MAP, "kwh_u32_abcd")).abs() < 1e-6);
    assert_eq!(seen["volts"], expect(&METER_MAP, "v_l1"));
    assert!((seen["oven"] - expect(&PLC_MAP, "temp1")).abs() < 1e-9);
    assert_eq!(seen["running"], 1.0);
    polling.stop().await;
    serving.abort();
    assert_only_reads(&sim);
}
