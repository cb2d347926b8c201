//! Connection settings for one `[[mqtt]]` broker: URLs, client id,
//! credentials, TLS (rustls with the ring provider) and rumqttc options.

pub use crate::config::BrokerUrl;
use crate::config::{BrokerUrlError, MqttBroker};
use rumqttc::{MqttOptions, TlsConfiguration, Transport};
use rustls::ClientConfig;
use rustls::crypto::CryptoProvider;
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

/// A setup problem that stops this broker from starting; names the broker and the file or variable.
#[derive(Debug, thiserror::Error)]
#[error("MQTT broker {broker:?}: {problem}")]
pub struct SetupError {
    pub broker: String,
    #[source]
    pub problem: SetupProblem,
}

/// What keeps a broker's connection from being set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupProblem {
    #[error(transparent)]
    Url(#[from] BrokerUrlError),
    #[error("password_env: environment variable {0} is not set (or not UTF-8)")]
    PasswordEnvUnset(String),
    #[error("a password is set but no username")]
    PasswordWithoutUsername,
    #[error("TLS setup: {0}")]
    Tls(#[source] rustls::Error),
    #[error("client_cert/client_key: {0}")]
    ClientAuth(#[source] rustls::Error),
    #[error("mqtts:// needs CA certificates: none found on this system; set ca_file")]
    NoSystemRoots,
    #[error(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    Pem(#[from] PemError),
}

/// A file a broker names (password, TLS) that cannot be used as it is.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("password_file {file}: cannot read it: {source}")]
    PasswordFile {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("ca_file {file}: no usable CA certificate in it")]
    NoUsableCa { file: String },
    #[error("ca_file {0}")]
    CaFile(#[source] PemError),
    #[error("client_cert {0}")]
    ClientCert(#[source] PemError),
    #[error("client_key {0}")]
    ClientKey(#[source] PemError),
}

/// A PEM file that does not hold what it should; names the file.
#[derive(Debug, thiserror::Error)]
pub enum PemError {
    #[error("{path}: cannot read it: {source}")]
    Unreadable {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a PEM certificate file: {}", pem_problem(.pem))]
    NotCertificates { path: String, pem: pem::Error },
    #[error("{path}: no PEM certificate in it")]
    NoCertificate { path: String },
    #[error("{path}: no private key in it")]
    NoKey { path: String },
    #[error("{path}: not a PEM key file: {}", pem_problem(.pem))]
    NotAKey { path: String, pem: pem::Error },
}

/// A problem `floorwatch check` finds before connecting, at the config key naming the file.
#[derive(Debug)]
pub struct FileProblem {
    pub span: Range<usize>,
    pub error: FileError,
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
        let fail = |problem: SetupProblem| SetupError {
            broker: name.clone(),
            problem,
        };
        let urls = broker
            .urls()
            .map(|u| BrokerUrl::parse(u.get_ref()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| fail(e.into()))?;
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

fn credentials(broker: &MqttBroker) -> Result<Option<(String, String)>, SetupProblem> {
    let password = if let Some(var) = &broker.password_env {
        let var = var.get_ref();
        Some(std::env::var(var).map_err(|_| SetupProblem::PasswordEnvUnset(var.clone()))?)
    } else if let Some(file) = &broker.password_file {
        Some(read_password(file.get_ref())?)
    } else {
        None
    };
    Ok(match (&broker.username, password) {
        (Some(user), password) => Some((user.clone(), password.unwrap_or_default())),
        (None, Some(_)) => return Err(SetupProblem::PasswordWithoutUsername),
        (None, None) => None,
    })
}

/// The first line of a password file.
fn read_password(file: &str) -> Result<String, FileError> {
    let text = std::fs::read_to_string(file).map_err(|source| FileError::PasswordFile {
        file: file.to_owned(),
        source,
    })?;
    Ok(text.lines().next().unwrap_or("").to_owned())
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn tls_config(broker: &MqttBroker) -> Result<ClientConfig, SetupProblem> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(SetupProblem::Tls)?;
    let builder = if broker.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(crate::tls::AnyServerCert::new(provider)))
    } else {
        builder.with_root_certificates(roots(broker)?)
    };
    match (&broker.client_cert, &broker.client_key) {
        (Some(cert), Some(key)) => {
            let certs = read_certs(cert.get_ref())?;
            let key = read_key(key.get_ref())?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(SetupProblem::ClientAuth)
        }
        _ => Ok(builder.with_no_client_auth()),
    }
}

fn roots(broker: &MqttBroker) -> Result<rustls::RootCertStore, SetupProblem> {
    let mut store = rustls::RootCertStore::empty();
    match &broker.ca_file {
        Some(file) => {
            let (added, _) = store.add_parsable_certificates(read_certs(file.get_ref())?);
            if added == 0 {
                return Err(no_usable_ca(file.get_ref()).into());
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(found.certs);
            if store.is_empty() {
                return Err(SetupProblem::NoSystemRoots);
            }
        }
    }
    Ok(store)
}

fn no_usable_ca(file: &str) -> FileError {
    FileError::NoUsableCa {
        file: file.to_owned(),
    }
}

/// What `floorwatch check` can tell before connecting: the files a broker's
/// TLS and password settings name can be read and hold what they should.
/// Each problem comes with the config key's span. Paths are read as the
/// console will read them (relative to the working directory).
pub fn preflight(broker: &MqttBroker) -> Vec<FileProblem> {
    let mut problems = Vec::new();
    let mut found = |span: Range<usize>, error: Option<FileError>| {
        problems.extend(error.map(|error| FileProblem { span, error }));
    };
    if let Some(file) = &broker.password_file {
        found(file.span(), read_password(file.get_ref()).err());
    }
    if let Some(file) = &broker.ca_file {
        found(file.span(), usable_ca(file.get_ref()).err());
    }
    if let Some(cert) = &broker.client_cert {
        let error = read_certs(cert.get_ref()).err();
        found(cert.span(), error.map(FileError::ClientCert));
    }
    if let Some(key) = &broker.client_key {
        let error = read_key(key.get_ref()).err();
        found(key.span(), error.map(FileError::ClientKey));
    }
    problems
}

/// A CA file holds at least one certificate rustls can use.
fn usable_ca(file: &str) -> Result<(), FileError> {
    let certs = read_certs(file).map_err(FileError::CaFile)?;
    match rustls::RootCertStore::empty().add_parsable_certificates(certs) {
        (0, _) => Err(no_usable_ca(file)),
        _ => Ok(()),
    }
}

fn read_certs(path: &str) -> Result<Vec<CertificateDer<'static>>, PemError> {
    let pem = read_pem(path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|pem| PemError::NotCertificates {
            path: path.to_owned(),
            pem,
        })?;
    if certs.is_empty() {
        return Err(PemError::NoCertificate {
            path: path.to_owned(),
        });
    }
    Ok(certs)
}

fn read_key(path: &str) -> Result<PrivateKeyDer<'static>, PemError> {
    let pem = read_pem(path)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| match e {
        pem::Error::NoItemsFound => PemError::NoKey {
            path: path.to_owned(),
        },
        pem => PemError::NotAKey {
            path: path.to_owned(),
            pem,
        },
    })
}

fn read_pem(path: &str) -> Result<Vec<u8>, PemError> {
    std::fs::read(path).map_err(|source| PemError::Unreadable {
        path: path.to_owned(),
        source,
    })
}

/// What is wrong with a PEM file, in the words `check` has always used.
fn pem_problem(e: &pem::Error) -> String {
    match e {
        pem::Error::MissingSectionEnd { end_marker } => format!(
            "section end {:?} missing",
            String::from_utf8_lossy(end_marker)
        ),
        pem::Error::IllegalSectionStart { line } => {
            format!("illegal section start: {:?}", String::from_utf8_lossy(line))
        }
        pem::Error::Base64Decode(e) => e.clone(),
        e => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            read_certs(&plain).unwrap_err().to_string(),
            format!("{plain}: no PEM certificate in it")
        );
        assert_eq!(
            read_key(&plain).unwrap_err().to_string(),
            format!("{plain}: no private key in it")
        );
        let cert_only = write("cert.pem", &cert.pem());
        assert_eq!(
            read_key(&cert_only).unwrap_err().to_string(),
            format!("{cert_only}: no private key in it")
        );

        let pem = cert.pem();
        let cut = write("cut.pem", &pem[..pem.find("-----END").unwrap()]);
        assert_eq!(
            read_certs(&cut).unwrap_err().to_string(),
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
                .to_string()
                .starts_with(&format!("{cut_key}: not a PEM key file: section end")),
        );
        let missing = dir.path().join("missing.pem").display().to_string();
        assert!(
            read_certs(&missing)
                .unwrap_err()
                .to_string()
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
