//! `[[listen]]`: raw UDP datagrams or TCP lines from meters that do not
//! speak MQTT, each read by the same payload keys and id template as a
//! `[[mqtt_pattern]]` ([`PatternKeys`]), with limits on size, rate and
//! connections.

use super::split::{OwnKeys, required, split};
use super::{Diagnostic, PatternKeys};
use serde::Deserialize;
use serde::de::{Deserializer, MapAccess};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use toml::Spanned;

/// Longest datagram or line read by default: 64 KiB.
pub const DEFAULT_MAX_LINE: usize = 64 * 1024;
/// Largest `max_line` accepted: 16 MiB.
pub const MAX_LINE_LIMIT: usize = 16 * 1024 * 1024;
/// Messages a second taken by default; the rest are dropped and counted.
pub const DEFAULT_MAX_RATE: u32 = 10_000;
/// TCP connections open at once by default.
pub const DEFAULT_MAX_CONNECTIONS: usize = 16;
/// Largest `max_connections` accepted.
pub const MAX_CONNECTIONS_LIMIT: usize = 4096;

#[derive(Clone, Debug)]
pub struct Listen {
    /// Name in the status pane; default: the url.
    pub name: Option<Spanned<String>>,
    /// `udp://ADDRESS:PORT` or `tcp://ADDRESS:PORT`.
    pub url: Spanned<String>,
    /// Longest datagram or line, bytes; longer ones are dropped and counted.
    pub max_line: Option<Spanned<usize>>,
    /// Messages a second; more are dropped and counted.
    pub max_rate: Option<Spanned<u32>>,
    /// TCP connections open at once; more are refused and counted.
    pub max_connections: Option<Spanned<usize>>,
    /// Senders taken (`"10.0.0.0/8"`, `"192.168.1.7"`); absent: any.
    pub allow: Option<Spanned<Vec<Spanned<String>>>>,
    pub keys: PatternKeys,
}

/// The keys `[[listen]]` has beside a pattern's.
#[derive(Default)]
struct ListenKeys {
    name: Option<Spanned<String>>,
    url: Option<Spanned<String>>,
    max_line: Option<Spanned<usize>>,
    max_rate: Option<Spanned<u32>>,
    max_connections: Option<Spanned<usize>>,
    allow: Option<Spanned<Vec<Spanned<String>>>>,
}

impl<'de> OwnKeys<'de> for ListenKeys {
    const KEYS: &'static [&'static str] = &[
        "name",
        "url",
        "max_line",
        "max_rate",
        "max_connections",
        "allow",
    ];
    fn read<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "name" => self.name = Some(map.next_value()?),
            "url" => self.url = Some(map.next_value()?),
            "max_line" => self.max_line = Some(map.next_value()?),
            "max_rate" => self.max_rate = Some(map.next_value()?),
            "max_connections" => self.max_connections = Some(map.next_value()?),
            _ => self.allow = Some(map.next_value()?),
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for Listen {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (own, keys): (ListenKeys, PatternKeys) = split(deserializer)?;
        Ok(Listen {
            name: own.name,
            url: required(own.url, "url")?,
            max_line: own.max_line,
            max_rate: own.max_rate,
            max_connections: own.max_connections,
            allow: own.allow,
            keys,
        })
    }
}

impl Listen {
    /// The name in the status pane and the log.
    pub fn name(&self) -> &str {
        self.name.as_ref().unwrap_or(&self.url).get_ref()
    }
    pub fn max_line(&self) -> usize {
        self.max_line
            .as_ref()
            .map_or(DEFAULT_MAX_LINE, |m| *m.get_ref())
    }
    pub fn max_rate(&self) -> u32 {
        self.max_rate
            .as_ref()
            .map_or(DEFAULT_MAX_RATE, |m| *m.get_ref())
    }
    pub fn max_connections(&self) -> usize {
        self.max_connections
            .as_ref()
            .map_or(DEFAULT_MAX_CONNECTIONS, |m| *m.get_ref())
    }
    pub fn parsed_url(&self) -> Result<ListenUrl, ListenUrlError> {
        ListenUrl::parse(self.url.get_ref())
    }
    /// The senders taken; `None` for any.
    pub fn allowed(&self) -> Result<Option<Vec<Subnet>>, SubnetError> {
        let Some(allow) = &self.allow else {
            return Ok(None);
        };
        let nets = allow.get_ref().iter().map(|a| Subnet::parse(a.get_ref()));
        nets.collect::<Result<Vec<_>, _>>().map(Some)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// One message per datagram.
    Udp,
    /// One message per line.
    Tcp,
}

/// Where a listener binds: only this address and port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListenUrl {
    pub transport: Transport,
    pub addr: SocketAddr,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ListenUrlError {
    #[error("listen url {0:?} must start with udp:// or tcp://")]
    Scheme(String),
    #[error(
        "listen url {0:?}: expected udp://ADDRESS:PORT or tcp://ADDRESS:PORT with an IP address \
         (0.0.0.0 for every interface, 127.0.0.1 for this machine, [::] for IPv6)"
    )]
    NotAddress(String),
    #[error("listen url {url:?}: port {port:?} is not a number 1-65535")]
    Port { url: String, port: String },
}

