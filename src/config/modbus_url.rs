//! `[[modbus]] url`: where a device is, `tcp://host:port`, `rtu+tcp://host:port`
//! or `rtu:///dev/ttyUSB0?baud=9600&parity=N&data=8&stop=1`.

/// Where a device is.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ModbusUrl {
    Tcp { host: String, port: u16 },
    RtuOverTcp { host: String, port: u16 },
    Rtu(SerialSettings),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SerialSettings {
    pub path: String,
    pub baud: u32,
    /// `N`, `E` or `O`.
    pub parity: char,
    pub data_bits: u8,
    pub stop_bits: u8,
}

/// Why a Modbus url is refused; names the url (its password hidden).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ModbusUrlError {
    #[error("Modbus url {0:?}: Modbus has no user or password: remove the user@ part")]
    Credentials(String),
    #[error(
        "Modbus url {0:?} must start with tcp://, rtu+tcp:// or rtu:// \
         (e.g. \"tcp://10.0.0.5:502\", \"rtu:///dev/ttyUSB0?baud=9600&parity=N&data=8&stop=1\")"
    )]
    Scheme(String),
    #[error("Modbus url {url:?}: port {port:?} is not a number 0-65535")]
    Port { url: String, port: String },
    #[error("Modbus url {0:?} has no host")]
    NoHost(String),
    #[error("Modbus url {0:?} has no serial device path (rtu:///dev/ttyUSB0?baud=9600)")]
    NoSerialPath(String),
    #[error("Modbus url {url:?}: {pair:?} is not key=value")]
    NotKeyValue { url: String, pair: String },
    #[error("Modbus url {url:?}: {key}={value:?}: expected {expected}")]
    BadValue {
        url: String,
        key: String,
        value: String,
        expected: &'static str,
    },
    #[error("Modbus url {url:?}: unknown option {key:?} (known: baud, parity, data, stop)")]
    UnknownOption { url: String, key: String },
}

impl ModbusUrl {
    pub fn parse(url: &str) -> Result<ModbusUrl, ModbusUrlError> {
        if super::url_user_info(url).is_some() {
            return Err(ModbusUrlError::Credentials(
                super::redact_url(url).into_owned(),
            ));
        }
        if let Some(rest) = url.strip_prefix("tcp://") {
            let (host, port) = host_port(rest, url)?;
            Ok(ModbusUrl::Tcp { host, port })
        } else if let Some(rest) = url.strip_prefix("rtu+tcp://") {
            let (host, port) = host_port(rest, url)?;
            Ok(ModbusUrl::RtuOverTcp { host, port })
        } else if let Some(rest) = url.strip_prefix("rtu://") {
            parse_serial(rest, url).map(ModbusUrl::Rtu)
        } else {
            Err(ModbusUrlError::Scheme(url.to_owned()))
        }
    }

    /// The link this url stands for: devices with equal keys share one connection or bus.
    pub fn link_key(&self) -> String {
        match self {
            ModbusUrl::Tcp { host, port } => format!("tcp://{host}:{port}"),
            ModbusUrl::RtuOverTcp { host, port } => format!("rtu+tcp://{host}:{port}"),
            ModbusUrl::Rtu(s) => format!("rtu://{}", s.path),
        }
    }
}

fn host_port(rest: &str, url: &str) -> Result<(String, u16), ModbusUrlError> {
    let rest = rest.trim_end_matches('/');
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) => {
            let port = port.parse::<u16>().map_err(|_| ModbusUrlError::Port {
                url: url.to_owned(),
                port: port.to_owned(),
            })?;
            (host, port)
        }
        None => (rest, 502),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(ModbusUrlError::NoHost(url.to_owned()));
    }
    Ok((host.to_owned(), port))
}

fn parse_serial(rest: &str, url: &str) -> Result<SerialSettings, ModbusUrlError> {
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() {
        return Err(ModbusUrlError::NoSerialPath(url.to_owned()));
    }
    let mut settings = SerialSettings {
        path: path.to_owned(),
        baud: 9600,
        parity: 'N',
        data_bits: 8,
        stop_bits: 1,
    };
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| ModbusUrlError::NotKeyValue {
                url: url.to_owned(),
                pair: pair.to_owned(),
            })?;
        set_serial_option(&mut settings, key, value).map_err(|problem| match problem {
            OptionProblem::Expected(expected) => ModbusUrlError::BadValue {
                url: url.to_owned(),
                key: key.to_owned(),
                value: value.to_owned(),
                expected,
            },
            OptionProblem::UnknownKey => ModbusUrlError::UnknownOption {
                url: url.to_owned(),
                key: key.to_owned(),
            },
        })?;
    }
    Ok(settings)
}

