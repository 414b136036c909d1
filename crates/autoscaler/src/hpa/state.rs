//! The controller's in-memory stores for one HPA: recommendations and scale events, kept
//! and reused exactly as `horizontal.go` keeps them.

/// What the controller remembers about one HPA between syncs. It is not persisted by
/// Kubernetes: a controller restart starts over from [`HpaState::default`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HpaState {
    /// `None`: the controller has never seen this HPA, and will record the current replica
    /// count as its first recommendation. `Some(vec![])` is an explicitly empty history.
    pub recommendations: Option<Vec<Recommendation>>,
    pub scale_up_events: Vec<ScaleEvent>,
    pub scale_down_events: Vec<ScaleEvent>,
}

/// `timestampedRecommendation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recommendation {
    pub replicas: i32,
    pub timestamp_ms: i64,
}

/// `timestampedScaleEvent`: how many replicas one rescale added or removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScaleEvent {
    /// Absolute change.
    pub replica_change: i32,
    pub timestamp_ms: i64,
    /// Older than the direction's longest policy period at the last store; free for reuse.
    pub outdated: bool,
}

/// The stores as a reconcile reads and writes them. Normalization is written once against
/// this trait; [`HpaState`] is the controller's own list, [`WindowedState`](super::WindowedState)
/// answers the same window queries in O(1) for a caller whose clock never goes back.
///
/// Both stabilize methods return the window's extreme *including* `proposal`, then store
/// `proposal` at `now_ms`, exactly as the controller's read-then-store does.
pub trait Stores {
    /// `recordInitialRecommendation`: the first sight of the HPA stores `{current, now}`.
    fn record_initial(&mut self, current: i32, now_ms: i64);

    /// `stabilizeRecommendation` (legacy path): the max of `proposal` and every stored
    /// recommendation at or after `cutoff_ms` (the cutoff itself counts).
    fn stabilize_legacy(&mut self, proposal: i32, cutoff_ms: i64, now_ms: i64) -> i32;

    /// `stabilizeRecommendationWithBehaviors`: `(min over the up window, max over the down
    /// window)`, each of `proposal` and the recommendations strictly after its cutoff.
    fn stabilize_behavior(
        &mut self,
        proposal: i32,
        up_cutoff_ms: i64,
        down_cutoff_ms: i64,
        now_ms: i64,
    ) -> (i32, i32);

    /// The scale-up (`up`) or scale-down events.
    fn scale_events(&self, up: bool) -> &[ScaleEvent];

    fn scale_events_mut(&mut self, up: bool) -> &mut Vec<ScaleEvent>;

    /// `storeScaleEvent`: mark events older than the direction's longest policy period as
    /// outdated, then overwrite the last outdated one or append.
    fn store_scale_event(&mut self, up: bool, change: i32, longest_period_s: i32, now_ms: i64) {
        let events = self.scale_events_mut(up);
        let cutoff = now_ms - i64::from(longest_period_s) * 1000;
        for e in events.iter_mut() {
            if e.timestamp_ms < cutoff {
                e.outdated = true;
            }
        }
        let new = ScaleEvent {
            replica_change: change,
            timestamp_ms: now_ms,
            outdated: false,
        };
        match events.iter().rposition(|e| e.outdated) {
            Some(i) => events[i] = new,
            None => events.push(new),
        }
    }
}

impl HpaState {
    pub(crate) fn recommendations(&self) -> &[Recommendation] {
        self.recommendations.as_deref().unwrap_or(&[])
    }

    /// Stores `replicas` in the slot `stale` (the *last* stale one the caller found while
    /// reading the list), or appends one.
    fn put_recommendation(&mut self, replicas: i32, now_ms: i64, stale: Option<usize>) {
        let recs = self.recommendations.get_or_insert_with(Vec::new);
        let new = Recommendation {
            replicas,
            timestamp_ms: now_ms,
        };
        match stale {
            Some(i) => recs[i] = new,
            None => recs.push(new),
        }
    }
}

impl Stores for HpaState {
    fn record_initial(&mut self, current: i32, now_ms: i64) {
        if self.recommendations.is_none() {
            self.recommendations = Some(vec![Recommendation {
                replicas: current,
                timestamp_ms: now_ms,
            }]);
        }
    }

    fn stabilize_legacy(&mut self, proposal: i32, cutoff_ms: i64, now_ms: i64) -> i32 {
        // One pass finds both the max and the last stale slot, as the controller's loop does.
        // Branch-free: without a windowed store this runs for every HPA at every sync.
        let (mut stabilized, mut stale) = (proposal, usize::MAX);
        for (i, r) in self.recommendations().iter().enumerate() {
            let in_window = r.timestamp_ms >= cutoff_ms;
            stabilized = stabilized.max(if in_window { r.replicas } else { i32::MIN });
            stale = if in_window { stale } else { i };
        }
        let stale = (stale != usize::MAX).then_some(stale);
        self.put_recommendation(proposal, now_ms, stale);
        stabilized
    }

    fn stabilize_behavior(
        &mut self,
        proposal: i32,
        up_cutoff_ms: i64,
        down_cutoff_ms: i64,
        now_ms: i64,
    ) -> (i32, i32) {
        let (mut up_rec, mut down_rec, mut stale) = (proposal, proposal, None);
        for (i, r) in self.recommendations().iter().enumerate() {
            if r.timestamp_ms > up_cutoff_ms {
                up_rec = up_rec.min(r.replicas);
            }
            if r.timestamp_ms > down_cutoff_ms {
                down_rec = down_rec.max(r.replicas);
            }
            if r.timestamp_ms < up_cutoff_ms && r.timestamp_ms < down_cutoff_ms {
                stale = Some(i);
            }
        }
        self.put_recommendation(proposal, now_ms, stale);
        (up_rec, down_rec)
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

/// `getReplicasChangePerPeriod`: the replicas changed by events strictly newer than
/// `now − period`, summed in int32 as Go does (wrapping, never panicking).
pub(crate) fn change_in_period(events: &[ScaleEvent], period_s: i32, now_ms: i64) -> i32 {
    let cutoff = now_ms - i64::from(period_s) * 1000;
    events
        .iter()
        .filter(|e| e.timestamp_ms > cutoff)
        .fold(0i32, |sum, e| sum.wrapping_add(e.replica_change))
}
