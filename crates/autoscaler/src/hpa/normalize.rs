//! From the metrics' proposal to the replica count the controller writes: stabilization
//! windows, scale rate limits and min/max clamping, on the legacy path (no `behavior`) and on
//! the behavior path (`normalizeDesiredReplicas*` in `horizontal.go`).

use super::spec::{Behavior, ControllerSettings, PolicyKind, ScalingRules, SelectPolicy};
use super::state::{change_in_period, Stores};
use super::Reason;

/// The outcome of normalization: the replicas and the two conditions it sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Normalized {
    pub desired: i32,
    /// The AbleToScale reason (`ReadyForNewScale`, `ScaleUpStabilized`, `ScaleDownStabilized`).
    pub able_reason: Reason,
    /// ScalingLimited: `true` when the limits changed the stabilized value.
    pub limited: bool,
    pub limited_reason: Reason,
}

/// The HPA's bounds and the replica counts normalization starts from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Counts {
    pub current: i32,
    pub proposal: i32,
    pub min: i32,
    pub max: i32,
}

/// `normalizeDesiredReplicas`: the legacy path for an HPA without `behavior`.
pub(crate) fn legacy(
    settings: &ControllerSettings,
    state: &mut impl Stores,
    c: Counts,
    now_ms: i64,
) -> Normalized {
    // stabilizeRecommendation: the max over the downscale window (samples at the cutoff count).
    let cutoff = now_ms - settings.downscale_stabilization_ms;
    let stabilized = state.stabilize_legacy(c.proposal, cutoff, now_ms);
    let able_reason = if stabilized != c.proposal {
        Reason::ScaleDownStabilized
    } else {
        Reason::ReadyForNewScale
    };

    // convertDesiredReplicasWithRules: per-reconcile cap max(2 × current, 4), then min/max.
    let scale_up_limit = (settings.scale_up_limit_factor * f64::from(c.current))
        .max(settings.scale_up_limit_minimum) as i32;
    let (max_allowed, over_reason) = if c.max > scale_up_limit {
        (scale_up_limit, Reason::ScaleUpLimit)
    } else {
        (c.max, Reason::TooManyReplicas)
    };
    let (desired, limited_reason) = if stabilized < c.min {
        (c.min, Reason::TooFewReplicas)
    } else if stabilized > max_allowed {
        (max_allowed, over_reason)
    } else {
        (stabilized, Reason::DesiredWithinRange)
    };
    Normalized {
        desired,
        able_reason,
        limited: desired != stabilized,
        limited_reason,
    }
}

/// `normalizeDesiredReplicasWithBehaviors`.
pub(crate) fn with_behavior(
    settings: &ControllerSettings,
    behavior: &Behavior,
    state: &mut impl Stores,
    c: Counts,
    now_ms: i64,
) -> Normalized {
    let up_window_ms = window_ms(&behavior.scale_up, settings);
    let down_window_ms = window_ms(&behavior.scale_down, settings);
    let stabilized = stabilize(state, c, up_window_ms, down_window_ms, now_ms);
    let able_reason = if stabilized == c.proposal {
        Reason::ReadyForNewScale
    } else if c.proposal >= c.current {
        Reason::ScaleUpStabilized
    } else {
        Reason::ScaleDownStabilized
    };
    let (desired, limited_reason) = rate_limit(
        behavior,
        state,
        Counts {
            proposal: stabilized,
            ..c
        },
        now_ms,
    );
    Normalized {
        desired,
        able_reason,
        limited: desired != stabilized,
        limited_reason,
    }
}

/// A direction's stabilization window; an unset scale-down window takes the controller flag
/// (`maybeInitScaleDownStabilizationWindow`).
pub(super) fn window_ms(rules: &ScalingRules, settings: &ControllerSettings) -> i64 {
    match rules.stabilization_window_s {
        Some(s) => i64::from(s) * 1000,
        None => settings.downscale_stabilization_ms / 1000 * 1000,
    }
}