impl ListenUrl {
    pub fn parse(url: &str) -> Result<ListenUrl, ListenUrlError> {
        let (transport, rest) = if let Some(rest) = url.strip_prefix("udp://") {
            (Transport::Udp, rest)
        } else if let Some(rest) = url.strip_prefix("tcp://") {
            (Transport::Tcp, rest)
        } else {
            return Err(ListenUrlError::Scheme(url.to_owned()));
        };
        let not_address = || ListenUrlError::NotAddress(url.to_owned());
        let (host, port) = rest.rsplit_once(':').ok_or_else(not_address)?;
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let ip: IpAddr = host.parse().map_err(|_| not_address())?;
        let port = port
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| ListenUrlError::Port {
                url: url.to_owned(),
                port: port.to_owned(),
            })?;
        Ok(ListenUrl {
            transport,
            addr: SocketAddr::new(ip, port),
        })
    }
}

impl fmt::Display for ListenUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.transport {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
        };
        write!(f, "{scheme}://{}", self.addr)
    }
}

/// `10.0.0.0/8`, `192.168.1.7` (one address), `fd00::/8`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Subnet {
    addr: IpAddr,
    prefix: u8,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "allow {0:?}: expected an IP address or a network like \"10.0.0.0/8\" (prefix up to 32 for IPv4, 128 for IPv6)"
)]
pub struct SubnetError(String);

impl Subnet {
    pub fn parse(text: &str) -> Result<Subnet, SubnetError> {
        let bad = || SubnetError(text.to_owned());
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let addr: IpAddr = addr.trim().parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.trim().parse::<u8>().ok().filter(|p| *p <= max),
            None => Some(max),
        };
        Ok(Subnet {
            addr,
            prefix: prefix.ok_or_else(bad)?,
        })
    }

    /// Whether `ip` is in this network (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => same_prefix(
                u128::from(net.to_bits()),
                u128::from(ip.to_bits()),
                32,
                self.prefix,
            ),
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                same_prefix(net.to_bits(), ip.to_bits(), 128, self.prefix)
            }
            _ => false,
        }
    }
}

/// The top `prefix` of `width` bits of `a` and `b` are equal.
fn same_prefix(a: u128, b: u128, width: u32, prefix: u8) -> bool {
    let shift = width - u32::from(prefix);
    a.checked_shr(shift).unwrap_or(0) == b.checked_shr(shift).unwrap_or(0)
}

/// The checks of every `[[listen]]`, at the key to blame.
pub(super) fn check(listens: &[Listen], diags: &mut Vec<Diagnostic>) {
    let mut urls: Vec<(ListenUrl, &Spanned<String>)> = Vec::new();
    for listen in listens {
        match listen.parsed_url() {
            Err(refused) => diags.push(Diagnostic::at(listen.url.span(), refused.to_string())),
            Ok(url) => match urls.iter().find(|(u, _)| *u == url) {
                Some((_, first)) => diags.push(
                    Diagnostic::at(listen.url.span(), format!("{url} is listened on twice"))
                        .with_related(first.span(), "first at"),
                ),
                None => urls.push((url, &listen.url)),
            },
        }
        check_limits(listen, diags);
        for net in listen.allow.iter().flat_map(|a| a.get_ref()) {
            if let Err(refused) = Subnet::parse(net.get_ref()) {
                diags.push(Diagnostic::at(net.span(), refused.to_string()));
            }
        }
        if let Err(refused) = super::LineRoute::of_listen(listen) {
            diags.push(Diagnostic::at(refused.span.clone(), refused.to_string()));
        }
    }
}

