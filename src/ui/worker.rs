//! A reader thread for the console: it answers requests one at a time and,
//! when several are queued, only the newest (the operator moves faster than
//! the disk answers). Keeps SQLite reads off the update loop and out of drawing.

use tokio::sync::mpsc;

/// Starts a thread named `name` that maps each request to an answer with
/// `answer`; it stops when the request sender or answer receiver is dropped.
pub fn spawn_latest<Q, A>(
    name: &str,
    mut answer: impl FnMut(&Q) -> A + Send + 'static,
) -> (mpsc::UnboundedSender<Q>, mpsc::UnboundedReceiver<A>)
where
    Q: Send + 'static,
    A: Send + 'static,
{
    let (query_tx, mut query_rx) = mpsc::unbounded_channel::<Q>();
    let (answer_tx, answer_rx) = mpsc::unbounded_channel();
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            while let Some(mut query) = query_rx.blocking_recv() {
                while let Ok(newer) = query_rx.try_recv() {
                    query = newer;
                }
                if answer_tx.send(answer(&query)).is_err() {
                    break;
                }
            }
        })
        .map_err(|e| tracing::error!("cannot start the {name} thread: {e}"))
        .ok();
    (query_tx, answer_rx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_in_order_and_stops_when_the_sender_is_dropped() {
        let (tx, mut rx) = spawn_latest("test-worker", |n: &u32| n * 2);
        tx.send(21).unwrap();
        assert_eq!(rx.blocking_recv(), Some(42));
        drop(tx);
        assert_eq!(rx.blocking_recv(), None);
    }
}
