//! The time the engine stamps arrivals with and runs stale timers and alarm
//! delays on: the wall clock in the product, tokio's (pausable) clock in tests
//! that must not depend on how loaded the machine is.

use crate::model::{TimestampMs, now_ms};

#[derive(Clone, Copy, Debug, Default)]
pub enum Clock {
    /// The system's wall clock.
    #[default]
    Wall,
    /// Tokio's clock counted from `origin`, which reads `origin_ms`: under
    /// `#[tokio::test(start_paused = true)]` it moves only when the test
    /// advances it.
    Tokio {
        origin_ms: TimestampMs,
        origin: tokio::time::Instant,
    },
}

impl Clock {
    /// A clock that follows tokio's time from now on, reading `origin_ms` now.
    pub fn tokio(origin_ms: TimestampMs) -> Self {
        Clock::Tokio {
            origin_ms,
            origin: tokio::time::Instant::now(),
        }
    }

    pub fn now_ms(&self) -> TimestampMs {
        match self {
            Clock::Wall => now_ms(),
            Clock::Tokio { origin_ms, origin } => {
                origin_ms + i64::try_from(origin.elapsed().as_millis()).unwrap_or(i64::MAX)
            }
        }
    }
}