fn check_limits(listen: &Listen, diags: &mut Vec<Diagnostic>) {
    let mut within = |value: Option<(usize, std::ops::Range<usize>)>, key: &str, max: usize| {
        if let Some((value, span)) = value.filter(|(v, _)| !(1..=max).contains(v)) {
            diags.push(Diagnostic::at(
                span,
                format!("{key} = {value} must be between 1 and {max}"),
            ));
        }
    };
    let spanned = |s: &Spanned<usize>| (*s.get_ref(), s.span());
    within(
        listen.max_line.as_ref().map(spanned),
        "max_line",
        MAX_LINE_LIMIT,
    );
    within(
        listen.max_connections.as_ref().map(spanned),
        "max_connections",
        MAX_CONNECTIONS_LIMIT,
    );
    let rate = listen.max_rate.as_ref();
    within(
        rate.map(|r| (*r.get_ref() as usize, r.span())),
        "max_rate",
        u32::MAX as usize,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_a_transport_an_ip_address_and_a_port() {
        let udp = ListenUrl::parse("udp://0.0.0.0:9000").unwrap();
        assert_eq!(udp.transport, Transport::Udp);
        assert_eq!(udp.to_string(), "udp://0.0.0.0:9000");
        let v6 = ListenUrl::parse("tcp://[::1]:9001").unwrap();
        assert_eq!(
            (v6.transport, v6.to_string()),
            (Transport::Tcp, "tcp://[::1]:9001".into())
        );
        assert_eq!(
            ListenUrl::parse("http://0.0.0.0:80")
                .unwrap_err()
                .to_string(),
            "listen url \"http://0.0.0.0:80\" must start with udp:// or tcp://"
        );
        assert!(matches!(
            ListenUrl::parse("udp://meters.lan:9000"),
            Err(ListenUrlError::NotAddress(_))
        ));
        assert!(matches!(
            ListenUrl::parse("udp://0.0.0.0"),
            Err(ListenUrlError::NotAddress(_))
        ));
        for port in ["0", "65536", "x"] {
            assert!(matches!(
                ListenUrl::parse(&format!("tcp://127.0.0.1:{port}")),
                Err(ListenUrlError::Port { .. })
            ));
        }
    }

    #[test]
    fn subnets_hold_their_addresses() {
        let net = Subnet::parse("10.0.0.0/8").unwrap();
        assert!(net.contains("10.200.3.4".parse().unwrap()));
        assert!(net.contains("::ffff:10.1.2.3".parse().unwrap()));
        assert!(!net.contains("11.0.0.1".parse().unwrap()));
        assert!(!net.contains("fd00::1".parse().unwrap()));
        let one = Subnet::parse("192.168.1.7").unwrap();
        assert!(one.contains("192.168.1.7".parse().unwrap()));
        assert!(!one.contains("192.168.1.8".parse().unwrap()));
        let any = Subnet::parse("0.0.0.0/0").unwrap();
        assert!(any.contains("8.8.8.8".parse().unwrap()));
        let v6 = Subnet::parse("fd00::/8").unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()));
        assert!(Subnet::parse("10.0.0.0/33").is_err());
        assert!(Subnet::parse("ten").is_err());
    }

    #[test]
    fn a_listener_gives_its_sensors_the_pattern_limits_and_payload_group() {
        let text = r#"
[[listen]]
url = "udp://127.0.0.1:9000"
id = "meter.{id}"
id_path = "/id"
value = "/kwh"
group_path = "/zone"
unit = "kWh"
range = [0, 500]
alarm = { hh = 400, h = 300 }
"#;
        let config = crate::config::Config::parse(std::path::Path::new("l.toml"), text).unwrap();
        let route = super::super::LineRoute::of_listen(&config.listen[0]).unwrap();
        let super::super::RouteTarget::Pattern { defaults, .. } = route.target else {
            panic!("a listener discovers its sensors");
        };
        assert_eq!(defaults.unit.as_deref(), Some("kWh"));
        assert_eq!(defaults.range, Some((0.0, 500.0)));
        let alarm = defaults.alarm.expect("the listener's alarm limits");
        assert_eq!((alarm.hh, alarm.h), (Some(400.0), Some(300.0)));
        let super::super::PayloadFormat::Json(paths) = route.layout.format else {
            panic!("a JSON listener");
        };
        assert_eq!(paths.group.as_deref(), Some("/zone"));
    }
}
