//! Decoded values → readings of named sensors: the id each value is for (a
//! `[[sensor]]`'s, or one a pattern's template makes), sensors seen for the
//! first time, and distinct arrival times. Shared by the MQTT routes and the
//! UDP/TCP listeners.

use crate::config::RouteTarget;
use crate::model::{Reading, SensorId};
use crate::source::arrival::ArrivalClock;
use crate::source::payload::{DecodeError, Decoded, Decoding, FrameValue};
use crate::source::{Discovery, Named};
use std::collections::HashSet;

/// What one message gave.
#[derive(Debug, Default, PartialEq)]
pub struct Routed {
    pub readings: Vec<Reading>,
    /// Sensors a pattern made for the first time (send before the readings).
    pub discovered: Vec<Discovery>,
    pub error: Option<DecodeError>,
    /// No route matched the topic (a broader subscription than the routes).
    pub unmatched: bool,
}

/// The sensors patterns already announced, and the arrival clock of each.
#[derive(Debug, Default)]
pub struct Namer {
    /// Announced as discovered (configured ones too: the engine fills in
    /// what their config leaves unset from the pattern).
    known: HashSet<SensorId>,
    arrivals: ArrivalClock,
}

impl Namer {
    pub fn new() -> Namer {
        Namer::default()
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
        if let RouteTarget::Pattern { defaults, .. } = target
            && self.known.insert(id.clone())
        {
            let named = Named {
                name: decoded.name.as_deref(),
                unit: decoded.unit.as_deref(),
                group: decoded.group.as_deref(),
            };
            out.discovered
                .push(Discovery::of(id.clone(), defaults, named));
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
