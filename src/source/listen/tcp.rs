//! One message per line of a TCP connection, at most `max_connections`
//! connections at once.

use super::{Intake, Line, LineSplitter, Message};
use bytes::BytesMut;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Bytes read from a connection at a time.
const READ_SIZE: usize = 8 * 1024;
/// Pause after a failed accept (e.g. out of file descriptors) before the next.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Accepts connections until `cancel`, then waits for them to end.
pub(super) async fn accept(
    listener: TcpListener,
    max_connections: usize,
    intake: Intake,
    cancel: CancellationToken,
) {
    let permits = Arc::new(Semaphore::new(max_connections));
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            _ = cancel.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        while connections.try_join_next().is_some() {}
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                intake.stats.error(format!("accepting a connection: {e}"));
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                }
            }
        };
        if !intake.allows(peer) {
            continue;
        }
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            intake.stats.refused(peer, max_connections);
            continue;
        };
        intake.stats.connected();
        let connection = Connection {
            peer,
            intake: intake.clone(),
            _permit: permit,
        };
        connections.spawn(connection.read(stream, cancel.clone()));
    }
    drop(intake);
    while connections.join_next().await.is_some() {}
}

struct Connection {
    peer: SocketAddr,
    intake: Intake,
    /// Held while the connection is open.
    _permit: OwnedSemaphorePermit,
}

impl Connection {
    /// Reads lines until the peer closes, an error, or `cancel`.
    async fn read(self, mut stream: TcpStream, cancel: CancellationToken) {
        let mut splitter = LineSplitter::new(self.intake.limits.max_line);
        let mut buf = BytesMut::with_capacity(READ_SIZE);
        let mut lines = Vec::new();
        loop {
            buf.clear();
            let read = tokio::select! {
                _ = cancel.cancelled() => break,
                read = stream.read_buf(&mut buf) => read,
            };
            match read {
                Ok(0) => {
                    lines.extend(splitter.finish());
                    self.offer(&mut lines).await;
                    break;
                }
                Ok(_) => splitter.push(&buf, &mut lines),
                Err(e) => {
                    let peer = self.peer;
                    self.intake
                        .stats
                        .error(format!("from {peer}: reading: {e}"));
                    break;
                }
            }
            if !self.offer(&mut lines).await {
                break;
            }
        }
        self.intake.stats.disconnected();
    }

    /// Hands the lines on, waiting for room in the queue (so a fast sender
    /// is slowed by TCP's flow control); false once the decoder is gone.
    async fn offer(&self, lines: &mut Vec<Line>) -> bool {
        let Some(queue) = &self.intake.queue else {
            return false;
        };
        for line in lines.drain(..) {
            let fits = matches!(line, Line::Text(_));
            let Some(arrival) = self.intake.admit(self.peer, fits) else {
                continue;
            };
            let Line::Text(payload) = line else { continue };
            let message = Message {
                peer: self.peer,
                payload,
                arrival,
            };
            if queue.send(message).await.is_err() {
                return false;
            }
        }
        true
    }
}
