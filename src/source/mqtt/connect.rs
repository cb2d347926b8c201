//! Connection settings for one `[[mqtt]]` broker: URLs, client id,
//! credentials, TLS (rustls with the ring provider) and rumqttc options.

use crate::config::MqttBroker;
use rumqttc::{MqttOptions, TlsConfiguration, Transport};
use rustls::ClientConfig;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use std::sync::Arc;
use std::time::Duration;

/// `mqtt://host:port` / `mqtts://host:port`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerUrl {
    pub tls: bool,
    pub host: String,
    pub port: u16,
}

impl BrokerUrl {
    pub fn parse(url: &str) -> Result<BrokerUrl, String> {
        if let Some(user_info) = crate::config::url_user_info(url) {
            let user = user_info.split(':').next().unwrap_or_default();
            return Err(format!(
                "MQTT url {:?}: credentials do not belong in the url: set username = {user:?} \
                 and the password with password_env or password_file",
                crate::config::redact_url(url)
            ));
        }
        let (tls, rest) = if let Some(rest) = url.strip_prefix("mqtts://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("mqtt://") {
            (false, rest)
        } else {
            return Err(format!(
                "MQTT url {url:?} must start with mqtt:// or mqtts://"
            ));
        };
        let rest = rest.trim_end_matches('/');
        let default_port = if tls { 8883 } else { 1883 };
        let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
            let (host, after) = v6
                .split_once(']')
                .ok_or_else(|| format!("MQTT url {url:?}: unclosed [ in an IPv6 address"))?;
            (host, after.strip_prefix(':'))
        } else {
            match rest.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (rest, None),
            }
        };
        if host.is_empty() || host.contains(['/', '@', '?']) {
            return Err(format!(
                "MQTT url {url:?}: expected mqtt://host:port (no path, user or query)"
            ));
        }
        let port =
            match port {
                Some(p) => p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| {
                    format!("MQTT url {url:?}: port {p:?} is not a number 1-65535")
                })?,
                None => default_port,
            };
        Ok(BrokerUrl {
            tls,
            host: host.to_owned(),
            port,
        })
    }
}

impl std::fmt::Display for BrokerUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.tls { "mqtts" } else { "mqtt" };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{scheme}://{}:{}", self.host, self.port)
        }
    }
}

/// A setup problem that stops this broker from starting; names the broker and the file or variable.
#[derive(Debug, thiserror::Error)]
#[error("MQTT broker {broker:?}: {message}")]
pub struct SetupError {
    pub broker: String,
    pub message: String,
}

/// Everything needed to (re)build the connection options of one broker.
#[derive(Clone)]
pub struct Connection {
    pub name: String,
    pub urls: Vec<BrokerUrl>,
    pub client_id: String,
    credentials: Option<(String, String)>,
    tls: Option<Arc<ClientConfig>>,
    pub insecure: bool,
    keep_alive: Duration,
    max_packet_size: usize,
    clean_session: bool,
}

impl Connection {
    pub fn from_config(broker: &MqttBroker) -> Result<Connection, SetupError> {
        let name = broker.name.get_ref().clone();
        let fail = |message: String| SetupError {
            broker: name.clone(),
            message,
        };
        let urls = broker
            .urls()
            .map(|u| BrokerUrl::parse(u.get_ref()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(fail)?;
        let tls = if urls.iter().any(|u| u.tls) {
            Some(Arc::new(tls_config(broker).map_err(fail)?))
        } else {
            None
        };
        Ok(Connection {
            client_id: broker.client_id.clone().unwrap_or_else(default_client_id),
            credentials: credentials(broker).map_err(fail)?,
            tls,
            insecure: broker.insecure,
            keep_alive: broker
                .keep_alive
                .map_or(Duration::from_secs(30), |d| d.0.max(Duration::from_secs(1))),
            max_packet_size: broker.max_packet_size(),
            clean_session: broker.clean_session,
            urls,
            name,
        })
    }

    /// rumqttc options for the `index`-th URL (wrapping).
    pub fn options(&self, index: usize) -> MqttOptions {
        let url = &self.urls[index % self.urls.len()];
        let mut options = MqttOptions::new(self.client_id.clone(), url.host.clone(), url.port);
        options
            .set_keep_alive(self.keep_alive)
            .set_clean_session(self.clean_session)
            .set_manual_acks(true)
            // Read any packet the protocol allows: a payload above
            // `max_packet_size` is then received, counted and acknowledged
            // (see `Connection::max_payload`) instead of failing the
            // connection on every re-delivery, forever.
            .set_max_packet_size(MQTT_MAX_PACKET, self.max_packet_size)
            .set_request_channel_capacity(REQUEST_CAPACITY);
        if let Some((user, password)) = &self.credentials {
            options.set_credentials(user.clone(), password.clone());
        }
        if url.tls
            && let Some(tls) = &self.tls
        {
            options.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(
                tls.clone(),
            )));
        }
        options
    }

