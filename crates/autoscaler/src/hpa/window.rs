//! [`WindowedState`]: the recommendation store as sliding-window extremes, so that a
//! stabilization query costs O(1) amortized instead of a scan of the window's list.
//!
//! Why it answers exactly as the controller's list: the list overwrites only a slot that was
//! stale when written (older than the cutoff), and with a clock that never goes back and a
//! fixed window the cutoff never goes back either, so a stale entry never returns to the
//! window. The list's in-window entries are therefore exactly the recommendations ever stored
//! at or after the cutoff, and their max (or min) is what a monotonic deque over the stored
//! sequence keeps at its front. The equivalence is tested on long random runs
//! (`tests/window.rs`).

use super::state::{Recommendation, ScaleEvent, Stores};

/// The stores of one HPA for a caller that reconciles it with a non-decreasing `now_ms`,
/// always on the same path (legacy or behavior) and with the same windows, as a simulator
/// does. Breaking that is a bug of the caller and panics. Start from `default()` (never seen).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WindowedState {
    seen: bool,
    /// The path the first stabilization took: `Some(true)` for behavior.
    behavior: Option<bool>,
    last_ms: i64,
    /// The max over the legacy window or the behavior down window.
    highs: Extreme<true>,
    /// The min over the behavior up window (behavior path only).
    lows: Extreme<false>,
    pub scale_up_events: Vec<ScaleEvent>,
    pub scale_down_events: Vec<ScaleEvent>,
}

impl WindowedState {
    /// Checks the caller's contract before a stabilization and stores the proposal after it.
    #[inline]
    fn enter(&mut self, behavior: bool, now_ms: i64) {
        assert!(
            now_ms >= self.last_ms,
            "WindowedState: the clock went back from {} to {now_ms}",
            self.last_ms
        );
        self.last_ms = now_ms;
        let path = *self.behavior.get_or_insert(behavior);
        assert_eq!(path, behavior, "WindowedState: the HPA changed path");
    }
}

impl Stores for WindowedState {
    #[inline]
    fn record_initial(&mut self, current: i32, now_ms: i64) {
        if !self.seen {
            self.seen = true;
            self.last_ms = now_ms;
            // The path is not known yet: the first entry goes to both.
            self.highs.push(current, now_ms);
            self.lows.push(current, now_ms);
        }
    }

    #[inline]
    fn stabilize_legacy(&mut self, proposal: i32, cutoff_ms: i64, now_ms: i64) -> i32 {
        self.enter(false, now_ms);
        let max = self
            .highs
            .over(cutoff_ms, true)
            .map_or(proposal, |m| m.max(proposal));
        self.highs.push(proposal, now_ms);
        max
    }

    #[inline]
    fn stabilize_behavior(
        &mut self,
        proposal: i32,
        up_cutoff_ms: i64,
        down_cutoff_ms: i64,
        now_ms: i64,
    ) -> (i32, i32) {
        self.enter(true, now_ms);
        let up = self
            .lows
            .over(up_cutoff_ms, false)
            .map_or(proposal, |m| m.min(proposal));
        let down = self
            .highs
            .over(down_cutoff_ms, false)
            .map_or(proposal, |m| m.max(proposal));
        self.lows.push(proposal, now_ms);
        self.highs.push(proposal, now_ms);
        (up, down)
    }

    #[inline]
    fn scale_events(&self, up: bool) -> &[ScaleEvent] {
        if up {
            &self.scale_up_events
        } else {
            &self.scale_down_events
        }
    }

    #[inline]
    fn scale_events_mut(&mut self, up: bool) -> &mut Vec<ScaleEvent> {
        if up {
            &mut self.scale_up_events
        } else {
            &mut self.scale_down_events
        }
    }
}

/// A monotonic deque: the recommendations that can still be the window's max (`HIGH`) or
/// min, oldest first, each strictly more extreme than every later one. An entry that a newer
/// one equals or beats is dropped on push: the newer one stays in the window at least as long.
///
/// The deque is `entries[head..]`: popping the front only moves `head`, and the dead prefix
/// is cut off once it is half the vector, which keeps both ends a few instructions each.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Extreme<const HIGH: bool> {
    entries: Vec<Recommendation>,
    head: usize,
    /// The newest timestamp dropped for leaving the window: a later window reaching back to
    /// it would need an entry that is gone.
    dropped_ms: i64,
}

impl<const HIGH: bool> Default for Extreme<HIGH> {
    fn default() -> Self {
        Extreme {
            entries: Vec::new(),
            head: 0,
            dropped_ms: i64::MIN,
        }
    }
}

impl<const HIGH: bool> Extreme<HIGH> {
    #[inline]
    fn push(&mut self, replicas: i32, now_ms: i64) {
        while self.entries.len() > self.head {
            let last = self.entries[self.entries.len() - 1].replicas;
            let beaten = if HIGH {
                last <= replicas
            } else {
                last >= replicas
            };
            if !beaten {
                break;
            }
            self.entries.pop();
        }
        if self.head > 32 && self.head * 2 >= self.entries.len() {
            self.entries.drain(..self.head);
            self.head = 0;
        }
        self.entries.push(Recommendation {
            replicas,
            timestamp_ms: now_ms,
        });
    }

    /// The extreme over the entries after `cutoff_ms` (or at it, when `inclusive`), dropping
    /// the older ones for good.
    #[inline]
    fn over(&mut self, cutoff_ms: i64, inclusive: bool) -> Option<i32> {
        let outside = |ts: i64| {
            if inclusive {
                ts < cutoff_ms
            } else {
                ts <= cutoff_ms
            }
        };
        assert!(
            self.dropped_ms == i64::MIN || outside(self.dropped_ms),
            "WindowedState: the window grew past a dropped recommendation"
        );
        while let Some(front) = self.entries.get(self.head) {
            if !outside(front.timestamp_ms) {
                return Some(front.replicas);
            }
            self.dropped_ms = front.timestamp_ms;
            self.head += 1;
        }
        // Empty: start over at the beginning of the vector.
        self.entries.clear();
        self.head = 0;
        None
    }
}
