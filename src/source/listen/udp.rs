//! One message per UDP datagram.

use super::{Intake, Message, stats::Dropped};
use bytes::Bytes;
use tokio::net::UdpSocket;
use tokio::sync::mpsc::error::TrySendError;
use tokio_util::sync::CancellationToken;

/// Largest UDP payload (65,507 bytes over IPv4) fits in this buffer.
const MAX_DATAGRAM: usize = 65_536;

/// Receives datagrams until `cancel`. A datagram longer than `max_line` is
/// seen as longer (it fills the buffer of `max_line + 1` bytes) and dropped.
pub(super) async fn receive(socket: UdpSocket, intake: Intake, cancel: CancellationToken) {
    let Some(queue) = intake.queue.clone() else {
        return;
    };
    let mut buf = vec![0u8; intake.limits.max_line.saturating_add(1).min(MAX_DATAGRAM)];
    loop {
        let received = tokio::select! {
            _ = cancel.cancelled() => return,
            received = socket.recv_from(&mut buf) => received,
        };
        let (size, peer) = match received {
            Ok(got) => got,
            Err(e) => {
                intake.stats.error(format!("receiving: {e}"));
                continue;
            }
        };
        if !intake.allows(peer) {
            continue;
        }
        let Some(arrival) = intake.admit(peer, size <= intake.limits.max_line) else {
            continue;
        };
        let message = Message {
            peer,
            payload: Bytes::copy_from_slice(&buf[..size]),
            arrival,
        };
        match queue.try_send(message) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => intake.stats.dropped(Dropped::Queue, peer, || {
                "the decoder is behind (queue full): datagram dropped".into()
            }),
            Err(TrySendError::Closed(_)) => return,
        }
    }
}
