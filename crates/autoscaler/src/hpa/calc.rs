//! The replica calculator: one metric's replica proposal (`replica_calculator.go`), with pod
//! grouping, the missing/unready rebalance and Go's float64 arithmetic in Go's order.
//!
//! Every function here makes one pass over the pods and allocates nothing unless it fails:
//! instead of building the controller's per-pod maps, it sums each group (ready, missing,
//! unready) once, which is all the rebalance needs.
//!
//! A pod entry stands for [`Pod::count`] identical pods: every count and sum weights it by
//! that multiplicity (exact, since each pod's terms are integers computed per pod first), and
//! an entry of count 0 is skipped everywhere, as if it were not in the list.

use super::observation::{
    amount_of, any_live, live_pods, pod_total, ConditionStatus, MetricInput, Observation, Pod,
    PodPhase, PodUsage, ResolvedSample, UsageSample,
};
use super::spec::{Compat, ControllerSettings, MetricSource, ResourceTarget, ValueTarget};
use super::Reason;

/// Tolerance band around a usage ratio of 1 (`Tolerances.isWithin`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Tolerances {
    pub down: f64,
    pub up: f64,
}

impl Tolerances {
    /// Both bounds are inclusive: a ratio of exactly `1 + up` does not scale.
    pub(crate) fn is_within(self, ratio: f64) -> bool {
        (1.0 - self.down) <= ratio && ratio <= (1.0 + self.up)
    }
}

/// The current value of a metric as `kubectl describe hpa` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CurrentValue {
    /// Integer percent of request (Utilization targets).
    pub average_utilization: Option<i32>,
    /// Milli-units per pod.
    pub average_value_milli: Option<i64>,
    /// Milli-units for the metric as a whole.
    pub value_milli: Option<i64>,
}

/// One metric's successful proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Proposal {
    pub replicas: i32,
    pub current: CurrentValue,
}

/// Why a metric could not be computed: the ScalingActive reason and the error text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MetricFailure {
    pub reason: Reason,
    pub error: String,
}

/// The inputs every calculation shares.
pub(crate) struct Ctx<'s, 'o> {
    pub settings: &'s ControllerSettings,
    pub obs: &'s Observation<'o>,
    pub tolerances: Tolerances,
    pub now_ms: i64,
}

/// The proposal of one spec metric (`computeReplicasForMetric`).
pub(crate) fn propose(
    ctx: &Ctx<'_, '_>,
    source: &MetricSource,
    input: &MetricInput<'_>,
) -> Result<Proposal, MetricFailure> {
    // The simulator's common case: a Utilization target over resolved samples of pods
    // that are all ready.
    if let (
        MetricSource::Resource {
            resource,
            target: ResourceTarget::Utilization(pct),
            ..
        },
        MetricInput::ResolvedUsage {
            per_pod,
            unlisted: [],
        },
    ) = (source, input)
    {
        if let Some(r) = propose_all_ready(
            ctx.settings,
            ctx.tolerances,
            ctx.obs.spec_replicas,
            ctx.obs.pods,
            per_pod,
            resource == "cpu",
            *pct,
            ctx.now_ms,
        ) {
            return r.map_err(|error| MetricFailure {
                reason: failure_reason(source),
                error,
            });
        }
    }
    propose_general(ctx, source, input)
}

