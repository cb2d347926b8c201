//! Decoded values → readings of named sensors: the id each value is for (a
//! `[[sensor]]`'s, or one a pattern's template makes), sensors seen for the
//! first time, and distinct arrival times. Shared by the MQTT routes and the
//! UDP/TCP listeners.

use crate::config::{Config, RouteTarget};
use crate::model::{Reading, SensorId, SensorMeta};
use crate::source::arrival::ArrivalClock;
use crate::source::payload::{DecodeError, Decoded, Decoding, FrameValue};
use std::collections::HashSet;

/// What one message gave.
#[derive(Debug, Default, PartialEq)]
pub struct Routed {
    pub readings: Vec<Reading>,
    /// Sensors seen for the first time (send before the readings).
    pub discovered: Vec<SensorMeta>,
    pub error: Option<DecodeError>,
    /// No route matched the topic (a broader subscription than the routes).
    pub unmatched: bool,
}

/// The sensors already known, and the arrival clock of each.
#[derive(Debug, Default)]
pub struct Namer {
    known: HashSet<SensorId>,
    arrivals: ArrivalClock,
}

impl Namer {
    /// Knows the config's `[[sensor]]`s: they are never discovered.
    pub fn for_config(config: &Config) -> Namer {
        Namer {
            known: (config.sensor.iter())
                .map(|s| SensorId::new(s.id.get_ref()))
                .collect(),
            arrivals: ArrivalClock::default(),
        }
    }

    /// Adds what `decoding` gave for `target` to `out`: its readings under
    /// their ids (`captures` fill `{1}`..), new sensors, and the first error.
    pub fn name(
        &mut self,
        target: &RouteTarget,
        captures: &[&str],
        decoding: Decoding,
        out: &mut Routed,
    ) {
        if out.error.is_none() {
            out.error = decoding.error;
        }
        for decoded in decoding.readings {
            match target_id(target, captures, &decoded, &decoding.frame) {
                Ok(Some(id)) => {
                    let reading = self.reading(target, id, decoded, out);
                    out.readings.push(reading);
                }
                Ok(None) => {}
                Err(e) => {
                    out.error.get_or_insert(e);
                }
            }
        }
    }

    fn reading(
        &mut self,
        target: &RouteTarget,
        id: String,
        decoded: Decoded,
        out: &mut Routed,
    ) -> Reading {
        let id = SensorId::new(id);
        if self.known.insert(id.clone()) {
            out.discovered.push(discovered_meta(target, &id, &decoded));
        }
        let ts = if decoded.arrival_stamped {
            self.arrivals.stamp(&id, decoded.ts)
        } else {
            decoded.ts
        };
        Reading {
            sensor: id,
            ts,
            value: decoded.value,
            quality: decoded.quality,
        }
    }
}

/// The sensor a decoded value is for; `Ok(None)` when a binding does not want it.
fn target_id(
    target: &RouteTarget,
    captures: &[&str],
    decoded: &Decoded,
    frame: &[FrameValue],
) -> Result<Option<String>, DecodeError> {
    match target {
        RouteTarget::Sensor {
            id,
            field,
            match_id,
        } => {
            let wanted = match (field, match_id) {
                (Some(f), _) => decoded.key.as_deref() == Some(f.as_str()),
                (None, Some(m)) => decoded.key.as_deref() == Some(m.as_str()),
                (None, None) => true,
            };
            Ok(wanted.then(|| id.to_string()))
        }
        RouteTarget::Pattern { id, .. } => id
            .render_with(captures, decoded.key.as_deref(), |name| {
                let value = frame.iter().find(|v| &*v.name == name)?;
                Some((value.raw, value.bits))
            })
            .map(Some)
            .ok_or_else(|| DecodeError::Missing("the sensor id ({id})".into())),
    }
}

fn discovered_meta(target: &RouteTarget, id: &SensorId, decoded: &Decoded) -> SensorMeta {
    let (unit, group) = match target {
        RouteTarget::Pattern { unit, group, .. } => (unit.clone(), group.clone()),
        RouteTarget::Sensor { .. } => (None, None),
    };
    SensorMeta {
        id: id.clone(),
        name: decoded.name.clone().unwrap_or_else(|| id.to_string()),
        unit: decoded.unit.clone().or(unit).unwrap_or_default(),
        group: group.unwrap_or_default(),
        range: None,
    }
}