/// `stabilizeRecommendationWithBehaviors`: clamp current between the minimum over the up
/// window and the maximum over the down window, then record the unstabilized proposal.
fn stabilize(
    state: &mut impl Stores,
    c: Counts,
    up_window_ms: i64,
    down_window_ms: i64,
    now_ms: i64,
) -> i32 {
    let (up_cutoff, down_cutoff) = (now_ms - up_window_ms, now_ms - down_window_ms);
    let (up_rec, down_rec) = state.stabilize_behavior(c.proposal, up_cutoff, down_cutoff, now_ms);
    between(c.current, up_rec, down_rec)
}

/// The stabilized count on the behavior path: `current` raised to the up window's min, then
/// lowered to the down window's max (the order matters when the two cross).
pub(super) fn between(current: i32, up_rec: i32, down_rec: i32) -> i32 {
    let mut stabilized = current;
    if stabilized < up_rec {
        stabilized = up_rec;
    }
    if stabilized > down_rec {
        stabilized = down_rec;
    }
    stabilized
}

/// `convertDesiredReplicasWithBehaviorRate`: the policies' limit, then min/max. Returns the
/// replicas and the ScalingLimited reason.
pub(super) fn rate_limit(
    behavior: &Behavior,
    state: &impl Stores,
    c: Counts,
    now_ms: i64,
) -> (i32, Reason) {
    if c.proposal > c.current {
        let limit = scale_up_limit(&behavior.scale_up, state, c.current, now_ms).max(c.current);
        let (max_allowed, reason) = if c.max > limit {
            (limit, Reason::ScaleUpLimit)
        } else {
            (c.max, Reason::TooManyReplicas)
        };
        if c.proposal > max_allowed {
            return (max_allowed, reason);
        }
    } else if c.proposal < c.current {
        let limit = scale_down_limit(&behavior.scale_down, state, c.current, now_ms).min(c.current);
        let (min_allowed, reason) = if c.min < limit {
            (limit, Reason::ScaleDownLimit)
        } else {
            (c.min, Reason::TooFewReplicas)
        };
        if c.proposal < min_allowed {
            return (min_allowed, reason);
        }
    }
    (c.proposal, Reason::DesiredWithinRange)
}

/// `calculateScaleUpLimitWithScalingRules`: the most (Max) or least (Min) any policy allows.
fn scale_up_limit(rules: &ScalingRules, state: &impl Stores, current: i32, now_ms: i64) -> i32 {
    let (mut result, pick): (i32, fn(i32, i32) -> i32) = match rules.select_policy {
        SelectPolicy::Disabled => return current,
        SelectPolicy::Min => (i32::MAX, i32::min),
        SelectPolicy::Max => (i32::MIN, i32::max),
    };
    for p in &rules.policies {
        let start = period_start(state, current, p.period_s, now_ms);
        let proposed = match p.kind {
            PolicyKind::Pods => start.wrapping_add(p.value),
            PolicyKind::Percent => {
                (f64::from(start) * (1.0 + f64::from(p.value) / 100.0)).ceil() as i32
            }
        };
        result = pick(result, proposed);
    }
    result
}

/// `calculateScaleDownLimitWithBehaviors`: the lowest (Max) or highest (Min) any policy allows.
fn scale_down_limit(rules: &ScalingRules, state: &impl Stores, current: i32, now_ms: i64) -> i32 {
    let (mut result, pick): (i32, fn(i32, i32) -> i32) = match rules.select_policy {
        SelectPolicy::Disabled => return current,
        SelectPolicy::Min => (i32::MIN, i32::max),
        SelectPolicy::Max => (i32::MAX, i32::min),
    };
    for p in &rules.policies {
        let start = period_start(state, current, p.period_s, now_ms);
        let proposed = match p.kind {
            PolicyKind::Pods => start.wrapping_sub(p.value),
            // Truncation toward zero, as Go's int32(float64).
            PolicyKind::Percent => (f64::from(start) * (1.0 - f64::from(p.value) / 100.0)) as i32,
        };
        result = pick(result, proposed);
    }
    result
}

/// The replica count at the start of a policy's sliding period: current minus what was
/// added plus what was removed since. Go's int32 arithmetic wraps; so does this.
fn period_start(state: &impl Stores, current: i32, period_s: i32, now_ms: i64) -> i32 {
    let added = change_in_period(state.scale_events(true), period_s, now_ms);
    let removed = change_in_period(state.scale_events(false), period_s, now_ms);
    current.wrapping_sub(added).wrapping_add(removed)
}
