//! Alarm rules resolved from the config: per sensor, which conditions exist,
//! their limits, priorities and delays, with defaults applied.

use super::Priority;
use super::condition::{Condition, Debounce, Level};
use super::machine::Phase;
use crate::config::{AlarmLimits, Config, PriorityName};
use crate::model::SensorId;

#[derive(Clone, Debug, PartialEq)]
pub struct ConsumptionParams {
    pub period_ms: i64,
    pub factor: f64,
    pub n: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SensorRules {
    pub id: SensorId,
    pub name: String,
    pub unit: String,
    pub levels: Vec<(Condition, Level)>,
    pub roc_per_minute: Option<f64>,
    pub stale_ms: Option<i64>,
    pub bad_quality: bool,
    pub consumption: Option<ConsumptionParams>,
    pub delay_ms: i64,
    pub off_delay_ms: i64,
    pub latch: bool,
    pub suppressed: bool,
    pub out_of_service: bool,
    pub priorities: Vec<(Condition, Priority)>,
}

impl SensorRules {
    /// Rules with limits only (tests, benchmarks); every other option off.
    pub fn new(id: &str) -> Self {
        SensorRules {
            id: SensorId::new(id),
            name: id.to_owned(),
            unit: String::new(),
            levels: Vec::new(),
            roc_per_minute: None,
            stale_ms: None,
            bad_quality: false,
            consumption: None,
            delay_ms: 0,
            off_delay_ms: 0,
            latch: false,
            suppressed: false,
            out_of_service: false,
            priorities: Vec::new(),
        }
    }

    /// Adds a limit (`Hh`, `H`, `L` or `Ll`) with a deadband.
    pub fn limit(mut self, condition: Condition, limit: f64, deadband: f64) -> Self {
        let high = matches!(condition, Condition::Hh | Condition::H);
        self.levels.push((
            condition,
            Level {
                limit,
                deadband,
                high,
            },
        ));
        self
    }

    pub fn from_limits(id: &SensorId, name: &str, unit: &str, limits: &AlarmLimits) -> Self {
        let mut rules = SensorRules::new(id.as_str());
        rules.id = id.clone();
        rules.name = name.to_owned();
        rules.unit = unit.to_owned();
        for (label, value) in limits.ordered() {
            if let Some(condition) = Condition::parse(label) {
                rules = rules.limit(condition, value, limits.deadband_of(label));
            }
        }
        rules.roc_per_minute = limits.roc.map(|r| r.per_minute);
        rules.stale_ms = limits.stale.map(|d| d.as_millis_i64());
        rules.bad_quality = limits.bad_quality;
        rules.consumption = limits.consumption.as_ref().map(|c| ConsumptionParams {
            period_ms: c.period.get_ref().as_millis_i64(),
            factor: *c.factor.get_ref(),
            n: *c.n.get_ref(),
        });
        rules.delay_ms = limits.delay.map_or(0, |d| d.as_millis_i64());
        rules.off_delay_ms = limits.off_delay.map_or(0, |d| d.as_millis_i64());
        rules.latch = limits.latch;
        rules.suppressed = limits.suppressed;
        rules.out_of_service = limits.out_of_service;
        let p = &limits.priority;
        rules.priorities = [
            (Condition::Hh, p.hh),
            (Condition::H, p.h),
            (Condition::L, p.l),
            (Condition::Ll, p.ll),
            (Condition::Roc, p.roc),
            (Condition::Stale, p.stale),
            (Condition::Bad, p.bad),
            (Condition::Consumption, p.consumption),
        ]
        .into_iter()
        .filter_map(|(c, p)| Some((c, priority(p?))))
        .collect();
        rules
    }

    pub fn priority(&self, condition: Condition) -> Priority {
        self.priorities
            .iter()
            .find(|(c, _)| *c == condition)
            .map_or(condition.default_priority(), |(_, p)| *p)
    }

    pub fn initial_phase(&self) -> Phase {
        if self.out_of_service {
            Phase::OutOfService
        } else if self.suppressed {
            Phase::Suppressed
        } else {
            Phase::Normal
        }
    }

    /// On/off delays apply to conditions read from values; staleness and
    /// period verdicts are already delays of their own.
    pub fn debounce(&self, condition: Condition) -> Debounce {
        match condition {
            Condition::Stale | Condition::Consumption | Condition::Comms => Debounce::new(0, 0),
            _ => Debounce::new(self.delay_ms, self.off_delay_ms),
        }
    }
}

fn priority(name: PriorityName) -> Priority {
    match name {
        PriorityName::Critical => Priority::Critical,
        PriorityName::High => Priority::High,
        PriorityName::Medium => Priority::Medium,
        PriorityName::Low => Priority::Low,
    }
}

/// Everything the evaluator needs from the config.
#[derive(Clone, Debug, PartialEq)]
pub struct AlarmSetup {
    pub sensors: Vec<SensorRules>,
    pub shelve_max_ms: i64,
    pub comms: bool,
}

impl Default for AlarmSetup {
    fn default() -> Self {
        AlarmSetup {
            sensors: Vec::new(),
            shelve_max_ms: 8 * 3_600_000,
            comms: true,
        }
    }
}

impl AlarmSetup {
    pub fn from_config(config: &Config) -> Self {
        let sensors = config
            .sensor
            .iter()
            .filter_map(|s| {
                let limits = s.alarm_limits()?;
                let meta = s.meta();
                Some(SensorRules::from_limits(
                    &meta.id, &meta.name, &meta.unit, &limits,
                ))
            })
            .collect();
        AlarmSetup {
            sensors,
            shelve_max_ms: config.alarms.shelve_max.as_millis_i64(),
            comms: config.alarms.comms,
        }
    }
}
