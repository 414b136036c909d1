//! What the controller sees at one sync: the scale subresource, the pods, their resource
//! usage and the other metrics. Everything is borrowed so that a caller (the simulator) can
//! keep its buffers and hand them over without copying or allocating.

/// One sync's view of the HPA's target. Times are milliseconds on the caller's clock (the
/// same clock as `now_ms`); quantities are milli-units (`MilliValue()`).
#[derive(Debug, Clone, Copy)]
pub struct Observation<'a> {
    /// The HPA's namespace, used in error messages only.
    pub namespace: &'a str,
    /// `scale.spec.replicas`: the count the controller calls "current".
    pub spec_replicas: i32,
    /// `scale.status.replicas`: used by per-pod Object/External targets.
    pub status_replicas: i32,
    /// The pods the scale's selector matches, in any order; an entry may stand for several
    /// identical pods ([`Pod::count`]).
    pub pods: &'a [Pod<'a>],
    /// PodMetrics returned for pods that are not in `pods` (superfluous samples).
    pub unlisted_usage: &'a [PodUsage<'a>],
    /// One entry per `spec.metrics` entry, in spec order.
    pub metrics: &'a [MetricInput<'a>],
    /// What the controller found checking the scale's selector.
    pub selector: SelectorCheck<'a>,
}

/// The scale subresource's selector, as `validateAndParseSelector` judges it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SelectorCheck<'a> {
    #[default]
    Valid,
    /// `scale.status.selector` is empty.
    Missing,
    /// The selector does not parse; the text is the parser's error.
    Unparsable(&'a str),
    /// Other HPAs select the same pods: the selector and the HPAs, as the controller prints them.
    Ambiguous { selector: &'a str, hpas: &'a str },
}

/// A core/v1 Pod, reduced to what the HPA reads.
#[derive(Debug, Clone, Copy)]
pub struct Pod<'a> {
    /// Used in error messages only.
    pub name: &'a str,
    pub phase: PodPhase,
    /// `metadata.deletionTimestamp` is set.
    pub deleting: bool,
    /// `status.startTime`.
    pub start_ms: Option<i64>,
    /// The `Ready` condition, if the pod has one.
    pub ready: Option<ReadyCondition>,
    /// Regular containers, then restartable (sidecar) init containers; plain init containers
    /// are left out by the caller.
    pub containers: &'a [Container<'a>],
    /// Pod-level `spec.resources.requests`, when set.
    pub pod_requests: Option<&'a [ResourceAmount<'a>]>,
    /// This pod's entry in the resource metrics API (metrics.k8s.io PodMetrics), if any.
    pub usage: Option<&'a PodUsage<'a>>,
    /// How many identical pods this entry stands for; 1 for a real Pod. Every count, sum and
    /// average weights the entry by it, and entries aligned with the pods (a Pods metric's
    /// value, a [`ResolvedSample`]) apply to each of them; 0 stands for no pod at all. A
    /// caller with many pods that differ in nothing the HPA reads (a simulator's Deployment)
    /// passes one entry instead of many, so a reconcile costs the same for 3 or 3000 pods.
    pub count: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodPhase {
    Pending,
    Running,
    Succeeded,
    Failed,
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadyCondition {
    /// `status: "True"`. `"Unknown"` counts as not False, as in Kubernetes' checks.
    pub status: ConditionStatus,
    pub last_transition_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConditionStatus {
    True,
    False,
    Unknown,
}

#[derive(Debug, Clone, Copy)]
pub struct Container<'a> {
    pub name: &'a str,
    /// A restartable init container (`restartPolicy: Always`).
    pub sidecar: bool,
    pub requests: &'a [ResourceAmount<'a>],
}

/// One resource and its amount in milli-units (`cpu: 250m` is 250, `memory: 1Ki` is 1_024_000).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceAmount<'a> {
    pub resource: &'a str,
    pub milli: i64,
}

/// A metrics.k8s.io PodMetrics entry.
#[derive(Debug, Clone, Copy)]
pub struct PodUsage<'a> {
    /// The pod's name, used in error messages only.
    pub pod_name: &'a str,
    pub timestamp_ms: i64,
    pub window_ms: i64,
    pub containers: &'a [ContainerUsage<'a>],
}

#[derive(Debug, Clone, Copy)]
pub struct ContainerUsage<'a> {
    pub name: &'a str,
    pub usage: &'a [ResourceAmount<'a>],
}

/// The data of one spec metric, as its metrics API returned it.
#[derive(Debug, Clone, Copy)]
pub enum MetricInput<'a> {
    /// A (Container)Resource metric: read from the pods' `usage` (and `unlisted_usage`).
    ResourceUsage,
    /// A Pods metric from the custom metrics API: one value per pod, aligned with
    /// `Observation::pods` (`None`: no value for that pod), plus values for unlisted pods.
    PerPod {
        values: &'a [Option<i64>],
        unlisted: &'a [i64],
    },
    /// An Object metric's value.
    Object { value_milli: i64 },
    /// An External metric: one value per returned series (summed by the controller).
    External { values_milli: &'a [i64] },
    /// A (Container)Resource metric whose per-pod request and sample the caller resolved
    /// itself, aligned with `Observation::pods`, plus the values of unlisted pods' samples.
    /// Equivalent to [`MetricInput::ResourceUsage`] over the same pods, without walking
    /// containers each sync: a caller that tracks pods (the simulator) resolves a pod's
    /// request once, when the pod is created.
    ResolvedUsage {
        per_pod: &'a [ResolvedSample],
        unlisted: &'a [i64],
    },
    /// The fetch failed; the text is the metrics client's error.
    FetchError(&'a str),
}

/// One pod's resolved view for one resource metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ResolvedSample {
    /// The pod's request for the metric's resource (and container), as `calculateRequests`
    /// computes it; `None`: a container lacks the request (the metric then fails).
    pub request_milli: Option<i64>,
    /// The pod's usage sample, as the metrics client derives it from PodMetrics.
    pub sample: Option<UsageSample>,
}

/// A usage sample of one pod: value in milli-units, the PodMetrics timestamp and window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsageSample {
    pub value: i64,
    pub timestamp_ms: i64,
    pub window_ms: i64,
}

/// `resource` in `amounts`, if present.
pub(crate) fn amount_of(amounts: &[ResourceAmount<'_>], resource: &str) -> Option<i64> {
    amounts
        .iter()
        .find(|a| a.resource == resource)
        .map(|a| a.milli)
}

/// The entries that stand for at least one pod.
pub(crate) fn live_pods<'p, 'a>(pods: &'p [Pod<'a>]) -> impl Iterator<Item = &'p Pod<'a>> {
    pods.iter().filter(|p| p.count > 0)
}

/// How many pods the entries stand for.
pub(crate) fn pod_total<'p, 'a: 'p>(pods: impl IntoIterator<Item = &'p Pod<'a>>) -> i64 {
    pods.into_iter().map(|p| i64::from(p.count)).sum()
}

/// Whether a value aligned with the pods satisfies `has` for an entry that stands for some
/// pod. Values past the end of the pod list belong to no entry and count, as they always did.
pub(crate) fn any_live<T>(pods: &[Pod<'_>], values: &[T], has: impl Fn(&T) -> bool) -> bool {
    values
        .iter()
        .enumerate()
        .any(|(i, v)| has(v) && pods.get(i).is_none_or(|p| p.count > 0))
}
