//! Which sensor a message belongs to: topic filters with `+`/`#`, sensor-id
//! templates (`{1}.{2}`, `{id}`, `{field}`, `{frame.NAME}`; see
//! [`IdTemplate`]), and the per-broker route table that turns one publish
//! into readings and newly discovered sensors.

pub use super::id_template::IdTemplate;
use crate::config::{Config, MqttBinding, MqttPattern};
use crate::model::{Reading, SensorId, SensorMeta, TimestampMs};
use crate::source::payload::{DecodeError, Decoded, FrameValue, PayloadSpec};
use std::collections::{HashMap, HashSet};

/// An MQTT topic filter, e.g. `plant/+/+/value` or `factory/#`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicFilter {
    text: String,
    levels: Vec<Level>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Level {
    Exact(String),
    Plus,
    Hash,
}

impl TopicFilter {
    pub fn parse(text: &str) -> Result<TopicFilter, String> {
        if text.is_empty() {
            return Err("topic must not be empty".into());
        }
        let parts: Vec<&str> = text.split('/').collect();
        let mut levels = Vec::with_capacity(parts.len());
        for (i, part) in parts.iter().enumerate() {
            let level = match *part {
                "+" => Level::Plus,
                "#" if i + 1 == parts.len() => Level::Hash,
                "#" => return Err(format!("topic {text:?}: # must be the last level")),
                p if p.contains(['+', '#']) => {
                    return Err(format!(
                        "topic {text:?}: + and # must fill a whole level (like a/+/b or a/#)"
                    ));
                }
                p => Level::Exact(p.to_owned()),
            };
            levels.push(level);
        }
        Ok(TopicFilter {
            text: text.to_owned(),
            levels,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Number of `{n}` captures a match yields.
    pub fn wildcards(&self) -> usize {
        self.levels
            .iter()
            .filter(|l| !matches!(l, Level::Exact(_)))
            .count()
    }

    /// The wildcard captures when `topic` matches (`#` captures the rest, `/` included).
    pub fn captures<'t>(&self, topic: &'t str) -> Option<Vec<&'t str>> {
        let mut rest = Some(topic);
        let mut captures = Vec::new();
        for level in &self.levels {
            if let Level::Hash = level {
                // `a/#` also matches `a` itself (MQTT 3.1.1 §4.7.1.2).
                captures.push(rest.unwrap_or(""));
                return Some(captures);
            }
            let current = rest?;
            let (segment, tail) = match current.split_once('/') {
                Some((s, t)) => (s, Some(t)),
                None => (current, None),
            };
            match level {
                Level::Exact(e) if e == segment => {}
                Level::Plus => captures.push(segment),
                _ => return None,
            }
            rest = tail;
        }
        rest.is_none().then_some(captures)
    }
}

/// What a route does with the values a message gave.
#[derive(Clone, Debug)]
enum Target {
    Sensor {
        id: SensorId,
        field: Option<String>,
        match_id: Option<String>,
    },
    Pattern {
        id: IdTemplate,
        unit: Option<String>,
        group: Option<String>,
    },
}

#[derive(Clone, Debug)]
pub struct Route {
    filter: TopicFilter,
    spec: PayloadSpec,
    target: Target,
}

/// What one publish gave.
#[derive(Debug, Default, PartialEq)]
pub struct Routed {
    pub readings: Vec<Reading>,
    /// Sensors seen for the first time (send before the readings).
    pub discovered: Vec<SensorMeta>,
    pub error: Option<DecodeError>,
    /// No route matched the topic (a broader subscription than the routes).
    pub unmatched: bool,
}

/// The routes of one broker and the sensors already known.
pub struct Router {
    routes: Vec<Route>,
    known: HashSet<SensorId>,
    by_topic: HashMap<String, Vec<usize>>,
    arrivals: crate::source::arrival::ArrivalClock,
}

/// Topics remembered for the route lookup before the cache starts over.
const TOPIC_CACHE_LIMIT: usize = 100_000;

impl Router {
    /// The routes for broker `broker` (config already validated; invalid entries are skipped).
    pub fn for_broker(config: &Config, broker: &str) -> Router {
        let mut routes = Vec::new();
        for sensor in &config.sensor {
            if let Some(b) = sensor
                .mqtt
                .as_ref()
                .filter(|b| b.broker.get_ref() == broker)
                && let Ok(route) = binding_route(sensor.id.get_ref(), b)
            {
                routes.push(route);
            }
        }
        for pattern in config
            .mqtt_pattern
            .iter()
            .filter(|p| p.broker.get_ref() == broker)
        {
            if let Ok(route) = pattern_route(pattern) {
                routes.push(route);
            }
        }
        Router {
            routes,
            known: config
                .sensor
                .iter()
                .map(|s| SensorId::new(s.id.get_ref()))
                .collect(),
            by_topic: HashMap::new(),
            arrivals: Default::default(),
        }
    }

