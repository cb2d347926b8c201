//! Which sensor a message belongs to: the per-broker route table that turns
//! one publish into readings and newly discovered sensors. Topic filters and
//! id templates (`{1}.{2}`, `{id}`, `{field}`, `{frame.NAME}`), and the
//! checks of the routes, are `config::route`'s.

use crate::config::{Config, RouteTarget, TopicFilter, TopicRoute};
use crate::model::TimestampMs;
use crate::source::discover::Namer;
pub use crate::source::discover::Routed;
use crate::source::payload::PayloadSpec;
use std::collections::HashMap;

#[derive(Clone, Debug)]
pub struct Route {
    filter: TopicFilter,
    spec: PayloadSpec,
    target: RouteTarget,
}

impl Route {
    /// A checked route; times without an offset are in `plant` unless it sets `tz`.
    fn new(route: TopicRoute, plant: chrono_tz::Tz) -> Route {
        Route {
            filter: route.filter,
            spec: PayloadSpec::in_plant(route.layout, plant),
            target: route.target,
        }
    }
}

/// The routes of one broker and the sensors already known.
pub struct Router {
    routes: Vec<Route>,
    namer: Namer,
    by_topic: HashMap<String, Vec<usize>>,
}

/// Topics remembered for the route lookup before the cache starts over.
const TOPIC_CACHE_LIMIT: usize = 100_000;

impl Router {
    /// The routes for broker `broker` (config already validated; invalid entries are skipped).
    pub fn for_broker(config: &Config, broker: &str) -> Router {
        let plant = config.timezone();
        let mut routes = Vec::new();
        for sensor in &config.sensor {
            if let Some(b) = sensor
                .mqtt
                .as_ref()
                .filter(|b| b.broker.get_ref() == broker)
                && let Ok(route) = TopicRoute::of_binding(sensor.id.get_ref(), b)
            {
                routes.push(Route::new(route, plant));
            }
        }
        for pattern in config
            .mqtt_pattern
            .iter()
            .filter(|p| p.broker.get_ref() == broker)
        {
            if let Ok(route) = TopicRoute::of_pattern(pattern) {
                routes.push(Route::new(route, plant));
            }
        }
        Router {
            routes,
            namer: Namer::new(),
            by_topic: HashMap::new(),
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
            let route = &mut self.routes[i];
            let decoding = route.spec.decode(payload, arrival_ms);
            let captures = route.filter.captures(topic).unwrap_or_default();
            self.namer
                .name(&route.target, &captures, decoding, &mut out);
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

#[cfg(test)]
mod frame_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Reading;
    use crate::source::Discovery;
    use std::path::Path;

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
        let from = Some("mqtt b pattern factory/#".to_owned());
        assert_eq!(
            first.discovered,
            vec![Discovery {
                source: from,
                ..Discovery::meta(crate::model::SensorMeta {
                    id: "temp-001".into(),
                    name: "temperature".into(),
                    unit: "°C".into(),
                    group: "factory".into(),
                    range: None
                })
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
        assert_eq!(good.discovered[0].meta.unit, "°C");
    }
}
