//! The Horizontal Pod Autoscaler controller: one reconcile of one HPA, exactly as
//! kube-controller-manager computes it (`pkg/controller/podautoscaler`), as a pure function.
//!
//! # Calling it
//!
//! ```text
//! reconcile(&spec, &settings, &observation, &mut state, now_ms, &mut decision)
//! ```
//!
//! - [`HpaSpec`]: the validated spec with API defaults applied (built once, from the manifest,
//!   by `sim::manifest::hpa`). [`ControllerSettings`]: the controller flags and [`Compat`]
//!   switches for older Kubernetes releases (newest behaviour by default).
//! - [`Observation`]: what the controller reads at this sync, all borrowed. The caller must
//!   supply every sync: `spec_replicas` / `status_replicas` of the scale subresource; the pods
//!   the target's selector matches (phase, deletion, start time, Ready condition, container
//!   requests, and a link to the pod's PodMetrics entry if the resource metrics API has one);
//!   PodMetrics of pods not in that list; and one [`MetricInput`] per spec metric in spec
//!   order (resource metrics read the pods' usage; Pods metrics give per-pod values aligned with
//!   `pods`; Object a value; External the values of every series; or the fetch's error), and
//!   the [`SelectorCheck`] of the scale's selector (normally `Valid`).
//!
//!   For a simulator the cheap form of a resource metric is [`MetricInput::ResolvedUsage`]:
//!   per pod, the request (resolved once when the pod is created, as `calculateRequests`
//!   would: the sum over containers and sidecars, or the named container's) and the current
//!   [`UsageSample`] (value, PodMetrics timestamp and window). Pods then need no containers
//!   and no `usage` link; only phase, deletion, start time and the Ready condition are read.
//!   Both forms decide identically (checked by the tests on every Kubernetes vector).
//!
//!   Pods that differ in nothing the HPA reads may be passed as one entry whose
//!   [`Pod::count`] says how many it stands for; the decision is the same as for the list.
//! - [`HpaState`]: the controller's recommendation and scale-event stores for this HPA. Start
//!   from `HpaState::default()` (never seen), pass the same value back every sync; reconcile
//!   updates it in place. Drop it when the HPA is deleted or the controller restarts.
//!   Reconciles read the stores through the [`Stores`] trait; a caller whose clock never goes
//!   back and whose HPA keeps its path and windows may pass a [`WindowedState`] instead, which
//!   answers the stabilization windows in O(1) with the same results.
//! - `now_ms`: the sync time on the caller's clock, the clock every timestamp is on.
//! - [`Decision`]: reused between calls so the hot path allocates nothing. It says what the
//!   controller writes: `desired_replicas`, whether it `rescale`s, each metric's proposal and
//!   current value, and the conditions with Kubernetes' reasons.
//!
//! A caller that knows a sync's metric inputs are unchanged since the last one can split the
//! reconcile in two: [`compute_metrics`] fills a [`MetricsResult`] (the metric statuses,
//! ScalingActive and the proposal), which it may keep (it is `Clone`) and hand to
//! [`reconcile_with_metrics`] at each sync, which does the rest (stabilization, policies,
//! clamping, conditions, stores). `reconcile` is exactly the two in sequence.
//!
//! The caller applies the decision: if `rescale`, set the target's replicas to
//! `desired_replicas` (the scale event is already stored in the state, as after a successful
//! update). Reconciling never fails: bad or missing metrics become conditions.
//!
//! Times: all `*_ms` values are milliseconds on one clock; the stores compare timestamps with
//! Kubernetes' strictness (a recommendation exactly at the legacy cutoff counts, one exactly
//! at a behavior window's cutoff does not).
//!
//! Not modelled: a failing scale read or update (`FailedGetScale`, `FailedUpdateScale`): the
//! caller owns the scale subresource.
//!
//! Invariant: no clock, no I/O, no randomness; the same inputs give the same decision.

mod calc;
mod normalize;
mod observation;
mod spec;
mod state;
mod window;

#[cfg(test)]
mod tests;