/// [`propose`] without the shortcut for all-ready pods (tests compare the two).
pub(crate) fn propose_general(
    ctx: &Ctx<'_, '_>,
    source: &MetricSource,
    input: &MetricInput<'_>,
) -> Result<Proposal, MetricFailure> {
    let reason = failure_reason(source);
    let fail = |error: String| MetricFailure { reason, error };
    match (source, input) {
        (
            MetricSource::Resource {
                resource,
                container,
                target,
            },
            MetricInput::ResourceUsage | MetricInput::ResolvedUsage { .. },
        ) => {
            let samples = match input {
                MetricInput::ResolvedUsage { per_pod, unlisted } => {
                    SampleSource::Resolved { per_pod, unlisted }
                }
                _ => SampleSource::Usage {
                    resource,
                    container: container.as_deref(),
                },
            };
            let wrap = |e: String| {
                fail(format!(
                    "unable to get metrics for resource {resource}: {e}"
                ))
            };
            samples.check_fetch(ctx).map_err(wrap)?;
            match *target {
                ResourceTarget::Utilization(pct) => {
                    resource_replicas(ctx, &samples, resource, container.as_deref(), pct)
                        .map_err(fail)
                }
                ResourceTarget::AverageValue(avg) => {
                    plain_replicas(ctx, &samples, resource, avg).map_err(fail)
                }
            }
        }
        (
            MetricSource::Pods {
                metric,
                target_average_milli,
            },
            MetricInput::PerPod { values, unlisted },
        ) => {
            let samples = SampleSource::PerPod { values, unlisted };
            let wrap = |e: String| fail(format!("unable to get metric {metric}: {e}"));
            samples.check_fetch(ctx).map_err(wrap)?;
            plain_replicas(ctx, &samples, "", *target_average_milli).map_err(fail)
        }
        (MetricSource::Object { target, .. }, MetricInput::Object { value_milli }) => {
            object_replicas(ctx, *target, *value_milli).map_err(fail)
        }
        (MetricSource::External { target, .. }, MetricInput::External { values_milli }) => {
            if values_milli.is_empty() {
                return Err(external_fetch_failure(
                    ctx,
                    source,
                    "no metrics returned from external metrics API",
                ));
            }
            external_replicas(ctx, *target, values_milli).map_err(fail)
        }
        (_, MetricInput::FetchError(text)) => Err(fetch_failure(ctx, source, text)),
        (_, _) => Err(fail(format!(
            "no {} metric data was provided for metric {:?}",
            source.type_name(),
            source.key()
        ))),
    }
}

/// The ScalingActive reason a failing metric of this kind reports.
fn failure_reason(source: &MetricSource) -> Reason {
    match source {
        MetricSource::Resource {
            container: None, ..
        } => Reason::FailedGetResourceMetric,
        MetricSource::Resource {
            container: Some(_), ..
        } => Reason::FailedGetContainerResourceMetric,
        MetricSource::Pods { .. } => Reason::FailedGetPodsMetric,
        MetricSource::Object { .. } => Reason::FailedGetObjectMetric,
        MetricSource::External { .. } => Reason::FailedGetExternalMetric,
    }
}

/// A failed metrics-API call, wrapped the way the replica calculator wraps it.
fn fetch_failure(ctx: &Ctx<'_, '_>, source: &MetricSource, text: &str) -> MetricFailure {
    let error = match source {
        MetricSource::Resource { resource, .. } => {
            format!("unable to get metrics for resource {resource}: {text}")
        }
        MetricSource::Pods { metric, .. } => format!("unable to get metric {metric}: {text}"),
        // The controller's format string puts the error last, after the object's name.
        MetricSource::Object {
            metric,
            described_kind,
            described_name,
            ..
        } => format!(
            "unable to get metric {metric}: {described_kind} on {} {described_name}/{text}",
            ctx.obs.namespace
        ),
        MetricSource::External { .. } => return external_fetch_failure(ctx, source, text),
    };
    MetricFailure {
        reason: failure_reason(source),
        error,
    }
}

fn external_fetch_failure(ctx: &Ctx<'_, '_>, source: &MetricSource, text: &str) -> MetricFailure {
    let MetricSource::External {
        metric,
        selector_text,
        ..
    } = source
    else {
        unreachable!("external_fetch_failure on a non-External metric")
    };
    MetricFailure {
        reason: Reason::FailedGetExternalMetric,
        error: format!(
            "unable to get external metric {}/{metric}/{selector_text}: {text}",
            ctx.obs.namespace
        ),
    }
}

/// Where a pod-based metric's samples come from.
enum SampleSource<'a> {
    /// The resource metrics API (`metrics.k8s.io`), for a resource and optionally one container.
    Usage {
        resource: &'a str,
        container: Option<&'a str>,
    },
    /// A custom Pods metric, aligned with the pod list.
    PerPod {
        values: &'a [Option<i64>],
        unlisted: &'a [i64],
    },
    /// Resource samples and requests the caller already resolved, aligned with the pod list.
    Resolved {
        per_pod: &'a [ResolvedSample],
        unlisted: &'a [i64],
    },
}

