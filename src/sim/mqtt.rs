//! An in-process MQTT broker (rumqttd) on loopback, on an ephemeral port:
//! the demo plant's broker, and a broker for tests that need no Mosquitto.

use rumqttc::{AsyncClient, MqttOptions};
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::time::Duration;

/// Why the in-process broker did not start.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("finding a free port on 127.0.0.1 for the in-process MQTT broker")]
    FreePort(#[source] std::io::Error),
    #[error("starting the in-process MQTT broker thread")]
    Thread(#[source] std::io::Error),
    #[error("the in-process MQTT broker did not answer on 127.0.0.1:{port} within {limit:?}")]
    NoAnswer { port: u16, limit: Duration },
}

/// A rumqttd broker running on threads of its own in this process.
pub struct InProcessBroker {
    pub port: u16,
}

impl InProcessBroker {
    /// Starts a broker on 127.0.0.1 and returns once it answers an MQTT CONNECT.
    pub async fn start() -> Result<InProcessBroker, BrokerError> {
        let port = free_port().map_err(BrokerError::FreePort)?;
        let config = broker_config(port);
        std::thread::Builder::new()
            .name("demo-mqtt-broker".into())
            .spawn(move || {
                let mut broker = rumqttd::Broker::new(config);
                if let Err(e) = broker.start() {
                    tracing::error!("in-process MQTT broker stopped: {e}");
                }
            })
            .map_err(BrokerError::Thread)?;
        wait_for_connack(port, Duration::from_secs(10)).await?;
        Ok(InProcessBroker { port })
    }

    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }
}

/// rumqttd binds its own listener, so the port is picked by the OS first
/// (bind to port 0, read it, release it) and then handed over.
fn free_port() -> std::io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

/// Connects until the broker's listener (on another thread) is up and answers.
async fn wait_for_connack(port: u16, limit: Duration) -> Result<(), BrokerError> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut options = MqttOptions::new("floorwatch-demo-probe", "127.0.0.1", port);
    options.set_keep_alive(Duration::from_secs(5));
    let (client, mut eventloop) = AsyncClient::new(options, 4);
    let connected = tokio::time::timeout_at(deadline, async {
        loop {
            match eventloop.poll().await {
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(_))) => return,
                Ok(_) => {}
                // Not listening yet: the listener has no readiness signal to wait on.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    })
    .await;
    if connected.is_err() {
        return Err(BrokerError::NoAnswer { port, limit });
    }
    let _ = client.disconnect().await;
    let _ = tokio::time::timeout(Duration::from_secs(1), eventloop.poll()).await;
    Ok(())
}

fn broker_config(port: u16) -> rumqttd::Config {
    let connections = rumqttd::ConnectionSettings {
        connection_timeout_ms: 60_000,
        max_payload_size: 1024 * 1024,
        max_inflight_count: 100,
        auth: None,
        external_auth: None,
        dynamic_filters: true,
    };
    let server = rumqttd::ServerSettings {
        name: "demo-v4".into(),
        listen: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        tls: None,
        next_connection_delay_ms: 1,
        connections,
    };
    rumqttd::Config {
        id: 0,
        router: rumqttd::RouterConfig {
            max_connections: 1000,
            max_outgoing_packet_count: 200,
            max_segment_size: 16 * 1024 * 1024,
            max_segment_count: 10,
            ..Default::default()
        },
        v4: Some(HashMap::from([("1".to_owned(), server)])),
        ..Default::default()
    }
}
