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

use std::collections::VecDeque;

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
    fn record_initial(&mut self, current: i32, now_ms: i64) {
        if !self.seen {
            self.seen = true;
            self.last_ms = now_ms;
            // The path is not known yet: the first entry goes to both.
            self.highs.push(current, now_ms);
            self.lows.push(current, now_ms);
        }
    }

    fn stabilize_legacy(&mut self, proposal: i32, cutoff_ms: i64, now_ms: i64) -> i32 {
        self.enter(false, now_ms);
        let max = self
            .highs
            .over(cutoff_ms, true)
            .map_or(proposal, |m| m.max(proposal));
        self.highs.push(proposal, now_ms);
        max
    }

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

    fn scale_events(&self, up: bool) -> &[ScaleEvent] {
        if up {
            &self.scale_up_events
        } else {
            &self.scale_down_events
        }
    }

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
#[derive(Debug, Clone, PartialEq, Eq)]
struct Extreme<const HIGH: bool> {
    entries: VecDeque<Recommendation>,
    /// The newest timestamp dropped for leaving the window: a later window reaching back to
    /// it would need an entry that is gone.
    dropped_ms: i64,
}

impl<const HIGH: bool> Default for Extreme<HIGH> {
    fn default() -> Self {
        Extreme {
            entries: VecDeque::new(),
            dropped_ms: i64::MIN,
        }
    }
}

impl<const HIGH: bool> Extreme<HIGH> {
    fn push(&mut self, replicas: i32, now_ms: i64) {
        let beaten = |r: &Recommendation| {
            if HIGH {
                r.replicas <= replicas
            } else {
                r.replicas >= replicas
            }
        };
        while self.entries.back().is_some_and(beaten) {
            self.entries.pop_back();
        }
        self.entries.push_back(Recommendation {
            replicas,
            timestamp_ms: now_ms,
        });
    }

    /// The extreme over the entries after `cutoff_ms` (or at it, when `inclusive`), dropping
    /// the older ones for good.
    fn over(&mut self, cutoff_ms: i64, inclusive: bool) -> Option<i32> {
        let outside = |ts: i64| {
            if inclusive {
                ts < cutoff_ms
            } else {
                ts <= cutoff_ms
            }
        };
        assert!(
            outside(self.dropped_ms) || self.dropped_ms == i64::MIN,
            "WindowedState: the window grew past a dropped recommendation"
        );
        while let Some(front) = self.entries.front() {
            if !outside(front.timestamp_ms) {
                return Some(front.replicas);
            }
            self.dropped_ms = front.timestamp_ms;
            self.entries.pop_front();
        }
        None
    }
}