impl SampleSource<'_> {
    /// The metrics client's own failures: an empty answer, and (older releases) a named
    /// container absent from a pod's metrics.
    fn check_fetch(&self, ctx: &Ctx<'_, '_>) -> Result<(), String> {
        let obs = ctx.obs;
        match self {
            SampleSource::Usage { container, .. } => {
                let listed = || live_pods(obs.pods).filter_map(|p| p.usage);
                if listed().next().is_none() && obs.unlisted_usage.is_empty() {
                    return Err("no metrics returned from resource metrics API".to_string());
                }
                if let (Some(name), false) =
                    (container, ctx.settings.compat.absent_container_is_missing)
                {
                    let all = listed().chain(obs.unlisted_usage.iter());
                    for usage in all {
                        if !usage.containers.iter().any(|c| c.name == *name) {
                            return Err(format!(
                                "container {name} not present in metrics for pod {}/{}",
                                obs.namespace, usage.pod_name
                            ));
                        }
                    }
                }
                Ok(())
            }
            SampleSource::PerPod { values, unlisted } => {
                if !any_live(obs.pods, values, Option::is_some) && unlisted.is_empty() {
                    return Err("no metrics returned from custom metrics API".to_string());
                }
                Ok(())
            }
            SampleSource::Resolved { per_pod, unlisted } => {
                if !any_live(obs.pods, per_pod, |r| r.sample.is_some()) && unlisted.is_empty() {
                    return Err("no metrics returned from resource metrics API".to_string());
                }
                Ok(())
            }
        }
    }

    /// Count and sum of the samples for pods outside the pod list.
    fn unlisted(&self, obs: &Observation<'_>) -> (i64, i128) {
        match self {
            SampleSource::Usage {
                resource,
                container,
            } => {
                let samples = obs
                    .unlisted_usage
                    .iter()
                    .filter_map(|u| usage_sample(u, resource, *container));
                samples.fold((0, 0), |(n, sum), s| (n + 1, sum + i128::from(s.value)))
            }
            SampleSource::PerPod { unlisted, .. } | SampleSource::Resolved { unlisted, .. } => (
                unlisted.len() as i64,
                unlisted.iter().map(|v| i128::from(*v)).sum(),
            ),
        }
    }
}

/// A PodMetrics entry's value for `resource`: the sum over its containers, none when any
/// container lacks the resource (or there are no containers); or just the named container's.
fn usage_sample(
    usage: &PodUsage<'_>,
    resource: &str,
    container: Option<&str>,
) -> Option<UsageSample> {
    let value = match container {
        Some(name) => amount_of(
            usage.containers.iter().find(|c| c.name == name)?.usage,
            resource,
        )?,
        None => {
            if usage.containers.is_empty() {
                return None;
            }
            let mut sum: i64 = 0;
            for c in usage.containers {
                sum = sum.saturating_add(amount_of(c.usage, resource)?);
            }
            sum
        }
    };
    Some(UsageSample {
        value,
        timestamp_ms: usage.timestamp_ms,
        window_ms: usage.window_ms,
    })
}

/// `groupPods`' verdict on one pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Group {
    Ignored,
    Unready,
    Missing,
    Ready,
}

/// `groupPods` for one pod. `cpu` turns on the CPU-initialization rules.
#[inline]
pub(super) fn group(
    pod: &Pod<'_>,
    sample: Option<&UsageSample>,
    cpu: bool,
    settings: &ControllerSettings,
    now_ms: i64,
) -> Group {
    if pod.deleting || pod.phase == PodPhase::Failed {
        return Group::Ignored;
    }
    if pod.phase == PodPhase::Pending {
        return Group::Unready;
    }
    let Some(sample) = sample else {
        return Group::Missing;
    };
    if !cpu {
        return Group::Ready;
    }
    let (Some(ready), Some(start_ms)) = (pod.ready, pod.start_ms) else {
        return Group::Unready;
    };
    let not_ready = ready.status == ConditionStatus::False;
    let unready = if start_ms.saturating_add(settings.cpu_initialization_period_ms) > now_ms {
        // Still initializing: a sample must cover a full window after the last transition.
        not_ready || sample.timestamp_ms < ready.last_transition_ms.saturating_add(sample.window_ms)
    } else {
        // Initialized: unready only if it never became ready within the initial delay.
        not_ready
            && start_ms.saturating_add(settings.initial_readiness_delay_ms)
                > ready.last_transition_ms
    };
    if unready {
        Group::Unready
    } else {
        Group::Ready
    }
}

