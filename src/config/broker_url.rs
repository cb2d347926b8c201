//! `[[mqtt]] url` and `fallback_urls`: `mqtt://host:port` / `mqtts://host:port`.

use std::fmt;

/// Where a broker listens, and whether the connection uses TLS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerUrl {
    pub tls: bool,
    pub host: String,
    pub port: u16,
}

/// Why a broker url is refused; names the url (its password hidden).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BrokerUrlError {
    #[error(
        "MQTT url {redacted:?}: credentials do not belong in the url: set username = {user:?} \
         and the password with password_env or password_file"
    )]
    Credentials { redacted: String, user: String },
    #[error("MQTT url {0:?} must start with mqtt:// or mqtts://")]
    Scheme(String),
    #[error("MQTT url {0:?}: unclosed [ in an IPv6 address")]
    UnclosedIpv6(String),
    #[error("MQTT url {0:?}: expected mqtt://host:port (no path, user or query)")]
    NotHostPort(String),
    #[error("MQTT url {url:?}: port {port:?} is not a number 1-65535")]
    Port { url: String, port: String },
}

impl BrokerUrl {
    pub fn parse(url: &str) -> Result<BrokerUrl, BrokerUrlError> {
        if let Some(user_info) = super::url_user_info(url) {
            return Err(BrokerUrlError::Credentials {
                redacted: super::redact_url(url).into_owned(),
                user: user_info.split(':').next().unwrap_or_default().to_owned(),
            });
        }
        let (tls, rest) = if let Some(rest) = url.strip_prefix("mqtts://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("mqtt://") {
            (false, rest)
        } else {
            return Err(BrokerUrlError::Scheme(url.to_owned()));
        };
        let (host, port) = split_host_port(url, rest.trim_end_matches('/'))?;
        if host.is_empty() || host.contains(['/', '@', '?']) {
            return Err(BrokerUrlError::NotHostPort(url.to_owned()));
        }
        let port = match port {
            Some(port) => parse_port(url, port)?,
            None if tls => 8883,
            None => 1883,
        };
        Ok(BrokerUrl {
            tls,
            host: host.to_owned(),
            port,
        })
    }
}

/// `host:port`, `[v6]:port`, or a host alone.
fn split_host_port<'a>(
    url: &str,
    rest: &'a str,
) -> Result<(&'a str, Option<&'a str>), BrokerUrlError> {
    if let Some(v6) = rest.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .ok_or_else(|| BrokerUrlError::UnclosedIpv6(url.to_owned()))?;
        return Ok((host, after.strip_prefix(':')));
    }
    Ok(match rest.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (rest, None),
    })
}

fn parse_port(url: &str, port: &str) -> Result<u16, BrokerUrlError> {
    port.parse::<u16>()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| BrokerUrlError::Port {
            url: url.to_owned(),
            port: port.to_owned(),
        })
}

impl fmt::Display for BrokerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "mqtts" } else { "mqtt" };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{scheme}://{}:{}", self.host, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls_with_default_ports_and_ipv6() {
        assert_eq!(
            BrokerUrl::parse("mqtt://127.0.0.1:1884").unwrap(),
            BrokerUrl {
                tls: false,
                host: "127.0.0.1".into(),
                port: 1884
            }
        );
        assert_eq!(BrokerUrl::parse("mqtts://broker.lan").unwrap().port, 8883);
        assert_eq!(BrokerUrl::parse("mqtt://broker.lan/").unwrap().port, 1883);
        let v6 = BrokerUrl::parse("mqtt://[::1]:1999").unwrap();
        assert_eq!((v6.host.as_str(), v6.port), ("::1", 1999));
        assert_eq!(v6.to_string(), "mqtt://[::1]:1999");
        assert!(
            BrokerUrl::parse("tcp://x")
                .unwrap_err()
                .to_string()
                .contains("mqtt://")
        );
        assert!(
            BrokerUrl::parse("mqtt://x:99999")
                .unwrap_err()
                .to_string()
                .contains("port")
        );
        assert!(BrokerUrl::parse("mqtt://u@x").is_err());
        assert!(BrokerUrl::parse("mqtt://").is_err());
    }

    #[test]
    fn each_refusal_names_the_url_and_what_to_write() {
        let cases = [
            (
                "mqtt://ops:S3cret@broker:1883",
                "MQTT url \"mqtt://ops:***@broker:1883\": credentials do not belong in the url: \
                 set username = \"ops\" and the password with password_env or password_file",
            ),
            (
                "tcp://x",
                "MQTT url \"tcp://x\" must start with mqtt:// or mqtts://",
            ),
            (
                "mqtt://[::1:1883",
                "MQTT url \"mqtt://[::1:1883\": unclosed [ in an IPv6 address",
            ),
            (
                "mqtt://host/path",
                "MQTT url \"mqtt://host/path\": expected mqtt://host:port (no path, user or query)",
            ),
            (
                "mqtt://host:0",
                "MQTT url \"mqtt://host:0\": port \"0\" is not a number 1-65535",
            ),
        ];
        for (url, message) in cases {
            assert_eq!(BrokerUrl::parse(url).unwrap_err().to_string(), message);
        }
    }
}