    /// Distinct topic filters to subscribe to.
    pub fn subscriptions(&self) -> Vec<String> {
        let mut filters: Vec<String> = self
            .routes
            .iter()
            .map(|r| r.filter.as_str().to_owned())
            .collect();
        filters.sort();
        filters.dedup();
        filters
    }

    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// Decodes one message for every route its topic matches.
    pub fn route(&mut self, topic: &str, payload: &[u8], arrival_ms: TimestampMs) -> Routed {
        let matching = self.matching(topic);
        let mut out = Routed {
            unmatched: matching.is_empty(),
            ..Default::default()
        };
        for i in matching {
            let route = &self.routes[i];
            let decoding = route.spec.decode(payload, arrival_ms);
            if out.error.is_none() {
                out.error = decoding.error;
            }
            let captures = route.filter.captures(topic).unwrap_or_default();
            for decoded in decoding.readings {
                match target_id(&route.target, &captures, &decoded, &decoding.frame) {
                    Ok(Some(id)) => {
                        let id = SensorId::new(id);
                        if !self.known.contains(&id) {
                            self.known.insert(id.clone());
                            out.discovered
                                .push(discovered_meta(&route.target, &id, &decoded));
                        }
                        let ts = if decoded.arrival_stamped {
                            self.arrivals.stamp(&id, decoded.ts)
                        } else {
                            decoded.ts
                        };
                        out.readings.push(Reading {
                            sensor: id,
                            ts,
                            value: decoded.value,
                            quality: decoded.quality,
                        });
                    }
                    Ok(None) => {}
                    Err(e) => {
                        out.error.get_or_insert(e);
                    }
                }
            }
        }
        out
    }

