//! When the console draws: at once for the operator (a key, a resize, the
//! answer to something asked for), at most `max_fps` times a second for data
//! (engine snapshots, the clock tick). A burst of readings costs a few frames
//! a second; a key is on screen as soon as it is handled.

use std::time::Duration;
use tokio::time::Instant;

pub struct FramePacer {
    frame_every: Duration,
    /// Data changed what the screen would show since the last frame.
    dirty: bool,
    /// The earliest a data-driven frame may be drawn.
    next_frame: Instant,
    /// The `tui_terminal` bench's baseline: keys wait for the data frame slot.
    keys_wait: bool,
}

impl FramePacer {
    pub fn new(max_fps: u32, now: Instant) -> Self {
        FramePacer {
            frame_every: Duration::from_secs_f64(1.0 / f64::from(max_fps.max(1))),
            dirty: true,
            next_frame: now,
            keys_wait: keys_wait_requested(),
        }
    }

    /// The operator did something; returns whether to draw now.
    pub fn operator(&mut self) -> bool {
        if self.keys_wait {
            self.dirty = true;
        }
        !self.keys_wait
    }

    /// Data changed; it is drawn in the next frame slot.
    pub fn data(&mut self) {
        self.dirty = true;
    }

    /// Whether a data-driven frame is due at `now`.
    pub fn due(&self, now: Instant) -> bool {
        self.dirty && now >= self.next_frame
    }

    /// When the pending data-driven frame is due; `None` when nothing waits.
    pub fn wake_at(&self) -> Option<Instant> {
        self.dirty.then_some(self.next_frame)
    }

    /// A frame for data was drawn at `now`: the next one waits a frame slot.
    pub fn drew_for_data(&mut self, now: Instant) {
        self.dirty = false;
        self.next_frame = now + self.frame_every;
    }

    /// A frame for the operator was drawn: it shows the data too, and leaves
    /// the data's frame slots as they were.
    pub fn drew_for_operator(&mut self) {
        self.dirty = false;
    }
}

/// The `tui_terminal` bench's baseline (keys drawn in the next frame slot, as
/// before 2026-12-01): only in a build with `--features bench-keys-wait-frame`,
/// and then only with `FLOORWATCH_KEYS_WAIT_FRAME=1`.
fn keys_wait_requested() -> bool {
    cfg!(feature = "bench-keys-wait-frame")
        && std::env::var_os("FLOORWATCH_KEYS_WAIT_FRAME").is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME: Duration = Duration::from_millis(200);

    /// A pacer at 5 fps whose first frame was drawn at `t0`.
    fn pacer_after_first_frame(t0: Instant) -> FramePacer {
        let mut pacer = FramePacer::new(5, t0);
        pacer.keys_wait = false;
        assert!(pacer.due(t0), "the first frame is due at once");
        pacer.drew_for_data(t0);
        pacer
    }

    #[test]
    fn a_key_is_drawn_at_once_even_inside_a_data_frame_slot() {
        let t0 = Instant::now();
        let mut pacer = pacer_after_first_frame(t0);
        assert!(pacer.operator());
        pacer.drew_for_operator();
        assert_eq!(pacer.wake_at(), None, "nothing left to draw");
    }

    #[test]
    fn data_waits_for_its_frame_slot() {
        let t0 = Instant::now();
        let mut pacer = pacer_after_first_frame(t0);
        pacer.data();
        assert!(!pacer.due(t0 + FRAME / 2));
        assert_eq!(pacer.wake_at(), Some(t0 + FRAME));
        assert!(pacer.due(t0 + FRAME));
        pacer.drew_for_data(t0 + FRAME);
        pacer.data();
        assert!(!pacer.due(t0 + FRAME + FRAME / 2));
    }

    #[test]
    fn a_key_frame_shows_pending_data_and_keeps_the_data_slots() {
        let t0 = Instant::now();
        let mut pacer = pacer_after_first_frame(t0);
        pacer.data();
        assert!(pacer.operator());
        pacer.drew_for_operator();
        assert_eq!(pacer.wake_at(), None, "the key's frame showed the data");
        pacer.data();
        assert_eq!(pacer.wake_at(), Some(t0 + FRAME));
    }

    #[test]
    fn the_baseline_makes_keys_wait_for_the_frame_slot() {
        let t0 = Instant::now();
        let mut pacer = pacer_after_first_frame(t0);
        pacer.keys_wait = true;
        assert!(!pacer.operator());
        assert_eq!(pacer.wake_at(), Some(t0 + FRAME));
    }
}