pub use calc::CurrentValue;
pub use observation::{
    ConditionStatus, Container, ContainerUsage, MetricInput, Observation, Pod, PodPhase, PodUsage,
    ReadyCondition, ResolvedSample, ResourceAmount, SelectorCheck, UsageSample,
};
pub use spec::{
    Behavior, Compat, ControllerSettings, HpaSpec, MetricSource, MetricSpec, PolicyKind,
    ResourceTarget, ScalingPolicy, ScalingRules, SelectPolicy, ValueTarget,
};
pub use state::{HpaState, Recommendation, ScaleEvent, Stores};
pub use window::WindowedState;

use calc::{Ctx, Tolerances};
use normalize::Counts;

/// The reasons of HPA conditions, spelled as Kubernetes spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    SucceededGetScale,
    ReadyForNewScale,
    ScaleUpStabilized,
    ScaleDownStabilized,
    SucceededRescale,
    ValidMetricFound,
    ScalingDisabled,
    InvalidSelector,
    AmbiguousSelector,
    FailedGetResourceMetric,
    FailedGetContainerResourceMetric,
    FailedGetPodsMetric,
    FailedGetObjectMetric,
    FailedGetExternalMetric,
    DesiredWithinRange,
    TooManyReplicas,
    TooFewReplicas,
    ScaleUpLimit,
    ScaleDownLimit,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::SucceededGetScale => "SucceededGetScale",
            Reason::ReadyForNewScale => "ReadyForNewScale",
            Reason::ScaleUpStabilized => "ScaleUpStabilized",
            Reason::ScaleDownStabilized => "ScaleDownStabilized",
            Reason::SucceededRescale => "SucceededRescale",
            Reason::ValidMetricFound => "ValidMetricFound",
            Reason::ScalingDisabled => "ScalingDisabled",
            Reason::InvalidSelector => "InvalidSelector",
            Reason::AmbiguousSelector => "AmbiguousSelector",
            Reason::FailedGetResourceMetric => "FailedGetResourceMetric",
            Reason::FailedGetContainerResourceMetric => "FailedGetContainerResourceMetric",
            Reason::FailedGetPodsMetric => "FailedGetPodsMetric",
            Reason::FailedGetObjectMetric => "FailedGetObjectMetric",
            Reason::FailedGetExternalMetric => "FailedGetExternalMetric",
            Reason::DesiredWithinRange => "DesiredWithinRange",
            Reason::TooManyReplicas => "TooManyReplicas",
            Reason::TooFewReplicas => "TooFewReplicas",
            Reason::ScaleUpLimit => "ScaleUpLimit",
            Reason::ScaleDownLimit => "ScaleDownLimit",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConditionType {
    AbleToScale,
    ScalingActive,
    ScalingLimited,
}

impl ConditionType {
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionType::AbleToScale => "AbleToScale",
            ConditionType::ScalingActive => "ScalingActive",
            ConditionType::ScalingLimited => "ScalingLimited",
        }
    }
}

/// One HPA condition. The message is rendered on demand ([`Condition::message`]) so that the
/// hot path formats no strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Condition {
    pub type_: ConditionType,
    pub status: bool,
    pub reason: Reason,
    /// For `SucceededRescale`: the new size. For `ValidMetricFound` and metric failures:
    /// the index of the metric in the spec.
    arg: i32,
}

impl Condition {
    /// ScalingActive: `ValidMetricFound`, decided by spec metric `metric`.
    fn valid_metric_found(metric: usize) -> Condition {
        Condition {
            arg: metric as i32,
            ..Condition::new(ConditionType::ScalingActive, true, Reason::ValidMetricFound)
        }
    }

    fn new(type_: ConditionType, status: bool, reason: Reason) -> Condition {
        Condition {
            type_,
            status,
            reason,
            arg: 0,
        }
    }

