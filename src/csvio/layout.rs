//! What the header says: which column holds the time (or the date and the
//! time), and whether the file is long (`timestamp,sensor,value[,unit]`) or
//! wide (a timestamp plus one column per sensor).

use super::CsvOptions;
use crate::model::SensorId;

pub use crate::config::csv::Layout;

/// Column `column` of the file becomes sensor `sensor` (with `unit` and
/// `name` when it is created). From `--map` or an `[[import]]` profile.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ColumnMap {
    pub column: String,
    pub sensor: String,
    pub unit: Option<String>,
    pub name: Option<String>,
    /// `config:line:col` of the mapping when it came from a config file.
    pub origin: Option<String>,
}

/// A column named by the user (`--time-col`, `time_column = ...`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ColumnName {
    pub name: String,
    /// `config:line:col` when it came from a config file.
    pub origin: Option<String>,
}

impl From<&str> for ColumnName {
    fn from(name: &str) -> Self {
        ColumnName {
            name: name.trim().to_owned(),
            origin: None,
        }
    }
}

/// The time column(s) given instead of being found by their header names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeColumnNames {
    /// The timestamp, or with `date` the time of day.
    pub time: ColumnName,
    pub date: Option<ColumnName>,
}

/// The header does not fit the layout or the columns asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayoutError {
    pub message: String,
    /// `config:line:col` when a config entry asked for what is not there.
    pub origin: Option<String>,
}

impl LayoutError {
    fn new(message: String) -> Self {
        LayoutError {
            message,
            origin: None,
        }
    }
}

