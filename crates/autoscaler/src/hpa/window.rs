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

impl WindowedState {
    /// The last time up to which the legacy window's max stays what the reconcile just made
    /// read, if the same `proposal` is stored again at every sync (the window reaches back
    /// `window_ms`, its cutoff included): until the front recommendation leaves the window,
    /// when it beats `proposal`; for ever otherwise.
    pub(crate) fn legacy_steady_until(&self, proposal: i32, window_ms: i64) -> i64 {
        match self.highs.front() {
            Some(f) if f.replicas > proposal => f.timestamp_ms.saturating_add(window_ms),
            _ => i64::MAX,
        }
    }

    /// The behavior path's `(up window min, down window max)` as the last stabilization
    /// found them, the stored proposal included (the fronts of the deques it trimmed).
    pub(crate) fn behavior_extremes(&self) -> Option<(i32, i32)> {
        Some((self.lows.front()?.replicas, self.highs.front()?.replicas))
    }

    /// The last time up to which the behavior path's window extremes still hold `current`
    /// between them (the up window's min at or below it, the down window's max at or above
    /// it), if the same `proposal` is stored again at every sync. Each window excludes its
    /// cutoff, so a recommendation at `ts` counts up to `ts + window - 1`.
    pub(crate) fn behavior_steady_until(
        &self,
        current: i32,
        proposal: i32,
        up_window_ms: i64,
        down_window_ms: i64,
    ) -> i64 {
        // The newest recommendation on the right side of `current` keeps the extreme there
        // while it is in its window; the proposal itself is stored again at every sync.
        let up = if proposal <= current {
            i64::MAX
        } else {
            self.lows
                .newest(|r| r <= current)
                .map_or(i64::MIN, |ts| ts.saturating_add(up_window_ms - 1))
        };
        let down = if proposal >= current {
            i64::MAX
        } else {
            self.highs
                .newest(|r| r >= current)
                .map_or(i64::MIN, |ts| ts.saturating_add(down_window_ms - 1))
        };
        up.min(down)
    }

    /// Brings the stores to where a run of reconciles repeating the last one, the last of
    /// them at `at_ms`, would have left them (see [`super::steady_until`]): each repeat stores
    /// the same recommendation again, so the newest one is re-dated; the older ones leave the
    /// windows as they would have.
    pub fn repeat_last(&mut self, steady: super::Steady, at_ms: i64) {
        assert!(
            at_ms >= self.last_ms,
            "WindowedState: the clock went back from {} to {at_ms}",
            self.last_ms
        );
        self.last_ms = at_ms;
        if steady.stores {
            self.highs.redate_newest(at_ms);
            if self.behavior == Some(true) {
                self.lows.redate_newest(at_ms);
            }
        }
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

    fn front(&self) -> Option<&Recommendation> {
        self.entries.get(self.head)
    }

    /// The timestamp of the newest entry whose replicas satisfy `keep`.
    fn newest(&self, keep: impl Fn(i32) -> bool) -> Option<i64> {
        self.entries[self.head..]
            .iter()
            .rev()
            .find(|r| keep(r.replicas))
            .map(|r| r.timestamp_ms)
    }

    /// Re-dates the newest entry, the recommendation stored last.
    fn redate_newest(&mut self, now_ms: i64) {
        if let Some(last) = self.entries[self.head..].last_mut() {
            last.timestamp_ms = now_ms;
        }
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
