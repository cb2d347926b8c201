//! `mqtts://` against a Mosquitto of the test's own with a TLS listener whose
//! certificate is signed by a CA generated here (rcgen). The publisher uses
//! the same broker's plain listener.

use crate::common;
use crate::mqtt_support;

use floorwatch::app::Running;
use floorwatch::source::LinkState;
use mqtt_support::*;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use std::path::Path;

struct Pki {
    ca_pem: String,
    server_pem: String,
    server_key: String,
}

fn generate_pki() -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .unwrap()
        .signed_by(&server_key, &ca)
        .unwrap();
    Pki {
        ca_pem: ca.pem(),
        server_pem: server.pem(),
        server_key: server_key.serialize_pem(),
    }
}

/// A broker with a TLS listener; returns it and the TLS port.
fn tls_broker(dir: &Path, pki: &Pki) -> (OwnMosquitto, u16) {
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let ca = write("ca.pem", &pki.ca_pem);
    let cert = write("server.pem", &pki.server_pem);
    let key = write("server.key", &pki.server_key);
    let tls_port = free_port();
    let broker = OwnMosquitto::start(
        dir,
        &format!("listener {tls_port} 127.0.0.1\ncafile {ca}\ncertfile {cert}\nkeyfile {key}\n"),
    );
    (broker, tls_port)
}

fn console_config(tls_port: u16, ca_file: &Path, insecure: bool) -> String {
    format!(
        r#"[[mqtt]]
name = "secure"
url = "mqtts://127.0.0.1:{tls_port}"
client_id = "fw-tls-console"
ca_file = "{}"
insecure = {insecure}

[[sensor]]
id = "tls.temp"
mqtt = {{ broker = "secure", topic = "tls/temp" }}
"#,
        ca_file.display()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtts_with_a_generated_ca_delivers_readings() {
    if !common::machine_tool("mosquitto") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pki = generate_pki();
    let (broker, tls_port) = tls_broker(dir.path(), &pki);
    let db = dir.path().join("history.sqlite");
    let config = parse_config(&console_config(tls_port, &dir.path().join("ca.pem"), false));
    let running = Running::start(&config, &db).await.unwrap();
    wait_subscribed(&running, "secure").await;
    let mut publisher = Publisher::connect(broker.port, "fw-tls-publisher");
    publisher.publish("tls/temp", "21.5 °C").await;
    publisher.wait_acked(1).await;
    wait_rows(&running, &db, 1).await;
    running.shutdown().await.unwrap();
    let rows = stored(&db);
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].0.as_str(), rows[0].2), ("tls.temp", 21.5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_from_another_ca_is_refused_unless_insecure() {
    if !common::machine_tool("mosquitto") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_broker, tls_port) = tls_broker(dir.path(), &generate_pki());
    let other_ca = dir.path().join("other-ca.pem");
    std::fs::write(&other_ca, generate_pki().ca_pem).unwrap();
    let db = dir.path().join("history.sqlite");

    let strict = parse_config(&console_config(tls_port, &other_ca, false));
    let running = Running::start(&strict, &db).await.unwrap();
    let mut snapshots = running.snapshots.clone();
    let state = wait_state(&mut snapshots, "a TLS error", |s| {
        s.sources
            .iter()
            .any(|src| src.name == "secure" && src.last_error.is_some())
    })
    .await;
    let status = state.sources.iter().find(|s| s.name == "secure").unwrap();
    let error = status.last_error.clone().unwrap();
    assert!(
        error.contains(&format!("mqtts://127.0.0.1:{tls_port}"))
            && error.contains("invalid peer certificate"),
        "{error}"
    );
    assert_ne!(status.state, LinkState::Connected);
    running.shutdown().await.unwrap();

    let lax = parse_config(&console_config(tls_port, &other_ca, true));
    let running = Running::start(&lax, &db).await.unwrap();
    wait_subscribed(&running, "secure").await;
    running.shutdown().await.unwrap();
}
