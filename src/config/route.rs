//! Topic routes as the config writes them: topic filters with `+`/`#`,
//! sensor-id templates (`{1}.{2}`, `{id}`, `{field}`, `{frame.NAME}`), and
//! the checked route of a sensor's `mqtt = {...}` or a `[[mqtt_pattern]]`
//! that the MQTT source builds its router from.

use super::FrameIdError;
use super::payload::{LayoutProblem, PayloadLayout};
use super::{Listen, MqttBinding, MqttPattern, PatternKeys, SensorDefaults};
use crate::model::SensorId;
use std::ops::Range;

mod template;
pub use template::{IdError, IdFormat, IdTemplate};

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

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TopicError {
    #[error("topic must not be empty")]
    Empty,
    #[error("topic {0:?}: # must be the last level")]
    HashNotLast(String),
    #[error("topic {0:?}: + and # must fill a whole level (like a/+/b or a/#)")]
    PartialLevel(String),
}

impl TopicFilter {
    pub fn parse(text: &str) -> Result<TopicFilter, TopicError> {
        if text.is_empty() {
            return Err(TopicError::Empty);
        }
        let parts: Vec<&str> = text.split('/').collect();
        let mut levels = Vec::with_capacity(parts.len());
        for (i, part) in parts.iter().enumerate() {
            let level = match *part {
                "+" => Level::Plus,
                "#" if i + 1 == parts.len() => Level::Hash,
                "#" => return Err(TopicError::HashNotLast(text.to_owned())),
                p if p.contains(['+', '#']) => {
                    return Err(TopicError::PartialLevel(text.to_owned()));
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

/// Which sensor(s) a route's values are for.
#[derive(Clone, Debug, PartialEq)]
pub enum RouteTarget {
    /// A `[[sensor]]`'s binding: one field of a frame, or the readings whose id matches.
    Sensor {
        id: SensorId,
        field: Option<String>,
        match_id: Option<String>,
    },
    /// A `[[mqtt_pattern]]`: sensors named by the template, discovered as they arrive.
    Pattern {
        id: IdTemplate,
        /// Unit, group, range and alarm limits of the sensors it makes.
        defaults: SensorDefaults,
    },
}

impl RouteTarget {
    /// A pattern's sensors, saying `source` is where they come from.
    fn with_source(self, source: String) -> RouteTarget {
        match self {
            RouteTarget::Pattern { id, mut defaults } => {
                defaults.source = Some(source);
                RouteTarget::Pattern { id, defaults }
            }
            sensor => sensor,
        }
    }
}

/// A checked route: what to subscribe to, how its payloads read, and whose values they are.
#[derive(Clone, Debug, PartialEq)]
pub struct TopicRoute {
    pub filter: TopicFilter,
    pub layout: PayloadLayout,
    pub target: RouteTarget,
}

/// A route the config cannot make, at the key to blame.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{problem}")]
pub struct RouteError {
    pub span: Range<usize>,
    pub problem: RouteProblem,
}

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RouteProblem {
    #[error(transparent)]
    Topic(#[from] TopicError),
    #[error(transparent)]
    Layout(#[from] LayoutProblem),
    #[error(transparent)]
    Id(#[from] IdError),
    #[error("field {field:?} is not in the layout (fields: {})", .fields.join(", "))]
    FieldNotInLayout { field: String, fields: Vec<String> },
    #[error("{{field}} needs a hex or binary layout (fields = [...])")]
    FieldWithoutFrame,
    #[error("{{id}} needs id_path = \"/...\" (where the payload names the sensor)")]
    IdWithoutIdPath,
    #[error("the layout has {0} fields: put {{field}} in the id so each gets its own sensor")]
    FieldsWithoutField(usize),
    #[error("id {id:?}: {problem}")]
    FrameId { id: String, problem: FrameIdError },
}

impl RouteProblem {
    fn at(self, span: Range<usize>) -> RouteError {
        RouteError {
            span,
            problem: self,
        }
    }
}

/// The filter of `topic`, or the problem at its span.
fn filter_of(topic: &toml::Spanned<String>) -> Result<TopicFilter, RouteError> {
    TopicFilter::parse(topic.get_ref()).map_err(|e| RouteProblem::from(e).at(topic.span()))
}

/// The layout of a binding or pattern; a problem no single key is to blame for is at `whole`.
fn layout_of(
    keys: &super::DecodeKeys<'_>,
    whole: &toml::Spanned<String>,
) -> Result<PayloadLayout, RouteError> {
    PayloadLayout::from_keys(keys).map_err(|e| {
        let span = e.span.unwrap_or(whole.span());
        RouteProblem::from(e.problem).at(span)
    })
}

impl TopicRoute {
    /// The route of sensor `sensor`'s `mqtt = {...}`.
    pub fn of_binding(sensor: &str, binding: &MqttBinding) -> Result<TopicRoute, RouteError> {
        let filter = filter_of(&binding.topic)?;
        let layout = layout_of(&binding.decode_keys(), &binding.topic)?;
        let fields = layout.field_names();
        if let Some(field) = &binding.field
            && !fields.contains(&field.get_ref().as_str())
        {
            let problem = RouteProblem::FieldNotInLayout {
                field: field.get_ref().clone(),
                fields: fields.iter().map(|f| f.to_string()).collect(),
            };
            return Err(problem.at(field.span()));
        }
        let first_field = fields.first().map(|f| f.to_string());
        let field = binding
            .field
            .as_ref()
            .map(|f| f.get_ref().clone())
            .or(first_field);
        Ok(TopicRoute {
            filter,
            target: RouteTarget::Sensor {
                id: SensorId::new(sensor),
                field,
                match_id: binding.match_id.clone(),
            },
            layout,
        })
    }

    /// The route of a `[[mqtt_pattern]]`.
    pub fn of_pattern(pattern: &MqttPattern) -> Result<TopicRoute, RouteError> {
        let filter = filter_of(&pattern.topic)?;
        let source = format!(
            "mqtt {} pattern {}",
            pattern.broker.get_ref(),
            pattern.topic.get_ref()
        );
        let (layout, target) = discovery(&pattern.keys, filter.wildcards(), &pattern.topic)?;
        let target = target.with_source(source);
        Ok(TopicRoute {
            filter,
            layout,
            target,
        })
    }
}

/// A checked `[[listen]]`: how its datagrams or lines read, and whose values
/// they are (a pattern's sensors, without a topic).
#[derive(Clone, Debug, PartialEq)]
pub struct LineRoute {
    pub layout: PayloadLayout,
    pub target: RouteTarget,
}

impl LineRoute {
    pub fn of_listen(listen: &Listen) -> Result<LineRoute, RouteError> {
        let (layout, target) = discovery(&listen.keys, 0, &listen.url)?;
        let target = target.with_source(format!("listen {}", listen.url.get_ref()));
        Ok(LineRoute { layout, target })
    }
}

/// The layout and sensors of a pattern's keys, whose id may use `wildcards`
/// captures; a problem of the layout no key is to blame for is at `whole`.
fn discovery(
    keys: &PatternKeys,
    wildcards: usize,
    whole: &toml::Spanned<String>,
) -> Result<(PayloadLayout, RouteTarget), RouteError> {
    let layout = layout_of(&keys.decode_keys(), whole)?;
    let id = IdTemplate::parse(keys.id.get_ref(), wildcards)
        .map_err(|e| RouteProblem::from(e).at(keys.id.span()))?;
    check_template_fits(&id, &layout).map_err(|problem| problem.at(keys.id.span()))?;
    check_frame_ids(&id, &layout, keys.id.get_ref())
        .map_err(|problem| problem.at(keys.id.span()))?;
    let defaults = pattern_defaults(keys, &layout);
    let target = RouteTarget::Pattern { id, defaults };
    Ok((layout, target))
}

/// What a pattern's sensors are unless their payload or a `[[sensor]]` says
/// otherwise; an input that checks its raw range raises `bad` even without
/// `alarm = {...}`.
fn pattern_defaults(keys: &PatternKeys, layout: &PayloadLayout) -> SensorDefaults {
    let alarm = (keys.alarm.as_ref().map(|a| a.get_ref().clone())).or_else(|| {
        layout
            .checks_raw_range()
            .then(super::AlarmLimits::bad_quality_only)
    });
    SensorDefaults {
        name: None,
        unit: keys.unit.clone(),
        group: keys.group.clone(),
        range: keys
            .range
            .as_ref()
            .map(|r| (r.get_ref()[0], r.get_ref()[1])),
        alarm: alarm.map(std::sync::Arc::new),
        source: None,
    }
}

/// `{field}` needs a frame, `{id}` an id path, and a frame of several fields `{field}`.
fn check_template_fits(id: &IdTemplate, layout: &PayloadLayout) -> Result<(), RouteProblem> {
    let fields = layout.field_names().len();
    if id.uses_field() && fields == 0 {
        return Err(RouteProblem::FieldWithoutFrame);
    }
    if id.uses_id() && !layout.has_id_path() {
        return Err(RouteProblem::IdWithoutIdPath);
    }
    if fields > 1 && !id.uses_field() {
        return Err(RouteProblem::FieldsWithoutField(fields));
    }
    Ok(())
}

/// `{frame.NAME}` must name an integer field of every layout.
fn check_frame_ids(
    id: &IdTemplate,
    layout: &PayloadLayout,
    text: &str,
) -> Result<(), RouteProblem> {
    match id
        .frame_fields()
        .find_map(|f| layout.check_frame_id(f).err())
    {
        Some(problem) => Err(RouteProblem::FrameId {
            id: text.to_owned(),
            problem,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let err = IdTemplate::parse("{3}", 2).unwrap_err().to_string();
        assert!(err.contains("{1}..{2}"), "{err}");
        assert!(IdTemplate::parse("{1", 1).is_err());
    }

    #[test]
    fn template_and_topic_problems_read_as_written() {
        assert_eq!(
            IdTemplate::parse("{1", 1).unwrap_err().to_string(),
            "id \"{1\": unclosed {"
        );
        assert_eq!(
            IdTemplate::parse("{1}.{2}", 1).unwrap_err().to_string(),
            "id \"{1}.{2}\": {2} is not a placeholder; use {1}..{1} \
             (the topic's + and # in order), {id} or {field}"
        );
        assert_eq!(
            TopicFilter::parse("a/b+").unwrap_err().to_string(),
            "topic \"a/b+\": + and # must fill a whole level (like a/+/b or a/#)"
        );
    }

    fn pattern(text: &str) -> MqttPattern {
        toml::from_str(&format!("broker = \"b\"\ntopic = \"t/+\"\n{text}")).unwrap()
    }

    #[test]
    fn a_pattern_id_must_fit_its_layout() {
        let problem = |text: &str| {
            let err = TopicRoute::of_pattern(&pattern(text)).unwrap_err();
            assert_eq!(err.span, pattern(text).keys.id.span());
            err.to_string()
        };
        assert_eq!(
            problem("id = \"{field}\""),
            "{field} needs a hex or binary layout (fields = [...])"
        );
        assert_eq!(
            problem("id = \"{id}\""),
            "{id} needs id_path = \"/...\" (where the payload names the sensor)"
        );
        assert_eq!(
            problem(
                "id = \"{1}\"\nfields = [{ name = \"a\", offset = 0, type = \"u8\" }, { name = \"b\", offset = 1, type = \"u8\" }]"
            ),
            "the layout has 2 fields: put {field} in the id so each gets its own sensor"
        );
        assert!(TopicRoute::of_pattern(&pattern("id = \"{1}\"")).is_ok());
    }
}