/// Why one `key=value` of an `rtu://` url does not apply.
enum OptionProblem {
    /// The value is not what the key takes (what it takes).
    Expected(&'static str),
    UnknownKey,
}

fn set_serial_option(
    settings: &mut SerialSettings,
    key: &str,
    value: &str,
) -> Result<(), OptionProblem> {
    use OptionProblem::Expected;
    match key {
        "baud" => {
            settings.baud = value
                .parse()
                .map_err(|_| Expected("a baud rate like 9600"))?
        }
        "parity" => {
            settings.parity = match value.to_ascii_uppercase().as_str() {
                "N" | "NONE" => 'N',
                "E" | "EVEN" => 'E',
                "O" | "ODD" => 'O',
                _ => return Err(Expected("N, E or O")),
            }
        }
        "data" => {
            settings.data_bits = match value {
                "5" | "6" | "7" | "8" => value.parse().map_err(|_| Expected("5, 6, 7 or 8"))?,
                _ => return Err(Expected("5, 6, 7 or 8")),
            }
        }
        "stop" => {
            settings.stop_bits = match value {
                "1" => 1,
                "2" => 2,
                _ => return Err(Expected("1 or 2")),
            }
        }
        _ => return Err(OptionProblem::UnknownKey),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tcp_with_and_without_port() {
        assert_eq!(
            ModbusUrl::parse("tcp://127.0.0.1:5020").unwrap(),
            ModbusUrl::Tcp {
                host: "127.0.0.1".into(),
                port: 5020
            }
        );
        assert_eq!(
            ModbusUrl::parse("tcp://meter.local").unwrap(),
            ModbusUrl::Tcp {
                host: "meter.local".into(),
                port: 502
            }
        );
    }

    #[test]
    fn a_password_in_the_url_is_refused_and_not_shown() {
        let err = ModbusUrl::parse("tcp://admin:S3cret@10.0.0.5:502")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "Modbus url \"tcp://admin:***@10.0.0.5:502\": Modbus has no user or password: remove the user@ part"
        );
    }

    #[test]
    fn parses_rtu_settings() {
        let url = ModbusUrl::parse("rtu:///dev/ttyUSB0?baud=19200&parity=E&data=8&stop=2").unwrap();
        assert_eq!(
            url,
            ModbusUrl::Rtu(SerialSettings {
                path: "/dev/ttyUSB0".into(),
                baud: 19200,
                parity: 'E',
                data_bits: 8,
                stop_bits: 2
            })
        );
        let defaults = ModbusUrl::parse("rtu:///dev/ttyS1").unwrap();
        assert_eq!(defaults.link_key(), "rtu:///dev/ttyS1");
    }

    #[test]
    fn rejects_bad_urls_with_the_reason() {
        let refusal = |url: &str| ModbusUrl::parse(url).unwrap_err().to_string();
        let err = refusal("rtu:///dev/ttyUSB0?baud=fast");
        assert!(err.contains("baud") && err.contains("9600"), "{err}");
        let err = refusal("rtu:///dev/ttyUSB0?speed=9600");
        assert!(err.contains("unknown option \"speed\""), "{err}");
        let err = refusal("http://x");
        assert!(err.contains("tcp://"), "{err}");
        let err = refusal("tcp://host:99999");
        assert!(err.contains("99999"), "{err}");
        assert_eq!(
            refusal("rtu:///dev/ttyUSB0?parity=X"),
            "Modbus url \"rtu:///dev/ttyUSB0?parity=X\": parity=\"X\": expected N, E or O"
        );
        assert_eq!(
            refusal("rtu://?baud=9600"),
            "Modbus url \"rtu://?baud=9600\" has no serial device path (rtu:///dev/ttyUSB0?baud=9600)"
        );
        assert_eq!(
            refusal("rtu:///dev/ttyS0?baud"),
            "Modbus url \"rtu:///dev/ttyS0?baud\": \"baud\" is not key=value"
        );
        assert_eq!(
            refusal("tcp://:502"),
            "Modbus url \"tcp://:502\" has no host"
        );
    }
}