    /// Largest payload decoded; larger ones are bad payloads.
    pub fn max_payload(&self) -> usize {
        self.max_packet_size
    }

    pub fn url(&self, index: usize) -> &BrokerUrl {
        &self.urls[index % self.urls.len()]
    }
}

/// MQTT's largest packet: a remaining length of 268,435,455 bytes plus the
/// fixed header.
const MQTT_MAX_PACKET: usize = 268_435_455 + 5;

/// Requests (PUBACKs, SUBSCRIBEs) queued for the event loop.
pub const REQUEST_CAPACITY: usize = 1024;

/// `floorwatch-<host>-<user>`: stable across restarts so the broker keeps the session.
pub fn default_client_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_else(|| "host".into());
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "user".into());
    let clean = |s: &str| -> String {
        s.trim()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect()
    };
    format!("floorwatch-{}-{}", clean(&host), clean(&user))
}

fn credentials(broker: &MqttBroker) -> Result<Option<(String, String)>, String> {
    let password = if let Some(var) = &broker.password_env {
        let var = var.get_ref();
        Some(std::env::var(var).map_err(|_| {
            format!("password_env: environment variable {var} is not set (or not UTF-8)")
        })?)
    } else if let Some(file) = &broker.password_file {
        let file = file.get_ref();
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("password_file {file}: cannot read it: {e}"))?;
        Some(text.lines().next().unwrap_or("").to_owned())
    } else {
        None
    };
    Ok(match (&broker.username, password) {
        (Some(user), password) => Some((user.clone(), password.unwrap_or_default())),
        (None, Some(_)) => return Err("a password is set but no username".into()),
        (None, None) => None,
    })
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn tls_config(broker: &MqttBroker) -> Result<ClientConfig, String> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?;
    let builder = if broker.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyServerCert(provider)))
    } else {
        builder.with_root_certificates(roots(broker)?)
    };
    match (&broker.client_cert, &broker.client_key) {
        (Some(cert), Some(key)) => {
            let certs = read_certs(cert.get_ref())?;
            let key = read_key(key.get_ref())?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| format!("client_cert/client_key: {e}"))
        }
        _ => Ok(builder.with_no_client_auth()),
    }
}

fn roots(broker: &MqttBroker) -> Result<rustls::RootCertStore, String> {
    let mut store = rustls::RootCertStore::empty();
    match &broker.ca_file {
        Some(file) => {
            let (added, _) = store.add_parsable_certificates(read_certs(file.get_ref())?);
            if added == 0 {
                return Err(format!(
                    "ca_file {}: no usable CA certificate in it",
                    file.get_ref()
                ));
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(found.certs);
            if store.is_empty() {
                return Err(
                    "mqtts:// needs CA certificates: none found on this system; set ca_file".into(),
                );
            }
        }
    }
    Ok(store)
}

/// What `floorwatch check` can tell before connecting: the files a broker's
/// TLS and password settings name can be read and hold what they should.
/// Each problem comes with the config key's span. Paths are read as the
/// console will read them (relative to the working directory).
pub fn preflight(broker: &MqttBroker) -> Vec<(std::ops::Range<usize>, String)> {
    let mut problems = Vec::new();
    if let Some(file) = &broker.password_file
        && let Err(e) = std::fs::read_to_string(file.get_ref())
    {
        problems.push((
            file.span(),
            format!("password_file {}: cannot read it: {e}", file.get_ref()),
        ));
    }
    if let Some(file) = &broker.ca_file {
        let usable = read_certs(file.get_ref()).and_then(|certs| {
            let mut store = rustls::RootCertStore::empty();
            match store.add_parsable_certificates(certs) {
                (0, _) => Err(format!(
                    "{}: no usable CA certificate in it",
                    file.get_ref()
                )),
                _ => Ok(()),
            }
        });
        if let Err(e) = usable {
            problems.push((file.span(), format!("ca_file {e}")));
        }
    }
    if let Some(cert) = &broker.client_cert
        && let Err(e) = read_certs(cert.get_ref())
    {
        problems.push((cert.span(), format!("client_cert {e}")));
    }
    if let Some(key) = &broker.client_key
        && let Err(e) = read_key(key.get_ref())
    {
        problems.push((key.span(), format!("client_key {e}")));
    }
    problems
}

fn read_certs(path: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = std::fs::read(path).map_err(|e| format!("{path}: cannot read it: {e}"))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{path}: not a PEM certificate file: {}", pem_problem(e)))?;
    if certs.is_empty() {
        return Err(format!("{path}: no PEM certificate in it"));
    }
    Ok(certs)
}

fn read_key(path: &str) -> Result<PrivateKeyDer<'static>, String> {
    let pem = std::fs::read(path).map_err(|e| format!("{path}: cannot read it: {e}"))?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| match e {
        pem::Error::NoItemsFound => format!("{path}: no private key in it"),
        e => format!("{path}: not a PEM key file: {}", pem_problem(e)),
    })
}