    /// `"True"` / `"False"`.
    pub fn status_str(&self) -> &'static str {
        if self.status {
            "True"
        } else {
            "False"
        }
    }

    /// The message Kubernetes writes with this condition.
    pub fn message(&self, spec: &HpaSpec, decision: &Decision) -> String {
        let metric = usize::try_from(self.arg).ok();
        match self.reason {
            Reason::SucceededGetScale => "the HPA controller was able to get the target's current scale".into(),
            Reason::ReadyForNewScale => "recommended size matches current size".into(),
            Reason::ScaleUpStabilized => {
                "recent recommendations were lower than current one, applying the lowest recent recommendation".into()
            }
            Reason::ScaleDownStabilized => {
                "recent recommendations were higher than current one, applying the highest recent recommendation"
                    .into()
            }
            Reason::SucceededRescale => {
                format!("the HPA controller was able to update the target scale to {}", self.arg)
            }
            Reason::ValidMetricFound => format!(
                "the HPA was able to successfully calculate a replica count from {}",
                metric.and_then(|i| spec.metrics.get(i)).map_or("", |m| m.description.as_str())
            ),
            Reason::InvalidSelector | Reason::AmbiguousSelector => {
                decision.selector_error.clone().unwrap_or_default()
            }
            Reason::ScalingDisabled => "scaling is disabled since the replica count of the target is zero".into(),
            Reason::FailedGetResourceMetric
            | Reason::FailedGetContainerResourceMetric
            | Reason::FailedGetPodsMetric
            | Reason::FailedGetObjectMetric
            | Reason::FailedGetExternalMetric => format!(
                "the HPA was unable to compute the replica count: {}",
                metric.and_then(|i| decision.metrics.get(i)).and_then(|m| m.error.as_deref()).unwrap_or("")
            ),
            Reason::DesiredWithinRange => "the desired count is within the acceptable range".into(),
            Reason::TooManyReplicas => "the desired replica count is more than the maximum replica count".into(),
            Reason::TooFewReplicas => "the desired replica count is less than the minimum replica count".into(),
            Reason::ScaleUpLimit => "the desired replica count is increasing faster than the maximum scale rate".into(),
            Reason::ScaleDownLimit => {
                "the desired replica count is decreasing faster than the maximum scale rate".into()
            }
        }
    }
}

/// One spec metric's outcome (`status.currentMetrics[i]` plus the proposal).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MetricStatus {
    /// The replicas this metric alone asks for; `None` when it failed.
    pub proposal: Option<i32>,
    pub current: CurrentValue,
    /// The error text when the metric failed.
    pub error: Option<String>,
}

impl MetricStatus {
    /// A metric's status from its proposal.
    fn valid(p: &calc::Proposal) -> MetricStatus {
        MetricStatus {
            proposal: Some(p.replicas),
            current: p.current,
            error: None,
        }
    }
}

/// What one reconcile decides. Reuse one value across calls to avoid allocating.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Decision {
    /// What the controller writes to the scale subresource; `spec_replicas` without rescale.
    pub desired_replicas: i32,
    pub rescale: bool,
    /// The max over the valid metrics before normalization (None on short-circuit branches).
    pub metrics_proposal: Option<i32>,
    /// One entry per spec metric, in spec order (empty when no metric was read).
    pub metrics: Vec<MetricStatus>,
    pub able_to_scale: Option<Condition>,
    pub scaling_active: Option<Condition>,
    pub scaling_limited: Option<Condition>,
    /// The message of an `InvalidSelector` / `AmbiguousSelector` condition.
    pub selector_error: Option<String>,
}

impl Decision {
    /// The conditions the controller set this sync, in the order Kubernetes lists them.
    pub fn conditions(&self) -> impl Iterator<Item = &Condition> {
        [
            &self.able_to_scale,
            &self.scaling_active,
            &self.scaling_limited,
        ]
        .into_iter()
        .flatten()
    }

    /// The ScalingLimited reason when the limits changed the recommendation.
    pub fn limiting_reason(&self) -> Option<Reason> {
        self.scaling_limited.filter(|c| c.status).map(|c| c.reason)
    }

    #[inline]
    fn reset(&mut self) {
        self.desired_replicas = 0;
        self.rescale = false;
        self.metrics_proposal = None;
        self.metrics.clear();
        self.able_to_scale = Some(Condition::new(
            ConditionType::AbleToScale,
            true,
            Reason::SucceededGetScale,
        ));
        self.scaling_active = None;
        self.scaling_limited = None;
        self.selector_error = None;
    }
}

