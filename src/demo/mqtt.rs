//! The demo plant's MQTT side: simulated devices publishing to the
//! in-process broker ([`crate::sim::mqtt`]) in the formats real plants use —
//! factory-monitor JSON, plain numbers with units, packed hex frames and raw
//! ADC counts. The console reads them through the real
//! MQTT source (`demo/plant.toml` binds the sensors).

use crate::config::SimSignal;
use crate::sim::mqtt::InProcessBroker;
use crate::source::sim::SimGenerator;
use anyhow::Result;
use rumqttc::{AsyncClient, MqttOptions, QoS};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// One simulated device and the format it publishes in.
#[derive(Clone, Copy, Debug)]
enum Device {
    /// The factory monitor's JSON (PRODUCT.md), temperature.
    FactoryJson {
        sensor_id: &'static str,
        zone: &'static str,
    },
    /// `"3.21 mm/s"`.
    PlainWithUnit { unit: &'static str },
    /// `i16` temperature ×100 and `u16` humidity ×10, big-endian, as hex.
    HexFrame,
    /// 12-bit ADC counts of a 0–10 bar transmitter.
    AdcCounts,
}

const DEVICES: &[(&str, Device, SimSignal, u64)] = &[
    (
        "factory/line1/temp",
        Device::FactoryJson {
            sensor_id: "temp-001",
            zone: "line-1",
        },
        SimSignal::Temperature,
        1,
    ),
    (
        "plant/line1/vibration",
        Device::PlainWithUnit { unit: "mm/s" },
        SimSignal::Vibration,
        2,
    ),
    (
        "devices/line2/frame",
        Device::HexFrame,
        SimSignal::Temperature,
        3,
    ),
    (
        "adc/compressor/pressure",
        Device::AdcCounts,
        SimSignal::Vibration,
        6,
    ),
];

/// Publishes every demo device once per `period` until `cancel`.
pub async fn publish_devices(port: u16, period: Duration, cancel: CancellationToken) {
    let mut options = MqttOptions::new("floorwatch-demo-devices", "127.0.0.1", port);
    options.set_keep_alive(Duration::from_secs(30));
    let (client, mut eventloop) = AsyncClient::new(options, 64);
    let driver = cancel.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = driver.cancelled() => break,
                polled = eventloop.poll() => if let Err(e) = polled {
                    tracing::debug!("demo devices: {e}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                },
            }
        }
    });
    let mut generators: Vec<_> = DEVICES
        .iter()
        .map(|(topic, device, signal, seed)| {
            (
                *topic,
                *device,
                SimGenerator::new(*signal, *seed, period.as_secs_f64()),
            )
        })
        .collect();
    let mut ticker = tokio::time::interval(period);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = ticker.tick() => {}
        }
        for (topic, device, generator) in &mut generators {
            let payload = render(*device, generator.next_value(), chrono::Utc::now());
            if client
                .publish(*topic, QoS::AtLeastOnce, false, payload)
                .await
                .is_err()
            {
                return;
            }
        }
    }
}

/// The bytes a device sends for `value`.
fn render(device: Device, value: f64, now: chrono::DateTime<chrono::Utc>) -> Vec<u8> {
    match device {
        Device::FactoryJson { sensor_id, zone } => {
            let alert = if value >= 40.0 {
                "critical"
            } else if value >= 35.0 {
                "warning"
            } else {
                "normal"
            };
            serde_json::json!({
                "timestamp": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "sensor_id": sensor_id,
                "sensor_type": "temperature",
                "location": { "zone": zone },
                "value": (value * 100.0).round() / 100.0,
                "unit": "°C",
                "alert_level": alert,
                "quality": 1.0,
            })
            .to_string()
            .into_bytes()
        }
        Device::PlainWithUnit { unit } => format!("{value:.2} {unit}").into_bytes(),
        Device::HexFrame => {
            let temp = (value * 100.0)
                .round()
                .clamp(i16::MIN.into(), i16::MAX.into()) as i16;
            let humidity = ((45.0 + value / 2.0) * 10.0).round().clamp(0.0, 1000.0) as u16;
            let mut frame = temp.to_be_bytes().to_vec();
            frame.extend_from_slice(&humidity.to_be_bytes());
            hex::encode_upper(frame).into_bytes()
        }
        Device::AdcCounts => {
            // Vibration-like signal around 3 → about 3 bar on a 0–10 bar, 0–4095 scale.
            let counts = (value.clamp(0.0, 10.0) * 409.5).round() as u32;
            counts.to_string().into_bytes()
        }
    }
}

/// Starts the broker and the devices; records the port and tasks in `services`.
pub async fn start(services: &mut super::DemoServices) -> Result<()> {
    let broker = InProcessBroker::start().await?;
    services.mqtt_port = Some(broker.port);
    let cancel = CancellationToken::new();
    services.tasks.push(tokio::spawn(publish_devices(
        broker.port,
        Duration::from_secs(1),
        cancel.clone(),
    )));
    services.tasks.push(tokio::spawn(async move {
        // Stops the devices' connection driver too when the demo ends.
        let _guard = cancel.drop_guard();
        std::future::pending::<()>().await;
    }));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::source::mqtt::routes::Router;

    /// Each device's payload decodes, through the demo config's own routes,
    /// to the value that was published.
    #[test]
    fn demo_payloads_decode_through_the_demo_routes() {
        let text = super::super::DEMO_CONFIG
            .replace("{mqtt_port}", "1883")
            .replace("{modbus_port}", "502");
        let config = Config::parse(std::path::Path::new("demo.toml"), &text).unwrap();
        let mut router = Router::for_broker(&config, "demo-broker");
        let now = chrono::Utc::now();
        let check = |router: &mut Router, topic: &str, device, value: f64| {
            let routed = router.route(topic, &render(device, value, now), 0);
            assert_eq!(routed.error, None, "{topic}");
            routed
                .readings
                .into_iter()
                .map(|r| (r.sensor.to_string(), r.value))
                .collect::<Vec<_>>()
        };
        let json = DEVICES[0].1;
        assert_eq!(
            check(&mut router, DEVICES[0].0, json, 36.204),
            [("line1.temp".to_owned(), 36.2)]
        );
        assert_eq!(
            check(&mut router, DEVICES[1].0, DEVICES[1].1, 3.214),
            [("line1.vibration".to_owned(), 3.21)]
        );
        assert_eq!(
            check(&mut router, DEVICES[2].0, DEVICES[2].1, 31.5),
            [
                ("line2.temp".to_owned(), 31.5),
                ("line2.humidity".to_owned(), 608.0 * 0.1)
            ]
        );
        let adc = check(&mut router, DEVICES[3].0, DEVICES[3].1, 3.0);
        assert_eq!(adc.len(), 1);
        assert_eq!(adc[0].0, "compressor.pressure");
        // 1229 counts (3 × 409.5 rounded) on 0–4095 → 0–10 bar.
        assert!((adc[0].1 - 1229.0 * 10.0 / 4095.0).abs() < 1e-9);
    }
}
