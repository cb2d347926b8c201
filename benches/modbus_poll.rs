//! Poll cycle of the simulator's 60-field meter map over Modbus TCP on
//! loopback, through floorwatch's poller (plan → reads → decode → readings),
//! against the same reads issued raw with tokio-modbus on the same connection
//! kind, in the same run. Also: the one-request-per-field plan, and decoding alone.
//!
//! cargo bench --bench modbus_poll -- --warm-up-time 1 --measurement-time 3

use criterion::{Criterion, criterion_group, criterion_main};
use floorwatch::config::{Config, Table};
use floorwatch::sim::modbus::{
    self as sim, METER_HOLE, METER_MAP, METER_UNIT, SimOptions, SimServer, Simulator,
};
use floorwatch::source::modbus::OneDevice;
use floorwatch::source::modbus::decode::Codec;
use floorwatch::source::modbus::{DeviceMap, device_maps};
use std::hint::black_box;
use std::path::Path;
use tokio::runtime::Runtime;
use tokio_modbus::prelude::*;

fn meter_map(addr: std::net::SocketAddr, extra: &str) -> DeviceMap {
    let text = format!(
        "{}[[modbus]]\nname = \"meter\"\nurl = \"tcp://{addr}\"\nunit = {METER_UNIT}\ntemplate = \"meter\"\n{extra}",
        sim::template_toml(
            "meter",
            &METER_MAP,
            &[(Table::Input, METER_HOLE.0, METER_HOLE.1)]
        )
    );
    let config = Config::parse(Path::new("bench.toml"), &text).expect("valid bench config");
    device_maps(&config).expect("maps").remove(0)
}

fn start(rt: &Runtime) -> (Simulator, SimServer) {
    rt.block_on(async {
        let sim = Simulator::new(SimOptions {
            period: None,
            ..Default::default()
        });
        let server = sim
            .serve("127.0.0.1:0".parse().unwrap())
            .await
            .expect("bind");
        (sim, server)
    })
}

fn poll_cycle(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (_sim, server) = start(&rt);
    let map = meter_map(server.addr, "");
    let fields = map.fields.len();
    let mut device = rt.block_on(OneDevice::connect(map)).expect("connect");
    let plan: Vec<(u16, u16)> = device.plan().iter().map(|r| (r.start, r.count)).collect();
    let registers: u32 = plan.iter().map(|(_, n)| u32::from(*n)).sum();
    let mut per_field = rt
        .block_on(OneDevice::connect(meter_map(
            server.addr,
            "one_request_per_field = true\n",
        )))
        .expect("connect");
    eprintln!(
        "meter map: {fields} fields; planned reads per cycle: {} {plan:?} ({registers} registers); \
         one_request_per_field: {}; theoretical minimum: 2 (registers 0..66 and 70..114 cannot \
         share a read across the unreadable 66..=69)",
        plan.len(),
        per_field.plan().len()
    );
    // Same socket options as the poller (TCP_NODELAY), so only the client code differs.
    let mut raw = rt.block_on(async {
        let stream = tokio::net::TcpStream::connect(server.addr)
            .await
            .expect("raw connect");
        stream.set_nodelay(true).expect("nodelay");
        tcp::attach_slave(stream, Slave(METER_UNIT))
    });

    let mut group = c.benchmark_group("modbus_poll_cycle_60_fields");
    group.bench_function("floorwatch poller cycle (planned reads + decode)", |b| {
        b.iter(|| {
            let readings = rt.block_on(device.cycle()).expect("cycle");
            assert_eq!(readings.len(), fields);
            black_box(readings)
        })
    });
    group.bench_function("raw tokio-modbus reads of the same plan (baseline)", |b| {
        b.iter(|| {
            rt.block_on(async {
                for (start, count) in &plan {
                    let words = raw
                        .read_input_registers(*start, *count)
                        .await
                        .expect("transport")
                        .expect("no exception");
                    black_box(words);
                }
            })
        })
    });
    group.bench_function("raw tokio-modbus: one read of 2 registers", |b| {
        b.iter(|| {
            rt.block_on(async {
                black_box(
                    raw.read_input_registers(0, 2)
                        .await
                        .expect("transport")
                        .expect("ok"),
                )
            })
        })
    });
    group.bench_function("floorwatch poller, one_request_per_field", |b| {
        b.iter(|| black_box(rt.block_on(per_field.cycle()).expect("cycle")))
    });
    group.finish();
}

fn decode_only(c: &mut Criterion) {
    let words: Vec<u16> = (0..114u16).map(|i| i.wrapping_mul(7919)).collect();
    let codecs: Vec<(usize, Codec)> = METER_MAP
        .iter()
        .map(|e| {
            (
                usize::from(e.address),
                Codec {
                    kind: e.kind,
                    order: e.order,
                    bit: e.bit,
                    scale: e.scale,
                    offset: 0.0,
                    valid: None,
                },
            )
        })
        .collect();
    c.bench_function("decode 60 meter fields from 114 registers", |b| {
        b.iter(|| {
            let mut sum = 0.0;
            for (at, codec) in &codecs {
                sum += codec.registers_value(&words[*at..]).unwrap_or(0.0);
            }
            black_box(sum)
        })
    });
}

/// The real link task (`source::modbus::spawn`) polling as fast as its schedule
/// allows (poll = 1 ms, so every tick is late and skipped, never bunched) for a
/// few seconds: cycles, readings and registers per second through the engine channel.
fn sustained(_: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (_sim, server) = start(&rt);
    let text = format!(
        "{}[[modbus]]\nname = \"meter\"\nurl = \"tcp://{}\"\nunit = {METER_UNIT}\npoll = \"1ms\"\ntemplate = \"meter\"\n",
        sim::template_toml(
            "meter",
            &METER_MAP,
            &[(Table::Input, METER_HOLE.0, METER_HOLE.1)]
        ),
        server.addr
    );
    let config = Config::parse(Path::new("bench.toml"), &text).expect("valid bench config");
    let seconds = 3.0;
    let (readings, cycles) = rt.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
        let cancel = tokio_util::sync::CancellationToken::new();
        let mut tasks = tokio::task::JoinSet::new();
        floorwatch::source::modbus::spawn(&config, tx, cancel.clone(), &mut tasks)
            .await
            .expect("spawn");
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs_f64(seconds);
        let (mut readings, mut cycles) = (0u64, 0u64);
        while let Ok(Some(event)) = tokio::time::timeout_at(deadline, rx.recv()).await {
            if let floorwatch::source::SourceEvent::Readings {
                readings: batch, ..
            } = event
            {
                readings += batch.len() as u64;
                cycles += 1;
            }
        }
        cancel.cancel();
        while tasks.join_next().await.is_some() {}
        (readings, cycles)
    });
    let map = device_maps(&config).expect("maps").remove(0);
    let spans: Vec<_> = map.fields.iter().map(|f| f.span()).collect();
    let registers_per_cycle: f64 =
        floorwatch::source::modbus::planner::plan(&spans, &map.excluded, map.rules)
            .iter()
            .map(|r| f64::from(r.count))
            .sum();
    eprintln!(
        "sustained over {seconds} s: {cycles} cycles ({:.0}/s), {readings} readings ({:.0}/s), {:.0} registers/s",
        cycles as f64 / seconds,
        readings as f64 / seconds,
        cycles as f64 * registers_per_cycle / seconds
    );
}

criterion_group!(benches, poll_cycle, decode_only, sustained);
criterion_main!(benches);