/// Per-group sums of one pass over the pods.
#[derive(Debug, Default)]
pub(super) struct Groups {
    ready: i64,
    ready_sum: i128,
    /// Samples of pods outside the pod list: kept in the sample count (and in plain
    /// averages), skipped by utilization, which needs a request.
    unlisted: i64,
    unlisted_sum: i128,
    /// Request totals of the ready pods (utilization only).
    ready_requests: i128,
    missing: i64,
    missing_requests: i128,
    /// Σ request × fallback% / 100 over missing pods, truncated per pod as Go does.
    missing_fallback: i128,
    unready: i64,
    unready_requests: i128,
}

/// Groups the pods and sums each group; with `requests`, also each pod's request (the first
/// missing request is the error, reported only after the sample checks, as Kubernetes does).
/// Dispatches once on the sample source so that the per-pod loop is specialised for it.
fn group_all(
    ctx: &Ctx<'_, '_>,
    samples: &SampleSource<'_>,
    resource: &str,
    requests: Option<(Option<&str>, i64)>,
    g: &mut Groups,
) -> Option<String> {
    let compat = &ctx.settings.compat;
    let from_containers = |_: usize, pod: &Pod<'_>, container: Option<&str>| {
        pod_request(pod, container, resource, compat)
    };
    let request_error = match *samples {
        SampleSource::Usage {
            resource: r,
            container: c,
        } => group_pods(
            ctx,
            resource,
            requests,
            g,
            |_, pod| usage_sample(pod.usage?, r, c),
            from_containers,
        ),
        SampleSource::PerPod { values, .. } => group_pods(
            ctx,
            resource,
            requests,
            g,
            |i, _| {
                let value = values.get(i).copied().flatten()?;
                Some(UsageSample {
                    value,
                    timestamp_ms: 0,
                    window_ms: 0,
                })
            },
            from_containers,
        ),
        SampleSource::Resolved { per_pod, .. } => group_pods(
            ctx,
            resource,
            requests,
            g,
            |i, _| per_pod.get(i).and_then(|r| r.sample),
            |i, pod, _| {
                let request = per_pod.get(i).and_then(|r| r.request_milli);
                request.ok_or_else(|| format!("missing request for {resource} in Pod {}", pod.name))
            },
        ),
    };
    (g.unlisted, g.unlisted_sum) = samples.unlisted(ctx.obs);
    request_error
}

