//! What the header says: which column holds the time (or the date and the
//! time), and whether the file is long (`timestamp,sensor,value[,unit]`) or
//! wide (a timestamp plus one column per sensor).

use super::CsvOptions;
use crate::model::SensorId;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    Long,
    Wide,
}

impl std::str::FromStr for Layout {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "long" => Ok(Layout::Long),
            "wide" => Ok(Layout::Wide),
            _ => Err(format!(
                "unknown layout {s:?}: expected \"long\" or \"wide\""
            )),
        }
    }
}

/// Column `column` of the file becomes sensor `sensor` (with `unit` when it is created).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnMap {
    pub column: String,
    pub sensor: String,
    pub unit: Option<String>,
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
}

#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    Long {
        sensor: usize,
        value: usize,
        unit: Option<usize>,
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
            } => {
                used.extend([*sensor, *value]);
                used.extend(unit);
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
pub fn resolve(headers: Vec<String>, options: &CsvOptions) -> Result<Columns, String> {
    let time = time_columns(&headers);
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
            return Err(format!(
                "a long layout needs a sensor and a value column (e.g. timestamp,sensor,value); the header has {}",
                quoted_list(&headers)
            ));
        }
        (Some(Layout::Long), Some((sensor, value))) | (None, Some((sensor, value)))
            if options.map.is_empty() =>
        {
            let mut skip = taken.clone();
            skip.extend([sensor, value]);
            Shape::Long {
                sensor,
                value,
                unit: find(&headers, UNIT_NAMES, &skip),
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
) -> Result<Vec<SensorColumn>, String> {
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
            })
            .collect();
        if cols.is_empty() {
            return Err(format!(
                "no value columns: the header has only {}",
                quoted_list(headers)
            ));
        }
        if let Some(empty) = cols.iter().find(|c| c.sensor.as_str().is_empty()) {
            return Err(format!(
                "column {} has no name: name it in the header or map it with --map",
                empty.index + 1
            ));
        }
        return Ok(cols);
    }
    options
        .map
        .iter()
        .map(|m| {
            let index = headers
                .iter()
                .position(|h| h.trim() == m.column)
                .or_else(|| {
                    headers
                        .iter()
                        .position(|h| h.trim().eq_ignore_ascii_case(&m.column))
                })
                .ok_or_else(|| {
                    format!(
                        "column {:?} (from the mapping) is not in the header: it has {}",
                        m.column,
                        quoted_list(headers)
                    )
                })?;
            Ok(SensorColumn {
                index,
                header: headers[index].clone(),
                sensor: SensorId::new(&m.sensor),
                unit: m.unit.clone().unwrap_or_default(),
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
                unit: Some(3)
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
                unit: "V".into()
            }])
        );
        let err = resolve(headers(&["Date", "Time", "Volts"]), &options).unwrap_err();
        assert!(
            err.contains("\"Voltage\" (from the mapping) is not in the header"),
            "{err}"
        );
    }

    #[test]
    fn forced_long_layout_without_columns_is_explained() {
        let options = CsvOptions {
            layout: Some(Layout::Long),
            ..Default::default()
        };
        let err = resolve(headers(&["ts", "a", "b"]), &options).unwrap_err();
        assert!(err.contains("needs a sensor and a value column"), "{err}");
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
                unit: None
            }
        );
    }
}