impl std::fmt::Display for LayoutError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::str::FromStr for ColumnMap {
    type Err = String;
    /// `COLUMN=SENSOR` or `COLUMN=SENSOR:UNIT`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (column, target) = s
            .split_once('=')
            .ok_or_else(|| format!("mapping {s:?} should look like COLUMN=SENSOR[:UNIT]"))?;
        let (sensor, unit) = match target.split_once(':') {
            Some((sensor, unit)) => (sensor, Some(unit.trim().to_owned())),
            None => (target, None),
        };
        if column.trim().is_empty() || sensor.trim().is_empty() {
            return Err(format!(
                "mapping {s:?} should look like COLUMN=SENSOR[:UNIT]"
            ));
        }
        Ok(ColumnMap {
            column: column.trim().to_owned(),
            sensor: sensor.trim().to_owned(),
            unit,
            ..Default::default()
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeColumns {
    Single(usize),
    Split { date: usize, time: usize },
}

/// One value column of a wide file.
#[derive(Clone, Debug, PartialEq)]
pub struct SensorColumn {
    pub index: usize,
    pub header: String,
    pub sensor: SensorId,
    pub unit: String,
    /// Display name when the sensor is created (the id when empty).
    pub name: String,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    Long {
        sensor: usize,
        value: usize,
        unit: Option<usize>,
        /// `good`/`bad`/`stale` per reading, as `floorwatch export readings` writes it.
        quality: Option<usize>,
    },
    Wide(Vec<SensorColumn>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Columns {
    pub headers: Vec<String>,
    pub time: TimeColumns,
    pub shape: Shape,
}

impl Columns {
    /// Every column this layout reads, time first.
    pub fn used(&self) -> Vec<usize> {
        let mut used = match self.time {
            TimeColumns::Single(i) => vec![i],
            TimeColumns::Split { date, time } => vec![date, time],
        };
        match &self.shape {
            Shape::Long {
                sensor,
                value,
                unit,
                quality,
            } => {
                used.extend([*sensor, *value]);
                used.extend(unit);
                used.extend(quality);
            }
            Shape::Wide(cols) => used.extend(cols.iter().map(|c| c.index)),
        }
        used
    }

    pub fn layout(&self) -> Layout {
        match self.shape {
            Shape::Long { .. } => Layout::Long,
            Shape::Wide(_) => Layout::Wide,
        }
    }
}

const TIMESTAMP_NAMES: &[&str] = &[
    "timestamp",
    "datetime",
    "date_time",
    "date time",
    "time_stamp",
    "ts",
    "datahora",
    "data_hora",
    "time",
    "date",
];
const DATE_NAMES: &[&str] = &["date", "data", "fecha", "datum", "day"];
const TIME_NAMES: &[&str] = &["time", "hora", "hour", "zeit", "heure"];
const SENSOR_NAMES: &[&str] = &[
    "sensor",
    "sensor_id",
    "sensorid",
    "tag",
    "matricula",
    "meter",
    "channel",
    "id",
];
const VALUE_NAMES: &[&str] = &["value", "valor", "consumo", "reading", "val"];
const UNIT_NAMES: &[&str] = &["unit", "units", "unidade", "uom"];
const QUALITY_NAMES: &[&str] = &["quality", "qualidade"];

fn find(headers: &[String], names: &[&str], skip: &[usize]) -> Option<usize> {
    names.iter().find_map(|name| {
        headers
            .iter()
            .enumerate()
            .find(|(i, h)| !skip.contains(i) && h.trim().eq_ignore_ascii_case(name))
            .map(|(i, _)| i)
    })
}

/// Works out the columns from the header and the options.
pub fn resolve(headers: Vec<String>, options: &CsvOptions) -> Result<Columns, LayoutError> {
    let time = match &options.time_columns {
        Some(names) => named_time_columns(&headers, names)?,
        None => time_columns(&headers),
    };
    let taken = match time {
        TimeColumns::Single(i) => vec![i],
        TimeColumns::Split { date, time } => vec![date, time],
    };
    let long = match (
        find(&headers, SENSOR_NAMES, &taken),
        find(&headers, VALUE_NAMES, &taken),
    ) {
        (Some(sensor), Some(value)) => Some((sensor, value)),
        _ => None,
    };
    let shape = match (options.layout, long) {
        (Some(Layout::Long), None) => {
            return Err(LayoutError::new(format!(
                "a long layout needs a sensor and a value column (e.g. timestamp,sensor,value); the header has {}",
                quoted_list(&headers)
            )));
        }
        (Some(Layout::Long), Some((sensor, value))) | (None, Some((sensor, value)))
            if options.map.is_empty() =>
        {
            let mut skip = taken.clone();
            skip.extend([sensor, value]);
            let unit = find(&headers, UNIT_NAMES, &skip);
            skip.extend(unit);
            Shape::Long {
                sensor,
                value,
                unit,
                quality: find(&headers, QUALITY_NAMES, &skip),
            }
        }
        _ => Shape::Wide(wide_columns(&headers, &taken, options)?),
    };
    Ok(Columns {
        headers,
        time,
        shape,
    })
}

/// The index of the column called `name`: exact (trimmed) match first, then ignoring ASCII case.
fn header_index(headers: &[String], name: &str) -> Option<usize> {
    let name = name.trim();
    headers.iter().position(|h| h.trim() == name).or_else(|| {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    })
}

fn named_column(headers: &[String], column: &ColumnName, what: &str) -> Result<usize, LayoutError> {
    header_index(headers, &column.name).ok_or_else(|| LayoutError {
        message: format!(
            "{what} {:?} is not in the header: it has {}",
            column.name,
            quoted_list(headers)
        ),
        origin: column.origin.clone(),
    })
}

fn named_time_columns(
    headers: &[String],
    names: &TimeColumnNames,
) -> Result<TimeColumns, LayoutError> {
    let time = named_column(headers, &names.time, "time column")?;
    Ok(match &names.date {
        Some(date) => TimeColumns::Split {
            date: named_column(headers, date, "date column")?,
            time,
        },
        None => TimeColumns::Single(time),
    })
}

fn time_columns(headers: &[String]) -> TimeColumns {
    if let Some(date) = find(headers, DATE_NAMES, &[])
        && let Some(time) = find(headers, TIME_NAMES, &[date])
    {
        return TimeColumns::Split { date, time };
    }
    TimeColumns::Single(find(headers, TIMESTAMP_NAMES, &[]).unwrap_or(0))
}

fn wide_columns(
    headers: &[String],
    taken: &[usize],
    options: &CsvOptions,
) -> Result<Vec<SensorColumn>, LayoutError> {
    if options.map.is_empty() {
        let cols: Vec<_> = headers
            .iter()
            .enumerate()
            .filter(|(i, _)| !taken.contains(i))
            .map(|(index, header)| SensorColumn {
                index,
                header: header.clone(),
                sensor: SensorId::new(header.trim()),
                unit: String::new(),
                name: String::new(),
            })
            .collect();
        if cols.is_empty() {
            return Err(LayoutError::new(format!(
                "no value columns: the header has only {}",
                quoted_list(headers)
            )));
        }
        if let Some(empty) = cols.iter().find(|c| c.sensor.as_str().is_empty()) {
            return Err(LayoutError::new(format!(
                "column {} has no name: name it in the header or map it with --map",
                empty.index + 1
            )));
        }
        return Ok(cols);
    }
    options
        .map
        .iter()
        .map(|m| {
            let column = ColumnName {
                name: m.column.clone(),
                origin: m.origin.clone(),
            };
            let index = named_column(headers, &column, "mapped column")?;
            if taken.contains(&index) {
                return Err(LayoutError {
                    message: format!(
                        "column {:?} is the time column; map value columns only",
                        headers[index]
                    ),
                    origin: m.origin.clone(),
                });
            }
            Ok(SensorColumn {
                index,
                header: headers[index].clone(),
                sensor: SensorId::new(&m.sensor),
                unit: m.unit.clone().unwrap_or_default(),
                name: m.name.clone().unwrap_or_default(),
            })
        })
        .collect()
}

fn quoted_list(headers: &[String]) -> String {
    headers
        .iter()
        .map(|h| format!("{h:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn long_layout_from_names() {
        let cols = resolve(
            headers(&["timestamp", "sensor", "value", "unit"]),
            &CsvOptions::default(),
        )
        .unwrap();
        assert_eq!(cols.time, TimeColumns::Single(0));
        assert_eq!(
            cols.shape,
            Shape::Long {
                sensor: 1,
                value: 2,
                unit: Some(3),
                quality: None,
            }
        );
        let exported = resolve(
            headers(&["timestamp", "sensor", "value", "unit", "quality"]),
            &CsvOptions::default(),
        )
        .unwrap();
        assert_eq!(
            exported.shape,
            Shape::Long {
                sensor: 1,
                value: 2,
                unit: Some(3),
                quality: Some(4),
            }
        );
    }

    #[test]
    fn wide_layout_with_split_date_and_time() {
        let cols = resolve(
            headers(&["Date", "Time", "Voltage", "Global_intensity"]),
            &CsvOptions::default(),
        )
        .unwrap();
        assert_eq!(cols.time, TimeColumns::Split { date: 0, time: 1 });
        let Shape::Wide(sensors) = cols.shape else {
            panic!("not wide")
        };
        let ids: Vec<_> = sensors.iter().map(|c| c.sensor.as_str()).collect();
        assert_eq!(ids, ["Voltage", "Global_intensity"]);
    }

    #[test]
    fn mapping_selects_and_renames_columns() {
        let options = CsvOptions {
            map: vec!["Voltage=house.voltage:V".parse().unwrap()],
            ..Default::default()
        };
        let cols = resolve(headers(&["Date", "Time", "Voltage", "x"]), &options).unwrap();
        assert_eq!(
            cols.shape,
            Shape::Wide(vec![SensorColumn {
                index: 2,
                header: "Voltage".into(),
                sensor: SensorId::new("house.voltage"),
                unit: "V".into(),
                name: String::new(),
            }])
        );
        let err = resolve(headers(&["Date", "Time", "Volts"]), &options).unwrap_err();
        assert_eq!(
            err.message,
            "mapped column \"Voltage\" is not in the header: it has \"Date\", \"Time\", \"Volts\""
        );
        assert_eq!(err.origin, None);
    }

    #[test]
    fn forced_long_layout_without_columns_is_explained() {
        let options = CsvOptions {
            layout: Some(Layout::Long),
            ..Default::default()
        };
        let err = resolve(headers(&["ts", "a", "b"]), &options).unwrap_err();
        assert!(
            err.message.contains("needs a sensor and a value column"),
            "{err}"
        );
    }

    #[test]
    fn bad_mappings_are_rejected() {
        assert!("Voltage".parse::<ColumnMap>().is_err());
        assert!("=x".parse::<ColumnMap>().is_err());
        assert_eq!(
            "a = b".parse::<ColumnMap>().unwrap(),
            ColumnMap {
                column: "a".into(),
                sensor: "b".into(),
                ..Default::default()
            }
        );
    }
}