/// One reconcile (`reconcileAutoscaler`) of one HPA at `now_ms`. Updates `state` in place
/// and overwrites `decision`. The same as [`compute_metrics`] followed by
/// [`reconcile_with_metrics`], without the copy of the metric part between them.
pub fn reconcile(
    spec: &HpaSpec,
    settings: &ControllerSettings,
    obs: &Observation<'_>,
    state: &mut impl Stores,
    now_ms: i64,
    decision: &mut Decision,
) {
    decision.reset();
    let current = obs.spec_replicas;
    let proposal = if reads_metrics(spec, current) {
        let Decision {
            metrics,
            scaling_active,
            selector_error,
            ..
        } = decision;
        metric_part(
            spec,
            settings,
            obs,
            now_ms,
            metrics,
            scaling_active,
            selector_error,
        )
    } else {
        None
    };
    finish(spec, settings, current, proposal, state, now_ms, decision);
}

/// The metric part of a reconcile, kept apart so that a caller can reuse it while its inputs
/// do not change: what [`compute_metrics`] fills and [`reconcile_with_metrics`] consumes.
///
/// It is a function of the spec, the settings and the observation (including
/// `spec_replicas`, `status_replicas` and the selector check), and of `now_ms` only through
/// the CPU initialization rules (a CPU resource metric over a pod whose `start_ms` is within
/// `cpu_initialization_period_ms` of `now_ms`). Start from `MetricsResult::default()` and
/// pass the same value to `compute_metrics` to reuse its buffers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MetricsResult {
    /// `computeReplicasForMetrics`' proposal: the max over the valid metrics, or `None` when
    /// the reconcile stops there (bad selector, all metrics invalid, or some invalid while
    /// the valid ones ask for a scale-down).
    pub proposal: Option<i32>,
    /// One entry per spec metric, in spec order (empty on a bad selector).
    pub metrics: Vec<MetricStatus>,
    /// The ScalingActive condition the metrics set.
    pub scaling_active: Option<Condition>,
    /// The message of an `InvalidSelector` / `AmbiguousSelector` condition.
    pub selector_error: Option<String>,
}

/// `computeReplicasForMetrics`: reads every metric of `spec` from `obs` into `result`
/// (overwritten; its buffers are reused). Reads no state: pass the result to
/// [`reconcile_with_metrics`], now or at a later sync whose inputs are the same.
pub fn compute_metrics(
    spec: &HpaSpec,
    settings: &ControllerSettings,
    obs: &Observation<'_>,
    now_ms: i64,
    result: &mut MetricsResult,
) {
    let MetricsResult {
        proposal,
        metrics,
        scaling_active,
        selector_error,
    } = result;
    metrics.clear();
    *scaling_active = None;
    *selector_error = None;
    *proposal = metric_part(
        spec,
        settings,
        obs,
        now_ms,
        metrics,
        scaling_active,
        selector_error,
    );
}

/// The metrics of an HPA whose only metric is a Resource metric with a Utilization target,
/// while the target's pods are one entry of identical pods that grouping puts in the ready
/// group whatever their sample, from the time it is prepared on: prepared once, then
/// computed from the pods' sample value alone. Each computation writes what
/// [`compute_metrics`] writes for the observation of those pods with that sample (the scale
/// at the given replicas, a valid selector, no samples outside the list).
#[derive(Debug, Clone, Copy)]
pub struct UniformMetrics {
    count: u32,
    request_milli: i64,
    target_pct: i32,
    tolerances: Tolerances,
}

impl UniformMetrics {
    /// For `spec` and the pod entry `pod` (standing for `pod.count` pods), each requesting
    /// `request_milli` of the metric's resource, at `now_ms`: `None` unless `spec` has that
    /// one metric, the request is positive and grouping puts the pods in the ready group at
    /// `now_ms` and later whatever their sample.
    pub fn prepare(
        spec: &HpaSpec,
        settings: &ControllerSettings,
        pod: &Pod<'_>,
        request_milli: Option<i64>,
        now_ms: i64,
    ) -> Option<UniformMetrics> {
        let [MetricSpec {
            source:
                MetricSource::Resource {
                    resource,
                    target: ResourceTarget::Utilization(target_pct),
                    ..
                },
            ..
        }] = spec.metrics.as_slice()
        else {
            return None;
        };
        let request_milli = request_milli.filter(|&r| r > 0)?;
        calc::ready_from_now_on(pod, resource == "cpu", settings, now_ms).then_some(
            UniformMetrics {
                count: pod.count,
                request_milli,
                target_pct: *target_pct,
                tolerances: tolerances(spec, settings),
            },
        )
    }

