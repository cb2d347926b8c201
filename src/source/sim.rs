//! Deterministic simulated signals: the same seed gives the same values, so
//! demos and tests are reproducible. Values depend on the sample index, not on
//! wall-clock time.

use super::{LinkState, SourceEvent, SourceKind, SourceStatus};
use crate::config::{SimBinding, SimSignal};
use crate::model::{Reading, SensorId, TimestampMs, now_ms};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::f64::consts::TAU;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Generates the samples of one simulated signal.
pub struct SimGenerator {
    signal: SimSignal,
    rng: StdRng,
    period_s: f64,
    index: u64,
    energy_kwh: f64,
}

impl SimGenerator {
    pub fn new(signal: SimSignal, seed: u64, period_s: f64) -> Self {
        SimGenerator {
            signal,
            rng: StdRng::seed_from_u64(seed),
            period_s,
            index: 0,
            energy_kwh: 1000.0 + (seed % 97) as f64 * 10.0,
        }
    }

    /// The next sample. The first temperature excursion (past 40 °C) starts
    /// 20 s in, so a demo shows an alarm within its first minute.
    pub fn next_value(&mut self) -> f64 {
        let t = self.index as f64 * self.period_s;
        self.index += 1;
        let noise: f64 = self.rng.random_range(-1.0..1.0);
        match self.signal {
            SimSignal::Temperature => {
                let base = 30.0 + 3.0 * (TAU * t / 600.0).sin() + 0.3 * noise;
                base + excursion(t, 20.0, 180.0, 40.0, 12.0)
            }
            SimSignal::Vibration => {
                let base = 3.0 + 0.8 * (TAU * t / 97.0).sin() + 0.2 * noise;
                (base + excursion(t, 45.0, 240.0, 30.0, 4.6)).max(0.0)
            }
            SimSignal::Power => {
                let load = 55.0 + 20.0 * (TAU * t / 3600.0).sin() + 5.0 * (TAU * t / 300.0).sin();
                (load + 1.5 * noise).max(0.0)
            }
            SimSignal::Energy => {
                let kw = 55.0 + 20.0 * (TAU * t / 3600.0).sin() + noise;
                self.energy_kwh += kw.max(0.0) * self.period_s / 3600.0;
                self.energy_kwh
            }
        }
    }
}

/// A bump of `height` lasting `length` seconds, first at `start`, repeating every `every`.
fn excursion(t: f64, start: f64, every: f64, length: f64, height: f64) -> f64 {
    if t < start {
        return 0.0;
    }
    let phase = (t - start) % every;
    if phase < length {
        height * (std::f64::consts::PI * phase / length).sin().max(0.0)
    } else {
        0.0
    }
}

/// One simulated sensor feeding the engine until cancelled.
pub async fn run_sensor(
    sensor: SensorId,
    binding: SimBinding,
    tx: mpsc::Sender<SourceEvent>,
    cancel: CancellationToken,
) {
    let period = binding.period.0.max(std::time::Duration::from_millis(1));
    let mut generator = SimGenerator::new(binding.signal, binding.seed, period.as_secs_f64());
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last_ts = i64::MIN + 1;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = ticker.tick() => {
                // Two ticks can land in one millisecond after a stall (missed ticks
                // are skipped, the next fires at once); each sample keeps its own instant.
                let ts = now_ms().max(last_ts + 1);
                last_ts = ts;
                let reading = Reading::good(sensor.clone(), ts, generator.next_value());
                if tx.send(SourceEvent::readings(vec![reading])).await.is_err() {
                    break;
                }
            }
        }
    }
}

/// Status line for the simulated feed as a whole.
pub fn status(sensors: usize, started: TimestampMs) -> SourceStatus {
    let mut status = SourceStatus::new("simulator", SourceKind::Simulated);
    status.state = LinkState::Connected;
    status.last_message_ms = Some(started);
    status.detail = vec![("sensors".into(), sensors.to_string())];
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_values() {
        let mut a = SimGenerator::new(SimSignal::Temperature, 7, 1.0);
        let mut b = SimGenerator::new(SimSignal::Temperature, 7, 1.0);
        let va: Vec<f64> = (0..100).map(|_| a.next_value()).collect();
        let vb: Vec<f64> = (0..100).map(|_| b.next_value()).collect();
        assert_eq!(va, vb);
    }

    #[test]
    fn temperature_crosses_the_critical_limit_within_the_first_minute() {
        let mut g = SimGenerator::new(SimSignal::Temperature, 1, 1.0);
        let first_minute: Vec<f64> = (0..60).map(|_| g.next_value()).collect();
        assert!(first_minute[..20].iter().all(|v| *v < 35.0));
        assert!(first_minute.iter().any(|v| *v > 40.0), "{first_minute:?}");
    }

    #[test]
    fn energy_counter_never_decreases() {
        let mut g = SimGenerator::new(SimSignal::Energy, 3, 60.0);
        let values: Vec<f64> = (0..500).map(|_| g.next_value()).collect();
        assert!(values.windows(2).all(|w| w[1] >= w[0]));
    }
}