    fn matching(&mut self, topic: &str) -> Vec<usize> {
        if let Some(found) = self.by_topic.get(topic) {
            return found.clone();
        }
        let found: Vec<usize> = self
            .routes
            .iter()
            .enumerate()
            .filter(|(_, r)| r.filter.captures(topic).is_some())
            .map(|(i, _)| i)
            .collect();
        if self.by_topic.len() >= TOPIC_CACHE_LIMIT {
            self.by_topic.clear();
        }
        self.by_topic.insert(topic.to_owned(), found.clone());
        found
    }
}

/// The sensor a decoded value is for; `Ok(None)` when a binding does not want it.
fn target_id(
    target: &Target,
    captures: &[&str],
    decoded: &Decoded,
    frame: &[FrameValue],
) -> Result<Option<String>, DecodeError> {
    match target {
        Target::Sensor {
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
        Target::Pattern { id, .. } => id
            .render_with(captures, decoded.key.as_deref(), |name| {
                let value = frame.iter().find(|v| &*v.name == name)?;
                Some((value.raw, value.bits))
            })
            .map(Some)
            .ok_or_else(|| DecodeError::Missing("the sensor id ({id})".into())),
    }
}

fn discovered_meta(target: &Target, id: &SensorId, decoded: &Decoded) -> SensorMeta {
    let (unit, group) = match target {
        Target::Pattern { unit, group, .. } => (unit.clone(), group.clone()),
        Target::Sensor { .. } => (None, None),
    };
    SensorMeta {
        id: id.clone(),
        name: decoded.name.clone().unwrap_or_else(|| id.to_string()),
        unit: decoded.unit.clone().or(unit).unwrap_or_default(),
        group: group.unwrap_or_default(),
        range: None,
    }
}

/// The route of a sensor's `mqtt = {...}`; the error is the config problem.
pub fn binding_route(
    sensor: &str,
    binding: &MqttBinding,
) -> Result<Route, (std::ops::Range<usize>, String)> {
    let filter =
        TopicFilter::parse(binding.topic.get_ref()).map_err(|e| (binding.topic.span(), e))?;
    let spec = PayloadSpec::from_keys(&binding.decode_keys())
        .map_err(|e| (e.span.unwrap_or(binding.topic.span()), e.message))?;
    if let Some(field) = &binding.field
        && !spec.field_names().contains(&field.get_ref().as_str())
    {
        return Err((
            field.span(),
            format!(
                "field {:?} is not in the layout (fields: {})",
                field.get_ref(),
                spec.field_names().join(", ")
            ),
        ));
    }
    let first_field = spec.field_names().first().map(|f| f.to_string());
    Ok(Route {
        filter,
        target: Target::Sensor {
            id: SensorId::new(sensor),
            field: binding
                .field
                .as_ref()
                .map(|f| f.get_ref().clone())
                .or(first_field),
            match_id: binding.match_id.clone(),
        },
        spec,
    })
}

/// The route of a `[[mqtt_pattern]]`; the error is the config problem.
pub fn pattern_route(pattern: &MqttPattern) -> Result<Route, (std::ops::Range<usize>, String)> {
    let filter =
        TopicFilter::parse(pattern.topic.get_ref()).map_err(|e| (pattern.topic.span(), e))?;
    let spec = PayloadSpec::from_keys(&pattern.decode_keys())
        .map_err(|e| (e.span.unwrap_or(pattern.topic.span()), e.message))?;
    let id = IdTemplate::parse(pattern.id.get_ref(), filter.wildcards())
        .map_err(|e| (pattern.id.span(), e))?;
    let fields = spec.field_names().len();
    if id.uses_field() && fields == 0 {
        return Err((
            pattern.id.span(),
            "{field} needs a hex or binary layout (fields = [...])".into(),
        ));
    }
    if let Some(problem) = id.frame_fields().find_map(|f| spec.check_frame_id(f).err()) {
        return Err((
            pattern.id.span(),
            format!("id {:?}: {problem}", pattern.id.get_ref()),
        ));
    }
    if id.uses_id() && !spec.has_id_path() {
        return Err((
            pattern.id.span(),
            "{id} needs id_path = \"/...\" (where the payload names the sensor)".into(),
        ));
    }
    if fields > 1 && !id.uses_field() {
        return Err((
            pattern.id.span(),
            format!(
                "the layout has {fields} fields: put {{field}} in the id so each gets its own sensor"
            ),
        ));
    }
    Ok(Route {
        filter,
        spec,
        target: Target::Pattern {
            id,
            unit: pattern.unit.clone(),
            group: pattern.group.clone(),
        },
    })
}

#[cfg(test)]
mod frame_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn filters_match_like_a_broker_and_capture_wildcards() {
        let f = TopicFilter::parse("plant/+/+/value").unwrap();
        assert_eq!(
            f.captures("plant/line1/temp/value"),
            Some(vec!["line1", "temp"])
        );
        assert_eq!(f.captures("plant/line1/temp"), None);
        assert_eq!(f.captures("plant/line1/temp/value/x"), None);
        let h = TopicFilter::parse("factory/#").unwrap();
        assert_eq!(h.captures("factory/a/b"), Some(vec!["a/b"]));
        assert_eq!(h.captures("factory"), Some(vec![""]));
        assert_eq!(h.captures("other/a"), None);
        let exact = TopicFilter::parse("a/b").unwrap();
        assert_eq!(exact.captures("a/b"), Some(vec![]));
        assert_eq!(exact.captures("a/bc"), None);
        assert!(TopicFilter::parse("a/#/b").is_err());
        assert!(TopicFilter::parse("a/b+").is_err());
        assert!(TopicFilter::parse("").is_err());
    }

    #[test]
    fn id_templates_fill_captures_ids_and_fields() {
        let t = IdTemplate::parse("{1}.{2}", 2).unwrap();
        assert_eq!(
            t.render(&["line1", "temp"], None).as_deref(),
            Some("line1.temp")
        );
        let k = IdTemplate::parse("dev-{1}/{field}", 1).unwrap();
        assert_eq!(
            k.render(&["7"], Some("temp")).as_deref(),
            Some("dev-7/temp")
        );
        assert_eq!(k.render(&["7"], None), None);
        let err = IdTemplate::parse("{3}", 2).unwrap_err();
        assert!(err.contains("{1}..{2}"), "{err}");
        assert!(IdTemplate::parse("{1", 1).is_err());
    }

    fn config(text: &str) -> Config {
        Config::parse(Path::new("t.toml"), text).unwrap()
    }

    const BROKER: &str = "[[mqtt]]\nname = \"b\"\nurl = \"mqtt://127.0.0.1:1883\"\n";

    #[test]
    fn a_pattern_discovers_each_sensor_once_with_payload_name_and_unit() {
        let c = config(&format!(
            "{BROKER}[[mqtt_pattern]]\nbroker = \"b\"\ntopic = \"factory/#\"\nid = \"{{id}}\"\nid_path = \"/sensor_id\"\ntime = \"/timestamp\"\nunit_path = \"/unit\"\nname_path = \"/sensor_type\"\ngroup = \"factory\"\n"
        ));
        let mut router = Router::for_broker(&c, "b");
        assert_eq!(router.subscriptions(), ["factory/#"]);
        let msg = br#"{"timestamp":"2025-10-02T12:00:00Z","sensor_id":"temp-001","sensor_type":"temperature","value":36.2,"unit":"\u00b0C"}"#;
        let first = router.route("factory/line1", msg, 0);
        assert_eq!(
            first.readings,
            vec![Reading::good("temp-001", 1_759_406_400_000, 36.2)]
        );
        assert_eq!(
            first.discovered,
            vec![SensorMeta {
                id: "temp-001".into(),
                name: "temperature".into(),
                unit: "°C".into(),
                group: "factory".into(),
                range: None
            }]
        );
        let again = router.route("factory/line1", msg, 0);
        assert!(again.discovered.is_empty());
        assert_eq!(again.readings.len(), 1);
    }

    #[test]
    fn bindings_take_their_field_or_matching_id_and_configured_sensors_are_not_discovered() {
        let c = config(&format!(
            "{BROKER}
[[sensor]]
id = \"dev.level\"
mqtt = {{ broker = \"b\", topic = \"dev/frame\", payload = \"hex\", field = \"level\", fields = [{{ name = \"temp\", offset = 0, type = \"u8\" }}, {{ name = \"level\", offset = 1, type = \"u8\" }}] }}
[[sensor]]
id = \"line1.temp\"
mqtt = {{ broker = \"b\", topic = \"factory/all\", id_path = \"/sensor_id\", match_id = \"temp-001\" }}
"
        ));
        let mut router = Router::for_broker(&c, "b");
        let frame = router.route("dev/frame", b"0A0B", 5);
        assert_eq!(frame.readings, vec![Reading::good("dev.level", 5, 11.0)]);
        assert!(frame.discovered.is_empty());
        let all = router.route(
            "factory/all",
            br#"[{"sensor_id":"temp-001","value":1},{"sensor_id":"vib-001","value":2}]"#,
            5,
        );
        assert_eq!(all.readings, vec![Reading::good("line1.temp", 5, 1.0)]);
        let none = router.route("nobody/listens", b"1", 5);
        assert!(none.unmatched && none.readings.is_empty());
    }

    #[test]
    fn a_bad_payload_reports_and_keeps_going() {
        let c = config(&format!(
            "{BROKER}[[mqtt_pattern]]\nbroker = \"b\"\ntopic = \"plant/+/+/value\"\nid = \"{{1}}.{{2}}\"\n"
        ));
        let mut router = Router::for_broker(&c, "b");
        let bad = router.route("plant/l1/temp/value", b"warm", 1);
        assert!(bad.readings.is_empty());
        assert!(bad.error.unwrap().to_string().contains("\"warm\""));
        let good = router.route("plant/l1/temp/value", b"21.5 \xc2\xb0C", 2);
        assert_eq!(good.readings, vec![Reading::good("l1.temp", 2, 21.5)]);
        assert_eq!(good.discovered[0].unit, "°C");
    }
}
