//! Deterministic simulated signals: the same seed gives the same values, so
//! demos and tests are reproducible. Values depend on the sample index, not on
//! wall-clock time.

use super::{LinkState, SourceEvent, SourceKind, SourceStatus};
use crate::config::{SimBinding, SimSignal};
use crate::model::{Reading, SensorId, TimestampMs, now_ms};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::f64::consts::TAU;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Generates the samples of one simulated signal.
pub struct SimGenerator {
    signal: SimSignal,
    rng: ChaCha8Rng,
    period_s: f64,
    index: u64,
    energy_kwh: f64,
}

impl SimGenerator {
    pub fn new(signal: SimSignal, seed: u64, period_s: f64) -> Self {
        SimGenerator {
            signal,
            rng: seeded(seed),
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
        let noise = signed_unit(&mut self.rng);
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

/// The random stream of a simulator seeded with `seed`. ChaCha8's output and
/// `seed_from_u64` are fixed by rand_core's portability rules, unlike
/// `StdRng`, which may change algorithm in any `rand` release.
pub(crate) fn seeded(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// Uniform in [-1, 1) from the top 53 bits of one 64-bit word: our own
/// mapping, so a `rand` upgrade cannot change the simulated values either.
pub(crate) fn signed_unit(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (2.0 / (1u64 << 53) as f64) - 1.0
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

    /// The ChaCha8 stream for seed 42 (via `seed_from_u64`) and the first
    /// temperature and power samples built on it. Computed once and written
    /// here on purpose: demos and recorded runs depend on these values, so they
    /// must not change across `rand`/`rand_chacha` upgrades. If this fails
    /// after an upgrade, the upgrade changed the simulated signals: pin the
    /// old stream rather than editing these numbers.
    #[test]
    fn seeded_signals_are_the_chacha8_stream_for_their_seed() {
        let mut rng = seeded(42);
        let words: Vec<u64> = (0..3).map(|_| rng.next_u64()).collect();
        assert_eq!(
            words,
            [
                0xae90_bfb5_395d_5ba1,
                0xf345_3fc6_2579_9188,
                0x6d71_b708_c5b6_538c
            ]
        );

        let close = |got: Vec<f64>, want: [f64; 4]| {
            for (g, w) in got.iter().zip(want) {
                assert!((g - w).abs() < 1e-9, "{got:?} != {want:?}");
            }
        };
        let mut temperature = SimGenerator::new(SimSignal::Temperature, 42, 1.0);
        let temperatures: Vec<f64> = (0..4).map(|_| temperature.next_value()).collect();
        // t = 0: no sine term, so 30 °C plus 0.3 × the first word's noise, exactly.
        let first_noise = (0xae90_bfb5_395d_5ba1_u64 >> 11) as f64 / (1u64 << 52) as f64 - 1.0;
        assert_eq!(temperatures[0], 30.0 + 0.3 * first_noise);
        close(
            temperatures,
            [
                30.109137715384,
                30.301580596952228,
                30.019337101363984,
                30.17064858995279,
            ],
        );
        let mut power = SimGenerator::new(SimSignal::Power, 42, 1.0);
        close(
            (0..4).map(|_| power.next_value()).collect(),
            [
                55.545688576920014,
                56.490444889752204,
                55.06174050552003,
                55.80075343786699,
            ],
        );
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