    /// [`compute_metrics`] at the preparation time or later, with every pod's sample
    /// `value` (milli-units) and the scale at `spec_replicas`.
    pub fn compute(&self, value: i64, spec_replicas: i32, result: &mut MetricsResult) {
        let p = calc::uniform_ready_proposal(
            self.tolerances,
            spec_replicas,
            self.count,
            value,
            self.request_milli,
            self.target_pct,
        );
        result.proposal = Some(p.replicas);
        match result.metrics.as_mut_slice() {
            [status] => *status = MetricStatus::valid(&p),
            _ => {
                result.metrics.clear();
                result.metrics.push(MetricStatus::valid(&p));
            }
        }
        result.scaling_active = Some(Condition::valid_metric_found(0));
        result.selector_error = None;
    }
}

/// The rest of a reconcile at `now_ms` for a target at `current_replicas` (the observation's
/// `spec_replicas`), given its metrics: stabilization, rate limits, clamping, conditions and
/// the stores, exactly as [`reconcile`] does. `metrics` must have been computed for the same
/// replica count; it is ignored where `reconcile` would not read metrics (scaling disabled,
/// or the current count outside `minReplicas..=maxReplicas`).
pub fn reconcile_with_metrics(
    spec: &HpaSpec,
    settings: &ControllerSettings,
    current_replicas: i32,
    metrics: &MetricsResult,
    state: &mut impl Stores,
    now_ms: i64,
    decision: &mut Decision,
) {
    reconcile_outcome(
        spec,
        settings,
        current_replicas,
        metrics,
        state,
        now_ms,
        decision,
    );
    if reads_metrics(spec, current_replicas) {
        decision.metrics.clone_from(&metrics.metrics);
        decision.selector_error.clone_from(&metrics.selector_error);
    }
}

/// [`reconcile_with_metrics`] without copying the metric statuses: `decision.metrics` and
/// `decision.selector_error` stay empty (they are `metrics.metrics` and
/// `metrics.selector_error` wherever `reconcile_with_metrics` would copy them). Everything
/// else, the conditions included, is the same. For a caller that reads only the outcome at
/// every sync, the copy would be most of the cost.
pub fn reconcile_outcome(
    spec: &HpaSpec,
    settings: &ControllerSettings,
    current_replicas: i32,
    metrics: &MetricsResult,
    state: &mut impl Stores,
    now_ms: i64,
    decision: &mut Decision,
) {
    decision.reset();
    let proposal = if reads_metrics(spec, current_replicas) {
        decision.scaling_active = metrics.scaling_active;
        metrics.proposal
    } else {
        None
    };
    finish(
        spec,
        settings,
        current_replicas,
        proposal,
        state,
        now_ms,
        decision,
    );
}

/// How long the outcome of a reconcile that did not rescale stays the same: see
/// [`steady_until`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Steady {
    /// The last time (ms, inclusive) at which a repeat is known to decide the same.
    pub until_ms: i64,
    /// Whether each repeat stores a recommendation (which [`WindowedState::repeat_last`]
    /// re-dates).
    pub stores: bool,
}

