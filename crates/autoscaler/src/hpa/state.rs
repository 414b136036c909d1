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

impl HpaState {
    /// `recordInitialRecommendation`: first sight stores `[{current, now}]`.
    pub(crate) fn record_initial(&mut self, current: i32, now_ms: i64) {
        if self.recommendations.is_none() {
            self.recommendations = Some(vec![Recommendation {
                replicas: current,
                timestamp_ms: now_ms,
            }]);
        }
    }

    pub(crate) fn recommendations(&self) -> &[Recommendation] {
        self.recommendations.as_deref().unwrap_or(&[])
    }

    /// Stores `replicas` in the *last* slot `is_stale` selects, or appends one.
    pub(crate) fn store_recommendation(
        &mut self,
        replicas: i32,
        now_ms: i64,
        is_stale: impl Fn(i64) -> bool,
    ) {
        let recs = self.recommendations.get_or_insert_with(Vec::new);
        let new = Recommendation {
            replicas,
            timestamp_ms: now_ms,
        };
        match recs.iter().rposition(|r| is_stale(r.timestamp_ms)) {
            Some(i) => recs[i] = new,
            None => recs.push(new),
        }
    }

    /// `storeScaleEvent`: mark events older than the direction's longest policy period as
    /// outdated, then overwrite the last outdated one or append.
    pub(crate) fn store_scale_event(
        &mut self,
        up: bool,
        change: i32,
        longest_period_s: i32,
        now_ms: i64,
    ) {
        let events = if up {
            &mut self.scale_up_events
        } else {
            &mut self.scale_down_events
        };
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

/// `getReplicasChangePerPeriod`: the replicas changed by events strictly newer than
/// `now − period`, summed in int32 as Go does (wrapping, never panicking).
pub(crate) fn change_in_period(events: &[ScaleEvent], period_s: i32, now_ms: i64) -> i32 {
    let cutoff = now_ms - i64::from(period_s) * 1000;
    events
        .iter()
        .filter(|e| e.timestamp_ms > cutoff)
        .fold(0i32, |sum, e| sum.wrapping_add(e.replica_change))
}
