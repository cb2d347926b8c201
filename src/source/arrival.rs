//! Distinct arrival times. A reading whose message carries no time is stamped
//! with its arrival time; the history keys readings by (sensor, ms), so two
//! arrivals of one sensor in the same millisecond would overwrite each other.
//! Ties are nudged forward by a millisecond: each such reading gets its own
//! time, in arrival order.

use crate::model::{SensorId, TimestampMs};
use std::collections::HashMap;

#[derive(Debug, Default)]
pub struct ArrivalClock {
    last: HashMap<SensorId, TimestampMs>,
}

impl ArrivalClock {
    /// The time to store for a reading of `sensor` that arrived at `arrival`:
    /// `arrival`, or one ms after the sensor's previous arrival-stamped reading.
    pub fn stamp(&mut self, sensor: &SensorId, arrival: TimestampMs) -> TimestampMs {
        match self.last.get_mut(sensor) {
            Some(last) => {
                *last = arrival.max(*last + 1);
                *last
            }
            None => {
                self.last.insert(sensor.clone(), arrival);
                arrival
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_in_one_millisecond_become_increasing_times() {
        let mut clock = ArrivalClock::default();
        let a = SensorId::new("a");
        let b = SensorId::new("b");
        let stamps: Vec<_> = [100, 100, 100, 101, 105]
            .into_iter()
            .map(|t| clock.stamp(&a, t))
            .collect();
        assert_eq!(stamps, vec![100, 101, 102, 103, 105]);
        // Another sensor has a clock of its own.
        assert_eq!(clock.stamp(&b, 100), 100);
        // A clock that went back still gives increasing times.
        assert_eq!(clock.stamp(&a, 50), 106);
    }
}