/// What is wrong with a PEM file, in the words `check` has always used.
fn pem_problem(e: pem::Error) -> String {
    match e {
        pem::Error::MissingSectionEnd { end_marker } => format!(
            "section end {:?} missing",
            String::from_utf8_lossy(&end_marker)
        ),
        pem::Error::IllegalSectionStart { line } => {
            format!(
                "illegal section start: {:?}",
                String::from_utf8_lossy(&line)
            )
        }
        pem::Error::Base64Decode(e) => e,
        e => e.to_string(),
    }
}

/// `insecure = true`: any certificate is accepted (signatures are still checked).
#[derive(Debug)]
struct AnyServerCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
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
        assert!(BrokerUrl::parse("tcp://x").unwrap_err().contains("mqtt://"));
        assert!(
            BrokerUrl::parse("mqtt://x:99999")
                .unwrap_err()
                .contains("port")
        );
        assert!(BrokerUrl::parse("mqtt://u@x").is_err());
        assert!(BrokerUrl::parse("mqtt://").is_err());
    }

    #[test]
    fn pem_files_are_read_and_their_problems_named() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name).display().to_string();
            std::fs::write(&path, text).unwrap();
            path
        };
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["console.plant".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let both = write(
            "both.pem",
            &format!("{}{}", cert.pem(), key.serialize_pem()),
        );
        let certs = read_certs(&both).unwrap();
        assert_eq!(certs.len(), 1);
        assert_eq!(certs[0].as_ref(), cert.der().as_ref());
        assert_eq!(
            read_key(&both).unwrap().secret_der(),
            key.serialize_der().as_slice()
        );

        let plain = write("plain.pem", "not a certificate\n");
        assert_eq!(
            read_certs(&plain).unwrap_err(),
            format!("{plain}: no PEM certificate in it")
        );
        assert_eq!(
            read_key(&plain).unwrap_err(),
            format!("{plain}: no private key in it")
        );
        let cert_only = write("cert.pem", &cert.pem());
        assert_eq!(
            read_key(&cert_only).unwrap_err(),
            format!("{cert_only}: no private key in it")
        );

        let pem = cert.pem();
        let cut = write("cut.pem", &pem[..pem.find("-----END").unwrap()]);
        assert_eq!(
            read_certs(&cut).unwrap_err(),
            format!(
                "{cut}: not a PEM certificate file: \
                 section end \"CERTIFICATE\" missing"
            )
        );
        let key_pem = key.serialize_pem();
        let cut_key = write("cut.key", &key_pem[..key_pem.find("-----END").unwrap()]);
        assert!(
            read_key(&cut_key)
                .unwrap_err()
                .starts_with(&format!("{cut_key}: not a PEM key file: section end")),
        );
        let missing = dir.path().join("missing.pem").display().to_string();
        assert!(
            read_certs(&missing)
                .unwrap_err()
                .starts_with(&format!("{missing}: cannot read it: "))
        );
    }

    #[test]
    fn default_client_id_is_stable_and_mqtt_safe() {
        let id = default_client_id();
        assert_eq!(id, default_client_id());
        assert!(id.starts_with("floorwatch-"));
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    }
}