/// For the reconcile just made at `now_ms` with [`reconcile_outcome`] on `state`: until when
/// a repeat of it (the same spec, settings and current replicas, and metrics with the same
/// proposal and ScalingActive condition, which is all a reconcile reads of them, at a later
/// time) decides exactly the same. `None` when that is not known beyond `now_ms` (it rescaled, or a
/// behavior rate limit held the count, which depends on the scale events' ages).
///
/// Why: with the inputs fixed, a reconcile depends on `now_ms` only through the stores'
/// windows. Each repeat stores the same proposal again, so the windows' extremes change only
/// when an older recommendation that decides them leaves its window; `Steady::until_ms` is
/// the last time before that. A caller may therefore skip the repeats up to that time and,
/// before its next reconcile, call [`WindowedState::repeat_last`] with the last skipped
/// time: the stores are then as if every repeat had been made (tested against reconciling
/// at every sync on the controller's list in `tests/window.rs`).
pub fn steady_until(
    spec: &HpaSpec,
    settings: &ControllerSettings,
    current_replicas: i32,
    metrics: &MetricsResult,
    state: &WindowedState,
    decision: &Decision,
    now_ms: i64,
) -> Option<Steady> {
    if decision.rescale {
        return None;
    }
    let proposal = if reads_metrics(spec, current_replicas) {
        metrics.proposal
    } else {
        // Not rescaling with the count outside the bounds means scaling is disabled
        // (current 0): nothing is stored, nothing changes.
        None
    };
    let Some(proposal) = proposal else {
        // The reconcile stopped before the stores: every repeat does the same.
        return Some(Steady {
            until_ms: i64::MAX,
            stores: false,
        });
    };
    let until_ms = match &spec.behavior {
        None => state.legacy_steady_until(proposal, settings.downscale_stabilization_ms),
        Some(b) => {
            let up_ms = normalize::window_ms(&b.scale_up, settings);
            let down_ms = normalize::window_ms(&b.scale_down, settings);
            // Only when stabilization alone kept the count: the rate limits read the scale
            // events' ages.
            let (up, down) = state.behavior_extremes()?;
            if normalize::between(current_replicas, up, down) != current_replicas {
                return None;
            }
            state.behavior_steady_until(current_replicas, proposal, up_ms, down_ms)
        }
    };
    (until_ms > now_ms).then_some(Steady {
        until_ms,
        stores: true,
    })
}

/// Whether the controller reads metrics at this replica count: scaling is enabled and the
/// count is within the HPA's bounds (otherwise it just moves into them).
#[inline]
fn reads_metrics(spec: &HpaSpec, current: i32) -> bool {
    let disabled = current == 0 && spec.min_replicas != 0;
    !disabled && (spec.min_replicas..=spec.max_replicas).contains(&current)
}

/// Everything after the metrics, on a `decision` that already holds the metric part.
fn finish(
    spec: &HpaSpec,
    settings: &ControllerSettings,
    current: i32,
    proposal: Option<i32>,
    state: &mut impl Stores,
    now_ms: i64,
    d: &mut Decision,
) {
    state.record_initial(current, now_ms);
    if current == 0 && spec.min_replicas != 0 {
        d.desired_replicas = 0;
        d.scaling_active = Some(Condition::new(
            ConditionType::ScalingActive,
            false,
            Reason::ScalingDisabled,
        ));
        return;
    }
    let desired = if current > spec.max_replicas {
        spec.max_replicas
    } else if current < spec.min_replicas {
        spec.min_replicas
    } else {
        let Some(proposal) = proposal else {
            d.desired_replicas = current;
            return;
        };
        d.metrics_proposal = Some(proposal);
        let n = normalize_proposal(spec, settings, state, current, proposal, now_ms);
        d.able_to_scale = Some(Condition::new(
            ConditionType::AbleToScale,
            true,
            n.able_reason,
        ));
        d.scaling_limited = Some(Condition::new(
            ConditionType::ScalingLimited,
            n.limited,
            n.limited_reason,
        ));
        n.desired
    };
    d.rescale = desired != current;
    d.desired_replicas = if d.rescale { desired } else { current };
    if d.rescale {
        d.able_to_scale = Some(Condition {
            arg: desired,
            ..Condition::new(ConditionType::AbleToScale, true, Reason::SucceededRescale)
        });
        if let Some(b) = &spec.behavior {
            let (up, change) = if desired > current {
                (true, desired - current)
            } else {
                (false, current - desired)
            };
            let rules = if up { &b.scale_up } else { &b.scale_down };
            state.store_scale_event(up, change, rules.longest_period_s(), now_ms);
        }
    }
}