/// The per-pod loop of [`group_all`] for one way of reading samples and requests.
fn group_pods(
    ctx: &Ctx<'_, '_>,
    resource: &str,
    requests: Option<(Option<&str>, i64)>,
    g: &mut Groups,
    sample_of: impl Fn(usize, &Pod<'_>) -> Option<UsageSample>,
    request_of: impl Fn(usize, &Pod<'_>, Option<&str>) -> Result<i64, String>,
) -> Option<String> {
    let cpu = resource == "cpu";
    let mut request_error = None;
    for (i, pod) in ctx.obs.pods.iter().enumerate() {
        if pod.count == 0 {
            continue;
        }
        let n = i128::from(pod.count);
        let sample = sample_of(i, pod);
        let class = group(pod, sample.as_ref(), cpu, ctx.settings, ctx.now_ms);
        let request = match requests {
            Some((container, _)) => match request_of(i, pod, container) {
                Ok(r) => i128::from(r),
                Err(e) => {
                    request_error.get_or_insert(e);
                    0
                }
            },
            None => 0,
        };
        match class {
            Group::Ignored => {}
            Group::Unready => {
                g.unready += i64::from(pod.count);
                g.unready_requests += request * n;
            }
            Group::Missing => {
                g.missing += i64::from(pod.count);
                g.missing_requests += request * n;
                let fallback_pct = requests.map_or(0, |(_, pct)| i128::from(pct));
                // Truncated per pod before weighting, as the per-pod sum truncates.
                g.missing_fallback += quotient(request * fallback_pct, 100) * n;
            }
            Group::Ready => {
                let value = sample.map_or(0, |s| s.value);
                g.ready += i64::from(pod.count);
                g.ready_sum += i128::from(value) * n;
                g.ready_requests += request * n;
            }
        }
    }
    request_error
}

impl Groups {
    /// Samples left after dropping ignored and unready pods.
    fn kept(&self) -> i64 {
        self.ready + self.unlisted
    }
}

/// A pod's request for `resource` (`calculateRequests`), in milli-units.
fn pod_request(
    pod: &Pod<'_>,
    container: Option<&str>,
    resource: &str,
    compat: &Compat,
) -> Result<i64, String> {
    if let (None, true, Some(pod_requests)) =
        (container, compat.pod_level_requests, pod.pod_requests)
    {
        if !pod_requests.is_empty() {
            return amount_of(pod_requests, resource).ok_or_else(|| {
                format!(
                    "missing pod-level request for {resource} in Pod {}",
                    pod.name
                )
            });
        }
    }
    let mut total: i64 = 0;
    for c in pod
        .containers
        .iter()
        .filter(|c| compat.sidecar_requests || !c.sidecar)
    {
        if container.is_none() || container == Some(c.name) {
            let request = amount_of(c.requests, resource).ok_or_else(|| {
                format!(
                    "missing request for {resource} in container {} of Pod {}",
                    c.name, pod.name
                )
            })?;
            total = total.saturating_add(request);
        }
        if container == Some(c.name) {
            return Ok(total);
        }
    }
    match container {
        Some(name) => Err(format!("container {name} not found in Pod {}", pod.name)),
        None => Ok(total),
    }
}

const NO_PODS: &str = "no pods returned by selector while calculating replica count";
const NO_SAMPLES: &str = "did not receive metrics for targeted pods (pods might be unready)";

/// `GetResourceReplicas`: a Utilization target over the pods' requests.
fn resource_replicas(
    ctx: &Ctx<'_, '_>,
    samples: &SampleSource<'_>,
    resource: &str,
    container: Option<&str>,
    target_pct: i32,
) -> Result<Proposal, String> {
    if pod_total(ctx.obs.pods) == 0 {
        return Err(NO_PODS.to_string());
    }
    let fallback_pct = if ctx.settings.compat.missing_pod_at_target_over_100 {
        target_pct.max(100)
    } else {
        100
    };
    let mut g = Groups::default();
    let request_error = group_all(
        ctx,
        samples,
        resource,
        Some((container, i64::from(fallback_pct))),
        &mut g,
    );
    if g.kept() == 0 {
        return Err(NO_SAMPLES.to_string());
    }
    if let Some(e) = request_error {
        return Err(e);
    }
    utilization_replicas(ctx.tolerances, ctx.obs.spec_replicas, &g, target_pct)
}

/// [`ready_sums`] of an observation's pods, when no sample is outside the list (tests compare
/// the shortcut it takes with the general path).
#[cfg(test)]
pub(super) fn all_ready_resolved(
    ctx: &Ctx<'_, '_>,
    per_pod: &[ResolvedSample],
    unlisted: &[i64],
    cpu: bool,
) -> Option<Groups> {
    if !unlisted.is_empty() {
        return None;
    }
    ready_sums(ctx.settings, ctx.now_ms, ctx.obs.pods, per_pod, cpu)
}

/// The ready pods' sums when every pod entry that stands for a pod is Running, not being
/// deleted, has a sample and a request, and `groupPods` puts it in the ready group (the CPU
/// initialization rules included), with no samples outside the list: then the fetch check and
/// the grouping's error branches of [`resource_replicas`] all pass, the other groups are
/// empty, and one pass gives all it reads. `None` otherwise.
#[inline]
fn ready_sums(
    settings: &ControllerSettings,
    now_ms: i64,
    pods: &[Pod<'_>],
    per_pod: &[ResolvedSample],
    cpu: bool,
) -> Option<Groups> {
    if per_pod.len() != pods.len() {
        return None;
    }
    let mut g = Groups::default();
    for (pod, r) in pods.iter().zip(per_pod) {
        if pod.count == 0 {
            continue;
        }
        let (Some(sample), Some(request)) = (r.sample, r.request_milli) else {
            return None;
        };
        if group(pod, Some(&sample), cpu, settings, now_ms) != Group::Ready {
            return None;
        }
        let n = i128::from(pod.count);
        g.ready += i64::from(pod.count);
        g.ready_sum += i128::from(sample.value) * n;
        g.ready_requests += i128::from(request) * n;
    }
    (g.ready > 0).then_some(g)
}

/// [`propose`] of a Utilization target of `target_pct` over `pods` with their resolved
/// samples (none outside the list) and the scale at `spec_replicas`, when every pod is ready
/// as [`ready_sums`] requires: the proposal, or the error text. `None` when they are
/// not all ready (the general path then decides). Needs no observation.
#[allow(clippy::too_many_arguments)]
#[inline]
pub(crate) fn propose_all_ready(
    settings: &ControllerSettings,
    tolerances: Tolerances,
    spec_replicas: i32,
    pods: &[Pod<'_>],
    per_pod: &[ResolvedSample],
    cpu: bool,
    target_pct: i32,
    now_ms: i64,
) -> Option<Result<Proposal, String>> {
    let g = ready_sums(settings, now_ms, pods, per_pod, cpu)?;
    Some(utilization_replicas(
        tolerances,
        spec_replicas,
        &g,
        target_pct,
    ))
}

/// The end of `GetResourceReplicas` from the groups' sums: the utilization, the rebalance
/// and the current value.
#[inline(always)]
fn utilization_replicas(
    tolerances: Tolerances,
    spec_replicas: i32,
    g: &Groups,
    target_pct: i32,
) -> Result<Proposal, String> {
    // Unlisted samples have no request: GetResourceUtilizationRatio skips them.
    if g.ready_requests == 0 {
        return Err("no metrics returned matched known pods".to_string());
    }
    Ok(utilization_proposal(
        tolerances,
        spec_replicas,
        g,
        target_pct,
    ))
}

/// [`utilization_replicas`] past its check that the ready pods request something.
#[inline(always)]
fn utilization_proposal(
    tolerances: Tolerances,
    spec_replicas: i32,
    g: &Groups,
    target_pct: i32,
) -> Proposal {
    let utilization = utilization_pct(g.ready_sum, g.ready_requests);
    let raw_average = saturate_i64(quotient(g.ready_sum, i128::from(g.ready)));
    let ratio = f64::from(utilization) / f64::from(target_pct);
    let current = CurrentValue {
        average_utilization: Some(utilization),
        average_value_milli: Some(raw_average),
        value_milli: None,
    };
    let replicas = rebalance(
        tolerances,
        spec_replicas,
        g,
        ratio,
        |fill_missing, fill_unready| {
            let mut usage = g.ready_sum;
            let mut requests = g.ready_requests;
            if fill_missing != Fill::None {
                requests += g.missing_requests;
                if fill_missing == Fill::Assumed {
                    usage += g.missing_fallback;
                }
            }
            if fill_unready {
                requests += g.unready_requests;
            }
            f64::from(utilization_pct(usage, requests)) / f64::from(target_pct)
        },
    );
    Proposal { replicas, current }
}

/// A Utilization target of `target_pct` over `count` pods in the ready group, each with the
/// sample `value` and the request `request` (milli-units, positive), the scale at
/// `spec_replicas`: what [`propose_all_ready`] gives for them as one entry.
#[inline]
pub(crate) fn uniform_ready_proposal(
    tolerances: Tolerances,
    spec_replicas: i32,
    count: u32,
    value: i64,
    request: i64,
    target_pct: i32,
) -> Proposal {
    let n = i128::from(count);
    let g = Groups {
        ready: i64::from(count),
        ready_sum: i128::from(value) * n,
        ready_requests: i128::from(request) * n,
        ..Groups::default()
    };
    utilization_proposal(tolerances, spec_replicas, &g, target_pct)
}

/// Whether grouping puts the entry `pod` in the ready group at `now_ms` and at every later
/// time, whatever its sample: it stands for a pod that is Running, not being deleted and
/// (for CPU) past its initialization period, where grouping reads neither the sample nor
/// the time.
pub(crate) fn ready_from_now_on(
    pod: &Pod<'_>,
    cpu: bool,
    settings: &ControllerSettings,
    now_ms: i64,
) -> bool {
    if pod.count == 0 {
        return false;
    }
    if cpu {
        let Some(start_ms) = pod.start_ms else {
            return false;
        };
        if start_ms.saturating_add(settings.cpu_initialization_period_ms) > now_ms {
            return false;
        }
    }
    let any = UsageSample {
        value: 0,
        timestamp_ms: now_ms,
        window_ms: 0,
    };
    group(pod, Some(&any), cpu, settings, now_ms) == Group::Ready
}

/// `int32(Σusage × 100 / Σrequest)`, truncated, clamped to int32.
fn utilization_pct(usage: i128, requests: i128) -> i32 {
    if requests == 0 {
        return 0;
    }
    let pct = quotient(usage.saturating_mul(100), requests);
    pct.clamp(i128::from(i32::MIN), i128::from(i32::MAX)) as i32
}

/// `a / b` truncated, as i128 division gives it, through the narrowest division that holds
/// both: the sums are 128-bit so that no pod count can overflow them, but nearly always fit
/// in 64 bits, where division is a single instruction instead of a library call, and mostly
/// in 32 unsigned bits, where that instruction takes a fraction of the 64-bit one's time on
/// many x86-64 processors (the quotient is the same: both are exact truncating divisions).
#[inline]
pub(super) fn quotient(a: i128, b: i128) -> i128 {
    if let (Ok(a), Ok(b)) = (u32::try_from(a), u32::try_from(b)) {
        return i128::from(a / b);
    }
    match (i64::try_from(a), i64::try_from(b)) {
        (Ok(a), Ok(b)) if b != -1 => i128::from(a / b),
        _ => a / b,
    }
}

fn saturate_i64(v: i128) -> i64 {
    v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// `calcPlainMetricReplicas`: an AverageValue target per pod (Resource AverageValue, Pods).
fn plain_replicas(
    ctx: &Ctx<'_, '_>,
    samples: &SampleSource<'_>,
    resource: &str,
    target: i64,
) -> Result<Proposal, String> {
    if pod_total(ctx.obs.pods) == 0 {
        return Err(NO_PODS.to_string());
    }
    let mut g = Groups::default();
    group_all(ctx, samples, resource, None, &mut g);
    if g.kept() == 0 {
        return Err(NO_SAMPLES.to_string());
    }
    let usage = saturate_i64(quotient(g.ready_sum + g.unlisted_sum, i128::from(g.kept())));
    let ratio = usage as f64 / target as f64;
    let current = CurrentValue {
        average_value_milli: Some(usage),
        ..CurrentValue::default()
    };
    let replicas = rebalance(
        ctx.tolerances,
        ctx.obs.spec_replicas,
        &g,
        ratio,
        |fill_missing, fill_unready| {
            let (mut sum, mut count) = (g.ready_sum + g.unlisted_sum, g.kept());
            if fill_missing != Fill::None {
                count += g.missing;
                if fill_missing == Fill::Assumed {
                    // Missing pods are assumed exactly at target on a scale-down.
                    sum += i128::from(target) * i128::from(g.missing);
                }
            }
            if fill_unready {
                count += g.unready;
            }
            saturate_i64(quotient(sum, i128::from(count))) as f64 / target as f64
        },
    );
    Ok(Proposal { replicas, current })
}

/// How the rebalance fills in the missing pods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fill {
    /// Not at all (ratio exactly 1).
    None,
    /// At zero (scale-up).
    Zero,
    /// At the assumed value (scale-down).
    Assumed,
}

/// Steps 4–9 of the algorithm: the fast path, or the rebalance with missing pods assumed
/// and unready pods at zero, with its direction-flip guards. `new_ratio(fill, unready)`
/// recomputes the ratio over the filled-in set; `current` is the scale's spec replicas.
#[inline(always)]
fn rebalance(
    tolerances: Tolerances,
    current: i32,
    g: &Groups,
    ratio: f64,
    new_ratio: impl Fn(Fill, bool) -> f64,
) -> i32 {
    let scale_up_with_unready = g.unready > 0 && ratio > 1.0;
    if !scale_up_with_unready && g.missing == 0 {
        if tolerances.is_within(ratio) {
            return current;
        }
        return (ratio * g.ready as f64).ceil() as i32;
    }
    let fill = if g.missing == 0 || ratio == 1.0 {
        Fill::None
    } else if ratio < 1.0 {
        Fill::Assumed
    } else {
        Fill::Zero
    };
    let new = new_ratio(fill, scale_up_with_unready);
    if tolerances.is_within(new) || (ratio < 1.0 && new > 1.0) || (ratio > 1.0 && new < 1.0) {
        return current;
    }
    let mut count = g.kept();
    if fill != Fill::None {
        count += g.missing;
    }
    if scale_up_with_unready {
        count += g.unready;
    }
    let replicas = (new * count as f64).ceil() as i32;
    if (new < 1.0 && replicas > current) || (new > 1.0 && replicas < current) {
        return current;
    }
    replicas
}

/// Pods that are Running and Ready (`getReadyPodsCount`), or the error for an empty list.
fn ready_pod_count(obs: &Observation<'_>) -> Result<i64, String> {
    if pod_total(obs.pods) == 0 {
        return Err(format!("unable to calculate ready pods: {NO_PODS}"));
    }
    let ready = |p: &&Pod<'_>| {
        p.phase == PodPhase::Running && p.ready.is_some_and(|r| r.status == ConditionStatus::True)
    };
    Ok(pod_total(obs.pods.iter().filter(ready)))
}

/// `getUsageRatioReplicaCount`: Object and External `Value` targets.
fn usage_ratio_replicas(ctx: &Ctx<'_, '_>, ratio: f64) -> Result<i32, String> {
    let current = ctx.obs.spec_replicas;
    if current == 0 {
        // Scale from zero: no tolerance, no pod count.
        return Ok(ratio.ceil() as i32);
    }
    if ctx.tolerances.is_within(ratio) {
        return Ok(current);
    }
    let proposal = ratio * ready_pod_count(ctx.obs)? as f64;
    Ok(to_int32(proposal.ceil()))
}

/// Go's `int32(f)` for a replica count. Newest releases cap at MaxInt32; where older ones
/// relied on Go's platform-defined conversion, Rust's saturating cast gives the same cap.
fn to_int32(f: f64) -> i32 {
    f as i32
}

fn object_replicas(ctx: &Ctx<'_, '_>, target: ValueTarget, usage: i64) -> Result<Proposal, String> {
    match target {
        ValueTarget::Value(target) => {
            let replicas = usage_ratio_replicas(ctx, usage as f64 / target as f64)?;
            Ok(Proposal {
                replicas,
                current: CurrentValue {
                    value_milli: Some(usage),
                    ..CurrentValue::default()
                },
            })
        }
        ValueTarget::AverageValue(target) => Ok(per_pod_replicas(ctx, usage, target)),
    }
}

fn external_replicas(
    ctx: &Ctx<'_, '_>,
    target: ValueTarget,
    values: &[i64],
) -> Result<Proposal, String> {
    let usage = external_sum(values, ctx.settings.compat.overflow_caps);
    object_replicas(ctx, target, usage).map(|mut p| {
        if let ValueTarget::Value(_) = target {
            p.current = CurrentValue {
                value_milli: Some(usage),
                ..CurrentValue::default()
            };
        }
        p
    })
}

/// The sum of an external metric's series: saturating at MaxInt64 (newest), or wrapping
/// as Go's int64 addition does (older releases).
fn external_sum(values: &[i64], capped: bool) -> i64 {
    if capped {
        values.iter().fold(0i64, |acc, v| acc.saturating_add(*v))
    } else {
        values.iter().fold(0i64, |acc, v| acc.wrapping_add(*v))
    }
}

/// `Get{Object,External}PerPodMetricReplicas`: AverageValue against the *status* replicas.
fn per_pod_replicas(ctx: &Ctx<'_, '_>, usage: i64, target: i64) -> Proposal {
    let status = ctx.obs.status_replicas;
    let ratio = usage as f64 / (target as f64 * f64::from(status));
    let mut replicas = status;
    if !ctx.tolerances.is_within(ratio) {
        replicas = to_int32((usage as f64 / target as f64).ceil());
    }
    // Rust's float-to-int cast saturates (and maps NaN to 0), where Go's is platform-defined.
    let average = if usage as f64 >= i64::MAX as f64 {
        i64::MAX
    } else {
        (usage as f64 / f64::from(status)).ceil() as i64
    };
    Proposal {
        replicas,
        current: CurrentValue {
            average_value_milli: Some(average),
            ..CurrentValue::default()
        },
    }
}
