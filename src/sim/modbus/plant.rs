//! The simulated plant behind the devices: a seeded model of a three-phase
//! supply, an oven and a fan, advanced one period at a time.

use super::registers::Quantity;
use crate::source::sim;
use std::collections::HashMap;
use std::f64::consts::TAU;
use std::time::Duration;

use Quantity as Q;

/// Values of the plant at one tick.
#[derive(Clone, Debug)]
pub struct PlantModel {
    seed: u64,
    tick: u64,
    period_s: f64,
    energy_kwh: f64,
    reactive_kvarh: f64,
    export_kwh: f64,
    max_demand: f64,
    hours: f64,
    values: HashMap<Quantity, f64>,
}

impl PlantModel {
    pub fn new(seed: u64, period: Duration) -> Self {
        let mut model = PlantModel {
            seed,
            tick: 0,
            period_s: period.as_secs_f64().max(0.001),
            energy_kwh: 12_000.0 + (seed % 1000) as f64 * 3.5,
            reactive_kvarh: 2_100.0 + (seed % 100) as f64,
            export_kwh: 42.0,
            max_demand: 0.0,
            hours: 8_760.0 + (seed % 500) as f64,
            values: HashMap::new(),
        };
        model.compute();
        model
    }

    pub fn value(&self, quantity: Quantity) -> f64 {
        self.values.get(&quantity).copied().unwrap_or(0.0)
    }

    /// Moves the model one period forward (counters accumulate).
    pub fn advance(&mut self) {
        let hours = self.period_s / 3600.0;
        self.energy_kwh += self.value(Q::PowerTotal).max(0.0) * hours;
        self.reactive_kvarh += self.value(Q::ReactiveTotal).max(0.0) * hours;
        self.hours += hours;
        self.tick += 1;
        self.compute();
    }

    fn compute(&mut self) {
        let mut rng = sim::seeded(self.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ self.tick);
        let t = self.tick as f64 * self.period_s;
        let mut noise = || sim::signed_unit(&mut rng);
        let v = &mut self.values;
        let mut p_total = 0.0;
        let mut i_sum = 0.0;
        let pf = 0.92 + 0.03 * (TAU * t / 900.0).sin() + 0.002 * noise();
        for phase in 0..3 {
            let shift = phase as f64 * TAU / 3.0;
            let volts = 230.0 + 2.0 * (TAU * t / 600.0 + shift).sin() + 0.3 * noise();
            let amps = 60.0 + 15.0 * (TAU * t / 1800.0 + shift).sin() + 0.5 * noise();
            let kw = volts * amps * pf / 1000.0;
            v.insert(Q::Voltage(phase), volts);
            v.insert(Q::LineVoltage(phase), volts * 3f64.sqrt());
            v.insert(Q::Current(phase), amps);
            v.insert(Q::Power(phase), kw);
            v.insert(Q::ThdV(phase), 2.5 + 0.2 * noise());
            v.insert(Q::ThdI(phase), 8.0 + 0.5 * noise());
            p_total += kw;
            i_sum += amps;
        }
        let s = p_total / pf;
        let q = (s * s - p_total * p_total).max(0.0).sqrt();
        self.max_demand = self.max_demand.max(p_total);
        v.insert(
            Q::NeutralCurrent,
            (i_sum / 3.0) * 0.05 + 0.2 * noise().abs(),
        );
        v.insert(Q::PowerTotal, p_total);
        v.insert(Q::ReactiveTotal, q);
        v.insert(Q::ApparentTotal, s);
        v.insert(Q::PowerFactor, pf);
        v.insert(Q::Frequency, 50.0 + 0.03 * noise());
        v.insert(Q::EnergyKwh, self.energy_kwh);
        v.insert(Q::EnergyWh, (self.energy_kwh * 1000.0).round());
        v.insert(Q::ReactiveKvarh, self.reactive_kvarh);
        v.insert(Q::ExportKwh, self.export_kwh);
        v.insert(Q::MeterTemperature, 31.0 + 1.5 * (TAU * t / 1200.0).sin());
        v.insert(Q::Healthy, 1.0);
        v.insert(Q::Reverse, 0.0);
        v.insert(Q::Demand, p_total);
        v.insert(Q::MaxDemand, self.max_demand);
        v.insert(Q::HoursRun, self.hours);
        // The oven's zone 1 overshoots past 40 °C about a minute in, then every 5 minutes.
        let overshoot = oven_overshoot(t);
        for zone in 0..4 {
            let base = [33.0, 30.0, 28.0, 18.0][zone];
            v.insert(
                Q::PlcTemperature(zone),
                base + 1.5 * (TAU * t / 300.0 + zone as f64).sin()
                    + 0.2 * noise()
                    + if zone == 0 { overshoot } else { 0.0 },
            );
        }
        let vibration = (3.0 + 0.8 * (TAU * t / 97.0).sin() + 0.2 * noise()).max(0.0);
        v.insert(Q::Vibration, vibration);
        v.insert(Q::Running, 1.0);
        v.insert(Q::Fault, if vibration > 6.5 { 1.0 } else { 0.0 });
        v.insert(Q::Speed, 1450.0 + 5.0 * noise());
    }
}

fn oven_overshoot(t: f64) -> f64 {
    let (start, every, length, height) = (50.0, 300.0, 40.0, 10.0);
    if t < start {
        return 0.0;
    }
    let phase = (t - start) % every;
    if phase < length {
        height * (std::f64::consts::PI * phase / length).sin()
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_model() {
        let mut a = PlantModel::new(7, Duration::from_secs(1));
        let mut b = PlantModel::new(7, Duration::from_secs(1));
        for _ in 0..50 {
            a.advance();
            b.advance();
        }
        assert_eq!(a.value(Q::PowerTotal), b.value(Q::PowerTotal));
        assert_eq!(a.value(Q::EnergyKwh), b.value(Q::EnergyKwh));
        let c = PlantModel::new(8, Duration::from_secs(1));
        assert_ne!(a.value(Q::Voltage(0)), c.value(Q::Voltage(0)));
    }

    #[test]
    fn energy_counter_grows_with_power() {
        let mut m = PlantModel::new(1, Duration::from_secs(60));
        let start = m.value(Q::EnergyKwh);
        let p = m.value(Q::PowerTotal);
        m.advance();
        let expected = start + p / 60.0;
        assert!((m.value(Q::EnergyKwh) - expected).abs() < 1e-9);
    }
}