/// Stabilization, rate limits and bounds on the legacy or the behavior path.
fn normalize_proposal(
    spec: &HpaSpec,
    settings: &ControllerSettings,
    state: &mut impl Stores,
    current: i32,
    proposal: i32,
    now_ms: i64,
) -> normalize::Normalized {
    let counts = Counts {
        current,
        proposal,
        min: spec.min_replicas,
        max: spec.max_replicas,
    };
    match &spec.behavior {
        None => normalize::legacy(settings, state, counts, now_ms),
        Some(b) => normalize::with_behavior(settings, b, state, counts, now_ms),
    }
}

/// `computeReplicasForMetrics` into the metric part of a decision or a [`MetricsResult`]
/// (both start empty): every metric's status and the max over the valid ones, or `None` when
/// the reconcile must stop (all metrics invalid, or some invalid and the valid ones ask for a
/// scale-down).
fn metric_part(
    spec: &HpaSpec,
    settings: &ControllerSettings,
    obs: &Observation<'_>,
    now_ms: i64,
    statuses: &mut Vec<MetricStatus>,
    scaling_active: &mut Option<Condition>,
    selector_error: &mut Option<String>,
) -> Option<i32> {
    if let Some((reason, message)) = selector_failure(&obs.selector) {
        *selector_error = Some(message);
        *scaling_active = Some(Condition::new(ConditionType::ScalingActive, false, reason));
        return None;
    }
    let ctx = Ctx {
        settings,
        obs,
        tolerances: tolerances(spec, settings),
        now_ms,
    };
    let mut replicas = 0;
    let mut winner = 0usize;
    let mut first_invalid: Option<(usize, Reason)> = None;
    let mut invalid = 0;
    for (i, metric) in spec.metrics.iter().enumerate() {
        let input = obs
            .metrics
            .get(i)
            .copied()
            .unwrap_or(MetricInput::FetchError("no metric data was provided"));
        match calc::propose(&ctx, &metric.source, &input) {
            Ok(p) => {
                if replicas == 0 || p.replicas > replicas {
                    replicas = p.replicas;
                    winner = i;
                }
                statuses.push(MetricStatus::valid(&p));
            }
            Err(f) => {
                invalid += 1;
                first_invalid.get_or_insert((i, f.reason));
                statuses.push(MetricStatus {
                    proposal: None,
                    current: CurrentValue::default(),
                    error: Some(f.error),
                });
            }
        }
    }
    if let Some((i, reason)) = first_invalid {
        if invalid >= spec.metrics.len() || replicas < obs.spec_replicas {
            *scaling_active = Some(Condition {
                arg: i as i32,
                ..Condition::new(ConditionType::ScalingActive, false, reason)
            });
            return None;
        }
    }
    *scaling_active = Some(Condition::valid_metric_found(winner));
    Some(replicas)
}

/// `validateAndParseSelector`: the condition a bad scale selector sets.
fn selector_failure(check: &SelectorCheck<'_>) -> Option<(Reason, String)> {
    match check {
        SelectorCheck::Valid => None,
        SelectorCheck::Missing => Some((
            Reason::InvalidSelector,
            "the HPA target's scale is missing a selector".into(),
        )),
        SelectorCheck::Unparsable(e) => Some((
            Reason::InvalidSelector,
            format!("couldn't convert selector into a corresponding internal selector object: {e}"),
        )),
        SelectorCheck::Ambiguous { selector, hpas } => Some((
            Reason::AmbiguousSelector,
            format!("pods by selector {selector} are controlled by multiple HPAs: {hpas}"),
        )),
    }
}

/// `tolerancesForHpa`: the cluster-wide flag, replaced per direction by `behavior.*.tolerance`.
fn tolerances(spec: &HpaSpec, settings: &ControllerSettings) -> Tolerances {
    let mut t = Tolerances {
        down: settings.tolerance,
        up: settings.tolerance,
    };
    if let (Some(b), true) = (&spec.behavior, settings.compat.configurable_tolerance) {
        if let Some(down) = b.scale_down.tolerance {
            t.down = down;
        }
        if let Some(up) = b.scale_up.tolerance {
            t.up = up;
        }
    }
    t
}
